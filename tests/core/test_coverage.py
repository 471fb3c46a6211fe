"""Coverage tiles: where a big region's chips are, drawn as PNG tiles instead of one outline per chip."""

from __future__ import annotations

import io
import math
import zlib

import numpy as np
from synth import write_earth_index

from terrafind.core.present.coverage import CoverageTiles, tile_bounds
from terrafind.core.read.reader import open_catalog


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _alpha(png: bytes) -> np.ndarray:
    """The alpha channel of one of our RGBA PNGs (filter "Up" on every row, one IDAT)."""
    data = io.BytesIO(png)
    data.read(8)
    chunks = {}
    while True:
        size = int.from_bytes(data.read(4), "big")
        kind = data.read(4)
        chunks[kind] = data.read(size)
        data.read(4)
        if kind == b"IEND":
            break
    w, h = int.from_bytes(chunks[b"IHDR"][:4], "big"), int.from_bytes(chunks[b"IHDR"][4:8], "big")
    raw = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, w * 4 + 1)[:, 1:]
    rows = np.cumsum(raw.astype(np.int64), axis=0) % 256  # undo the Up filter
    return rows.reshape(h, w, 4)[:, :, 3]


def test_tiles_show_where_chips_are_and_their_outlines_up_close(tmp_path):
    truth = write_earth_index(tmp_path / "ei.parquet", n=2500, d=8, overlap=2.0)
    cat = open_catalog(truth["path"])
    tiles = CoverageTiles(cat)
    lon, lat = cat.centroids[1250]
    far = _tile_of(lon, lat, 9)
    png = tiles.tile(9, *far)  # zoomed out: the region is a tinted patch
    covered = _alpha(png) > 0
    assert 0.0 < covered.mean() < 1.0
    w, s, e, n = tile_bounds(9, *far)
    assert w <= lon <= e and s <= lat <= n
    near = _tile_of(lon, lat, 15)  # chips ~70 px wide: their outlines, not a fill
    lines = _alpha(tiles.tile(15, *near)) > 0
    assert 0.01 < lines.mean() < 0.5
    ox, oy = _tile_of(lon + 40, lat, 9)  # far from the data: nothing to draw
    assert tiles.tile(9, ox, oy) is None and tiles.tile(30, 0, 0) is None
