"""The loaded chips of a region: vectors, ids, footprints, attributes, and fast lookups on the map.

A :class:`Catalog` is immutable once made (by :func:`terrafind.core.read.reader.open_catalog` or directly from arrays in
tests), which is what lets worker threads search it while the GUI thread looks chips up.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

from terrafind.core.types import Region, SourceFile

__all__ = ["Catalog"]

# Up to this many chips, id lookups go through a dict (~100 B a chip); above, through one scan of the ids.
_ID_DICT_MAX = 500_000


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

    Two ways to make one, one interface: from arrays in memory (tests, a few thousand chips), or from a
    region store (:func:`from_store`: the app cache written when a region is first read), where every
    per-chip column stays on disk, memory-mapped, and is read when asked for; 10 M chips then cost no
    memory until searched (:mod:`terrafind.core.store`). Indexing works alike on both:

    Attributes
    ----------
    vectors : (N, d) float32 unit rows: a numpy array, or :class:`terrafind.core.store.vectors.StoredVectors`
        (int8 codes decoded per row asked for; exact scans go block by block, never a second full copy).
    ids : (N,) str: an object array, or :class:`terrafind.core.store.chips.IdColumn`.
    footprints : (N,) shapely polygons: the given array, or footprints derived from each chip's box when
        asked for (:class:`terrafind.core.store.chips.BoxFootprints`; no polygon is held per chip).
    attributes : pyarrow Table with N rows: every input column that is not id, embedding or geometry
        (e.g. ``date``, ``source_url``), kept for popups and export.
    norms : (N,) float32 length of each vector before it was made unit, or None (made from arrays).
    store : the :class:`terrafind.core.store.open.RegionStore` behind it, or None.
    centre, unit : when similarity is centred (:meth:`centred`, the default of every session), the mean
        ``vectors`` are centred on and the plain unit rows; every score of every search is then a centred
        cosine, because every search reads ``vectors``.
    """

    vectors: Any
    ids: Any
    footprints: Any
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
    store: Any = None  # terrafind.core.store.open.RegionStore when opened from the app cache
    # Centred similarity (terrafind.core.store.centred): the mean the vectors are centred on, and the plain
    # unit rows behind ``vectors`` (None: ``vectors`` are the plain unit rows). See :meth:`centred`.
    centre: np.ndarray | None = None
    unit: Any = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        if len(self.vectors.shape) != 2 or self.vectors.shape[0] != n or len(self.footprints) != n:
            raise ValueError("vectors, ids and footprints must have the same number of rows")
        if self.attributes.num_rows != n:
            raise ValueError("attributes must have one row per chip")

    @classmethod
    def from_store(cls, store: Any) -> Catalog:
        """The catalog of a region store (:func:`terrafind.core.store.open.load_store`)."""
        from terrafind.core.store.chips import BoxFootprints

        meta = store.meta
        region = Region.from_dict(meta["region"]) if meta.get("region") else None
        return cls(
            vectors=store.vectors,
            ids=store.ids,
            footprints=BoxFootprints(store.boxes),
            attributes=store.attributes,
            sources=[SourceFile(**s) for s in meta.get("sources", [])],
            adapter=str(meta.get("adapter", "generic")),
            model=meta.get("model"),
            region=region,
            problems=list(meta.get("problems", [])),
            chip_size_m=meta.get("chip_size_m"),
            norms=store.norms,
            store=store,
        )

    # --- sizes -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of all footprints."""
        if len(self) == 0:
            return (math.nan, math.nan, math.nan, math.nan)
        stored = self.store.meta.get("bounds") if self.store is not None else None
        if stored:
            w, s, e, n = (float(v) for v in stored)
            return (w, s, e, n)
        return self._grid.bounds()

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
    def boxes(self) -> np.ndarray:
        """(N, 4) float64 (xmin, ymin, xmax, ymax) of each footprint (memory-mapped for a store)."""
        if self.store is not None:
            return self.store.boxes
        if len(self) == 0:
            return np.zeros((0, 4))
        return shapely.bounds(np.asarray(self.footprints, dtype=object))

    @cached_property
    def _grid(self) -> Any:
        from terrafind.core.store.grid import ChipGrid

        return self.store.grid if self.store is not None else ChipGrid.of(self.boxes)

    @cached_property
    def centroids(self) -> Any:
        """(N, 2) float64 lon/lat of each footprint's centre (computed per row asked for, for a store)."""
        if self.store is not None:
            from terrafind.core.store.chips import Centres

            return Centres(self.store.boxes)
        if len(self) == 0:
            return np.zeros((0, 2))
        return shapely.get_coordinates(shapely.centroid(self.footprints))

    def chip_at(self, lon: float, lat: float) -> int | None:
        """The row whose footprint contains (lon, lat); where chips overlap, the one centred closest."""
        if len(self) == 0:
            return None
        if self.store is not None:  # footprints are the boxes themselves
            return self._grid.chip_at(lon, lat)
        hits = self._grid.overlapping(lon, lat, lon, lat)
        if len(hits) > 0:  # given polygons need not be boxes: the exact test on the few candidates
            hits = hits[shapely.intersects(self.footprints[hits], shapely.Point(lon, lat))]
        if len(hits) == 0:
            return None
        c = np.asarray(self.centroids[hits])
        d2 = (c[:, 0] - lon) ** 2 + (c[:, 1] - lat) ** 2
        return int(hits[int(np.argmin(d2))])

    def rows_in(self, geom: Any) -> np.ndarray:
        """Rows (sorted) whose footprint intersects the shapely geometry ``geom`` (a drawn region, a place)."""
        if len(self) == 0:
            return np.zeros(0, np.int64)
        rows = self._grid.rows_in(geom)
        if self.store is None and len(rows):
            rows = rows[shapely.intersects(geom, self.footprints[rows])]
        return rows

    @cached_property
    def stride(self) -> tuple[float, float]:
        """(x, y) spacing in degrees between neighbouring chips' centres, at most the chip's own size.

        Chips made at half stride overlap by half; the map draws each hit as the cell of this size around
        its centre, which is the part of the chip closer to its centre than to any neighbour's, so what a
        person sees under the pointer is the chip a click picks (:meth:`chip_at`). Measured on at most 400
        chips spread over the catalog (cheap at any size); (0, 0) for an empty catalog."""
        stored = self.store.meta.get("stride") if self.store is not None else None
        if stored:
            return (float(stored[0]), float(stored[1]))
        return self._grid.stride()

    def chip_near(self, lon: float, lat: float, max_m: float) -> tuple[int, float] | None:
        """(row, metres away) of the chip under (lon, lat), else of the nearest chip whose footprint lies
        within ``max_m`` metres (a click beside the data, a field point in a gap); None when none does."""
        row = self.chip_at(lon, lat)
        if row is not None:
            return row, 0.0
        if max_m <= 0 or len(self) == 0:
            return None
        near = self.nearest(lon, lat)
        if near is None:
            return None
        x0, y0, x1, y1 = (float(v) for v in self.boxes[near])  # the nearest point of its box
        px, py = min(max(lon, x0), x1), min(max(lat, y0), y1)
        dx = (px - lon) * math.cos(math.radians(lat)) * 111_320.0  # metres per degree (equirectangular)
        dy = (py - lat) * 111_320.0
        metres = math.hypot(dx, dy)
        return (near, metres) if metres <= max_m else None

    def chip_width_m(self) -> float:
        """About how wide one chip is, in metres (the stated size, else measured from the grid)."""
        if self.chip_size_m:
            return float(self.chip_size_m)
        if len(self) == 0:
            return 0.0
        sx, _sy = self.stride
        lat = float(np.asarray(self.centroids[[len(self) // 2]])[0, 1])
        return float(sx * 111_320.0 * math.cos(math.radians(lat)))

    def nearest(self, lon: float, lat: float) -> int | None:
        """The row whose footprint is nearest to (lon, lat) (distance in degrees)."""
        if len(self) == 0:
            return None
        return self._grid.nearest(lon, lat)

    # --- ids and attributes ----------------------------------------------------------------------
    @cached_property
    def _row_by_id(self) -> dict[str, int]:
        return {str(v): i for i, v in enumerate(self.ids)}

    def row_of(self, chip_id: str) -> int | None:
        """The row of a chip id, or None (for many ids at once use :meth:`rows_of`)."""
        if hasattr(self.ids, "rows_of") and len(self) > _ID_DICT_MAX:  # a scan, not a dict of millions
            row = int(self.ids.rows_of([chip_id])[0])
            return None if row < 0 else row
        return self._row_by_id.get(str(chip_id))

    def rows_of(self, chip_ids: Any) -> np.ndarray:
        """The row of each id, -1 where the id is not in this catalog (one pass over a store's ids; another
        catalog's ``ids`` may be given as they are)."""
        if hasattr(self.ids, "rows_of"):
            return self.ids.rows_of(chip_ids)
        lookup = self._row_by_id
        return np.array([lookup.get(str(i), -1) for i in chip_ids], np.int64)

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
        part = Catalog(
            vectors=np.ascontiguousarray(self.plain[rows]),
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
        return part if self.centre is None else part.centred(self.centre)  # the same space as its whole

    def raw_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The vectors at ``rows`` with their lengths as read (unit when the lengths are unknown), never
        centred."""
        v = np.asarray(self.plain[rows], np.float32)
        return v if self.norms is None else v * self.norms[rows][:, None]

    # --- the space scores are measured in ----------------------------------------------------------
    @property
    def plain(self) -> Any:
        """The plain unit rows (what was read), whether or not similarity is centred."""
        return self.unit if self.unit is not None else self.vectors

    @property
    def is_centred(self) -> bool:
        return self.centre is not None

    def own_mean(self) -> np.ndarray:
        """The mean plain unit row of this catalog: its store's (written with it), else computed."""
        if self.store is not None and getattr(self.store, "mu", None) is not None:
            return np.asarray(self.store.mu, np.float32)
        from terrafind.core.store.centred import mean_of

        return mean_of(self.plain)

    def centred(self, mean: np.ndarray | None = None) -> Catalog:
        """This catalog with similarity centred on ``mean`` (default: its own mean, :meth:`own_mean`).

        A new catalog sharing every column; ``vectors`` become
        :class:`terrafind.core.store.centred.CentredVectors` (``(x - mean) / |x - mean|``, read on the fly),
        so exact scans, the index, refine, percentiles and detectors all score centred cosines. Cheap: the
        distances to the mean are the store's own ``cnorm`` for its own mean, else one scan on first use."""
        from dataclasses import replace

        from terrafind.core.store.centred import CentredVectors

        mu = self.own_mean() if mean is None else np.asarray(mean, np.float32)
        if self.centre is not None and np.array_equal(self.centre, mu):
            return self
        cnorm = None
        st = self.store
        if st is not None and getattr(st, "cnorm", None) is not None and np.array_equal(st.mu, mu):
            cnorm = st.cnorm
        made = replace(self, vectors=CentredVectors(self.plain, mu, cnorm), unit=self.plain, centre=mu)
        return self._share_lookups(made)

    def uncentred(self) -> Catalog:
        """This catalog with plain cosine similarity (a new catalog sharing every column)."""
        from dataclasses import replace

        if self.unit is None:
            return self
        return self._share_lookups(replace(self, vectors=self.unit, unit=None, centre=None))

    def _share_lookups(self, other: Catalog) -> Catalog:
        """Give ``other`` the lookups already made here (bounds, grid, centres, ids: none depends on the
        vectors), so a switch of space never rebuilds them on the GUI thread."""
        names = {f.name for f in fields(self)}
        for key, value in self.__dict__.items():
            if key not in names:
                other.__dict__.setdefault(key, value)
        return other

    def similarity(self) -> str:
        """What its scores are, in words for people and provenance: "centred cosine" or "cosine"."""
        return "centred cosine" if self.is_centred else "cosine"

    def space_key(self) -> str:
        """ "" for plain cosine, else a hash of the mean: part of the index's fingerprint (a graph is built
        in one space), not of the catalog's (thumbnails and projects do not depend on it)."""
        if self.centre is None:
            return ""
        from terrafind.core.store.centred import centre_key

        return f"|centred:{centre_key(self.centre)}"

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
            payload["content"] = hashlib.sha256(np.ascontiguousarray(self.plain).tobytes()).hexdigest()
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
            "similarity": self.similarity(),
            "v1": self._v1(),
            "cache": self.cache_info(),
        }

    def _v1(self) -> dict[str, Any] | None:
        """The Clay v1 fields (source model, creator, classes, loss) summed up, when the data has them."""
        from terrafind.core.read.v1 import summarize

        v1 = summarize(self)
        return v1.to_dict() | {"lines": v1.lines(), "metric": v1.metric} if v1.present else None

    def cache_info(self) -> dict[str, Any] | None:
        """The region store behind this catalog: how its vectors are kept, its size on disk and folder."""
        st = self.store
        if st is None:
            return None
        return {
            "code": st.code,
            "bytes": st.size(),
            "folder": str(st.folder),
            "key": st.key,
            "reused": bool(getattr(st, "reused", False)),
        }
