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
from collections.abc import Sequence
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
from terrafind.core.read.v1 import summarize_source
from terrafind.core.store.layout import META, remove_stale, store_dir, store_key
from terrafind.core.store.open import load_store
from terrafind.core.store.writer import StoreWriter, choose_code
from terrafind.core.types import Region, SourceFile
from terrafind.core.units import human_bytes

__all__ = ["open_catalog", "inspect"]

_BATCH_ROWS = 65_536  # ~100 MB of 384-d float32 per batch: progress steps that are fine but not chatty
READER_VERSION = 2  # what a store holds for the same inputs changes with this (part of the store key)


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


def _identity(
    sources: list[ParquetSource],
    region: Region | None,
    embedding_column: str | None,
    chip_size_m: float | None,
) -> dict[str, Any]:
    """What a region store is made from: each file's identity, the region, the reading options."""
    return {
        "sources": [[s.path, s.size, s.mtime_ns, s.footer_hash] for s in sources],
        "region": region.to_dict() if region is not None else None,
        "embedding_column": embedding_column,
        "chip_size_m": chip_size_m,
        "reader": READER_VERSION,
    }


def _attribute_schema(sources: list[ParquetSource]) -> pa.Schema:
    """One schema for the attribute columns of all files (types promoted; text where they disagree)."""
    fields: dict[str, pa.DataType] = {}
    for src in sources:
        for name in src.layout.attributes:
            t = src.schema.field(name).type
            if pa.types.is_dictionary(t):
                t = t.value_type
            if isinstance(t, pa.ExtensionType):
                t = t.storage_type
            if name not in fields or fields[name] == t or pa.types.is_null(t):
                fields.setdefault(name, t)
                continue
            if pa.types.is_null(fields[name]):
                fields[name] = t
                continue
            try:
                merged = pa.unify_schemas(
                    [pa.schema([(name, fields[name])]), pa.schema([(name, t)])], promote_options="permissive"
                )
                fields[name] = merged.field(name).type
            except (pa.ArrowException, TypeError):
                fields[name] = pa.string()
    return pa.schema(list(fields.items()))


def _check_disk(folder: Path, rows: int, dim: int, label: str) -> None:
    """InputError when the app cache's disk cannot hold the region's store (checked before writing)."""
    per_row = dim * (1 if choose_code(rows) == "i8" else 4) + 12 + 32 + 24 + 16 + 64
    need = int(rows * per_row * 1.05) + (1 << 20)
    free = shutil.disk_usage(folder).free
    if need > free:
        raise InputError(
            f"Opening {label} needs about {human_bytes(need)} of free disk space for its app cache in "
            f"{folder}, but only {human_bytes(free)} is free: free some space or choose a smaller region."
        )


def open_catalog(
    paths: str | Path | Sequence[str | Path],
    *,
    region: Region | None = None,
    embedding_column: str | None = None,
    chip_size_m: float | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Catalog:
    """Open one GeoParquet file, several, or a folder of them as a :class:`Catalog` (unit vectors).

    The first open of a region reads the files once and writes the region's store (the app cache,
    :mod:`terrafind.core.store`) as it goes; every later open of the same files, region and options maps
    that store instead (no file is read but the footers). ``region`` limits what is read (files and row
    groups outside it are skipped, rows filtered by footprint); ``embedding_column`` names the vector column
    when detection cannot; ``chip_size_m`` sizes chips of point data that does not state it. Bad input
    raises :class:`InputError` with one sentence naming the file. Progress is reported and ``cancel``
    checked once per batch (at most one row group).
    """
    check(cancel)
    sources = _open_all(paths, embedding_column)
    key = store_key(_identity(sources, region, embedding_column, chip_size_m))
    folder = store_dir(key)
    if (folder / META).exists():
        try:
            catalog = Catalog.from_store(load_store(folder))
            report(progress, 1, 1, "Opened from the app cache")
            return catalog
        except CacheError:
            shutil.rmtree(folder, ignore_errors=True)  # damaged or of another format: read again
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
    _check_disk(folder.parent, collector.capacity, dim_hint or 384, label)
    code = choose_code(collector.capacity)
    attr_schema = _attribute_schema(sources)
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
    for i, row0, batch in iter_batches(sources, [groups for _, groups, _ in plans], _BATCH_ROWS):
        src, (plan, _, size) = sources[i], plans[i]
        kept[i] += collector.read_batch(batch, src, plan, size, row0)
        done += batch.num_rows
        report(progress, done, total, f"Reading {src.label}")
        check(cancel)
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
        "identity": _identity(sources, region, embedding_column, chip_size_m),
    }
    # Arrow's allocator keeps the decoded pages' memory for reuse (~0.2 GB per 1M x 384 chips); nothing
    # reads parquet again soon, so give it back before the index build needs memory.
    pa.default_memory_pool().release_unused()
    final = collector.writer.finish(meta, problems)
    remove_stale([r.path for r in records], key)
    try:
        return Catalog.from_store(load_store(final))
    except CacheError as exc:  # written just now: only a broken disk gets here
        raise InputError(
            f"The app cache of {sources[0].label} could not be read back: {exc.message}"
        ) from None


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
