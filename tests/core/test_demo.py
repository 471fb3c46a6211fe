"""terrafind.core.embed.demo: the demo region built from the real Sentinel-2 scene, and the honest quality check on it.

The demo is built once per session (about 15-30 s on 2 cores) into its own Terrafind home and shared.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
import shapely
from demo_quality import chip_class_shares, precision_at_k
from rasterio.warp import transform_bounds

import terrafind.core.embed.demo as demo
from terrafind.core.embed.demo import DEMO_ATTRIBUTION, DEMO_HINT, demo_region, ensure_demo
from terrafind.core.errors import Cancelled
from terrafind.core.progress import CancelToken
from terrafind.core.read.reader import open_catalog

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo-home")
    calls: list[tuple[int, int, str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TERRAFIND_HOME", str(home))
        t0 = time.perf_counter()
        region = ensure_demo(progress=lambda d, t, s: calls.append((d, t, s)))
        seconds = time.perf_counter() - t0
    return {"home": home, "region": region, "seconds": seconds, "calls": calls}


def test_demo_builds_in_time_with_progress(built):
    region = built["region"]
    stamp = json.loads((region.embeddings.parent / "build.json").read_text())
    print(f"demo build: {built['seconds']:.1f} s, steps {stamp['seconds']}, CPU {stamp['cpu_seconds']} s")
    # The target is < 60 s on 2 idle cores; CI machines are shared, so the test allows half again.
    assert built["seconds"] < 90
    assert region.embeddings.parent == built["home"] / "data" / "demo"
    assert region.attribution == DEMO_ATTRIBUTION and "Copernicus Sentinel" in region.attribution
    assert region.hint == DEMO_HINT
    calls = built["calls"]
    assert calls[-1][:2] == (100, 100) and [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert not list(built["home"].joinpath("data").glob(".demo-*")), "temporary build folders left behind"


def test_imagery_is_a_10m_multiband_cog_and_an_8bit_truecolour_cog_on_one_grid(built):
    region = built["region"]
    with rasterio.open(region.imagery_multiband) as ms, rasterio.open(region.imagery_rgb) as rgb:
        assert ms.count == 13 and ms.dtypes[0] == "uint16" and ms.res == (10.0, 10.0)
        assert ms.descriptions == (
            "B01",
            "B02",
            "B03",
            "B04",
            "B05",
            "B06",
            "B07",
            "B08",
            "B8A",
            "B09",
            "B10",
            "B11",
            "B12",
        )
        assert ms.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG" and ms.overviews(1)
        assert rgb.count == 3 and rgb.dtypes[0] == "uint8" and rgb.nodata == 0
        assert rgb.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG" and rgb.overviews(1)
        assert (rgb.width, rgb.height, rgb.transform) == (ms.width, ms.height, ms.transform)
        assert ms.crs.to_epsg() == 32618
        # every 20/60 m band was resampled over the whole grid: no empty edge
        edge = ms.read(1, window=((ms.height - 3, ms.height), (0, ms.width)))
        assert edge.min() > 0
        small = rgb.read(out_shape=(3, 64, 64))
        assert small.min() >= 1 and 40 < small.mean() < 200  # a real picture, not black or white
        lonlat = transform_bounds(ms.crs, "EPSG:4326", *ms.bounds)
    w, s, e, n = region.bbox
    assert lonlat[0] - 1e-6 <= w < e <= lonlat[2] + 1e-6 and lonlat[1] - 1e-6 <= s < n <= lonlat[3] + 1e-6
    assert -75.8 < w < -75.4 and 37.5 < s < 37.8  # the Virginia Eastern Shore


def test_embeddings_open_as_a_catalog_with_thumbnails_from_the_truecolour_cog(built):
    region = built["region"]
    cat = open_catalog(region.embeddings)
    assert 13_000 <= len(cat) <= 15_000 and cat.dim == 256
    assert "terrafind-mosaiks-rcf" in cat.model_name
    assert {cat.source_url(0), cat.source_url(len(cat) - 1)} == {str(region.imagery_rgb)}
    np.testing.assert_allclose(cat.bounds, region.bbox, atol=1e-9)
    emb = json.loads(pq.read_schema(region.embeddings).metadata[b"emb"])
    assert emb["model"]["foundation_model"] is False and emb["model"]["params"]["k"] == 128
    assert emb["chip_size_m"] == 320
    # the footer names the imagery where it lives now, not the temporary build folder
    assert emb["datasets"] == [
        {"source": str(region.imagery_multiband), "name": region.imagery_multiband.name}
    ]
    # a chip's footprint is 320 m square (in degrees at this latitude)
    b = shapely.bounds(cat.footprints[0])
    assert (b[3] - b[1]) * 111_000 == pytest.approx(320, rel=0.02)


def test_thumbnails_are_cut_from_the_demo_imagery(built, tmp_path):
    from terrafind.core.imagery.thumbnails import ThumbnailService

    cat = open_catalog(built["region"].embeddings)
    service = ThumbnailService(tmp_path / "thumbs.sqlite")
    try:
        thumbs = [service.thumbnail(cat, row) for row in (0, len(cat) // 2, len(cat) - 1)]
    finally:
        service.close()
    assert [t.status for t in thumbs] == ["ok"] * 3
    assert all(t.png.startswith(b"\x89PNG") for t in thumbs)


def test_basemap_is_built_when_the_basemap_builder_exists(built):
    region = built["region"]
    if demo._basemap_builder() is None:
        assert region.basemap_mbtiles is None
    else:
        assert region.basemap_mbtiles is not None and region.basemap_mbtiles.stat().st_size > 10_000


def test_demo_is_reused_and_rebuilt_only_when_out_of_date(built, monkeypatch):
    monkeypatch.setenv("TERRAFIND_HOME", str(built["home"]))
    region = built["region"]
    mtime = region.embeddings.stat().st_mtime_ns
    t0 = time.perf_counter()
    assert demo_region() == region
    assert ensure_demo() == region
    assert time.perf_counter() - t0 < 1.0 and region.embeddings.stat().st_mtime_ns == mtime
    monkeypatch.setattr(demo, "BUILDER_VERSION", demo.BUILDER_VERSION + 1)
    assert demo_region() is None


def test_a_moved_demo_is_not_current(built, tmp_path, monkeypatch):
    # The embeddings name their imagery by absolute path, so a copied folder must be rebuilt.
    import shutil

    shutil.copytree(built["home"] / "data" / "demo", tmp_path / "elsewhere" / "data" / "demo")
    monkeypatch.setenv("TERRAFIND_HOME", str(tmp_path / "elsewhere"))
    assert demo_region() is None


def test_cancelled_build_leaves_nothing(terrafind_home):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        ensure_demo(cancel=token)
    assert demo_region() is None
    assert list((terrafind_home / "data").iterdir()) == []


@pytest.mark.parametrize("name", ["open water", "dense vegetation"])
def test_search_by_example_finds_the_same_land_cover(built, name):
    """From 3 example chips of a class (>= 95 % of pixels), >= 90 % of the top 50 are that class (>= 50 %)."""
    region = built["region"]
    plain = open_catalog(region.embeddings)
    cat = plain.centred()  # the app's scores: cosine centred on the region's mean (core.session_space)
    share = chip_class_shares(region.imagery_multiband, cat.ids)[name]
    fig = precision_at_k(cat, share, name, k=50, n_examples=3, trials=5, seed=0)
    print(
        f"{name}: precision@50 {fig.precisions} (random: {fig.prevalence:.2f}, {fig.candidates} example chips)"
    )
    assert fig.candidates >= 20
    assert fig.worst >= 0.9
    before = precision_at_k(plain, share, name, k=50, n_examples=3, trials=5, seed=0)
    assert fig.mean >= before.mean - 0.01  # centring costs nothing here (bench/centring.py: the figures)


def test_installed_app_copies_its_prebuilt_demo_without_building(built, tmp_path, monkeypatch):
    # An installed app ships the demo (without the multiband COG) beside its resources folder.
    bundle = tmp_path / "bundle"
    shipped = bundle / "demo"
    shipped.mkdir(parents=True)
    source = built["region"].embeddings.parent
    for name in ("build.json", "demo_embeddings.parquet", "demo_truecolour_cog.tif", "demo_basemap.mbtiles"):
        if (source / name).exists():
            (shipped / name).write_bytes((source / name).read_bytes())
    monkeypatch.setattr(demo.paths, "resources_dir", lambda: bundle / "resources")
    monkeypatch.setenv("TERRAFIND_HOME", str(tmp_path / "user-home"))
    monkeypatch.setattr(
        demo, "_build", lambda *a, **k: pytest.fail("an installed app must not build the demo")
    )
    assert demo_region() is None
    region = ensure_demo()
    assert region.embeddings.parent == tmp_path / "user-home" / "data" / "demo"
    assert region.imagery_multiband is None and region.imagery_rgb.exists()
    catalog = open_catalog(region.embeddings)
    assert len(catalog) == len(open_catalog(built["region"].embeddings))
    assert catalog.source_url(0) == str(region.imagery_rgb.resolve())
    assert b"emb" in pq.read_schema(region.embeddings).metadata
    assert demo_region() == region
