"""An offline imagery basemap: an MBTiles pyramid of WEBP tiles rendered from the dataset's COGs.

Rendered by our own tile loop rather than GDAL's MBTiles driver, which gives progress and cancel per
tile and lets a second run resume where the first stopped. Each web-mercator tile is read from the COG
at the tile's resolution (GDAL then takes the right overview, so low zooms are cheap), stretched to 8-bit
(1..255; 0 is kept for "no data" and becomes transparent), warped with ``rasterio.warp.reproject`` and
encoded as WEBP with alpha (research: ~5 KB per tile, and transparent outside the scene, where JPEG
would paint black borders). Tiles with no imagery are not stored.

MBTiles rows are TMS (row 0 at the south); :meth:`MBTiles.tile` takes XYZ like Leaflet and flips.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from terrafind.core.errors import ImageryError
from terrafind.core.imagery.mbtiles import MBTiles
from terrafind.core.progress import CancelToken, ProgressFn, check, report

__all__ = [
    "build_mbtiles",
    "plan_basemap",
    "MBTiles",
    "basemap_path",
    "imagery_fingerprint",
    "tile_count",
    "default_zooms",
]

ORIGIN = 20037508.342789244
TILE = 256
RENDER_VERSION = "b1"  # part of the cache key: bump when tiles would look different


def _paths(cog: Path | str | Sequence[Path | str]) -> list[Path]:
    items = [cog] if isinstance(cog, (str, os.PathLike)) else list(cog)
    return [Path(p) for p in items]


def imagery_fingerprint(
    cogs: Sequence[Path], min_zoom: int | None, max_zoom: int | None, bounds: Sequence[float] | None = None
) -> str:
    """What a basemap was made from: files (path, size, mtime), zooms, clip bounds, renderer version."""
    parts = []
    for p in cogs:
        st = p.stat()
        parts.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    text = json.dumps([parts, min_zoom, max_zoom, list(bounds) if bounds else None, RENDER_VERSION])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def basemap_path(cog: Path | Sequence[Path]) -> Path:
    """Where the cached basemap of these COGs lives (``cache_dir()/basemaps/<fingerprint>.mbtiles``)."""
    from terrafind.core.paths import cache_dir

    return cache_dir() / "basemaps" / f"{imagery_fingerprint(_paths(cog), None, None)}.mbtiles"


@dataclass
class _Source:
    ds: Any
    bands: tuple[int, int, int]
    lo: np.ndarray | None  # per-band stretch (None for 8-bit data, kept as it is)
    hi: np.ndarray | None
    bounds_3857: tuple[float, float, float, float]
    res_m: float


def _open_source(path: Path) -> _Source:
    from rasterio.warp import transform_bounds

    from terrafind.core.imagery.cut import rgb_bands
    from terrafind.core.imagery.rasters import open_raster
    from terrafind.core.net.locations import Local

    try:
        ds = open_raster(Local(Path(path)))
    except Exception as exc:  # noqa: BLE001 - rasterio raises several types for unreadable files
        raise ImageryError(
            f"Could not open the imagery {path}; is it a GeoTIFF/COG?", detail=str(exc)
        ) from exc
    if ds.crs is None:
        raise ImageryError(f"The imagery {path} has no coordinate system, so it cannot be placed on the map.")
    bands = rgb_bands(ds.descriptions, ds.colorinterp)
    b = transform_bounds(ds.crs, "EPSG:3857", *ds.bounds, densify_pts=21)
    b = (b[0], max(b[1], -ORIGIN), b[2], min(b[3], ORIGIN))
    lat = math.degrees(math.atan(math.sinh(((b[1] + b[3]) / 2) / 6378137.0)))
    res = abs(ds.res[0]) * (111320.0 if ds.crs.is_geographic else 1.0)
    res_m = res / max(math.cos(math.radians(lat)), 0.01)  # in web-mercator metres at this latitude
    lo = hi = None
    if ds.dtypes[0] != "uint8":
        # Stretch once for the whole scene (2-98 %), from a small overview read, so tiles match.
        scale = max(ds.width, ds.height) / 1024
        shape = (3, max(1, int(ds.height / max(scale, 1))), max(1, int(ds.width / max(scale, 1))))
        sample = ds.read(list(bands), out_shape=shape, masked=True).astype(np.float32)
        lo = np.zeros(3, np.float32)
        hi = np.ones(3, np.float32)
        for i in range(3):
            vals = sample[i].compressed()
            vals = vals[np.isfinite(vals)]
            if vals.size:
                lo[i], hi[i] = np.percentile(vals, [2, 98])
                hi[i] = max(hi[i], lo[i] + 1)
    return _Source(ds, bands, lo, hi, b, res_m)


def default_zooms(sources_bounds: tuple[float, float, float, float], res_m: float) -> tuple[int, int]:
    """(min, max) zoom: max where a tile pixel matches the imagery's pixel, min a few levels below the
    zoom at which the whole extent fits in one tile (a handful of extra tiles, useful when zoomed out)."""
    max_zoom = int(min(22, max(0, round(math.log2(2 * ORIGIN / TILE / res_m)))))
    span = max(sources_bounds[2] - sources_bounds[0], sources_bounds[3] - sources_bounds[1], 1.0)
    fit = int(math.floor(math.log2(2 * ORIGIN / span)))
    return max(0, min(max_zoom, fit - 2)), max_zoom


def _tile_range(bounds: tuple[float, float, float, float], z: int) -> tuple[int, int, int, int]:
    size = 2 * ORIGIN / 2**z
    last = 2**z - 1
    x0 = int(min(last, max(0, (bounds[0] + ORIGIN) // size)))
    x1 = int(min(last, max(0, (bounds[2] + ORIGIN - 1e-6) // size)))
    y0 = int(min(last, max(0, (ORIGIN - bounds[3]) // size)))
    y1 = int(min(last, max(0, (ORIGIN - bounds[1] - 1e-6) // size)))
    return x0, x1, y0, y1


def tile_count(bounds: tuple[float, float, float, float], min_zoom: int, max_zoom: int) -> int:
    """How many tiles cover web-mercator ``bounds`` from ``min_zoom`` to ``max_zoom``."""
    total = 0
    for z in range(min_zoom, max_zoom + 1):
        x0, x1, y0, y1 = _tile_range(bounds, z)
        total += (x1 - x0 + 1) * (y1 - y0 + 1)
    return total


def _render_tile(sources: list[_Source], z: int, x: int, y: int) -> np.ndarray | None:
    """(4, 256, 256) uint8 RGBA of one tile, or None when no source covers it."""
    from affine import Affine
    from rasterio.enums import Resampling
    from rasterio.warp import reproject, transform_bounds
    from rasterio.windows import Window
    from rasterio.windows import transform as window_transform

    size = 2 * ORIGIN / 2**z
    tx0, ty1 = -ORIGIN + x * size, ORIGIN - y * size
    tbounds = (tx0, ty1 - size, tx0 + size, ty1)
    dst_transform = Affine(size / TILE, 0, tx0, 0, -size / TILE, ty1)
    rgba = np.zeros((4, TILE, TILE), dtype=np.uint8)
    for src in sources:
        b = src.bounds_3857
        if b[0] >= tbounds[2] or b[2] <= tbounds[0] or b[1] >= tbounds[3] or b[3] <= tbounds[1]:
            continue
        ds = src.ds
        w, s, e, n = transform_bounds("EPSG:3857", ds.crs, *tbounds, densify_pts=11)
        inv = ~ds.transform
        c0, r0 = inv @ (w, n)
        c1, r1 = inv @ (e, s)
        c0, c1, r0, r1 = min(c0, c1) - 2, max(c0, c1) + 2, min(r0, r1) - 2, max(r0, r1) + 2
        c0, r0 = max(0, math.floor(c0)), max(0, math.floor(r0))
        c1, r1 = min(ds.width, math.ceil(c1)), min(ds.height, math.ceil(r1))
        if c1 <= c0 or r1 <= r0:
            continue
        win = Window(c0, r0, c1 - c0, r1 - r0)
        # Read at about the tile's resolution (never above native): GDAL picks the overview.
        scale = min(1.0, TILE * 1.2 / max(1.0, (e - w) / abs(ds.res[0])))
        out_w, out_h = max(1, round((c1 - c0) * scale)), max(1, round((r1 - r0) * scale))
        data = ds.read(
            list(src.bands),
            window=win,
            out_shape=(3, out_h, out_w),
            resampling=Resampling.average,
            masked=True,
        )
        valid = ~np.ma.getmaskarray(data).any(axis=0)
        raw = np.ma.getdata(data)
        if src.lo is None:
            img = np.maximum(raw, 1).astype(np.uint8)
        else:
            f = (raw.astype(np.float32) - src.lo[:, None, None]) * (254.0 / (src.hi - src.lo))[:, None, None]
            img = (np.clip(f, 0, 254) + 1).astype(np.uint8)
        img[:, ~valid] = 0
        src_transform = window_transform(win, ds.transform) @ Affine.scale(
            (c1 - c0) / out_w, (r1 - r0) / out_h
        )
        dst = np.zeros((3, TILE, TILE), dtype=np.uint8)
        reproject(
            img,
            dst,
            src_transform=src_transform,
            src_crs=ds.crs,
            src_nodata=0,
            dst_transform=dst_transform,
            dst_crs="EPSG:3857",
            dst_nodata=0,
            resampling=Resampling.bilinear,
        )
        have = (dst > 0).any(axis=0) & (rgba[3] == 0)  # earlier sources win where they overlap
        rgba[:3, have] = dst[:, have]
        rgba[3, have] = 255
    return rgba if rgba[3].any() else None


def _encode_webp(rgba: np.ndarray, quality: int = 85) -> bytes:
    from rasterio.io import MemoryFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the WEBP copy is not georeferenced, on purpose
        with MemoryFile() as mf:
            with mf.open(
                driver="WEBP", width=TILE, height=TILE, count=4, dtype="uint8", QUALITY=quality
            ) as d:
                d.write(rgba)
            return mf.read()


_SCHEMA = """
create table if not exists metadata (name text primary key, value text);
create table if not exists tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob);
create unique index if not exists tile_index on tiles (zoom_level, tile_column, tile_row);
create table if not exists rendered (z integer, x integer, y integer, primary key (z, x, y));
"""


def _existing_key(path: Path) -> str | None:
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = con.execute("select value from metadata where name = 'terrafind_key'").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def build_mbtiles(
    cog: Path | Sequence[Path],
    out: Path,
    *,
    min_zoom: int | None = None,
    max_zoom: int | None = None,
    bounds: Sequence[float] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Render the imagery COG(s) into an MBTiles file at ``out`` and return ``out``.

    ``bounds`` (west, south, east, north lon/lat) limits the tiles to a region (a field pack's area).
    Made once: when ``out`` already holds a basemap of the same inputs it is returned at once. A build
    that was cancelled or killed leaves ``out.partial``; the next call continues it tile by tile."""
    cogs = _paths(cog)
    if not cogs:
        raise ImageryError("No imagery was given for the basemap.")
    out = Path(out)
    key = imagery_fingerprint(cogs, min_zoom, max_zoom, bounds)
    if out.exists() and _existing_key(out) == key:
        report(progress, 1, 1, "Basemap ready")
        return out
    sources = [_open_source(p) for p in cogs]
    try:
        full, zmin, zmax = _extent(sources, bounds, min_zoom, max_zoom)
        return _build(sources, full, zmin, zmax, cogs, out, key, progress, cancel)
    finally:
        for s in sources:
            s.ds.close()


def _extent(
    sources: list[_Source], bounds: Sequence[float] | None, min_zoom: int | None, max_zoom: int | None
) -> tuple[tuple[float, float, float, float], int, int]:
    full = (
        min(s.bounds_3857[0] for s in sources),
        min(s.bounds_3857[1] for s in sources),
        max(s.bounds_3857[2] for s in sources),
        max(s.bounds_3857[3] for s in sources),
    )
    if bounds is not None:
        from rasterio.warp import transform_bounds

        cb = transform_bounds("EPSG:4326", "EPSG:3857", *bounds)
        full = (max(full[0], cb[0]), max(full[1], cb[1]), min(full[2], cb[2]), min(full[3], cb[3]))
        if full[0] >= full[2] or full[1] >= full[3]:
            raise ImageryError("The imagery does not cover the chosen region, so no basemap was made.")
    zmin, zmax = default_zooms(full, min(s.res_m for s in sources))
    zmin = zmin if min_zoom is None else int(min_zoom)
    zmax = zmax if max_zoom is None else int(max_zoom)
    return full, min(zmin, zmax), zmax


def plan_basemap(cog: Path | Sequence[Path], *, bounds: Sequence[float] | None = None) -> dict[str, Any]:
    """What :func:`build_mbtiles` would make: zooms and tile count (for size estimates), no rendering."""
    sources = [_open_source(p) for p in _paths(cog)]
    try:
        full, zmin, zmax = _extent(sources, bounds, None, None)
    finally:
        for s in sources:
            s.ds.close()
    return {"minzoom": zmin, "maxzoom": zmax, "tiles": tile_count(full, zmin, zmax)}


def _build(sources, bounds, zmin, zmax, cogs, out, key, progress, cancel) -> Path:
    from rasterio.warp import transform_bounds

    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")  # a known name on purpose: the next run resumes it
    for p in (partial, *(partial.with_name(partial.name + x) for x in ("-journal", "-wal", "-shm"))):
        if p.is_symlink():
            p.unlink()  # a link planted at the name: SQLite would write through it
    con = sqlite3.connect(str(partial))
    try:
        con.executescript(_SCHEMA)
        prev = con.execute("select value from metadata where name = 'terrafind_key'").fetchone()
        if prev is not None and prev[0] != key:  # a partial build of other inputs: start again
            con.executescript("delete from tiles; delete from rendered;")
        con.execute("insert or replace into metadata values ('terrafind_key', ?)", (key,))
        con.commit()
        done_set = {tuple(r) for r in con.execute("select z, x, y from rendered")}
        total = tile_count(bounds, zmin, zmax)
        done = 0
        report(progress, 0, total, "Rendering basemap")
        # Low zooms first: the map is useful zoomed out even if the build is cancelled half-way.
        for z in range(zmin, zmax + 1):
            x0, x1, y0, y1 = _tile_range(bounds, z)
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    done += 1
                    if (z, x, y) in done_set:
                        continue
                    check(cancel)
                    rgba = _render_tile(sources, z, x, y)
                    if rgba is not None:
                        con.execute(
                            "insert or replace into tiles values (?, ?, ?, ?)",
                            (z, x, 2**z - 1 - y, sqlite3.Binary(_encode_webp(rgba))),
                        )
                    con.execute("insert or ignore into rendered values (?, ?, ?)", (z, x, y))
                    if done % 25 == 0:
                        con.commit()
                    report(progress, done, total, "Rendering basemap")
        w, s, e, n = transform_bounds("EPSG:3857", "EPSG:4326", *bounds)
        meta = {
            "name": ", ".join(p.stem for p in cogs)[:200],
            "format": "webp",
            "type": "overlay",
            "version": "1.1",
            "minzoom": str(zmin),
            "maxzoom": str(zmax),
            "bounds": f"{w:.6f},{s:.6f},{e:.6f},{n:.6f}",
            "center": f"{(w + e) / 2:.6f},{(s + n) / 2:.6f},{zmin}",
            "description": "Rendered by Terrafind from: " + "; ".join(p.name for p in cogs),
            "attribution": "Imagery: " + ", ".join(p.name for p in cogs),
        }
        con.executemany("insert or replace into metadata values (?, ?)", list(meta.items()))
        con.execute("drop table rendered")
    finally:
        con.commit()  # also after a cancel: the tiles done so far are kept for the next run
        con.close()
    from terrafind.core.files import commit

    commit(partial, out)  # fsync, one rename over whatever is at ``out`` (never through a link)
    report(progress, total, total, "Basemap ready")
    return out
