"""Collecting an open's batches into a region store: vectors, ids, footprint boxes and attributes.

:class:`BatchCollector` holds the state of one :func:`terrafind.core.read.reader.open_catalog` call; each
record batch is checked (vectors, geometry), filtered (region) and handed to the store writer
(:class:`terrafind.core.store.writer.StoreWriter`): nothing of the region stays in memory but counts and a
small sample of footprint sizes. Helpers turn the counts into catalog fields.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from terrafind.core.limits import MAX_ID_CHARS, MAX_TEXT_CHARS
from terrafind.core.read.budget import Budget
from terrafind.core.read.geo import (
    DEFAULT_CHIP_SIZE_M,
    METRES_PER_DEGREE,
    CrsPlan,
    bbox_intersects,
    chip_size_from_metadata,
    footprint_bounds,
    region_keep,
    row_groups_in_region,
)
from terrafind.core.read.shapes import bounded_text, is_text
from terrafind.core.read.sources import ParquetSource
from terrafind.core.read.vectors import batch_matrix, row_norms
from terrafind.core.types import Region

__all__ = ["BatchCollector", "chip_size", "unique_ids", "counts_sentence"]


def _ids(batch: pa.RecordBatch, src: ParquetSource, first_row: int) -> pa.Array:
    """The chip ids of a batch as an Arrow string array (see module doc of terrafind.core.read.adapters for the rules)."""
    lay = src.layout
    if lay.id_column is None:
        raw = pa.array(np.arange(first_row, first_row + batch.num_rows)).cast(pa.string())
    else:
        col = batch.column(batch.schema.get_field_index(lay.id_column))
        if is_text(col.type):  # cut before a dictionary value is repeated (shapes.bounded_text)
            col = bounded_text(col, MAX_ID_CHARS)
        raw = col.cast(pa.string())
    if lay.id_from_stem:
        return pc.binary_join_element_wise(src.stem, raw, ":")
    return raw


@dataclass
class Prepared:
    """A batch checked and coded (:meth:`BatchCollector.prepare`), waiting to be counted and written."""

    label: str
    bad_vectors: int
    bad_geoms: int
    kept: int
    text_bytes: int
    coded: Any  # terrafind.core.store.writer.Coded, or None (nothing kept, or the writer not ready)
    raw: tuple[Any, ...] | None  # (vectors, lengths, boxes, ids, attributes) to add when not coded


class BatchCollector:
    """State of one open: the store being written, counts for problem sentences, a sample of boxes."""

    _SIZE_SAMPLE = 4096  # footprint boxes kept to estimate the chip size of polygon data

    def __init__(self, region: Region | None, chip_size_m: float | None) -> None:
        self.region = region
        self.prepared = region.geometry() if region and region.polygon_wkt else None
        if self.prepared is not None:
            shapely.prepare(self.prepared)
        self.chip_size_arg = chip_size_m
        self.writer: Any = None  # terrafind.core.store.writer.StoreWriter, made at the first batch
        self.make_writer: Any = None  # (dim) -> StoreWriter, set by the reader
        self.dim: int | None = None
        self.kept = 0
        self.size_sample: list[np.ndarray] = []
        self._sampled = 0
        self.bad_vectors: dict[str, int] = {}
        self.bad_geoms: dict[str, int] = {}
        self.problems: list[str] = []
        self.capacity = 0  # rows in the row groups chosen for reading
        self._geos = threading.Lock()
        self.budget: Budget | None = None  # what a batch's decoded text may take (read.budget)

    def plan_file(self, src: ParquetSource) -> tuple[CrsPlan, list[int], float]:
        lay = src.layout
        plan = CrsPlan(lay.crs, src.label)
        if lay.file_bbox:
            plan.decide(lay.file_bbox)
        size = chip_size_from_metadata(lay.model) or self.chip_size_arg or DEFAULT_CHIP_SIZE_M
        groups = list(range(src.metadata.num_row_groups))
        if self.region is not None:
            box = plan.bounds_to_lonlat(lay.file_bbox) if lay.file_bbox else None
            if box is not None and not self._touches(box):
                return plan, [], size
            groups = row_groups_in_region(src.metadata, lay, plan, self.region, size)
        return plan, groups, size

    def _touches(self, box: tuple[float, float, float, float]) -> bool:
        assert self.region is not None
        if not bbox_intersects(box, self.region.bbox):
            return False
        return self.prepared is None or bool(shapely.intersects(self.prepared, shapely.box(*box)))

    def read_batch(
        self, batch: pa.RecordBatch, src: ParquetSource, plan: CrsPlan, size: float, row0: int
    ) -> int:
        """Prepare and write one batch on this thread; the number of chips kept."""
        return self.commit(self.prepare(batch, src, plan, size, row0))

    def prepare(
        self,
        batch: pa.RecordBatch,
        src: ParquetSource,
        plan: CrsPlan,
        size: float,
        row0: int,
        *,
        index: int = 0,
    ) -> Prepared:
        """Check, filter and (once the writer is ready) code a batch: safe on any thread after the first
        batch (which makes the writer); nothing of the collector changes here (see :meth:`commit`)."""
        lay = src.layout
        emb = batch.column(batch.schema.get_field_index(lay.embedding))
        mat, present, d = batch_matrix(emb, self.dim, src.label)
        if lay.quantization is not None:  # stored as integers: back to the values they stand for
            mat = lay.quantization.apply(mat, batch)
        if self.writer is None:
            self.dim = d
            self.writer = self.make_writer(d)
        norms = row_norms(mat)
        with np.errstate(invalid="ignore"):
            vec_ok = np.isfinite(norms) & (norms > 0)
        if present is not None:
            vec_ok &= present
        bounds, geoms = footprint_bounds(batch, lay, plan, size)
        geom_ok = np.isfinite(bounds[:, 0])
        keep = vec_ok & geom_ok
        if self.region is not None:
            with self._geos:  # a prepared GEOS geometry is not for two threads at once
                keep &= region_keep(geoms, bounds, self.region, self.prepared)
        k = int(keep.sum())
        ids = _ids(batch, src, row0)
        attrs = _bounded(pa.Table.from_batches([batch.select(lay.attributes)]))
        text_bytes = attrs.nbytes + ids.nbytes
        if k < batch.num_rows:
            arrow_mask = pa.array(keep)
            ids = ids.filter(arrow_mask)
            attrs = attrs.filter(arrow_mask)
            mat, norms, bounds = mat[keep], norms[keep], bounds[keep]
        coded = None
        if k:
            coded = self.writer.code_batch(mat, norms, bounds, ids, attrs, count_clipped=index % 8 == 0)
        return Prepared(
            src.label,
            int((~vec_ok).sum()),
            int((vec_ok & ~geom_ok).sum()),
            k,
            text_bytes,
            coded,
            None if coded is not None or not k else (mat, norms, bounds, ids, attrs),
        )

    def commit(self, p: Prepared) -> int:
        """Count and write a prepared batch (batches in file order, on one thread); chips kept."""
        self.bad_vectors[p.label] = self.bad_vectors.get(p.label, 0) + p.bad_vectors
        self.bad_geoms[p.label] = self.bad_geoms.get(p.label, 0) + p.bad_geoms
        if self.budget is not None:  # a batch's text is in memory until it is written to the store
            self.budget.use(p.text_bytes)
        if p.coded is not None:
            self.writer.write_coded(p.coded)
            self._sample(p.coded.boxes)
        elif p.raw is not None:
            self.writer.add(*p.raw)
            self._sample(p.raw[2])
        if self.budget is not None:
            self.budget.release(p.text_bytes)
        self.kept += p.kept
        return p.kept

    def _sample(self, bounds: np.ndarray) -> None:
        if self._sampled >= self._SIZE_SAMPLE:
            return
        step = max(1, len(bounds) // 256)
        part = bounds[::step][: self._SIZE_SAMPLE - self._sampled]
        self.size_sample.append(part)
        self._sampled += len(part)


def _bounded(table: pa.Table) -> pa.Table:
    """Attributes with every text value cut to :data:`MAX_TEXT_CHARS` and no dictionary left (cut first)."""
    for i, field in enumerate(table.schema):
        if is_text(field.type):
            table = table.set_column(i, field.name, bounded_text(table.column(i), MAX_TEXT_CHARS))
    return table


def chip_size(collector: BatchCollector, sources: list[ParquetSource]) -> float | None:
    """The chip size to record: the stated one, else an estimate from the footprints (median side, metres)."""
    for src in sources:
        stated = chip_size_from_metadata(src.layout.model)
        if stated:
            return stated
    if collector.chip_size_arg:
        return float(collector.chip_size_arg)
    if not collector.size_sample:
        return None
    b = np.concatenate(collector.size_sample)
    lat = np.radians((b[:, 1] + b[:, 3]) / 2)
    side = np.sqrt((b[:, 2] - b[:, 0]) * np.cos(lat) * (b[:, 3] - b[:, 1])) * METRES_PER_DEGREE
    return float(np.round(np.median(side), 1))


def unique_ids(ids: pa.Array, problems: list[str]) -> np.ndarray:
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


def counts_sentence(counts: dict[str, int], what: str) -> str | None:
    parts = [f"{label} ({n})" for label, n in counts.items() if n]
    if not parts:
        return None
    return f"Skipped {sum(counts.values())} chips with {what} in " + ", ".join(parts) + "."
