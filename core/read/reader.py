"""Open embeddings GeoParquet files as one :class:`terrafind.core.catalog.Catalog`.

``open_catalog`` reads one file, several, or a folder; the layout of each file is recognised by an adapter
(:mod:`terrafind.core.read.adapters`). With a region, only files and row groups that can touch it are read
(:mod:`terrafind.core.read.geo`), then rows are filtered exactly by footprint. Vectors go batch by batch into one
preallocated float32 matrix (:mod:`terrafind.core.read.vectors`): Arrow data of at most a few row groups is alive at a time
(:mod:`terrafind.core.read.sources` decodes the next ones in worker threads), never a whole file as a table.

Choices worth knowing:

* Rows with a null, NaN, infinite or all-zero vector, or a missing/invalid geometry, are skipped and counted;
  each kind gets one sentence in ``Catalog.problems``. A file where no row is usable is an error.
* Duplicate ids are kept: the first chip keeps the id, later ones become ``"<id>#2"``, ``"<id>#3"``... so every
  chip stays selectable, and ``problems`` says how many were renamed.
* Chip size for point data: ``emb`` metadata, else the ``chip_size_m`` argument, else 320 m (Earth Index).
  ``Catalog.chip_size_m`` is that size, or for polygon data the median footprint side in metres.
* Files of different layouts can be opened together; ``Catalog.adapter`` then joins their names with "+".
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.read.adapters import model_id
from terrafind.core.read.collect import BatchCollector, chip_size, counts_sentence, unique_ids
from terrafind.core.read.geo import CrsPlan, statistics_bounds
from terrafind.core.read.sources import ParquetSource, iter_batches, open_source, resolve_paths
from terrafind.core.read.v1 import summarize_source
from terrafind.core.types import Region, SourceFile

__all__ = ["open_catalog", "inspect"]

_BATCH_ROWS = 65_536  # ~100 MB of 384-d float32 per batch: progress steps that are fine but not chatty


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
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Catalog:
    """Open one GeoParquet file, several, or a folder of them as a :class:`Catalog` (unit float32 vectors).

    ``region`` limits what is read (files and row groups outside it are skipped, rows filtered by footprint);
    ``embedding_column`` names the vector column when detection cannot; ``chip_size_m`` sizes chips of point
    data that does not state it. Bad input raises :class:`InputError` with one sentence naming the file.
    Progress is reported and ``cancel`` checked once per batch (at most one row group).
    """
    sources = _open_all(paths, embedding_column)
    collector = BatchCollector(region, chip_size_m)
    plans = [collector.plan_file(src) for src in sources]
    collector.capacity = sum(
        src.metadata.row_group(g).num_rows
        for src, (_, groups, _) in zip(sources, plans, strict=True)
        for g in groups
    )
    # The footer's promises, checked before the matrix is allocated (read.budget).
    from terrafind.core.read.budget import Budget, available_bytes, check_memory, open_cost

    names = ", ".join(s.label for s in sources[:3]) + (
        f" and {len(sources) - 3} more" if len(sources) > 3 else ""
    )
    hint = "choose a smaller region (draw one, or give --bbox) or fewer files."
    cost, chips = open_cost(sources, [groups for _, groups, _ in plans])
    free = available_bytes()
    check_memory(cost, f"Opening {chips:,} chips of {names}", hint=hint, available=free)
    collector.budget = Budget(int(free * 0.85) - cost + _attribute_share(cost), f"{names}", hint)
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
    return _finish(collector, sources, records, region)


def _attribute_share(cost: int) -> int:
    """What the attributes' decoded text may take beyond the footer's estimate: the estimate itself is in
    ``cost`` already; a file may exceed it (a footer that hides its dictionaries) up to the memory left."""
    return min(cost, 1 << 30)


def _finish(
    collector: BatchCollector, sources: list[ParquetSource], records: list[SourceFile], region: Region | None
) -> Catalog:
    problems = list(collector.problems)
    for counts, what in (
        (collector.bad_vectors, "empty or invalid embeddings (null, NaN, infinite or all zeros)"),
        (collector.bad_geoms, "a missing or invalid geometry"),
    ):
        sentence = counts_sentence(counts, what)
        if sentence:
            problems.append(sentence)
    if collector.sink is None:
        dim = next((s.layout.dim_hint for s in sources if s.layout.dim_hint), 0) or 0
        vectors = np.zeros((0, dim), np.float32)
        norms = np.zeros(0, np.float32)
    else:
        vectors = collector.sink.result()
        norms = collector.sink.norms()
    fps = np.concatenate(collector.geoms) if collector.geoms else np.zeros(0, dtype=object)
    ids = pa.concat_arrays(collector.ids) if collector.ids else pa.array([], pa.string())
    if any(t.num_columns for t in collector.attrs):
        attributes = pa.concat_tables(collector.attrs, promote_options="permissive")
    elif collector.attrs:  # no attribute columns at all: a zero-column table still needs its row count
        attributes = pa.Table.from_batches(
            [pa.record_batch([pa.nulls(len(vectors))], names=["_"]).select([])]
        )
    else:
        first = sources[0].schema
        attributes = first.empty_table().select(sources[0].layout.attributes)
    if attributes.num_columns:  # (on a zero-column table this would drop the row count)
        attributes = attributes.replace_schema_metadata(None)
    if region is not None and len(vectors) == 0 and any(r.rows_total for r in records):
        problems.append("None of the chips in the opened files lies inside the chosen region.")
    adapters = list(dict.fromkeys(s.layout.adapter for s in sources))
    # Arrow's allocator keeps the decoded pages' memory for reuse (~0.2 GB per 1M x 384 chips); nothing
    # reads parquet again soon, so give it back before the index build needs its own copy of the vectors.
    pa.default_memory_pool().release_unused()
    return Catalog(
        vectors=vectors,
        ids=unique_ids(ids, problems),
        footprints=fps,
        attributes=attributes,
        sources=records,
        adapter=adapters[0] if len(adapters) == 1 else "+".join(adapters),
        model=next((s.layout.model for s in sources if s.layout.model), None),
        region=region,
        problems=problems,
        chip_size_m=chip_size(collector, sources, fps),
        norms=norms,
    )


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
