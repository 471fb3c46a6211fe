"""Thumbnails from an XYZ tile service ("https://.../{z}/{x}/{y}.png"): fetch, stitch, crop.

Used when a dataset has no imagery of its own and the user points Terrafind at a tile layer whose terms
allow it. Tiles are decoded by GDAL (PNG, JPEG and WEBP drivers), so no image library is needed.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from terrafind.core.imagery.cut import FILL, OUTLINE, Cut, Grid
from terrafind.core.net.http import FetchError, fetch
from terrafind.core.net.locations import Refused, Remote, locate

__all__ = ["is_template", "check_template", "tile_url", "cut_xyz", "TileFetchError"]

_ORIGIN = 20037508.342789244  # half the web-mercator world, metres
_MAX_TILES = 16
MAX_TILE_BYTES = 4 << 20
_PLACEHOLDERS = ("{z}", "{x}", "{y}")
# The image formats a tile may be in, by their first bytes, and the one GDAL driver each may use.
_TILE_DRIVERS = ((b"\x89PNG", "PNG"), (b"\xff\xd8", "JPEG"), (b"RIFF", "WEBP"))
TileFetchError = FetchError  # the old name: a tile could not be fetched because of the network


def is_template(source: str) -> bool:
    return all(p in str(source) for p in _PLACEHOLDERS)


def check_template(template: str) -> Remote:
    """The plain address of an XYZ template (placeholders as 0) after checking it: ``{z}``, ``{x}`` and
    ``{y}`` are the only braces, and the rest is a plain http(s) address. Raises Refused otherwise."""
    text = str(template).strip()
    rest = text
    for p in _PLACEHOLDERS:
        rest = rest.replace(p, "0")
    if "{" in rest or "}" in rest:
        raise Refused(
            f"The tile address {text[:80]} has placeholders other than {{z}}, {{x}} and {{y}}, which "
            "Terrafind does not fill in."
        )
    loc = locate(rest)
    if not isinstance(loc, Remote) or loc.scheme not in ("https", "http"):
        raise Refused(f"The tile address {text[:80]} is not an https:// address.")
    return loc


def tile_url(template: str, z: int, x: int, y: int) -> str:
    """The template filled by fixed substitution: never ``str.format``, which would run format specs
    (``{x:>2000000000}``) written by whoever made the template."""
    return (
        str(template)
        .strip()
        .replace("{z}", str(int(z)))
        .replace("{x}", str(int(x)))
        .replace("{y}", str(int(y)))
    )


def _fetch(url: str, timeout: float, dataset: str) -> bytes | None:
    from terrafind.core.net.gate import gate

    remote = gate().check(url, dataset=dataset, purpose="imagery tiles")
    return fetch(remote, timeout=timeout, max_bytes=MAX_TILE_BYTES)


def _decode(data: bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Tile bytes -> ((3, h, w) uint8, (h, w) bool valid), or None when they are not a PNG/JPEG/WEBP."""
    from rasterio.io import MemoryFile

    driver = next((d for magic, d in _TILE_DRIVERS if data.startswith(magic)), None)
    if driver is None or (driver == "WEBP" and data[8:12] != b"WEBP"):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with MemoryFile(data) as mf, mf.open(driver=driver) as ds:
            if ds.width != 256 or ds.height != 256 or ds.count > 4:
                return None
            arr = ds.read()
    if arr.dtype != np.uint8:
        return None
    if arr.shape[0] >= 4:
        return arr[:3], arr[3] > 0
    if arr.shape[0] < 3:
        arr = np.repeat(arr[:1], 3, axis=0)
    return arr[:3], np.ones(arr.shape[1:], dtype=bool)


def cut_xyz(
    template: str,
    footprint: Any,
    size: int,
    *,
    pad: float = 0.25,
    timeout: float = 10.0,
    max_zoom: int = 19,
    dataset: str = "",
) -> Cut:
    """Cut ``footprint`` (lon/lat) from the tiles of ``template`` at the zoom that matches ``size``.
    Every tile request passes the network gate for ``dataset``."""
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
            data = _fetch(tile_url(template, z, tx, ty), timeout, dataset)
            decoded = None if data is None else _decode(data)
            if decoded is None:
                continue  # no tile here, or not a 256 px image: that part of the thumbnail stays grey
            rgb, ok = decoded
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
