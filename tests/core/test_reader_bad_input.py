"""terrafind.core.read.reader on bad input: one sentence naming the file (InputError), or rows skipped with one warning."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import shapely
from reader_util import grid, list_column, unit, write
from synth import write_earth_index

from terrafind.core.errors import InputError
from terrafind.core.read.reader import open_catalog


def _ei(n=20, d=6, **kw):
    centres, half, polys, vecs = grid(n, d, **kw)
    return (
        {"id": [f"c{i}" for i in range(n)], "embedding": list_column(vecs), "geometry": polys},
        vecs,
        centres,
    )


def _one_sentence(exc: InputError, name: str) -> None:
    msg = exc.message
    assert name in msg and "\n" not in msg and "Traceback" not in msg
    assert msg.endswith(".")


def test_missing_path_empty_folder_and_no_paths(tmp_path):
    with pytest.raises(InputError, match="nowhere.parquet does not exist"):
        open_catalog(tmp_path / "nowhere.parquet")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="holds no GeoParquet files"):
        open_catalog(tmp_path)
    with pytest.raises(InputError, match="No file was given"):
        open_catalog([])


def test_not_a_parquet_file(tmp_path):
    p = tmp_path / "photo.parquet"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 100)
    with pytest.raises(InputError) as e:
        open_catalog(p)
    _one_sentence(e.value, "photo.parquet")
    assert "not a Parquet file" in e.value.message


def test_truncated_file(ei_file, tmp_path):
    data = ei_file["path"].read_bytes()
    p = tmp_path / "cut.parquet"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as e:
        open_catalog(p)
    _one_sentence(e.value, "cut.parquet")
    assert "truncated" in e.value.message


def test_corrupt_footer_and_corrupt_pages(ei_file, tmp_path):
    data = bytearray(ei_file["path"].read_bytes())
    footer_len = int.from_bytes(data[-8:-4], "little")
    bad_footer = bytearray(data)
    bad_footer[-8 - footer_len : -8] = b"\xff" * footer_len
    (tmp_path / "f.parquet").write_bytes(bad_footer)
    with pytest.raises(InputError) as e:
        open_catalog(tmp_path / "f.parquet")
    _one_sentence(e.value, "f.parquet")
    bad_pages = bytearray(data)
    bad_pages[4:2000] = b"\x07" * 1996
    (tmp_path / "g.parquet").write_bytes(bad_pages)
    with pytest.raises(InputError) as e:
        open_catalog(tmp_path / "g.parquet")
    _one_sentence(e.value, "g.parquet")
    assert "damaged" in e.value.message


def test_no_embedding_column_lists_the_columns(tmp_path):
    centres, half, polys, vecs = grid(5, 3)
    p = write(tmp_path / "plain.parquet", {"id": list("abcde"), "score": np.ones(5), "geometry": polys})
    with pytest.raises(InputError) as e:
        open_catalog(p)
    _one_sentence(e.value, "plain.parquet")
    assert "id, score, geometry" in e.value.message
    with pytest.raises(InputError, match="no column named 'vec'"):
        open_catalog(p, embedding_column="vec")


def test_dimensions_differ_between_rows(tmp_path):
    cols, vecs, _ = _ei(10, 4)
    ragged = pa.array([list(v) for v in vecs[:9]] + [[1.0, 2.0]], pa.list_(pa.float32()))
    cols["embedding"] = ragged
    with pytest.raises(InputError) as e:
        open_catalog(write(tmp_path / "ragged.parquet", cols))
    _one_sentence(e.value, "ragged.parquet")
    assert "same length" in e.value.message


def test_dimensions_or_models_differ_between_files(tmp_path):
    a, _, _ = _ei(10, 4)
    b, _, _ = _ei(10, 8)
    write(tmp_path / "a.parquet", a)
    write(tmp_path / "b.parquet", b)
    with pytest.raises(InputError) as e:
        open_catalog(tmp_path)
    _one_sentence(e.value, "b.parquet")
    assert "4" in e.value.message and "8" in e.value.message
    # models named in the emb metadata must agree
    (tmp_path / "m2").mkdir()
    write_earth_index(tmp_path / "m2" / "x.parquet", n=10, d=8)
    c, _, _ = _ei(10, 8)
    write(tmp_path / "m2" / "y.parquet", c, emb={"model": {"id": "clay-v1.5"}})
    with pytest.raises(InputError) as e:
        open_catalog(tmp_path / "m2")
    _one_sentence(e.value, "y.parquet")
    assert "clay-v1.5" in e.value.message and "synthetic_vits" in e.value.message


def test_null_nan_infinite_and_zero_vectors_are_skipped_with_one_warning(tmp_path):
    cols, vecs, _ = _ei(12, 4)
    rows = [list(map(float, v)) for v in vecs]
    rows[1] = None
    rows[2] = [np.nan, 1, 1, 1]
    rows[3] = [np.inf, 1, 1, 1]
    rows[4] = [0.0, 0.0, 0.0, 0.0]
    rows[5] = []
    cols["embedding"] = pa.array(rows, pa.list_(pa.float32()))
    cat = open_catalog(write(tmp_path / "holes.parquet", cols))
    assert len(cat) == 7 and list(cat.ids) == ["c0"] + [f"c{i}" for i in range(6, 12)]
    np.testing.assert_allclose(cat.vectors, unit(vecs[[0, 6, 7, 8, 9, 10, 11]]), atol=1e-6)
    (warning,) = cat.problems
    assert "5 chips" in warning and "holes.parquet" in warning
    # the same in a fixed-size column (null rows still own their slots there)
    fixed_vals = np.array([r if r and len(r) == 4 else [0.0] * 4 for r in rows], np.float32)
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(fixed_vals.reshape(-1)), 4)
    cols["embedding"] = pa.array(
        fixed.to_pylist()[:1] + [None] + fixed.to_pylist()[2:], pa.list_(pa.float32(), 4)
    )
    cat = open_catalog(write(tmp_path / "fixed.parquet", cols))
    assert len(cat) == 7 and "5 chips" in cat.problems[0]


def test_all_vectors_unusable_is_an_error(tmp_path):
    cols, vecs, _ = _ei(5, 3)
    cols["embedding"] = list_column(np.zeros((5, 3), np.float32))
    with pytest.raises(InputError) as e:
        open_catalog(write(tmp_path / "zeros.parquet", cols))
    _one_sentence(e.value, "zeros.parquet")


def test_missing_or_invalid_geometry_rows_are_skipped_and_all_missing_is_an_error(tmp_path):
    cols, vecs, centres = _ei(10, 4)
    wkb = list(shapely.to_wkb(cols["geometry"]))
    wkb[0] = None
    wkb[1] = b"\x01\x02garbage"
    wkb[2] = shapely.to_wkb(shapely.Polygon())
    wkb[3] = shapely.to_wkb(shapely.box(500, 500, 501, 501))  # not lon/lat
    cols["geometry"] = pa.array(wkb, pa.binary())
    cat = open_catalog(write(tmp_path / "geoms.parquet", cols, bbox=(10, 45, 10.2, 45.2)))
    assert len(cat) == 6 and cat.ids[0] == "c4"
    (warning,) = cat.problems
    assert "4 chips" in warning and "geometry" in warning and "geoms.parquet" in warning
    cols["geometry"] = pa.array([None] * 10, pa.binary())
    with pytest.raises(InputError) as e:
        open_catalog(write(tmp_path / "nogeom.parquet", cols, bbox=None))
    _one_sentence(e.value, "nogeom.parquet")
    assert "geometry" in e.value.message


def test_projected_crs_is_reprojected_to_lon_lat(tmp_path):
    from pyproj import CRS, Transformer

    cols, vecs, centres = _ei(16, 4)
    to_utm = Transformer.from_crs(4326, 32632, always_xy=True)
    x, y = to_utm.transform(centres[:, 0], centres[:, 1])
    cols["geometry"] = shapely.buffer(shapely.points(x, y), 100, cap_style="square")
    p = write(tmp_path / "utm.parquet", cols, crs=CRS.from_epsg(32632).to_json_dict())
    cat = open_catalog(p)
    assert cat.problems == []
    np.testing.assert_allclose(cat.centroids, centres, atol=1e-6)
    (lon, lat) = centres[5]
    assert cat.chip_at(lon, lat) == 5


def test_crs_contradicted_by_degree_values_is_reported_and_values_used(tmp_path):
    from pyproj import CRS

    cols, vecs, centres = _ei(9, 4)
    cat = open_catalog(write(tmp_path / "liar.parquet", cols, crs=CRS.from_epsg(3857).to_json_dict()))
    np.testing.assert_allclose(cat.centroids, centres, atol=1e-9)
    (warning,) = cat.problems
    assert "liar.parquet" in warning and "lon/lat" in warning and "Pseudo-Mercator" in warning


def test_coordinates_that_fit_no_lon_lat_or_the_declared_crs(tmp_path):
    from pyproj import CRS

    cols, vecs, centres = _ei(4, 4)
    squares = shapely.buffer(
        shapely.points(np.c_[np.full(4, 5e5), np.arange(4) * 200 + 5e6]), 100, cap_style="square"
    )
    cols["geometry"] = squares
    # no CRS (lon/lat) but values in metres: every row is off the map
    with pytest.raises(InputError, match="metres.parquet"):
        open_catalog(write(tmp_path / "metres.parquet", cols, bbox=None))
    utm32 = CRS.from_epsg(32632).to_json_dict()
    # the same values with their UTM zone declared are placed in northern Italy
    cat = open_catalog(write(tmp_path / "zone.parquet", cols, crs=utm32))
    assert len(cat) == 4 and np.all(np.abs(cat.centroids[:, 1] - 45.15) < 0.05)
    # values far outside anything the declared CRS can describe
    cols["geometry"] = shapely.transform(squares, lambda c: c * 1e4)
    with pytest.raises(InputError) as e:
        open_catalog(write(tmp_path / "huge.parquet", cols, crs=utm32))
    _one_sentence(e.value, "huge.parquet")


def test_zero_row_file_opens_empty(tmp_path):
    cols, vecs, _ = _ei(3, 4)
    t = pa.table(
        {
            "id": pa.array([], pa.string()),
            "embedding": pa.array([], pa.list_(pa.float32(), 4)),
            "geometry": pa.array([], pa.binary()),
            "date": pa.array([], pa.string()),
        }
    )
    p = write(tmp_path / "empty.parquet", {k: t.column(k) for k in t.column_names}, bbox=[1, 2, 3, 4])
    cat = open_catalog(p)
    assert len(cat) == 0 and cat.dim == 4 and cat.attributes.column_names == ["date"]
    assert cat.problems == ["empty.parquet is empty: it holds no chips."]
    assert cat.chip_at(1, 2) is None and cat.describe()["rows"] == 0


def test_duplicate_ids_are_kept_and_renamed(tmp_path):
    cols, vecs, _ = _ei(6, 4)
    cols["id"] = ["a", "b", "a", "c", "a", "b"]
    cat = open_catalog(write(tmp_path / "dups.parquet", cols))
    assert list(cat.ids) == ["a", "b", "a#2", "c", "a#3", "b#2"]
    assert cat.row_of("a#3") == 4
    (warning,) = cat.problems
    assert "3 chips" in warning
