"""Export: RFC 7946 GeoJSON with provenance, GeoPackage and CSV read back with geopandas, atomic writes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyogrio
import pytest
import shapely
from synth import chip_polygons, clustered_vectors, grid_layout

import terrafind
import terrafind.core.export.formats as formats
from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.export.hits import export_hits, export_labels, hits_feature_collection
from terrafind.core.search.query import search
from terrafind.core.types import Examples, SourceFile


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    n, d = 400, 16
    centres, half, labels = grid_layout(n, n_clusters=4, seed=5)
    v = clustered_vectors(n, d, labels, seed=5)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    polys = chip_polygons(centres, half)
    polys[0] = shapely.Polygon(list(polys[0].exterior.coords)[::-1])  # a clockwise ring to be fixed
    attrs = pa.table(
        {
            "date": pa.array([dt.date(2022, 6, 10)] * n, pa.date32()),
            "source_url": [f"s3://bucket/scene_{i % 3}.tif" for i in range(n)],
            "cloud": [float("nan") if i == 1 else i / n for i in range(n)],
            "bands": [[1, 2, 3]] * n,
            "score": np.full(n, 42.0),  # clashes with the hit score: kept as data_score
        }
    )
    src = SourceFile("/data/31TEST.parquet", 1234, 1, "abc", "earth_index", n, n)
    model = {"model": {"id": "dinov2_vits14_softcon", "name": "SoftCon"}}
    ids = np.array([f"chip-{i}" for i in range(n)], dtype=object)
    return Catalog(v, ids, polys, attrs, sources=[src], adapter="earth_index", model=model)


@pytest.fixture(scope="module")
def result(catalog):
    return search(catalog, Examples(positives=[0, 200], negatives=[5]), k=25, mode="max")


def test_feature_collection_properties_and_provenance(catalog, result):
    fc = hits_feature_collection(
        catalog, result, labels={int(result.rows[1]): "right"}, extra_provenance={"project": "p1"}
    )
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 25
    f0, f1 = fc["features"][0]["properties"], fc["features"][1]["properties"]
    assert f0["id"] == catalog.ids[result.rows[0]] and f0["rank"] == 1 and f1["rank"] == 2
    assert f0["score"] == pytest.approx(float(result.scores[0]), abs=1e-6)
    assert f0["label"] is None and f1["label"] == "right"
    assert f0["matched_example"] in {"chip-0", "chip-200"}
    assert f0["date"] == "2022-06-10" and f0["source_url"].startswith("s3://")
    assert f0["bands"] == [1, 2, 3] and f0["data_score"] == 42.0 and "probability" not in f0
    prov = fc["terrafind"]
    assert prov["version"] == terrafind.__version__ and prov["created"].endswith("Z")
    assert prov["inputs"][0]["path"] == "/data/31TEST.parquet"
    assert prov["model"]["model"]["id"] == "dinov2_vits14_softcon"
    assert prov["search"]["mode"] == "max" and prov["search"]["k"] == 25
    assert prov["search"]["examples"] == {"positives": ["chip-0", "chip-200"], "negatives": ["chip-5"]}
    assert prov["project"] == "p1"
    json.dumps(fc, allow_nan=False)  # NaN attributes became null: strict JSON


def test_polygons_are_lon_lat_and_counter_clockwise(catalog):
    res = search(catalog, Examples(positive_vectors=catalog.vectors[[0]]), k=3)
    assert res.rows[0] == 0
    fc = hits_feature_collection(catalog, res)
    geom = fc["features"][0]["geometry"]
    assert geom["type"] == "Polygon"
    ring = shapely.LinearRing(geom["coordinates"][0])
    assert ring.is_ccw
    lon, lat = geom["coordinates"][0][0]
    assert -76 < lon < -75.5 and 37.2 < lat < 37.7
    assert shapely.geometry.shape(geom).normalize().equals_exact(catalog.footprints[0].normalize(), 1e-6)


def test_threshold_and_probability(catalog, result):
    cut = float(result.scores[9])
    fc = hits_feature_collection(catalog, result, threshold=cut)
    assert len(fc["features"]) >= 10 and all(f["properties"]["score"] >= cut - 1e-6 for f in fc["features"])
    assert fc["terrafind"]["search"]["threshold"] == cut
    probs = dataclasses.replace(result, probabilities=np.linspace(0.9, 0.1, len(result)).astype(np.float32))
    assert hits_feature_collection(catalog, probs)["features"][0]["properties"][
        "probability"
    ] == pytest.approx(0.9)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv"])
def test_every_format_reads_back_with_geopandas(catalog, result, tmp_path, suffix):
    out = export_hits(catalog, result, tmp_path / f"hits{suffix}", labels={int(result.rows[0]): "wrong"})
    assert out == tmp_path / f"hits{suffix}"
    gdf = gpd.read_file(out)
    assert len(gdf) == 25
    assert list(gdf["id"]) == [str(catalog.ids[r]) for r in result.rows]
    assert gdf["rank"].astype(int).tolist() == list(range(1, 26))
    np.testing.assert_allclose(gdf["score"].astype(float), result.scores, atol=1e-5)
    assert gdf.loc[0, "label"] == "wrong"
    assert gdf.geometry.iloc[0].normalize().equals_exact(catalog.footprints[result.rows[0]].normalize(), 1e-6)
    if suffix == ".gpkg":
        meta = pyogrio.read_info(out, layer="hits")["layer_metadata"]
        assert json.loads(meta["terrafind"])["search"]["mode"] == "max"
    if suffix == ".csv":
        side = json.loads((tmp_path / "hits.terrafind.json").read_text())
        assert side["search"]["k"] == 25
        first = (tmp_path / "hits.csv").read_text().splitlines()[0].split(",")
        assert first[:2] == ["lon", "lat"] and first[-1] == "WKT"
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_labels_export(catalog, tmp_path):
    out = export_labels(catalog, [3, 4], [9], tmp_path / "labels.gpkg")
    gdf = gpd.read_file(out)
    assert gdf["label"].tolist() == ["positive", "positive", "negative"]
    assert gdf["id"].tolist() == ["chip-3", "chip-4", "chip-9"]
    with pytest.raises(InputError, match="not in the loaded data"):
        export_labels(catalog, [10_000], [], tmp_path / "x.geojson")


def test_a_failed_write_leaves_the_previous_file_intact(catalog, result, tmp_path, monkeypatch):
    target = tmp_path / "hits.geojson"
    export_hits(catalog, result, target)
    good = target.read_bytes()

    def crashing_writer(fc, path):
        path.write_text('{"type": "FeatureCollection", "features": [')  # half a file...
        raise RuntimeError("disk pulled out")  # ...then the write dies

    monkeypatch.setitem(
        formats.FORMATS, "geojson", formats.Format("geojson", "G", (".geojson",), crashing_writer)
    )
    with pytest.raises(RuntimeError):
        export_hits(catalog, result, target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["hits.geojson"]


def test_format_choice_registry_and_bad_paths(catalog, result, tmp_path, monkeypatch):
    assert export_hits(catalog, result, tmp_path / "noext").name == "noext.geojson"
    assert export_hits(catalog, result, tmp_path / "a.json").exists()
    assert export_hits(catalog, result, tmp_path / "b", fmt="gpkg").name == "b.gpkg"
    with pytest.raises(InputError, match="cannot write hits.shp"):
        export_hits(catalog, result, tmp_path / "hits.shp")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="Could not write"):
        export_hits(catalog, result, tmp_path / "afile" / "hits.geojson")
    seen = {}

    def write_txt(fc, path):
        seen["n"] = len(fc["features"])
        path.write_text("ok")

    monkeypatch.setitem(formats.FORMATS, "txt", formats.Format("txt", "Text", (".txt",), write_txt))
    export_hits(catalog, result, tmp_path / "hits.txt")
    assert seen["n"] == 25 and (tmp_path / "hits.txt").read_text() == "ok"


def test_no_hits_still_give_valid_files(catalog, tmp_path):
    empty = search(catalog, Examples(positives=[1]), k=5, threshold=1.0)
    assert len(empty) == 0
    for suffix in (".geojson", ".gpkg", ".csv"):
        assert len(gpd.read_file(export_hits(catalog, empty, tmp_path / f"none{suffix}"))) == 0
