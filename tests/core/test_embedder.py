"""terrafind.core.embed.embedder: random convolutional features on small generated rasters, written as Earth Index GeoParquet."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

import terrafind.core.embed.embedder as embedder
from terrafind.core.embed.embedder import EmbedderParams, embed_array, embed_images, fit_embedder
from terrafind.core.errors import Cancelled, InputError
from terrafind.core.progress import CancelToken
from terrafind.core.read.reader import open_catalog

SMALL = EmbedderParams(k=16)  # 32-d vectors: fast, and enough to tell textures apart
WEST, NORTH = 440_000.0, 4_170_000.0  # UTM 18N, on the Virginia coast


def _scene(height: int = 150, width: int = 170, seed: int = 1) -> np.ndarray:
    """4 bands: smooth dark 'water' on the left, striped bright 'fields' on the right, noise everywhere."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.where(x < width // 2, 300.0, 1500.0 + 400.0 * np.sin(x / 2.0) * np.cos(y / 5.0))
    bands = [base * f + rng.normal(0, 40, (height, width)) for f in (1.0, 0.8, 1.3, 0.6)]
    return np.clip(np.stack(bands), 1, 10000).astype(np.uint16)


def _write(path, data, *, nodata=None, crs="EPSG:32618", tags=None):
    c, h, w = data.shape
    with rasterio.open(
        path, "w", driver="GTiff", width=w, height=h, count=c, dtype=data.dtype.name,
        crs=crs, transform=from_origin(WEST, NORTH, 10, 10), nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(data)
        if tags:
            dst.update_tags(**tags)
    return path


def _read(path):
    t = pq.read_table(path)
    return t, np.stack(t.column("embedding").to_numpy(zero_copy_only=False))


def test_file_layout_ids_geometry_and_footer(tmp_path):
    img = _write(tmp_path / "scene.tif", _scene(), tags={"TIFFTAG_DATETIME": "2021:06:30 10:00:00"})
    out = embed_images([img], tmp_path / "out" / "emb.parquet", params=SMALL)
    table, vecs = _read(out)
    # 150 x 170 px, 32 px chips every 16 px: 8 x 9 chips, all valid
    assert table.num_rows == 72 and vecs.shape == (72, 32) and vecs.dtype == np.float32
    assert str(table.schema.field("embedding").type) == "fixed_size_list<element: float>[32]"
    assert table.column_names == [
        "id",
        "embedding",
        "geometry",
        "source_url",
        "date",
        "source_model",
        "source_creator",
    ]
    # the Clay v1 fields of the seeds, read back as such
    from terrafind.core.embed.embedder import MODEL_ID
    from terrafind.core.read.v1 import summarize_table

    v1 = summarize_table(table)
    assert v1.first("source_model").startswith(MODEL_ID) and v1.first("source_creator").startswith(
        "Terrafind "
    )
    assert len(set(table.column("id").to_pylist())) == 72
    assert set(table.column("source_url").to_pylist()) == {str(img.resolve())}
    assert str(table.column("date")[0].as_py()) == "2021-06-30"
    # chip scene_2_3 covers pixel rows 32..64 and columns 48..80: its corners, reprojected to lon/lat
    row = table.column("id").to_pylist().index("scene_2_3")
    poly = shapely.from_wkb(table.column("geometry")[row].as_py())
    tr = Transformer.from_crs("EPSG:32618", "EPSG:4326", always_xy=True)
    xs, ys = WEST + np.array([48, 80]) * 10, NORTH - np.array([32, 64]) * 10
    lon, lat = tr.transform([xs[0], xs[1]], [ys[1], ys[0]])
    np.testing.assert_allclose(poly.bounds, [min(lon), min(lat), max(lon), max(lat)], atol=1e-4)
    meta = pq.read_schema(out).metadata
    geo = json.loads(meta[b"geo"])
    assert geo["version"] == "1.1.0" and geo["columns"]["geometry"]["encoding"] == "WKB"
    all_bounds = shapely.total_bounds(shapely.from_wkb(table.column("geometry").to_pylist()))
    np.testing.assert_allclose(geo["columns"]["geometry"]["bbox"], all_bounds)
    emb = json.loads(meta[b"emb"])
    model = emb["model"]
    assert model["id"] == "terrafind-mosaiks-rcf" and model["family"] == "random convolutional features"
    assert model["foundation_model"] is False and "not a foundation model" in model["description"]
    assert (
        model["params"]["k"] == 16
        and model["params"]["bands"] == [1, 2, 3, 4]
        and model["params"]["dim"] == 32
    )
    assert emb["embedding"]["dim"] == 32 and emb["chip_size_m"] == 320
    assert (emb["start_datetime"], emb["end_datetime"]) == ("2021-06-30T00:00:00Z", "2021-06-30T23:59:59Z")
    import geopandas as gpd

    frame = gpd.read_parquet(out)
    assert frame.crs.to_string() == "OGC:CRS84" and len(frame) == 72 and frame.geometry.is_valid.all()


def test_same_seed_same_vectors_other_seed_other_filters(tmp_path):
    img = _write(tmp_path / "scene.tif", _scene())
    a = _read(embed_images([img], tmp_path / "a.parquet", params=SMALL))[1]
    b = _read(embed_images([img], tmp_path / "b.parquet", params=SMALL))[1]
    c = _read(embed_images([img], tmp_path / "c.parquet", params=EmbedderParams(k=16, seed=7)))[1]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_vectors_tell_the_two_textures_apart(tmp_path):
    img = _write(tmp_path / "scene.tif", _scene())
    table, vecs = _read(embed_images([img], tmp_path / "a.parquet", params=SMALL))
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    cols = np.array([int(i.split("_")[2]) for i in table.column("id").to_pylist()])
    water, fields = cols <= 2, cols >= 6  # chips wholly left (x < 80 px) or right (x >= 96 px) of the edge
    q = unit[np.flatnonzero(water)[0]]
    scores = unit @ q
    assert scores[water].min() > scores[fields].max()


def test_windowed_reading_gives_the_in_memory_vectors(tmp_path, monkeypatch):
    data = _scene(height=181, width=133)  # neither side a multiple of the 16 px block
    data[:, 100:140, 20:70] = 0  # a nodata hole, so that masks cross window edges too
    img = _write(tmp_path / "scene.tif", data, nodata=0)
    monkeypatch.setattr(embedder, "WINDOW_VALUES", 1)  # the smallest windows: 2 block rows per read
    table, vecs = _read(embed_images([img], tmp_path / "w.parquet", params=SMALL))
    model = fit_embedder([img], SMALL)
    feats, share = embed_array(data.astype(np.float32), (data != 0).all(axis=0), model, SMALL)
    assert feats.shape[:2] == (10, 7)
    kept = np.argwhere(share >= SMALL.min_valid)
    assert [f"scene_{r}_{c}" for r, c in kept] == table.column("id").to_pylist()
    np.testing.assert_allclose(vecs, feats[share >= SMALL.min_valid], rtol=1e-5, atol=1e-6)


def test_nodata_pixels_do_not_count_and_mostly_empty_chips_are_dropped(tmp_path):
    data = _scene()
    data[:, :, :60] = 0  # columns 0..59 are nodata
    img = _write(tmp_path / "scene.tif", data, nodata=0)
    ids = pq.read_table(embed_images([img], tmp_path / "a.parquet", params=SMALL)).column("id").to_pylist()
    cols = {int(i.split("_")[2]) for i in ids}
    # chip c covers columns 16c..16c+31: c <= 1 is all nodata, c = 2 is 1/4 valid, c = 3 is 3/4 valid
    assert min(cols) == 3 and max(cols) == 8
    # what the nodata pixels hold never reaches a vector
    model = fit_embedder([img], SMALL)
    valid = (data != 0).all(axis=0)
    garbage = data.astype(np.float32)
    garbage[:, ~valid] = np.random.default_rng(0).uniform(0, 9000, (4, int((~valid).sum())))
    f1, s1 = embed_array(data.astype(np.float32), valid, model, SMALL)
    f2, s2 = embed_array(garbage, valid, model, SMALL)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(f1[s1 > 0], f2[s2 > 0])


def test_several_images_and_chosen_bands(tmp_path):
    a = _write(tmp_path / "a.tif", _scene(seed=1))
    b = _write(tmp_path / "b.tif", _scene(height=64, width=64, seed=2))
    table, vecs = _read(
        embed_images([a, b], tmp_path / "ab.parquet", params=EmbedderParams(k=8, bands=[3, 1]))
    )
    assert table.num_rows == 72 + 9 and vecs.shape[1] == 16
    assert {u.rsplit("/", 1)[-1] for u in table.column("source_url").to_pylist()} == {"a.tif", "b.tif"}
    assert json.loads(pq.read_schema(tmp_path / "ab.parquet").metadata[b"emb"])["model"]["params"][
        "bands"
    ] == [3, 1]


def test_opens_through_the_catalog_reader(tmp_path):
    img = _write(tmp_path / "scene.tif", _scene())
    out = embed_images([img], tmp_path / "emb.parquet", params=SMALL)
    cat = open_catalog(out)
    assert len(cat) == 72 and cat.dim == 32
    assert "terrafind-mosaiks-rcf" in cat.model_name
    assert cat.chip_size_m == pytest.approx(320, rel=0.01)
    row = cat.row_of("scene_4_4")
    lon, lat = cat.centroids[row]
    assert cat.chip_at(lon, lat) == row
    assert cat.source_url(row) == str(img.resolve())
    np.testing.assert_allclose(np.linalg.norm(cat.vectors, axis=1), 1.0, atol=1e-5)


def test_progress_and_cancel_leave_no_file(tmp_path):
    img = _write(tmp_path / "scene.tif", _scene())
    calls = []
    embed_images(
        [img], tmp_path / "ok.parquet", params=SMALL, progress=lambda d, t, s: calls.append((d, t, s))
    )
    assert calls[-1][0] == calls[-1][1] and any(s.startswith("Embedding scene.tif") for _, _, s in calls)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        embed_images([img], tmp_path / "no.parquet", params=SMALL, cancel=token)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.parquet", "scene.tif"]


def test_bad_input_says_what_to_do(tmp_path):
    img = _write(tmp_path / "scene.tif", _scene())
    with pytest.raises(InputError, match="no band 9"):
        embed_images([img], tmp_path / "x.parquet", params=EmbedderParams(k=8, bands=[9]))
    tiny = _write(tmp_path / "tiny.tif", _scene(height=20, width=20))
    with pytest.raises(InputError, match="smaller than one chip"):
        embed_images([tiny], tmp_path / "x.parquet", params=SMALL)
    nocrs = tmp_path / "nocrs.tif"
    with pytest.warns(rasterio.errors.NotGeoreferencedWarning):  # deliberately: no transform, no CRS
        with rasterio.open(nocrs, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint16") as dst:
            dst.write(_scene(64, 64)[:1])
    with pytest.raises(InputError, match="no coordinate reference system"):
        embed_images([nocrs], tmp_path / "x.parquet", params=SMALL)
    with pytest.raises(InputError, match="does not exist"):
        embed_images([tmp_path / "missing.tif"], tmp_path / "x.parquet", params=SMALL)
    other = _write(tmp_path / "three.tif", _scene()[:3])
    with pytest.raises(InputError, match="different numbers of bands"):
        embed_images([img, other], tmp_path / "x.parquet", params=SMALL)
    with pytest.raises(InputError, match="patch"):
        embed_images([img], tmp_path / "x.parquet", params=EmbedderParams(patch=40))
    assert not (tmp_path / "x.parquet").exists()


def test_large_outputs_spill_to_disk_and_give_the_same_file(tmp_path, monkeypatch):
    import terrafind.core.embed.output as embed_output

    img = _write(tmp_path / "scene.tif", _scene())
    whole, v1 = _read(embed_images([img], tmp_path / "a.parquet", params=SMALL))
    monkeypatch.setattr(embed_output, "SPILL_ROWS", 10)
    monkeypatch.setattr(embed_output, "ROW_GROUP", 16)
    spilled, v2 = _read(embed_images([img], tmp_path / "b.parquet", params=SMALL))
    assert pq.ParquetFile(tmp_path / "b.parquet").metadata.num_row_groups > 1
    np.testing.assert_array_equal(v1, v2)
    assert whole.column("id").to_pylist() == spilled.column("id").to_pylist()
    assert pq.read_schema(tmp_path / "a.parquet").metadata == pq.read_schema(tmp_path / "b.parquet").metadata
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "b.parquet", "scene.tif"]


def test_cli_embed_writes_a_file_and_reports_bad_input_in_one_sentence(tmp_path, capsys):
    from terrafind.core.cli.main import main

    img = _write(tmp_path / "scene.tif", _scene())
    out = tmp_path / "cli.parquet"
    assert main(["embed", str(img), "--out", str(out), "--filters", "8", "--bands", "1,2", "--quiet"]) == 0
    assert pq.read_schema(out).field("embedding").type.list_size == 16
    assert "72 chips" in capsys.readouterr().out
    assert main(["embed", str(tmp_path / "missing.tif"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "missing.tif does not exist" in err and "Traceback" not in err


def test_float_imagery_with_nan_nodata_in_lon_lat(tmp_path):
    data = _scene().astype(np.float32) / 10000
    data[:, :, :60] = np.nan
    path = tmp_path / "geo.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=170, height=150, count=4, dtype="float32",
        crs="EPSG:4326", transform=from_origin(-75.7, 37.7, 0.0001, 0.0001), nodata=float("nan"),
    ) as dst:  # fmt: skip
        dst.write(data)
    table, vecs = _read(embed_images([path], tmp_path / "geo.parquet", params=SMALL))
    assert np.isfinite(vecs).all()
    assert min(int(i.split("_")[2]) for i in table.column("id").to_pylist()) == 3  # NaN columns dropped
    poly = shapely.from_wkb(table.column("geometry")[0].as_py())
    west = -75.7 + 3 * 16 * 0.0001
    np.testing.assert_allclose(poly.bounds, [west, 37.7 - 32 * 0.0001, west + 32 * 0.0001, 37.7], atol=1e-9)
    assert "chip_size_m" not in json.loads(pq.read_schema(tmp_path / "geo.parquet").metadata[b"emb"])


def test_cancel_while_embedding_stops_the_job_and_leaves_no_file(tmp_path, monkeypatch):
    import terrafind.core.embed.output as embed_output

    img = _write(tmp_path / "scene.tif", _scene(height=400))
    monkeypatch.setattr(embedder, "WINDOW_VALUES", 1)  # many small reads, so there is a "while"
    monkeypatch.setattr(embed_output, "SPILL_ROWS", 10)  # and a temporary file already on disk
    token = CancelToken()
    seen = []

    def progress(done, total, label):
        seen.append(done)
        if label.startswith("Embedding") and done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        embed_images([img], tmp_path / "no.parquet", params=SMALL, progress=progress, cancel=token)
    assert 0 < max(seen) < 25  # stopped part-way through the 25 block rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]
