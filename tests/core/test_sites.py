"""Sites: touching or overlapping hits merge into one outline with the right area."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
import shapely
from pyproj import Transformer

from terrafind.core.catalog import Catalog
from terrafind.core.search.sites import area_hectares, merge_sites, sites_feature_collection
from terrafind.core.types import SearchResult

EPSG = 32618  # UTM 18N, the Virginia coast


def utm_chips(origins_m, size=320.0):
    """Square chips of ``size`` m with their lower-left corners at UTM 18N ``origins_m``, as lon/lat."""
    tr = Transformer.from_crs(EPSG, 4326, always_xy=True)
    polys = []
    for x, y in origins_m:
        ring = np.array([(x, y), (x + size, y), (x + size, y + size), (x, y + size)])
        lon, lat = tr.transform(ring[:, 0], ring[:, 1])
        polys.append(shapely.Polygon(np.column_stack([lon, lat])))
    return np.array(polys, dtype=object)


def catalog_of(footprints):
    n = len(footprints)
    rng = np.random.default_rng(0)
    v = rng.standard_normal((n, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ids = np.array([f"chip-{i}" for i in range(n)], dtype=object)
    return Catalog(v, ids, footprints, pa.table({"date": ["2024-05-01"] * n}))


def result_of(rows, scores, probabilities=None, matched=None):
    rows = np.asarray(rows, np.int64)
    return SearchResult(
        rows=rows,
        scores=np.asarray(scores, np.float32),
        matched=np.asarray(matched if matched is not None else [-1] * len(rows), np.int64),
        mode="mean",
        k=len(rows),
        threshold=None,
        positives=(),
        negatives=(),
        method="exact",
        elapsed_ms=0.0,
        probabilities=None if probabilities is None else np.asarray(probabilities, np.float32),
    )


X0, Y0 = 420_000.0, 4_130_000.0


def test_two_by_two_touching_chips_make_one_site_of_40_96_ha():
    chips = utm_chips([(X0, Y0), (X0 + 320, Y0), (X0, Y0 + 320), (X0 + 320, Y0 + 320), (X0 + 5000, Y0)])
    cat = catalog_of(chips)
    sites = merge_sites(cat, result_of([0, 1, 2, 3, 4], [0.9, 0.8, 0.7, 0.6, 0.85]))
    assert [s.chip_count for s in sites] == [4, 1]
    big, lone = sites
    assert big.area_ha == pytest.approx(40.96, rel=0.01)
    assert lone.area_ha == pytest.approx(10.24, rel=0.01)
    assert big.geometry.geom_type == "Polygon"  # dissolved: one ring, no inner slivers
    assert len(big.geometry.interiors) == 0
    assert big.rows == [0, 1, 2, 3] and big.best_row == 0 and big.ranks == [1, 2, 3, 4]
    assert big.best_score == pytest.approx(0.9) and big.mean_score == pytest.approx(0.75)
    lon, lat = big.centroid
    assert big.geometry.contains(shapely.Point(lon, lat))


def test_half_stride_overlapping_chips_merge_and_count_their_union_once():
    # Earth Index layout: 320 m chips every 160 m; a 3x3 block covers 640 m x 640 m = 40.96 ha.
    origins = [(X0 + 160 * i, Y0 + 160 * j) for i in range(3) for j in range(3)]
    cat = catalog_of(utm_chips(origins))
    sites = merge_sites(cat, result_of(range(9), np.linspace(0.9, 0.5, 9)))
    assert len(sites) == 1 and sites[0].chip_count == 9
    assert sites[0].area_ha == pytest.approx(40.96, rel=0.01)


def test_chips_a_gap_apart_stay_separate_and_corner_contact_joins():
    chips = utm_chips([(X0, Y0), (X0 + 330, Y0), (X0 + 650, Y0 + 320)])
    cat = catalog_of(chips)
    sites = merge_sites(cat, result_of([0, 1, 2], [0.5, 0.9, 0.7]))
    # chip 0 is 10 m from chip 1; chip 2 touches chip 1 at a corner only (650 = 330 + 320).
    assert sorted(s.chip_count for s in sites) == [1, 2]
    assert sites[0].rows == [1, 2]  # the site with the best chip first


def test_threshold_uses_probability_after_refine_and_orders_sites_by_it():
    chips = utm_chips([(X0, Y0), (X0 + 320, Y0), (X0 + 3000, Y0), (X0 + 6000, Y0)])
    cat = catalog_of(chips)
    res = result_of(
        [0, 1, 2, 3], [0.9, 0.9, 0.5, 0.95], probabilities=[0.8, 0.7, 0.95, 0.2], matched=[0, 0, 1, 1]
    )
    sites = merge_sites(cat, res, threshold=0.5)
    assert [s.rows for s in sites] == [[2], [0, 1]]
    assert sites[0].best_probability == pytest.approx(0.95) and sites[0].matched == 1
    assert merge_sites(cat, res, threshold=0.99) == []


def test_sites_feature_collection_is_geojson_with_provenance():
    chips = utm_chips([(X0, Y0), (X0 + 320, Y0), (X0 + 5000, Y0)])
    cat = catalog_of(chips)
    sites = merge_sites(cat, result_of([0, 1, 2], [0.9, 0.8, 0.7]))
    fc = json.loads(json.dumps(sites_feature_collection(cat, sites, provenance={"model": "x"})))
    assert fc["type"] == "FeatureCollection" and fc["terrafind"] == {"model": "x"}
    first = fc["features"][0]
    assert first["properties"]["rank"] == 1
    assert first["properties"]["chip_count"] == 2
    assert first["properties"]["ids"] == ["chip-0", "chip-1"]
    assert first["properties"]["area_ha"] == pytest.approx(20.48, rel=0.01)
    assert first["properties"]["date"] == "2024-05-01"
    shape = shapely.geometry.shape(first["geometry"])
    assert shape.area == pytest.approx(sites[0].geometry.area)
    assert -77 < first["properties"]["lon"] < -75 and 37 < first["properties"]["lat"] < 38  # lon first


def test_area_in_the_southern_hemisphere():
    tr = Transformer.from_crs(32723, 4326, always_xy=True)  # UTM 23S (Brazil)
    x, y = 500_000.0, 7_400_000.0
    ring = np.array([(x, y), (x + 1000, y), (x + 1000, y + 1000), (x, y + 1000)])
    lon, lat = tr.transform(ring[:, 0], ring[:, 1])
    assert area_hectares(shapely.Polygon(np.column_stack([lon, lat]))) == pytest.approx(100.0, rel=0.001)
