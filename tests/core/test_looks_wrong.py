"""Warnings when a run looks wrong, example quality, snapping and twins where tiles overlap, on data whose
truth is known (tests/synth.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import shapely
from synth import synthetic_catalog, write_earth_index

from terrafind.core.catalog import Catalog
from terrafind.core.read.places import Place, places_to_labels
from terrafind.core.read.reader import open_catalog
from terrafind.core.search import dedupe
from terrafind.core.search import looks_wrong as lw
from terrafind.core.session import Session


@pytest.fixture
def session():
    s = Session()
    s.catalog, s.truth = synthetic_catalog(2000, d=24, seed=2)
    return s


def test_hits_covering_a_large_share_of_the_region_are_flagged(session):
    s = session
    s.set_example(5, "positive")
    s.run_search()
    assert not any("of this region" in w for w in lw.run_warnings(s))
    s.set_threshold_share(0.3)  # 30 % of the region above the line
    warnings = lw.run_warnings(s)
    assert any("cover 30 % of this region" in w for w in warnings)


def test_one_site_swallowing_the_hits_is_flagged(session):
    s = session
    s.set_example(5, "positive")
    s.params["k"] = 150
    s.run_search()  # one cluster's chips sit together on the ground: its hits merge into a few big sites
    warnings = lw.run_warnings(s)
    big = [w for w in warnings if w.startswith("One site holds")]
    assert big and "of the 150 hits" in big[0] and " ha)" in big[0]
    s.set_threshold(float(s.outcome.result.scores[20]))  # few hits: nothing to say about sites
    assert not any(w.startswith("One site holds") for w in lw.run_warnings(s))


def test_contradicting_examples_are_named(session):
    s = session
    cat = s.catalog
    s.set_example(5, "positive")
    # the chip most alike the positive, marked negative: the model can hardly tell them apart
    sims = cat.vectors @ cat.vectors[5]
    sims[5] = -2
    twin = int(np.argmax(sims))
    far = int(np.flatnonzero(s.truth != s.truth[5])[0])
    s.set_example(far, "negative")
    assert lw.contradictions(cat, [5], [far]) == []
    s.set_example(twin, "negative")
    said = lw.contradictions(cat, [5], [far, twin])
    assert len(said) == 1 and str(cat.ids[twin]) in said[0] and str(cat.ids[5]) in said[0]
    s.run_search()
    assert any("probably wrong" in w for w in lw.run_warnings(s))


def test_a_positive_unlike_the_others_is_flagged(session):
    s = session
    same = np.flatnonzero(s.truth == s.truth[5])[:4]
    odd = int(np.flatnonzero(s.truth != s.truth[5])[0])
    assert lw.odd_positives(s.catalog, same) == {}
    for r in same:
        s.set_example(int(r), "positive")
    s.set_example(odd, "positive")
    items = {it.row: it for it in s.example_items()}
    assert items[odd].flag and items[odd].flag.startswith(lw.ODD_TEXT)
    assert all(items[int(r)].flag is None for r in same)
    s.set_example(odd, "negative")  # negatives are not flagged
    assert all(it.flag is None for it in s.example_items())


def test_clicks_and_places_beside_the_data_snap_to_the_nearest_chip(session):
    s = session
    cat = s.catalog
    w, south, e, n = cat.bounds
    width = cat.chip_width_m()
    assert width > 0
    beside = (e + 0.3 * width / (111_320 * np.cos(np.radians(n))), (south + n) / 2)  # 0.3 chip east
    assert cat.chip_at(*beside) is None
    row, away = s.chip_for(*beside)
    assert 0.2 * width < away < 0.4 * width and cat.centroids[row][0] == pytest.approx(
        cat.centroids[:, 0].max()
    )
    s.params["snap_m"] = 0.1 * width
    assert s.chip_for(*beside) is None
    s.params["snap_m"] = None
    far = (e + 3 * width / (111_320 * np.cos(np.radians(n))), (south + n) / 2)
    assert s.chip_for(*far) is None
    places = [
        Place(*beside, shapely.Point(*beside), "positive"),
        Place(*far, shapely.Point(*far), "positive"),
    ]
    got = places_to_labels(cat, places, snap_m=s.snap_m())
    assert got.positives == [row] and got.unmatched == 1
    assert places_to_labels(cat, places).unmatched == 2  # no snapping asked for


def test_twins_where_tiles_overlap_are_shown_once(tmp_path):
    # two "tiles" of the same ground on grids offset by 0.3 chip: every place is there twice
    a = write_earth_index(tmp_path / "tileA.parquet", n=400, d=16, seed=4)
    half = np.array(a["half"])
    b_centres = a["centres"] + 0.6 * half  # 0.3 chip east and north
    vec_b = a["vectors"] + np.random.default_rng(1).normal(0, 0.01, a["vectors"].shape).astype(np.float32)
    polys = shapely.box(*(b_centres - half).T, *(b_centres + half).T)
    import json

    import pyarrow.parquet as pq

    table = pa.table(
        {
            "id": [f"B-{i}" for i in range(400)],
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vec_b.reshape(-1), pa.float32()), 16),
            "geometry": pa.array(shapely.to_wkb(polys)),
        }
    ).replace_schema_metadata(
        {
            b"geo": json.dumps(
                {
                    "version": "1.1.0",
                    "primary_column": "geometry",
                    "columns": {"geometry": {"encoding": "WKB"}},
                }
            ).encode()
        }
    )
    pq.write_table(table, tmp_path / "tileB.parquet")
    cat = open_catalog([tmp_path / "tileA.parquet", tmp_path / "tileB.parquet"])
    assert dedupe.may_have_twins(cat) and len(cat) == 800
    s = Session()
    s.catalog = cat
    s.set_example(3, "positive")
    s.params["k"] = 60
    out = s.run_search()
    rows = out.result.rows
    assert len(rows) == 60  # asked for more, so k remain
    c = cat.centroids[rows]
    sx, sy = cat.stride
    close = (np.abs(c[:, None, 0] - c[None, :, 0]) < 0.6 * sx) & (
        np.abs(c[:, None, 1] - c[None, :, 1]) < 0.6 * sy
    )
    np.fill_diagonal(close, False)
    assert not close.any()  # no place twice
    ids = [str(cat.ids[r]) for r in rows]
    assert any(i.startswith("B-") for i in ids) or any(not i.startswith("B-") for i in ids)
    single = Catalog(cat.vectors[:400], cat.ids[:400], cat.footprints[:400], cat.attributes.slice(0, 400))
    assert not dedupe.may_have_twins(single)
