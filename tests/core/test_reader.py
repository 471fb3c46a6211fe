"""terrafind.core.read.reader: adapters, vectors, footprints, ids, attributes, progress/cancel, sources and lookups."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from reader_util import grid, list_column, unit, write
from synth import write_earth_index

from terrafind.core.errors import Cancelled, InputError
from terrafind.core.progress import CancelToken
from terrafind.core.read.reader import inspect, open_catalog
from terrafind.core.store.layout import clear_stores, list_stores


def test_earth_index_polygons(ei_file):
    cat = open_catalog(ei_file["path"])
    assert cat.adapter == "earth_index"
    assert len(cat) == 500 and cat.dim == 384
    assert cat.vectors.dtype == np.float32 and cat.vectors.flags.c_contiguous
    np.testing.assert_allclose(cat.vectors, unit(ei_file["vectors"]), atol=1e-6)
    assert list(cat.ids[:2]) == list(ei_file["ids"][:2])
    assert cat.model["model"]["id"] == "synthetic_vits"
    np.testing.assert_allclose(cat.bounds, ei_file["bbox"], atol=1e-9)
    assert cat.attributes.num_rows == 500 and cat.problems == []
    # a click at a chip's centre finds that chip
    lon, lat = ei_file["centres"][123]
    assert cat.chip_at(lon, lat) == 123


def test_earth_index_points_get_square_footprints_of_the_stated_chip_size(tmp_path):
    truth = write_earth_index(
        tmp_path / "pts.parquet", n=100, d=8, points=True, bbox=(10.0, 60.0, 10.5, 60.5)
    )
    cat = open_catalog(truth["path"])
    assert cat.chip_size_m == 320
    b = shapely.bounds(cat.footprints[0])
    lat = truth["centres"][0, 1]
    height_m = (b[3] - b[1]) * 111_320
    width_m = (b[2] - b[0]) * 111_320 * np.cos(np.radians(lat))
    assert height_m == pytest.approx(320, rel=1e-6) and width_m == pytest.approx(320, rel=1e-6)
    np.testing.assert_allclose(cat.centroids, truth["centres"], atol=1e-9)


def test_chip_size_from_stac_chip_layout_else_argument_else_default(tmp_path):
    centres, _, _, vecs = grid(20, 4)
    cols = {
        "id": [f"c{i}" for i in range(20)],
        "embedding": list_column(vecs),
        "geometry": shapely.points(centres),
    }
    stac = {
        "model": {"id": "m"},
        "properties": {"gsd": 10, "emb:chip_layout": {"chip_size": [64, 64], "stride": 64}},
    }
    assert (
        open_catalog(write(tmp_path / "a.parquet", cols, geometry_types=["Point"], emb=stac)).chip_size_m
        == 640
    )
    plain = write(tmp_path / "b.parquet", cols, geometry_types=["Point"])
    assert open_catalog(plain, chip_size_m=100).chip_size_m == 100
    cat = open_catalog(plain)
    assert cat.chip_size_m == 320
    b = shapely.bounds(cat.footprints[0])
    assert (b[3] - b[1]) * 111_320 == pytest.approx(320)


def _clay_v0_columns(n=30, d=16, start=0):
    centres, half, polys, vecs = grid(n, d)
    return {
        "index": pa.array(np.arange(start, start + n), pa.int64()),
        "source_url": [f"s3://bucket/claytile_{i:04d}.tif" for i in range(n)],
        "date": pa.array(np.full(n, np.datetime64("2022-06-10")), pa.date32()),
        "embeddings": list_column(vecs),
        "geometry": polys,
    }, vecs


def test_clay_v0_ids_are_unique_across_files_and_attributes_kept(tmp_path):
    cols, vecs = _clay_v0_columns()
    a = write(tmp_path / "03WVN_20220610_20220610_v001.gpq", cols)
    b = write(tmp_path / "03WVP_20220610_20220610_v001.gpq", cols)
    cat = open_catalog(tmp_path)  # a folder: both files, sorted
    assert cat.adapter == "clay_v0" and len(cat) == 60
    assert cat.ids[0] == "03WVN_20220610_20220610_v001:0" and cat.ids[30] == "03WVP_20220610_20220610_v001:0"
    assert len(set(cat.ids)) == 60 and cat.problems == []
    assert cat.source_url(1) == "s3://bucket/claytile_0001.tif"
    assert cat.date(0) == "2022-06-10"
    assert "index" in cat.attributes.column_names and "embeddings" not in cat.attributes.column_names
    assert [s.path for s in cat.sources] == [str(a), str(b)]
    np.testing.assert_allclose(cat.vectors[:30], unit(vecs), atol=1e-6)


def test_clay_v1_with_double_vectors(tmp_path):
    centres, half, polys, vecs = grid(25, 12)
    cols = {
        "item_id": [f"S2_{i}" for i in range(25)],
        "datetime": pa.array(np.full(25, np.datetime64("2024-05-01T10:00:00", "us"))),
        "embeddings": list_column(vecs.astype(np.float64), value_type=pa.float64()),
        "geometry": polys,
    }
    cat = open_catalog(write(tmp_path / "v1.parquet", cols))
    assert cat.adapter == "clay_v1" and cat.ids[3] == "S2_3"
    assert cat.vectors.dtype == np.float32
    np.testing.assert_allclose(cat.vectors, unit(vecs), atol=1e-6)
    assert cat.date(0).startswith("2024-05-01")


def test_major_tom_by_centre_points_without_geometry_column(tmp_path):
    centres, half, polys, vecs = grid(16, 8)
    cols = {
        "unique_id": [f"mt{i}" for i in range(16)],
        "embedding": list_column(vecs),
        "centre_lat": centres[:, 1],
        "centre_lon": centres[:, 0],
        "grid_cell": ["1U_2R"] * 16,
    }
    path = write(tmp_path / "mt.parquet", cols, geometry=None)
    assert inspect(path)[0]["adapter"] == "major_tom"
    cat = open_catalog(path, chip_size_m=2240)
    assert cat.adapter == "major_tom" and cat.ids[0] == "mt0" and cat.chip_size_m == 2240
    np.testing.assert_allclose(cat.centroids, centres, atol=1e-9)
    assert cat.attributes.column_names == ["centre_lat", "centre_lon", "grid_cell"]


def test_major_tom_with_geometry_falls_back_to_centre_points(tmp_path):
    centres, half, polys, vecs = grid(9, 8)
    wkb = list(shapely.to_wkb(polys))
    wkb[4] = None  # this chip is placed from centre_lon / centre_lat instead
    cols = {
        "unique_id": [f"mt{i}" for i in range(9)],
        "embedding": list_column(vecs),
        "geometry": pa.array(wkb, pa.binary()),
        "centre_lat": centres[:, 1],
        "centre_lon": centres[:, 0],
    }
    cat = open_catalog(write(tmp_path / "mtg.parquet", cols, bbox=[10, 45, 10.2, 45.2]), chip_size_m=500)
    assert cat.adapter == "major_tom" and len(cat) == 9 and cat.problems == []
    assert cat.footprints[3].equals(polys[3])
    b = shapely.bounds(cat.footprints[4])
    assert (b[3] - b[1]) * 111_320 == pytest.approx(500)
    np.testing.assert_allclose(cat.centroids[4], centres[4], atol=1e-9)


def test_generic_finds_the_one_float_list_and_an_id_like_column(tmp_path):
    centres, half, polys, vecs = grid(10, 6)
    cols = {
        "tile_id": np.arange(100, 110),
        "feat": list_column(vecs, fixed=True),
        "geom": polys,
        "note": ["x"] * 10,
    }
    cat = open_catalog(write(tmp_path / "g.parquet", cols, geometry="geom", geo=False))
    assert cat.adapter == "generic" and cat.ids[0] == "100"
    assert cat.attributes.column_names == ["note"]
    # no id-like column: "<file stem>:<row number>"
    cols2 = {
        "feat": list_column(vecs),
        "geometry": polys,
        "other": list_column(vecs[:, :2].copy(), value_type=pa.int32()),
    }
    cat2 = open_catalog(write(tmp_path / "noid.parquet", cols2))
    assert cat2.ids[4] == "noid:4" and "other" in cat2.attributes.column_names


def test_geoarrow_point_and_wkt_geometry(tmp_path):
    import json

    centres, half, polys, vecs = grid(8, 4)
    points = pa.StructArray.from_arrays([pa.array(centres[:, 0]), pa.array(centres[:, 1])], ["x", "y"])
    table = pa.table({"id": [f"p{i}" for i in range(8)], "embedding": list_column(vecs), "geometry": points})
    geo = {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": {"encoding": "point"}}}
    pq.write_table(table.replace_schema_metadata({"geo": json.dumps(geo)}), tmp_path / "native.parquet")
    cat = open_catalog(tmp_path / "native.parquet", chip_size_m=200)
    assert len(cat) == 8 and cat.chip_size_m == 200
    np.testing.assert_allclose(cat.centroids, centres, atol=1e-9)
    geo["columns"]["geometry"]["encoding"] = "multipolygon"
    pq.write_table(table.replace_schema_metadata({"geo": json.dumps(geo)}), tmp_path / "multi.parquet")
    with pytest.raises(InputError, match="multi.parquet stores its geometry as 'multipolygon'"):
        open_catalog(tmp_path / "multi.parquet")
    wkt = {"id": [f"w{i}" for i in range(8)], "embedding": list_column(vecs), "geom": shapely.to_wkt(polys)}
    cat = open_catalog(write(tmp_path / "wkt.parquet", wkt, geometry=None))
    assert len(cat) == 8 and cat.footprints[2].equals_exact(polys[2], tolerance=1e-6)


def test_user_named_embedding_column_and_sliced_list_offsets(tmp_path):
    centres, half, polys, vecs = grid(12, 5)
    big = list_column(np.vstack([vecs, vecs]))
    cols = {
        "id": [str(i) for i in range(12)],
        "a": list_column(vecs * 2),
        "b": big.slice(12, 12),
        "geometry": polys,
    }
    path = write(tmp_path / "two.parquet", cols)
    cat = open_catalog(path, embedding_column="b")
    assert cat.adapter == "generic" and "a" in cat.attributes.column_names
    np.testing.assert_allclose(cat.vectors, unit(vecs), atol=1e-6)


def test_large_list_and_half_float_vectors(tmp_path):
    centres, half, polys, vecs = grid(9, 6)
    values = pa.array(vecs.reshape(-1).astype(np.float16), pa.float16())
    offsets = pa.array(np.arange(0, 10 * 6, 6, dtype=np.int64))
    cols = {"chip_id": [f"k{i}" for i in range(9)], "vec": pa.LargeListArray.from_arrays(offsets, values)}
    cols["geometry"] = polys
    cat = open_catalog(write(tmp_path / "half.parquet", cols))
    assert cat.adapter == "generic" and cat.ids[8] == "k8" and cat.vectors.dtype == np.float32
    np.testing.assert_allclose(cat.vectors, unit(vecs.astype(np.float16).astype(np.float32)), atol=1e-3)


@pytest.fixture(params=["parallel", "stream"])
def read_mode(request, monkeypatch):
    """Run a test with row groups decoded two at a time, and with batches streamed one by one."""
    import terrafind.core.read.sources

    if request.param == "stream":
        monkeypatch.setattr(terrafind.core.read.sources, "PARALLEL_MAX_BYTES", 0)
    return request.param


def test_progress_per_batch_and_cancel(tmp_path, read_mode):
    truth = write_earth_index(tmp_path / "rg.parquet", n=3000, d=16, row_group_size=500)
    calls = []
    cat = open_catalog(truth["path"], progress=lambda d, t, label: calls.append((d, t)))
    assert len(cat) == 3000
    # one report per row group, then "Finishing the app cache"
    assert calls[0] == (0, 3000) and calls[-1] == (3000, 3000) and len(calls) == 8
    again = []
    assert len(open_catalog(truth["path"], progress=lambda d, t, label: again.append(label))) == 3000
    assert again == ["Opened from the app cache"]  # the second open reads nothing
    clear_stores()
    token = CancelToken()

    def cancel_after_two(done, total, label):
        if done >= 1000:
            token.cancel()

    with pytest.raises(Cancelled):
        open_catalog(truth["path"], progress=cancel_after_two, cancel=token)
    assert list_stores() == []  # a cancelled open leaves no half store behind
    with pytest.raises(Cancelled):  # already cancelled: stops before reading anything
        open_catalog(truth["path"], progress=lambda d, t, _: d and pytest.fail("read"), cancel=token)


def test_sources_record_identity(ei_file):
    path = ei_file["path"]
    cat = open_catalog(path)
    (src,) = cat.sources
    data = path.read_bytes()
    footer_len = int.from_bytes(data[-8:-4], "little")
    assert src.footer_hash == hashlib.sha256(data[-8 - footer_len :]).hexdigest()
    assert (src.size, src.mtime_ns) == (path.stat().st_size, path.stat().st_mtime_ns)
    assert (src.adapter, src.rows_total, src.rows_read) == ("earth_index", 500, 500)
    assert cat.fingerprint() == open_catalog(path).fingerprint()


def test_no_file_handles_stay_open(tmp_path):
    import psutil

    for k in range(6):
        write_earth_index(tmp_path / f"f{k}.parquet", n=50, d=4, seed=k)
    before = {f.path for f in psutil.Process().open_files()}
    cat = open_catalog(tmp_path)
    assert len(cat) == 300 and len(inspect(tmp_path)) == 6
    after = {f.path for f in psutil.Process().open_files()}
    assert not {p for p in after - before if p.endswith(".parquet")}


def test_inspect_reads_footers_only(ei_file, tmp_path):
    (info,) = inspect(ei_file["path"])
    assert info["adapter"] == "earth_index" and info["rows"] == 500 and info["dim"] == 384
    assert info["model"]["model"]["id"] == "synthetic_vits"
    assert info["columns"] == ["id", "embedding", "geometry"] and info["problems"] == []
    np.testing.assert_allclose(info["bbox"], ei_file["bbox"])
    other = write_earth_index(tmp_path / "other.parquet", n=10, d=16)
    (_, second) = inspect([ei_file["path"], other["path"]])
    assert "16 values" in second["problems"][0] and ei_file["path"].name in second["problems"][0]
    bad = tmp_path / "notes.parquet"
    bad.write_text("hello")
    (entry,) = inspect(bad)
    assert entry["adapter"] is None and "not a Parquet file" in entry["problems"][0]


def test_lookups_are_fast_on_20k_chips(tmp_path):
    truth = write_earth_index(tmp_path / "20k.parquet", n=20_000, d=4)
    cat = open_catalog(truth["path"])
    rng = np.random.default_rng(1)
    pts = truth["centres"][rng.integers(0, 20_000, 200)]
    cat.chip_at(*pts[0])
    cat.nearest(*pts[0])  # build the tree outside the timing
    times = []
    for lon, lat in pts:
        t = time.perf_counter()
        cat.chip_at(lon, lat)
        cat.nearest(lon + 1.0, lat)
        times.append(time.perf_counter() - t)
    assert np.median(times) < 1e-3
    assert cat.chip_at(*pts[5]) == int(np.argmin(((truth["centres"] - pts[5]) ** 2).sum(1)))


def test_read_is_streamed_not_whole_table(tmp_path, monkeypatch, read_mode):
    """The vectors come from per-row-group batches, never from a whole-file read."""
    truth = write_earth_index(tmp_path / "s.parquet", n=2000, d=8, row_group_size=400)

    def boom(*a, **k):
        raise AssertionError("whole-table read")

    import threading

    groups_read = []
    real_iter = pq.ParquetFile.iter_batches

    def streamed(self, *a, row_groups=None, **k):
        groups_read.append((threading.get_ident(), tuple(row_groups or ())))
        return real_iter(self, *a, row_groups=row_groups, **k)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", streamed)
    monkeypatch.setattr(pq.ParquetFile, "read", boom)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", boom)
    monkeypatch.setattr(pq, "read_table", boom)
    cat = open_catalog(truth["path"])
    assert len(cat) == 2000 and list(cat.ids) == list(truth["ids"])  # file order kept
    assert sorted(g for _, g in groups_read) == [(0,), (1,), (2,), (3,), (4,)]  # each group streamed once
    # in parallel mode two reader threads decode alternate groups; else one thread streams them in turn
    threads = {name for name, _ in groups_read}
    assert len(threads) == (2 if read_mode == "parallel" else 1)
