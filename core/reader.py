"""Open embeddings GeoParquet files as one :class:`core.catalog.Catalog`.

``open_catalog`` reads one file, several, or a folder; the layout of each file is recognised by an adapter
(:mod:`core.adapters`). With a region, only files and row groups that can touch it are read
(:mod:`core.geo_read`), then rows are filtered exactly by footprint. Vectors stream batch by batch into one
preallocated float32 matrix (:mod:`core.vectors`), so the Arrow data of only one batch is alive at a time.

Choices worth knowing:

* Rows with a null, NaN, infinite or all-zero vector, or a missing/invalid geometry, are skipped and counted;
  each kind gets one sentence in ``Catalog.problems``. A file where no row is usable is an error.
* Duplicate ids are kept: the first chip keeps the id, later ones become ``"<id>#2"``, ``"<id>#3"``... so every
  chip stays selectable, and ``problems`` says how many were renamed.
* Chip size for point data: ``emb`` metadata, else the ``chip_size_m`` argument, else 320 m (Earth Index).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from core.adapters import model_id
from core.catalog import Catalog
from core.errors import InputError
from core.geo_read import (
    DEFAULT_CHIP_SIZE_M,
    METRES_PER_DEGREE,
    CrsPlan,
    bbox_intersects,
    chip_size_from_metadata,
    footprints,
    region_keep,
    row_groups_in_region,
)
from core.progress import CancelToken, ProgressFn, check, report
from core.sources import ParquetSource, iter_batches, open_source, prefetch, resolve_paths
from core.types import Region, SourceFile
from core.vectors import VectorSink, batch_matrix, row_norms

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


def _ids(batch: pa.RecordBatch, src: ParquetSource, first_row: int) -> pa.Array:
    """The chip ids of a batch as an Arrow string array (see module doc of core.adapters for the rules)."""
    lay = src.layout
    if lay.id_column is None:
        raw = pa.array(np.arange(first_row, first_row + batch.num_rows)).cast(pa.string())
    else:
        raw = batch.column(batch.schema.get_field_index(lay.id_column)).cast(pa.string())
    if lay.id_from_stem:
        return pc.binary_join_element_wise(src.stem, raw, ":")
    return raw


class _Reader:
    """State of one open: the matrix being filled, the kept pieces, and counts for problem sentences."""

    def __init__(self, region: Region | None, chip_size_m: float | None) -> None:
        self.region = region
        self.prepared = region.geometry() if region and region.polygon_wkt else None
        if self.prepared is not None:
            shapely.prepare(self.prepared)
        self.chip_size_arg = chip_size_m
        self.sink: VectorSink | None = None
        self.dim: int | None = None
        self.ids: list[pa.Array] = []
        self.geoms: list[np.ndarray] = []
        self.attrs: list[pa.Table] = []
        self.bad_vectors: dict[str, int] = {}
        self.bad_geoms: dict[str, int] = {}
        self.problems: list[str] = []
        self.capacity = 0  # rows in the row groups chosen for reading: the matrix is allocated for them

    def plan_file(self, src: ParquetSource) -> tuple[CrsPlan, list[int], float]:
        lay = src.layout
        plan = CrsPlan(lay.crs, src.label)
        if lay.file_bbox:
            plan.decide(lay.file_bbox)
        size = chip_size_from_metadata(lay.model) or self.chip_size_arg or DEFAULT_CHIP_SIZE_M
        groups = list(range(src.parquet.metadata.num_row_groups))
        if self.region is not None:
            box = plan.bounds_to_lonlat(lay.file_bbox) if lay.file_bbox else None
            if box is not None and not self._touches(box):
                return plan, [], size
            groups = row_groups_in_region(src.parquet.metadata, lay, plan, self.region, size)
        return plan, groups, size

    def _touches(self, box: tuple[float, float, float, float]) -> bool:
        assert self.region is not None
        if not bbox_intersects(box, self.region.bbox):
            return False
        return self.prepared is None or bool(shapely.intersects(self.prepared, shapely.box(*box)))

    def read_batch(
        self, batch: pa.RecordBatch, src: ParquetSource, plan: CrsPlan, size: float, row0: int
    ) -> int:
        lay = src.layout
        emb = batch.column(batch.schema.get_field_index(lay.embedding))
        mat, present, d = batch_matrix(emb, self.dim, src.label)
        if self.sink is None:
            self.dim = d
            self.sink = VectorSink(self.capacity, d)
        norms = row_norms(mat)
        with np.errstate(invalid="ignore"):
            vec_ok = np.isfinite(norms) & (norms > 0)
        if present is not None:
            vec_ok &= present
        geoms, bounds = footprints(batch, lay, plan, size)
        geom_ok = np.isfinite(bounds[:, 0])
        self.bad_vectors[src.label] = self.bad_vectors.get(src.label, 0) + int((~vec_ok).sum())
        self.bad_geoms[src.label] = self.bad_geoms.get(src.label, 0) + int((vec_ok & ~geom_ok).sum())
        keep = vec_ok & geom_ok
        if self.region is not None:
            keep &= region_keep(geoms, bounds, self.region, self.prepared)
        k = int(keep.sum())
        all_kept = k == batch.num_rows
        mask = None if all_kept else keep
        self.sink.add(mat, norms, mask)
        ids = _ids(batch, src, row0)
        attrs = pa.Table.from_batches([batch.select(lay.attributes)])
        if not all_kept:
            arrow_mask = pa.array(keep)
            ids = ids.filter(arrow_mask)
            geoms = geoms[keep]
            attrs = attrs.filter(arrow_mask)
        self.ids.append(ids)
        self.geoms.append(geoms)
        self.attrs.append(attrs)
        return k


def _chip_size(reader: _Reader, sources: list[ParquetSource], fps: np.ndarray) -> float | None:
    """The chip size to record: the stated one, else an estimate from the footprints (median side, metres)."""
    for src in sources:
        stated = chip_size_from_metadata(src.layout.model)
        if stated:
            return stated
    if reader.chip_size_arg:
        return float(reader.chip_size_arg)
    if len(fps) == 0:
        return None
    b = shapely.bounds(fps[:: max(1, len(fps) // 1000)])
    lat = np.radians((b[:, 1] + b[:, 3]) / 2)
    side = np.sqrt((b[:, 2] - b[:, 0]) * np.cos(lat) * (b[:, 3] - b[:, 1])) * METRES_PER_DEGREE
    return float(np.round(np.median(side), 1))


def _unique_ids(ids: pa.Array, problems: list[str]) -> np.ndarray:
    """Ids as an object array of str; duplicates renamed "<id>#2", "<id>#3"... (counting hashes, no sort)."""
    out = ids.to_numpy(zero_copy_only=False).astype(object)
    if len(ids) == 0 or pc.count_distinct(ids).as_py() == len(ids):
        return out
    counts = pc.value_counts(ids)
    dup_values = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    rows = np.flatnonzero(pc.is_in(ids, value_set=dup_values).to_numpy(zero_copy_only=False))
    seen: dict[str, int] = {}
    renamed = 0
    for r in rows:  # only rows whose id repeats: few in practice
        n = seen.get(out[r], 0) + 1
        seen[out[r]] = n
        if n > 1:
            out[r] = f"{out[r]}#{n}"
            renamed += 1
    problems.append(
        f"{renamed} chips share an id with an earlier chip; they were renamed '<id>#2', '<id>#3'... "
        "so that each can be selected."
    )
    return out


def _counts_sentence(counts: dict[str, int], what: str) -> str | None:
    parts = [f"{label} ({n})" for label, n in counts.items() if n]
    if not parts:
        return None
    return f"Skipped {sum(counts.values())} chips with {what} in " + ", ".join(parts) + "."


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
    reader = _Reader(region, chip_size_m)
    plans = [reader.plan_file(src) for src in sources]
    reader.capacity = sum(
        src.parquet.metadata.row_group(g).num_rows
        for src, (_, groups, _) in zip(sources, plans, strict=True)
        for g in groups
    )
    done, total = 0, reader.capacity
    records: list[SourceFile] = []
    report(progress, 0, total, "Opening embeddings")
    kept = [0] * len(sources)
    for i, row0, batch in prefetch(iter_batches(sources, [groups for _, groups, _ in plans], _BATCH_ROWS)):
        src, (plan, _, size) = sources[i], plans[i]
        kept[i] += reader.read_batch(batch, src, plan, size, row0)
        done += batch.num_rows
        report(progress, done, total, f"Reading {src.label}")
        check(cancel)
    for src, (plan, groups, _), kept_here in zip(sources, plans, kept, strict=True):
        meta = src.parquet.metadata
        read_rows = sum(meta.row_group(g).num_rows for g in groups)
        bad_vec, bad_geom = reader.bad_vectors.get(src.label, 0), reader.bad_geoms.get(src.label, 0)
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
            reader.problems.append(f"{src.label} is empty: it holds no chips.")
        if plan.problem:
            reader.problems.append(plan.problem)
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
    return _finish(reader, sources, records, region)


def _finish(
    reader: _Reader, sources: list[ParquetSource], records: list[SourceFile], region: Region | None
) -> Catalog:
    problems = list(reader.problems)
    for counts, what in (
        (reader.bad_vectors, "empty or invalid embeddings (null, NaN, infinite or all zeros)"),
        (reader.bad_geoms, "a missing or invalid geometry"),
    ):
        sentence = _counts_sentence(counts, what)
        if sentence:
            problems.append(sentence)
    if reader.sink is None:
        dim = next((s.layout.dim_hint for s in sources if s.layout.dim_hint), 0) or 0
        vectors = np.zeros((0, dim), np.float32)
    else:
        vectors = reader.sink.result()
    fps = np.concatenate(reader.geoms) if reader.geoms else np.zeros(0, dtype=object)
    ids = pa.concat_arrays(reader.ids) if reader.ids else pa.array([], pa.string())
    if any(t.num_columns for t in reader.attrs):
        attributes = pa.concat_tables(reader.attrs, promote_options="permissive")
    elif reader.attrs:  # no attribute columns at all: a zero-column table still needs its row count
        attributes = pa.Table.from_batches(
            [pa.record_batch([pa.nulls(len(vectors))], names=["_"]).select([])]
        )
    else:
        first = sources[0].parquet.schema_arrow
        attributes = first.empty_table().select(sources[0].layout.attributes)
    if attributes.num_columns:  # (on a zero-column table this would drop the row count)
        attributes = attributes.replace_schema_metadata(None)
    if region is not None and len(vectors) == 0 and any(r.rows_total for r in records):
        problems.append("None of the chips in the opened files lies inside the chosen region.")
    adapters = list(dict.fromkeys(s.layout.adapter for s in sources))
    return Catalog(
        vectors=vectors,
        ids=_unique_ids(ids, problems),
        footprints=fps,
        attributes=attributes,
        sources=records,
        adapter=adapters[0] if len(adapters) == 1 else "+".join(adapters),
        model=next((s.layout.model for s in sources if s.layout.model), None),
        region=region,
        problems=problems,
        chip_size_m=_chip_size(reader, sources, fps),
    )


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
            columns=list(src.parquet.schema_arrow.names),
            row_groups=src.parquet.metadata.num_row_groups,
        )
        plan = CrsPlan(lay.crs, src.label)
        try:
            if lay.file_bbox:
                plan.decide(lay.file_bbox)
                box = plan.bounds_to_lonlat(lay.file_bbox)
                entry["bbox"] = list(box) if box else None
        except InputError as exc:
            entry["problems"].append(exc.message)
        if plan.problem:
            entry["problems"].append(plan.problem)
        if src.rows_total == 0:
            entry["problems"].append(f"{src.label} is empty: it holds no chips.")
        out.append(entry)
    return out
