"""Footprints, coordinate systems, chip size and region pruning for the reader.

Python speaks (lon, lat) in EPSG:4326. GeoParquet stores x/y = lon/lat for geographic CRSs whatever axis order
the CRS declares, so every pyproj transform here uses ``always_xy=True``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

from terrafind.core.errors import InputError
from terrafind.core.read.adapters import Layout
from terrafind.core.types import Region

__all__ = [
    "CrsPlan",
    "chip_size_from_metadata",
    "footprints",
    "footprint_bounds",
    "region_keep",
    "row_groups_in_region",
    "statistics_bounds",
    "bbox_intersects",
    "DEFAULT_CHIP_SIZE_M",
    "METRES_PER_DEGREE",
]

# Earth Index chips are 32 x 32 px of 10 m Sentinel-2: 320 m. Used when neither the file nor the user says.
DEFAULT_CHIP_SIZE_M = 320.0
METRES_PER_DEGREE = 111_320.0  # along a meridian (and along the equator); longitude shrinks with cos(lat)
_METRE_KEYS = ("chip_size_m", "chip_size_meters", "chip_size_metres", "chipsize_m", "tile_size_m")


def _looks_lonlat(b: Iterable[float]) -> bool:
    x0, y0, x1, y1 = b
    return -180.5 <= x0 <= x1 <= 180.5 and -90.5 <= y0 <= y1 <= 90.5


def _is_wgs84_lonlat(crs: Any) -> bool:
    import pyproj

    return bool(crs.is_geographic and crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True))


class CrsPlan:
    """How one file's coordinates become lon/lat: as they are, reprojected, or as they are despite the CRS.

    The decision needs coordinates (a declared EPSG:3857 on degree values is a contradiction that only the
    numbers reveal), so it is made from the file bbox when there is one, else from the first batch.
    """

    def __init__(self, crs: Any, label: str) -> None:
        self.label = label
        self.problem: str | None = None
        self.transformer: Any = None
        self.crs: Any = None
        self.decided = False
        self.lonlat = True  # declared (or assumed) lon/lat: values are used as they are
        if crs is None:  # undefined CRS: GeoParquet readers assume lon/lat
            return
        import pyproj

        try:
            if not isinstance(crs, (dict, str)) or len(str(crs)) > 1 << 20:
                raise pyproj.exceptions.CRSError("not a CRS")
            if isinstance(crs, str) and "://" in crs:
                raise pyproj.exceptions.CRSError("a CRS is never fetched from an address")
            parsed = (
                pyproj.CRS.from_json_dict(crs) if isinstance(crs, dict) else pyproj.CRS.from_user_input(crs)
            )
        except (pyproj.exceptions.CRSError, ValueError, TypeError, KeyError, RecursionError):
            self.problem = (
                f"{label} declares a coordinate system Terrafind cannot read; its values are used as lon/lat."
            )
            return
        if not _is_wgs84_lonlat(parsed):
            self.crs, self.lonlat = parsed, False

    def decide(self, bounds: Iterable[float]) -> None:
        """Settle the plan from typical coordinates of the file (xmin, ymin, xmax, ymax in the file's CRS)."""
        if self.decided:
            return
        b = [float(v) for v in bounds]
        if not all(math.isfinite(v) for v in b):
            return
        self.decided = True
        if self.lonlat:
            if not _looks_lonlat(b):
                raise InputError(
                    f"The coordinates in {self.label} are not longitude/latitude degrees (e.g. {b[0]:.0f}, "
                    f"{b[1]:.0f}) and the file names no other coordinate system; add its CRS to the file."
                )
            return
        name = self.crs.name
        if not self.crs.is_geographic and _looks_lonlat(b):
            self.problem = (
                f"{self.label} says its coordinates are in {name} but they look like longitude/latitude degrees, "
                "so they are used as lon/lat."
            )
            return
        import pyproj

        self.transformer = pyproj.Transformer.from_crs(self.crs, 4326, always_xy=True)
        out = self.transformer.transform_bounds(*b)
        if not all(math.isfinite(v) for v in out) or not _looks_lonlat(out):
            raise InputError(
                f"The coordinates in {self.label} do not fit its declared coordinate system ({name}); "
                "fix the file's CRS metadata."
            )

    def bounds_to_lonlat(self, b: Iterable[float]) -> tuple[float, float, float, float] | None:
        """A bbox in the file's CRS as lon/lat, or None while a projected CRS is not decided yet."""
        vals = tuple(float(v) for v in b)
        if self.transformer is not None:
            return tuple(self.transformer.transform_bounds(*vals))
        if self.lonlat or self.decided:
            return vals  # type: ignore[return-value]
        return None

    def geoms_to_lonlat(self, geoms: np.ndarray) -> np.ndarray:
        if self.transformer is None:
            return geoms
        tr = self.transformer

        def xy(coords: np.ndarray) -> np.ndarray:
            x, y = tr.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([x, y])

        return shapely.transform(geoms, xy)


def chip_size_from_metadata(meta: Any) -> float | None:
    """A chip size in metres found anywhere in ``emb`` metadata, or None.

    Looks for keys such as ``chip_size_m``, and for ``chip_size`` in pixels next to a ``gsd`` (metres per
    pixel), e.g. the STAC ``emb:chip_layout`` ``{"chip_size": [h, w], ...}`` with ``gsd`` beside or above it.
    """

    def walk(node: Any, gsd: float | None, depth: int = 0) -> float | None:
        if depth > 32:  # real metadata is a few levels deep; a crafted one must not exhaust the stack
            return None
        if isinstance(node, list):
            for v in node:
                found = walk(v, gsd, depth + 1)
                if found:
                    return found
            return None
        if not isinstance(node, dict):
            return None
        for key in ("gsd", "emb:gsd", "ground_sample_distance"):
            if isinstance(node.get(key), (int, float)) and node[key] > 0:
                gsd = float(node[key])
        for key, value in node.items():
            k = str(key).lower().replace(" ", "_").replace("-", "_")
            if k in _METRE_KEYS and isinstance(value, (int, float)) and value > 0:
                return float(value)
        for key, value in node.items():
            k = str(key).lower().replace(" ", "_").replace("-", "_")
            if k.endswith("chip_size") and gsd:
                px = value[0] if isinstance(value, list) and value else value
                if isinstance(px, (int, float)) and px > 0:
                    return float(px) * gsd
        for value in node.values():
            found = walk(value, gsd, depth + 1)
            if found:
                return found
        return None

    return walk(meta, None)


def _point_boxes(x: np.ndarray, y: np.ndarray, size_m: float) -> np.ndarray:
    """Square chips of ``size_m`` around lon/lat centres, metres -> degrees with cos(lat) (local, small chips)."""
    hy = size_m / 2 / METRES_PER_DEGREE
    hx = hy / np.maximum(np.cos(np.radians(y)), 1e-6)
    return shapely.box(x - hx, y - hy, x + hx, y + hy)


def _column(batch: pa.RecordBatch, name: str) -> pa.Array:
    return batch.column(batch.schema.get_field_index(name))


def _decode(arr: pa.Array, encoding: str) -> np.ndarray:
    if isinstance(arr, pa.ExtensionArray):  # e.g. geoarrow.wkb: the storage is the plain WKB binary
        arr = arr.storage
    if encoding == "point":
        x = arr.field("x").to_numpy(zero_copy_only=False).astype(float)
        y = arr.field("y").to_numpy(zero_copy_only=False).astype(float)
        geoms = shapely.points(x, y)
        if arr.null_count:
            geoms[~arr.is_valid().to_numpy(zero_copy_only=False)] = None
        return geoms
    if encoding == "WKT":
        from terrafind.core.limits import MAX_WKB_BYTES
        from terrafind.core.read.shapes import bounded_text

        # Text longer than the most detailed footprint is cut, which makes it unreadable: skipped, counted.
        values = bounded_text(arr, MAX_WKB_BYTES).to_numpy(zero_copy_only=False)
        return shapely.from_wkt(values, on_invalid="ignore")
    if encoding != "WKB":
        raise InputError(
            f"Geometry encoding '{encoding}' is not supported yet; write the file with WKB geometry."
        )
    from terrafind.core.read.shapes import decode_wkb

    return decode_wkb(arr)


def _typical_bounds(geoms: np.ndarray) -> np.ndarray:
    """The median chip's bounds: a few rows with wild coordinates must not decide a whole file's CRS."""
    b = shapely.bounds(geoms)
    if not np.isfinite(b).any():
        return np.full(4, np.nan)
    with np.errstate(invalid="ignore"):
        return np.nanmedian(b, axis=0)


def footprints(
    batch: pa.RecordBatch, layout: Layout, plan: CrsPlan, chip_size_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat footprint polygons of a batch and their bounds ((n, 4), NaN where the geometry is unusable).

    Points (geometry points or lon/lat columns) become squares of ``chip_size_m``; a row whose geometry is
    missing falls back to the lon/lat columns when the file has both. NaN and infinite coordinates are
    expected here (a file may hold them): GEOS's warnings about them are silenced, and such rows are
    skipped and counted."""
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return _footprints(batch, layout, plan, chip_size_m)


def _footprints(
    batch: pa.RecordBatch, layout: Layout, plan: CrsPlan, chip_size_m: float
) -> tuple[np.ndarray, np.ndarray]:
    n = batch.num_rows
    geoms = np.full(n, None, dtype=object)
    if layout.geometry:
        geoms = _decode(_column(batch, layout.geometry), layout.geometry_encoding)
        if not plan.decided:
            plan.decide(_typical_bounds(geoms))
        geoms = plan.geoms_to_lonlat(geoms)
    if layout.lonlat:
        missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
        if missing.any():
            lon = _column(batch, layout.lonlat[0]).to_numpy(zero_copy_only=False).astype(float)
            lat = _column(batch, layout.lonlat[1]).to_numpy(zero_copy_only=False).astype(float)
            pts = shapely.points(lon, lat)
            if not plan.decided:
                plan.decide(_typical_bounds(pts))
            geoms[missing] = plan.geoms_to_lonlat(pts[missing])
    # Points -> chip squares (type id 0 = Point).
    is_point = shapely.get_type_id(geoms) == 0
    if is_point.any():
        xy = shapely.get_coordinates(geoms[is_point])
        if len(xy) == int(is_point.sum()):
            geoms[is_point] = _point_boxes(xy[:, 0], xy[:, 1], chip_size_m)
    from terrafind.core.read.shapes import unusable

    bounds = shapely.bounds(geoms)  # NaN rows for None / empty
    # NaN/inf vertices anywhere, too many vertices, self-crossing outlines (bounds alone miss them)
    bad = ~np.isfinite(bounds).all(axis=1) | unusable(geoms)
    # Coordinates outside lon/lat ranges cannot be placed on the map.
    bad |= (bounds[:, 0] < -180.5) | (bounds[:, 2] > 180.5) | (bounds[:, 1] < -90.5) | (bounds[:, 3] > 90.5)
    if bad.any():
        bounds[bad] = np.nan
    return geoms, bounds


def footprint_bounds(
    batch: pa.RecordBatch, layout: Layout, plan: CrsPlan, chip_size_m: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """(bounds (n, 4) with NaN rows where unusable, footprints or None) of a batch.

    Chips stored as simple lon/lat WKB polygons (the usual grid) are read straight from their bytes
    (:mod:`terrafind.core.read.wkb`), with no shapely object made: footprints are then None (boxes).
    Anything else goes through :func:`footprints`."""
    from terrafind.core.read.wkb import simple_polygon_bounds

    fast = None
    if layout.geometry and layout.geometry_encoding == "WKB" and plan.transformer is None and plan.lonlat:
        fast = simple_polygon_bounds(_column(batch, layout.geometry))
    if fast is None:
        geoms, bounds = footprints(batch, layout, plan, chip_size_m)
        return bounds, geoms
    if not plan.decided:
        with np.errstate(invalid="ignore"):
            plan.decide(np.nanmedian(fast, axis=0))
    bad = ~np.isfinite(fast).all(axis=1)
    bad |= (fast[:, 0] < -180.5) | (fast[:, 2] > 180.5) | (fast[:, 1] < -90.5) | (fast[:, 3] > 90.5)
    if bad.any():
        fast[bad] = np.nan
    return fast, None


def bbox_intersects(a: Iterable[float], b: Iterable[float]) -> bool:
    aw, as_, ae, an = a
    bw, bs, be, bn = b
    return aw <= be and bw <= ae and as_ <= bn and bs <= an


def region_keep(geoms: np.ndarray | None, bounds: np.ndarray, region: Region, prepared: Any) -> np.ndarray:
    """Rows whose footprint intersects the region exactly (bbox test first, GEOS only for polygons;
    footprints None: the boxes are the footprints)."""
    w, s, e, n = region.bbox
    with np.errstate(invalid="ignore"):
        keep = (bounds[:, 0] <= e) & (bounds[:, 2] >= w) & (bounds[:, 1] <= n) & (bounds[:, 3] >= s)
    if region.polygon_wkt and keep.any():
        idx = np.flatnonzero(keep)
        if geoms is None:
            b = bounds[idx]
            shapes = shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3])
        else:
            shapes = geoms[idx]
        keep[idx] = shapely.intersects(prepared, shapes)
    return keep


def _stat_range(rg: pq.RowGroupMetaData, col: int) -> tuple[float, float] | None:
    st = rg.column(col).statistics
    if st is None or not st.has_min_max:
        return None
    try:
        return float(st.min), float(st.max)
    except (TypeError, ValueError):
        return None


def row_groups_in_region(
    meta: pq.FileMetaData, layout: Layout, plan: CrsPlan, region: Region, chip_size_m: float
) -> list[int]:
    """Row groups whose statistics (bbox covering, or lon/lat point columns) say they may touch ``region``.

    Row groups without usable statistics are kept: pruning only ever skips what provably lies outside.
    """
    paths = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    keep: list[int] = []
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        box = None
        if layout.covering and all(p in paths for p in layout.covering.values()):
            r = {k: _stat_range(rg, paths[p]) for k, p in layout.covering.items()}
            if all(r.values()):
                box = plan.bounds_to_lonlat((r["xmin"][0], r["ymin"][0], r["xmax"][1], r["ymax"][1]))  # type: ignore[index]
        elif layout.lonlat and layout.geometry is None and all(c in paths for c in layout.lonlat):
            rx, ry = _stat_range(rg, paths[layout.lonlat[0]]), _stat_range(rg, paths[layout.lonlat[1]])
            b = plan.bounds_to_lonlat((rx[0], ry[0], rx[1], ry[1])) if rx and ry else None
            if b is not None:
                # Chips stick out of their centre points by half a chip (more degrees of lon near the poles).
                my = chip_size_m / METRES_PER_DEGREE
                mx = my / max(math.cos(math.radians(min(89.0, max(abs(b[1]), abs(b[3]))))), 1e-3)
                box = (b[0] - mx, b[1] - my, b[2] + mx, b[3] + my)
        if box is None or bbox_intersects(box, region.bbox):
            keep.append(g)
    return keep


def statistics_bounds(meta: pq.FileMetaData, layout: Layout) -> tuple[float, float, float, float] | None:
    """The union of the bbox covering statistics of all row groups (file CRS), or None without them."""
    if not layout.covering or meta.num_row_groups == 0:
        return None
    paths = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    if not all(p in paths for p in layout.covering.values()):
        return None
    lo, hi = [math.inf, math.inf], [-math.inf, -math.inf]
    for g in range(meta.num_row_groups):
        r = {k: _stat_range(meta.row_group(g), paths[p]) for k, p in layout.covering.items()}
        if not all(r.values()):
            return None
        lo = [min(lo[0], r["xmin"][0]), min(lo[1], r["ymin"][0])]  # type: ignore[index]
        hi = [max(hi[0], r["xmax"][1]), max(hi[1], r["ymax"][1])]  # type: ignore[index]
    return (lo[0], lo[1], hi[0], hi[1])
