"""Thumbnails from an XYZ tile service ("https://.../{z}/{x}/{y}.png"): fetch, stitch, crop.

Used when a dataset has no imagery of its own and the user points Terrafind at a tile layer whose terms
allow it. Tiles are decoded by GDAL (PNG, JPEG and WEBP drivers), so no image library is needed.
"""

from __future__ import annotations

import math
import urllib.error
import urllib.request
import warnings
from typing import Any

import numpy as np

from terrafind.core.imagery.cut import FILL, OUTLINE, Cut, Grid

__all__ = ["is_template", "cut_xyz", "TileFetchError"]

_ORIGIN = 20037508.342789244  # half the web-mercator world, metres
_MAX_TILES = 16
USER_AGENT = "Terrafind/0.1 (offline-first imagery search)"


class TileFetchError(OSError):
    """A tile could not be fetched because of the network (not a plain 404)."""


def is_template(source: str) -> bool:
    return "{z}" in source and "{x}" in source and "{y}" in source


def _fetch(url: str, timeout: float) -> bytes | None:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (204, 404):
            return None  # no tile here: part of the thumbnail stays grey
        raise TileFetchError(f"{url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise TileFetchError(f"{url}: {exc}") from exc


def _decode(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Tile bytes -> ((3, h, w) uint8, (h, w) bool valid)."""
    from rasterio.io import MemoryFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with MemoryFile(data) as mf, mf.open() as ds:
            arr = ds.read()
    if arr.shape[0] >= 4:
        return arr[:3], arr[3] > 0
    if arr.shape[0] < 3:
        arr = np.repeat(arr[:1], 3, axis=0)
    return arr[:3], np.ones(arr.shape[1:], dtype=bool)


def cut_xyz(
    template: str, footprint: Any, size: int, *, pad: float = 0.25, timeout: float = 10.0, max_zoom: int = 19
) -> Cut:
    """Cut ``footprint`` (lon/lat) from the tiles of ``template`` at the zoom that matches ``size``."""
    from rasterio.transform import from_origin
    from rasterio.warp import Resampling, reproject, transform, transform_bounds

    w, s, e, n = transform_bounds("EPSG:4326", "EPSG:3857", *footprint.bounds, densify_pts=21)
    half = max(e - w, n - s) / 2 * (1.0 + pad)
    grid = Grid("EPSG:3857", (w + e) / 2, (s + n) / 2, half, size)
    mpp = 2 * half / size
    z = int(min(max_zoom, max(0, math.ceil(math.log2(2 * _ORIGIN / 256 / mpp)))))
    tile_m = 2 * _ORIGIN / 2**z
    while True:
        x0 = int((grid.cx - half + _ORIGIN) // tile_m)
        x1 = int((grid.cx + half + _ORIGIN) // tile_m)
        y0 = int((_ORIGIN - (grid.cy + half)) // tile_m)
        y1 = int((_ORIGIN - (grid.cy - half)) // tile_m)
        if (x1 - x0 + 1) * (y1 - y0 + 1) <= _MAX_TILES or z == 0:
            break
        z -= 1
        tile_m *= 2
    last = 2**z - 1
    x0, x1, y0, y1 = max(0, x0), min(last, x1), max(0, y0), min(last, y1)
    nx, ny = x1 - x0 + 1, y1 - y0 + 1
    mosaic = np.zeros((3, ny * 256, nx * 256), dtype=np.uint8)
    valid = np.zeros((ny * 256, nx * 256), dtype=np.uint8)
    for ty in range(y0, y1 + 1):
        for tx in range(x0, x1 + 1):
            data = _fetch(template.format(z=z, x=tx, y=ty), timeout)
            if data is None:
                continue
            rgb, ok = _decode(data)
            if rgb.shape[1:] != (256, 256):
                continue
            r, c = (ty - y0) * 256, (tx - x0) * 256
            mosaic[:, r : r + 256, c : c + 256] = rgb
            valid[r : r + 256, c : c + 256] = ok
    src_transform = from_origin(-_ORIGIN + x0 * tile_m, _ORIGIN - y0 * tile_m, tile_m / 256, tile_m / 256)
    dst_transform = from_origin(grid.cx - half, grid.cy + half, mpp, mpp)
    out = np.zeros((3, size, size), dtype=np.uint8)
    out_valid = np.zeros((size, size), dtype=np.uint8)
    kw = dict(
        src_transform=src_transform, src_crs="EPSG:3857", dst_transform=dst_transform, dst_crs="EPSG:3857"
    )
    reproject(mosaic, out, resampling=Resampling.bilinear, **kw)
    reproject(valid, out_valid, resampling=Resampling.nearest, **kw)
    ok = out_valid > 0
    rgb = np.full((size, size, 3), FILL, dtype=np.uint8)
    rgb[ok] = out.transpose(1, 2, 0)[ok]
    if not ok.any():
        return Cut(rgb, ok, "outside")
    if pad > 0 and getattr(footprint, "exterior", None) is not None:
        from terrafind.core.imagery.png import draw_polyline

        lon, lat = np.asarray(footprint.exterior.coords).T[:2]
        xs, ys = transform("EPSG:4326", "EPSG:3857", lon.tolist(), lat.tolist())
        draw_polyline(rgb, grid.to_pixels(np.asarray(xs), np.asarray(ys)), OUTLINE, width=max(1, size // 128))
    return Cut(rgb, ok, "ok")
