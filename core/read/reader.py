"""Open embeddings GeoParquet files as one :class:`terrafind.core.catalog.Catalog`.

``open_catalog`` reads one file, several, or a folder; the layout of each file is recognised by an adapter
(:mod:`terrafind.core.read.adapters`). With a region, only files and row groups that can touch it are read
(:mod:`terrafind.core.read.geo`), then rows are filtered exactly by footprint. Batch by batch, the kept chips go
to the region's store, the app cache (:mod:`terrafind.core.store`): Arrow data of at most a few row groups is
alive at a time (:mod:`terrafind.core.read.sources` decodes the next ones in worker threads), never a whole
file, and the catalog is then made from the store, memory-mapped. Opening the same files, region and
options again maps that store and reads nothing but the footers.

Choices worth knowing:

* Rows with a null, NaN, infinite or all-zero vector, or a missing/invalid geometry, are skipped and counted;
  each kind gets one sentence in ``Catalog.problems``. A file where no row is usable is an error.
* Duplicate ids are kept: the first chip keeps the id, later ones become ``"<id>#2"``, ``"<id>#3"``... so every
  chip stays selectable, and ``problems`` says how many were renamed.
* Chip size for point data: ``emb`` metadata, else the ``chip_size_m`` argument, else 320 m (Earth Index).
  ``Catalog.chip_size_m`` is that size, or for polygon data the median footprint side in metres.
* Files of different layouts can be opened together; ``Catalog.adapter`` then joins their names with "+".
* Footprints are kept as boxes (lon/lat bounds of each chip's geometry): exact for the usual grid of squares,
  the bounding box of a reprojected or irregular chip.
* Integer embeddings are de-quantized as the file states (:mod:`terrafind.core.read.quant`).
"""

from __future__ import annotations

import shutil
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from terrafind.core.catalog import Catalog
from terrafind.core.errors import CacheError, InputError
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.read.adapters import model_id
from terrafind.core.read.collect import BatchCollector, chip_size, counts_sentence
from terrafind.core.read.geo import CrsPlan, statistics_bounds
from terrafind.core.read.sources import (
    READ_WORKERS,
    ParquetSource,
    iter_batches,
    open_source,
    resolve_paths,
)
from terrafind.core.read.stores import attribute_schema, check_disk, cut_from_whole, identity
from terrafind.core.read.v1 import summarize_source
from terrafind.core.store.layout import META, remove_stale, store_dir, store_key
from terrafind.core.store.open import load_store
from terrafind.core.store.writer import StoreWriter, choose_code
from terrafind.core.types import Region, SourceFile

__all__ = ["open_catalog", "inspect"]

# Rows decoded at a time: 16k x 384 float32 is 25 MB, so batches and their temporaries stay small (decoding
# row groups whole held 1.3 GB at the peak on 1 M chips, streaming them 0.7 GB, at the same speed).
_BATCH_ROWS = 16_384
CODE_WORKERS = 2  # threads that code batches while this one writes (a 2-core laptop)


def _open_all(paths: Any, embedding_column: str | None) -> list[ParquetSource]:
    sources = [open_source(fs, p, embedding_column=embedding_column) for fs, p in resolve_paths(paths)]
    first_model, first_label, first_dim = None, "", None
    for src in sources:
        mid = model_id(src.layout.model)
        if mid and first_model and mid != first_model:
            raise InputError(
                f"{src.label} was made by the model '{mid}' but {first_label} by '{first_model}': "
                "open files of one model together."
            )
        if mid and not first_model:
            first_model, first_label = mid, src.label
        d = src.layout.dim_hint if src.rows_total else None
        if d and first_dim and d != first_dim[0]:
            raise InputError(
                f"The embeddings in {src.label} have {d} values but those in {first_dim[1]} have {first_dim[0]}: "
                "open files made by the same model together."
            )
        if d and not first_dim:
            first_dim = (d, src.label)
    return sources


def open_catalog(
    paths: str | Path | Sequence[str | Path],
    *,
    region: Region | None = None,
    embedding_column: str | None = None,
    chip_size_m: float | None = None,
    store_root: Path | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Catalog:
    """Open one GeoParquet file, several, or a folder of them as a :class:`Catalog` (unit vectors).

    The first open of a region reads the files once and writes the region's store (the app cache,
    :mod:`terrafind.core.store`) as it goes; every later open of the same files, region and options maps
    that store instead (no file is read but the footers). ``region`` limits what is read (files and row
    groups outside it are skipped, rows filtered by footprint); ``embedding_column`` names the vector column
    when detection cannot; ``chip_size_m`` sizes chips of point data that does not state it; ``store_root``
    is where the store lives instead of the app cache (a shard of a sharded region keeps its own). Bad input
    raises :class:`InputError` with one sentence naming the file. Progress is reported and ``cancel``
    checked once per batch (at most one row group).
    """
    check(cancel)
    sources = _open_all(paths, embedding_column)
    key = store_key(identity(sources, region, embedding_column, chip_size_m))
    folder = store_dir(key, store_root)
    if (folder / META).exists():
        try:
            store = load_store(folder)
            store.reused = True
            catalog = Catalog.from_store(store)
            report(progress, 1, 1, "Opened from the app cache")
            return catalog
        except CacheError:
            shutil.rmtree(folder, ignore_errors=True)  # damaged or of another format: read again
    if region is not None:  # a part of a region already cached: cut from its store, no file read again
        cut = cut_from_whole(sources, region, embedding_column, chip_size_m, folder, progress, cancel)
        if cut is not None:
            return cut
    collector = BatchCollector(region, chip_size_m)
    plans = [collector.plan_file(src) for src in sources]
    collector.capacity = sum(
        src.metadata.row_group(g).num_rows
        for src, (_, groups, _) in zip(sources, plans, strict=True)
        for g in groups
    )
    # The footers' promises, checked before anything is allocated (read.budget): a batch of row groups is
    # decoded at a time and written to the region's store, so an open holds those, not the region.
    from terrafind.core.read.budget import Budget, available_bytes, check_memory, store_open_cost

    names = ", ".join(s.label for s in sources[:3]) + (
        f" and {len(sources) - 3} more" if len(sources) > 3 else ""
    )
    hint = "choose a smaller region (draw one, or give --bbox) or fewer files."
    cost, chips = store_open_cost(sources, [groups for _, groups, _ in plans], READ_WORKERS + 1)
    free = available_bytes()
    check_memory(cost, f"Opening {chips:,} chips of {names}", hint=hint, available=free)
    collector.budget = Budget(int(free * 0.85) - cost + _attribute_share(cost), f"{names}", hint)
    label = sources[0].label if len(sources) == 1 else f"{len(sources)} files"
    dim_hint = next((s.layout.dim_hint for s in sources if s.layout.dim_hint), 0) or 0
    check_disk(folder.parent, collector.capacity, dim_hint or 384, label)
    code = choose_code(collector.capacity)
    attr_schema = attribute_schema(sources)
    collector.make_writer = lambda dim: StoreWriter(folder, dim, code, attr_schema)
    try:
        return _read(
            collector,
            sources,
            plans,
            folder,
            key,
            region,
            dim_hint,
            progress,
            cancel,
            chip_size_m,
            embedding_column,
        )
    except BaseException:
        if collector.writer is not None:
            collector.writer.abort()
        raise


def _read(
    collector, sources, plans, folder, key, region, dim_hint, progress, cancel, chip_size_m, embedding_column
) -> Catalog:  # noqa: ANN001
    done, total = 0, collector.capacity
    records: list[SourceFile] = []
    report(progress, 0, total, "Opening embeddings")
    kept = [0] * len(sources)
    check(cancel)
    # Batches are checked and coded on CODE_WORKERS threads (numpy lets go of the GIL for the arithmetic),
    # and counted and written here in file order; at most CODE_WORKERS + 1 are in flight.
    window: deque[tuple[int, int, Future[Any]]] = deque()

    def commit_oldest() -> None:
        nonlocal done
        i, n, fut = window.popleft()
        kept[i] += collector.commit(fut.result())
        done += n
        report(progress, done, total, f"Reading {sources[i].label}")
        check(cancel)

    from terrafind.core.search.exact import blas_one_thread

    # BLAS at one thread: its own threads would fight the coding threads for the two cores
    with ThreadPoolExecutor(CODE_WORKERS, thread_name_prefix="terrafind-code") as pool, blas_one_thread():
        try:
            for index, (i, row0, batch) in enumerate(
                iter_batches(sources, [groups for _, groups, _ in plans], _BATCH_ROWS)
            ):
                src, (plan, _, size) = sources[i], plans[i]
                if not (
                    collector.writer is not None and collector.writer.ready
                ):  # the first rows fit the code
                    while window:
                        commit_oldest()
                    window.append(
                        (
                            i,
                            batch.num_rows,
                            _done(collector.prepare(batch, src, plan, size, row0, index=index)),
                        )
                    )
                else:
                    window.append(
                        (
                            i,
                            batch.num_rows,
                            pool.submit(collector.prepare, batch, src, plan, size, row0, index=index),
                        )
                    )
                while len(window) > CODE_WORKERS:
                    commit_oldest()
            while window:
                commit_oldest()
        finally:
            for _, _, fut in window:
                fut.cancel()
    for src, (plan, groups, _), kept_here in zip(sources, plans, kept, strict=True):
        meta = src.metadata
        read_rows = sum(meta.row_group(g).num_rows for g in groups)
        bad_vec, bad_geom = collector.bad_vectors.get(src.label, 0), collector.bad_geoms.get(src.label, 0)
        if read_rows and not kept_here:
            if bad_vec == read_rows:
                raise InputError(
                    f"None of the {read_rows} chips in {src.label} has a usable embedding vector."
                )
            if bad_geom + bad_vec == read_rows:
                raise InputError(
                    f"None of the chips in {src.label} has a usable geometry, so none can be mapped."
                )
        if src.rows_total == 0:
            collector.problems.append(f"{src.label} is empty: it holds no chips.")
        if plan.problem:
            collector.problems.append(plan.problem)
        if src.layout.problem:
            collector.problems.append(src.layout.problem)
        records.append(
            SourceFile(
                src.path,
                src.size,
                src.mtime_ns,
                src.footer_hash,
                src.layout.adapter,
                src.rows_total,
                read_rows,
            )
        )
    report(progress, total, total, "Finishing the app cache")
    check(cancel)
    problems = _problems(collector, records, region)
    if collector.writer is None:  # nothing was read: an empty store of the stated width
        collector.writer = collector.make_writer(dim_hint)
    adapters = list(dict.fromkeys(s.layout.adapter for s in sources))
    meta = {
        "sources": [r.__dict__ for r in records],
        "adapter": adapters[0] if len(adapters) == 1 else "+".join(adapters),
        "model": next((s.layout.model for s in sources if s.layout.model), None),
        "region": region.to_dict() if region is not None else None,
        "chip_size_m": chip_size(collector, sources),
        "identity": identity(sources, region, embedding_column, chip_size_m),
    }
    # Arrow's allocator keeps the decoded pages' memory for reuse (~0.2 GB per 1M x 384 chips); nothing
    # reads parquet again soon, so give it back before the index build needs memory.
    pa.default_memory_pool().release_unused()
    final = collector.writer.finish(meta, problems)
    remove_stale([r.path for r in records], key, folder.parent.parent)  # the same root as the store
    try:
        return Catalog.from_store(load_store(final))
    except CacheError as exc:  # written just now: only a broken disk gets here
        raise InputError(
            f"The app cache of {sources[0].label} could not be read back: {exc.message}"
        ) from None


def _done(value: Any) -> Future[Any]:
    """A future that already holds ``value`` (a batch prepared on this thread)."""
    fut: Future[Any] = Future()
    fut.set_result(value)
    return fut


def _attribute_share(cost: int) -> int:
    """What the attributes' decoded text may take beyond the footer's estimate: the estimate itself is in
    ``cost`` already; a file may exceed it (a footer that hides its dictionaries) up to the memory left."""
    return min(cost, 1 << 30)


def _problems(collector: BatchCollector, records: list[SourceFile], region: Region | None) -> list[str]:
    problems = list(collector.problems)
    for counts, what in (
        (collector.bad_vectors, "empty or invalid embeddings (null, NaN, infinite or all zeros)"),
        (collector.bad_geoms, "a missing or invalid geometry"),
    ):
        sentence = counts_sentence(counts, what)
        if sentence:
            problems.append(sentence)
    if region is not None and collector.kept == 0 and any(r.rows_total for r in records):
        problems.append("None of the chips in the opened files lies inside the chosen region.")
    return problems


def _peek_dim(src: ParquetSource) -> int | None:
    """The vector width of a list column (not in the schema): the first row's length, from one small read."""
    meta = src.metadata
    group = next((g for g in range(meta.num_row_groups) if meta.row_group(g).num_rows), None)
    if group is None:
        return None
    try:
        with src.reader() as reader:
            batch = next(
                reader.iter_batches(batch_size=16, row_groups=[group], columns=[src.layout.embedding])
            )
    except (pa.ArrowException, OSError, StopIteration):
        raise InputError(
            f"{src.label} is damaged: its first chips cannot be read; download or copy it again."
        ) from None
    lengths = pc.list_value_length(batch.column(0)).to_numpy(zero_copy_only=False).astype(float)
    with np.errstate(invalid="ignore"):
        lengths = lengths[lengths > 0]  # nulls (NaN) and empty rows say nothing
    return int(lengths[0]) if len(lengths) else None


def inspect(paths: str | Path | Sequence[str | Path]) -> list[dict[str, Any]]:
    """What each file is, from its footer only (fast): path, adapter, rows, dim, bbox, model, columns, problems.

    A file that cannot be used gets ``adapter`` None and the reason in ``problems`` instead of an exception.
    """
    out: list[dict[str, Any]] = []
    for fs, path in resolve_paths(paths):
        entry: dict[str, Any] = {
            "path": path,
            "adapter": None,
            "rows": None,
            "dim": None,
            "bbox": None,
            "model": None,
            "columns": [],
            "problems": [],
        }
        try:
            src = open_source(fs, path)
        except InputError as exc:
            entry["problems"].append(exc.message)
            out.append(entry)
            continue
        lay = src.layout
        entry.update(
            adapter=lay.adapter,
            rows=src.rows_total,
            dim=lay.dim_hint,
            model=lay.model,
            columns=list(src.schema.names),
            row_groups=src.metadata.num_row_groups,
        )
        plan = CrsPlan(lay.crs, src.label)
        try:
            bounds = lay.file_bbox or statistics_bounds(src.metadata, lay)
            if bounds:
                plan.decide(bounds)
                box = plan.bounds_to_lonlat(bounds)
                entry["bbox"] = list(box) if box else None
            if entry["dim"] is None:
                entry["dim"] = _peek_dim(src)
            v1 = summarize_source(src)  # the Clay v1 fields of the seeds, when present
            if v1 is not None:
                entry["v1"] = v1.to_dict() | {"lines": v1.lines()}
        except InputError as exc:
            entry["problems"].append(exc.message)
        if plan.problem:
            entry["problems"].append(plan.problem)
        if lay.problem:
            entry["problems"].append(lay.problem)
        if src.rows_total == 0:
            entry["problems"].append(f"{src.label} is empty: it holds no chips.")
        out.append(entry)
    _flag_mixed(out)
    return out


def _flag_mixed(entries: list[dict[str, Any]]) -> None:
    """Say so on each file whose model or width differs from the first file's: they cannot be opened together."""
    first = next((e for e in entries if e["adapter"]), None)
    if first is None:
        return
    name = Path(first["path"]).name
    for e in entries:
        if e is first or not e["adapter"]:
            continue
        mine, theirs = model_id(e["model"]), model_id(first["model"])
        if mine and theirs and mine != theirs:
            e["problems"].append(
                f"Made by the model '{mine}' but {name} by '{theirs}': they cannot be opened together."
            )
        elif e["rows"] and first["rows"] and e["dim"] and first["dim"] and e["dim"] != first["dim"]:
            e["problems"].append(
                f"Its embeddings have {e['dim']} values but those in {name} have {first['dim']}: "
                "they cannot be opened together."
            )
