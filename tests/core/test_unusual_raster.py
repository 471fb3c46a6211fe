"""Unusual places (planted high-loss chips, planted outliers) and the scores raster (a COG on the chip grid)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from synth import synthetic_catalog, write_clay_v1, write_earth_index

from terrafind.core.catalog import Catalog
from terrafind.core.cli.main import main
from terrafind.core.export import raster as rs
from terrafind.core.search import unusual as un
from terrafind.core.search.index import build_index
from terrafind.core.session import Session


def _outliers(n=3000, d=32, planted=12, seed=5):
    """Clusters, plus ``planted`` chips whose vectors belong to no cluster (the truth: the unusual ones)."""
    cat, labels = synthetic_catalog(n, d=d, seed=seed, n_clusters=6, spread=0.5)
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, size=planted, replace=False))
    v = rng.standard_normal((planted, d)).astype(np.float32)
    vecs = np.array(cat.vectors)
    vecs[rows] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return Catalog(vecs, cat.ids, cat.footprints, cat.attributes), rows


def test_planted_high_loss_chips_come_first(tmp_path):
    v1 = write_clay_v1(tmp_path / "v1.parquet", n=500, d=16, high_loss=8)
    s = Session.open([v1["path"]])
    s.params["k"] = 50
    out = s.run_search("unusual")
    assert out.how == "unusual" and out.result.mode == "unusual-loss"
    assert set(out.result.rows[:8].tolist()) == set(v1["planted"].tolist())
    assert np.all(np.diff(out.result.scores) <= 0) and out.values is not None
    assert out.tops()[0] <= 1 / 500  # the highest loss of the region: top 0.2 %
    assert "highest loss" in out.quality
    s.set_label(int(out.result.rows[0]), "positive")  # behaves like any search: label, then search from it
    s.set_label(int(out.result.rows[-1]), "negative")
    assert s.how() == "plain" and s.run_search().how == "plain"
    with pytest.raises(Exception, match="no loss column"):
        un.choose_by(synthetic_catalog(50, d=8)[0], "loss")


@pytest.mark.parametrize("with_index", [False, True])
def test_novelty_finds_planted_outliers_with_or_without_an_index(with_index):
    cat, planted = _outliers()
    index = build_index(cat) if with_index else None
    values = un.novelty(cat, neighbours=10, index=index)
    assert values.shape == (len(cat),)
    top = np.argsort(-values)[: len(planted)]
    assert len(set(top.tolist()) & set(planted.tolist())) >= len(planted) - 1
    result, _ = un.unusual(cat, by="auto", k=20, index=index, exclude=[int(planted[0])])
    assert result.mode == "unusual-novelty" and int(planted[0]) not in result.rows.tolist()


def test_novelty_uses_a_sample_not_all_pairs(monkeypatch):
    cat, planted = _outliers(n=6000)
    monkeypatch.setattr(un, "REFERENCE", 512)
    values = un.novelty(cat)
    top = set(np.argsort(-values)[: len(planted)].tolist())
    assert len(top & set(planted.tolist())) >= len(planted) - 2


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.profile, ds.tags(), ds.tags(ns="IMAGE_STRUCTURE"), ds.overviews(1), ds


def test_scores_raster_is_a_cog_on_the_chip_grid(tmp_path):
    ei = write_earth_index(tmp_path / "ei.parquet", n=2500, d=16, overlap=2.0)  # chips at half stride
    s = Session.open([ei["path"]])
    s.set_example(100, "positive")
    out = s.run_search()
    path, what = s.export_raster(tmp_path / "scores.tif")
    assert what == "similarity"
    img, profile, tags, structure, overviews, ds = _read(path)
    # GDAL's own COG check: a file laid out as a COG (IFDs first, tiles in order) says LAYOUT=COG
    assert structure.get("LAYOUT") == "COG"
    assert profile["tiled"] and profile["blockxsize"] == 512 and profile["nodata"] == rs.NODATA
    assert ds.crs.to_string() in ("EPSG:4326",) or ds.crs.to_string().startswith("EPSG:32")
    # one pixel per chip: every chip's exact score at its centre, nothing else
    cat = s.catalog
    with rasterio.open(path) as src:
        centres = cat.centroids[np.arange(len(cat))]
        if src.crs.to_string() != "EPSG:4326":
            from pyproj import Transformer

            xs, ys = Transformer.from_crs("EPSG:4326", src.crs.to_string(), always_xy=True).transform(
                *centres.T
            )
        else:
            xs, ys = centres.T
        rc = np.array([src.index(x, y) for x, y in zip(xs, ys, strict=True)])
    all_scores = cat.vectors @ cat.vectors[100]
    assert np.allclose(img[rc[:, 0], rc[:, 1]], all_scores, atol=1e-5)
    assert (img != rs.NODATA).sum() == len(cat)  # no chip lost, none made up
    assert json.loads(tags["terrafind"])["values"] == "similarity"
    hits = out.result.rows[:5]
    assert np.all(img[rc[hits, 0], rc[hits, 1]] >= img[rc[:, 0], rc[:, 1]].max() - 0.2)


def test_grid_fits_chips_made_in_utm(tmp_path):
    # a 40 x 30 lattice of 1 km chips in UTM zone 18N, as an MGRS-tiled product makes them
    import pyarrow as pa
    import shapely
    from pyproj import Transformer

    to_ll = Transformer.from_crs("EPSG:32618", "EPSG:4326", always_xy=True)
    ii, jj = np.meshgrid(np.arange(40), np.arange(30))
    x0, y0 = 400_000 + ii.ravel() * 1000.0, 4_100_000 + jj.ravel() * 1000.0
    polys = []
    for x, y in zip(x0, y0, strict=True):
        xs, ys = to_ll.transform([x, x + 1000, x + 1000, x], [y, y, y + 1000, y + 1000])
        polys.append(shapely.Polygon(list(zip(xs, ys, strict=True))))
    n = len(polys)
    vec = np.random.default_rng(0).standard_normal((n, 8)).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    cat = Catalog(
        vec,
        np.array([f"c{i}" for i in range(n)], object),
        np.array(polys, object),
        pa.table({"i": np.arange(n)}),
    )
    grid = rs.chip_grid(cat)
    assert grid.crs == "EPSG:32618" and (grid.width, grid.height) == (40, 30) and grid.misfit < 0.01
    assert abs(grid.transform.a - 1000.0) < 0.5
    assert len(set(zip(grid.col.tolist(), grid.row.tolist(), strict=True))) == n  # one pixel per chip


def test_cli_search_and_unusual_write_rasters(tmp_path, capsys):
    v1 = write_clay_v1(tmp_path / "v1.parquet", n=400, d=16)
    lon, lat = v1["centres"][3]
    out = tmp_path / "sim.tif"
    assert main(["search", str(v1["path"]), "--at", f"{lon:.7f},{lat:.7f}", "--out", str(out)]) == 0
    assert "the similarity of every chip" in capsys.readouterr().out
    img, *_ = _read(out)
    assert (img != rs.NODATA).sum() == 400
    assert (
        main(["unusual", str(v1["path"]), "--by", "loss", "-k", "20", "--out", str(tmp_path / "u.geojson")])
        == 0
    )
    text = capsys.readouterr().out
    assert "highest loss" in text and "Wrote 20 places" in text
    fc = json.loads((tmp_path / "u.geojson").read_text())
    assert len(fc["features"]) == 20
    assert {f["properties"]["id"] for f in fc["features"][:6]} == {f"v1:{r}" for r in v1["planted"]}
    assert main(["unusual", str(v1["path"]), "--by", "novelty", "--out", str(tmp_path / "n.tif")]) == 0
    img, _p, tags, *_ = _read(tmp_path / "n.tif")
    assert json.loads(tags["terrafind"])["values"] == "novelty" and (img != rs.NODATA).sum() == 400
    assert main(["unusual", str(tmp_path / "nope.parquet")]) == 2
    (tmp_path / "text.tif").write_text("not an image")
    assert main(["unusual", str(v1["path"]), "--out", str(tmp_path / "text.tif")]) == 2
    assert "another kind" in capsys.readouterr().err
