"""The loaded chips of a region: vectors, ids, footprints, attributes, and fast lookups on the map.

A :class:`Catalog` is immutable once made (by :func:`terrafind.core.read.reader.open_catalog` or directly from arrays in
tests), which is what lets worker threads search it while the GUI thread looks chips up.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from terrafind.core.types import Region, SourceFile

__all__ = ["Catalog"]


def _json_safe(value: Any) -> Any:
    """A value from an Arrow row as something json.dumps accepts (dates as ISO strings)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return str(value)


@dataclass(eq=False)
class Catalog:
    """Chips ready to search. Row ``i`` of every array is the same chip.

    Attributes
    ----------
    vectors : (N, d) float32, C-contiguous, every row of unit length.
    ids : (N,) object array of str.
    footprints : (N,) shapely Polygons in lon/lat.
    attributes : pyarrow Table with N rows: every input column that is not id, embedding or geometry
        (e.g. ``date``, ``source_url``), kept for popups and export.
    """

    vectors: np.ndarray
    ids: np.ndarray
    footprints: np.ndarray
    attributes: pa.Table
    sources: list[SourceFile] = field(default_factory=list)
    adapter: str = "generic"
    model: dict[str, Any] | None = None
    region: Region | None = None
    problems: list[str] = field(default_factory=list)
    chip_size_m: float | None = None
    period: str | None = None  # the date these chips show when a region has several (terrafind.core.dates)
    # (N,) float32: each vector's length before it was made unit, or None (made from arrays). Searches
    # compare directions; a change between dates also needs the lengths (terrafind.core.change.metric).
    norms: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.vectors.ndim != 2 or self.vectors.shape[0] != n or len(self.footprints) != n:
            raise ValueError("vectors, ids and footprints must have the same number of rows")
        if self.attributes.num_rows != n:
            raise ValueError("attributes must have one row per chip")

    # --- sizes -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of all footprints."""
        if len(self) == 0:
            return (math.nan,) * 4
        return tuple(float(v) for v in shapely.total_bounds(self.footprints))  # type: ignore[return-value]

    @property
    def model_name(self) -> str:
        """A short human name of the model that made the vectors ("SoftCon (dinov2_vits14_softcon)")."""
        m = self.model or {}
        inner: dict[str, Any] = m["model"] if isinstance(m.get("model"), dict) else m
        name, mid = inner.get("name"), inner.get("id")
        if name and mid and name != mid:
            return f"{name} ({mid})"
        if not (name or mid):  # the Clay v1 layout names its model per chip (source_model)
            from terrafind.core.read.v1 import summarize

            mid = summarize(self).first("source_model")
        return str(name or mid or f"unknown model, {self.dim}-d")

    # --- spatial lookups -------------------------------------------------------------------------
    @cached_property
    def centroids(self) -> np.ndarray:
        """(N, 2) float64 lon/lat of each footprint's centre."""
        if len(self) == 0:
            return np.zeros((0, 2))
        return shapely.get_coordinates(shapely.centroid(self.footprints))

    @cached_property
    def _tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.footprints)

    def chip_at(self, lon: float, lat: float) -> int | None:
        """The row whose footprint contains (lon, lat); where chips overlap, the one centred closest."""
        if len(self) == 0:
            return None
        hits = self._tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits) == 0:
            return None
        if len(hits) == 1:
            return int(hits[0])
        c = self.centroids[hits]
        d2 = (c[:, 0] - lon) ** 2 + (c[:, 1] - lat) ** 2
        return int(hits[int(np.argmin(d2))])

    @cached_property
    def stride(self) -> tuple[float, float]:
        """(x, y) spacing in degrees between neighbouring chips' centres, at most the chip's own size.

        Chips made at half stride overlap by half; the map draws each hit as the cell of this size around
        its centre, which is the part of the chip closer to its centre than to any neighbour's, so what a
        person sees under the pointer is the chip a click picks (:meth:`chip_at`). Measured on at most 400
        chips spread over the catalog (cheap at any size); (0, 0) for an empty catalog."""
        n = len(self)
        if n == 0:
            return (0.0, 0.0)
        rows = np.unique(np.linspace(0, n - 1, min(n, 400)).astype(np.int64))
        b = shapely.bounds(self.footprints[rows])
        w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        found_x, found_y = [], []
        for i, row in enumerate(rows.tolist()):
            near = self._tree.query(self.footprints[row], predicate="intersects")
            d = self.centroids[near] - self.centroids[row]
            dx, dy = np.abs(d[:, 0]), np.abs(d[:, 1])
            same_row = (dy < 0.25 * h[i]) & (dx > 1e-9)
            same_col = (dx < 0.25 * w[i]) & (dy > 1e-9)
            found_x.append(dx[same_row].min() if same_row.any() else w[i])
            found_y.append(dy[same_col].min() if same_col.any() else h[i])
        sx = min(float(np.median(found_x)), float(np.median(w)))
        sy = min(float(np.median(found_y)), float(np.median(h)))
        return (round(sx, 9), round(sy, 9))

    def nearest(self, lon: float, lat: float) -> int | None:
        """The row whose footprint is nearest to (lon, lat) (distance in degrees)."""
        if len(self) == 0:
            return None
        return int(self._tree.nearest(shapely.Point(lon, lat)))

    # --- ids and attributes ----------------------------------------------------------------------
    @cached_property
    def _row_by_id(self) -> dict[str, int]:
        return {str(v): i for i, v in enumerate(self.ids)}

    def row_of(self, chip_id: str) -> int | None:
        return self._row_by_id.get(str(chip_id))

    def column(self, name: str) -> list[Any] | None:
        """A whole attribute column as Python values, or None when the data has no such column."""
        if name not in self.attributes.column_names:
            return None
        return self.attributes.column(name).to_pylist()

    def value(self, row: int, name: str) -> Any:
        """One attribute of one chip (JSON-safe), or None."""
        if name not in self.attributes.column_names:
            return None
        return _json_safe(self.attributes.column(name)[row].as_py())

    def properties(self, row: int) -> dict[str, Any]:
        """Everything known about a chip, JSON-safe, for popups and export."""
        props: dict[str, Any] = {"id": str(self.ids[row])}
        for name in self.attributes.column_names:
            props[name] = _json_safe(self.attributes.column(name)[row].as_py())
        return props

    def date(self, row: int) -> str | None:
        for name in ("date", "datetime", "timestamp", "start_datetime"):
            v = self.value(row, name)
            if v is not None:
                return str(v)
        return None

    def source_url(self, row: int) -> str | None:
        v = self.value(row, "source_url")
        return str(v) if v else None

    def subset(self, rows: np.ndarray, *, period: str | None = None) -> Catalog:
        """The chips at ``rows`` (in that order) as a catalog of their own, e.g. one date of a file whose
        rows hold several."""
        rows = np.asarray(rows, np.int64)
        return Catalog(
            vectors=np.ascontiguousarray(self.vectors[rows]),
            ids=self.ids[rows],
            footprints=self.footprints[rows],
            attributes=self.attributes.take(pa.array(rows)),
            sources=list(self.sources),
            adapter=self.adapter,
            model=self.model,
            region=self.region,
            problems=list(self.problems),
            chip_size_m=self.chip_size_m,
            period=period if period is not None else self.period,
            norms=None if self.norms is None else self.norms[rows],
        )

    def raw_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The vectors at ``rows`` with their lengths as read (unit when the lengths are unknown)."""
        v = np.asarray(self.vectors[rows], np.float32)
        return v if self.norms is None else v * self.norms[rows][:, None]

    # --- identity --------------------------------------------------------------------------------
    def fingerprint(self, extra: str = "") -> str:
        """A hash of what this catalog was made from (files, sizes, mtimes, footers, region) plus ``extra``."""
        payload = {
            "sources": [s.__dict__ for s in self.sources],
            "region": self.region.to_dict() if self.region else None,
            "rows": len(self),
            "dim": self.dim,
            "extra": extra,
        }
        if self.period is not None:  # the dates of one file are catalogs of their own (and indexes)
            payload["period"] = self.period
        if not self.sources:  # built from arrays: hash the content itself
            payload["content"] = hashlib.sha256(np.ascontiguousarray(self.vectors).tobytes()).hexdigest()
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]

    def describe(self) -> dict[str, Any]:
        """What ``terrafind-cli info`` and the dataset panel show."""
        return {
            "adapter": self.adapter,
            "rows": len(self),
            "dim": self.dim,
            "bbox": list(self.bounds) if len(self) else None,
            "model": self.model_name,
            "files": [s.path for s in self.sources],
            "chip_size_m": self.chip_size_m,
            "date": self.period,
            "problems": list(self.problems),
            "v1": self._v1(),
        }

    def _v1(self) -> dict[str, Any] | None:
        """The Clay v1 fields (source model, creator, classes, loss) summed up, when the data has them."""
        from terrafind.core.read.v1 import summarize

        v1 = summarize(self)
        return v1.to_dict() | {"lines": v1.lines(), "metric": v1.metric} if v1.present else None
