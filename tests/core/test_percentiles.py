"""Percentiles within the region (core/search/percentiles.py): exact on small regions, sampled on big ones."""

from __future__ import annotations

import numpy as np
import pytest

from terrafind.core.catalog import Catalog
from terrafind.core.search import percentiles as pc
from terrafind.core.search.run import SearchQuery, run_query
from terrafind.core.session import Session
from terrafind.core.types import Examples


def _catalog(n: int, d: int = 16, seed: int = 0) -> Catalog:
    import pyarrow as pa
    import shapely

    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, d)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    x = np.arange(n) % 100 * 0.01
    y = np.arange(n) // 100 * 0.01
    feet = shapely.box(x, y, x + 0.02, y + 0.02)  # chips twice the stride: they overlap by half
    ids = np.array([f"c{i}" for i in range(n)], dtype=object)
    return Catalog(v, ids, feet, pa.table({"n": np.arange(n)}))


def test_small_region_is_scored_whole_and_exactly():
    cat = _catalog(500)
    q = SearchQuery(cat, Examples(positives=[3]))
    out = run_query(q)
    p = out.percentiles
    assert p is not None and p.size == 500 and p.region_rows == 500
    all_scores = cat.vectors @ cat.vectors[3]
    tops = out.tops()
    for score, top in zip(out.result.scores[:20], tops[:20], strict=True):
        assert top == pytest.approx(np.mean(all_scores >= score - 1e-6), abs=1 / 500)
    # the best hit is among the top few chips of 500, and tops grow down the ranking
    assert tops[0] <= 3 / 500 and np.all(np.diff(tops) >= 0)


def test_sample_is_fixed_bounded_and_cheap_at_any_size():
    a = pc.sample_rows(10_000_000)
    b = pc.sample_rows(10_000_000)
    assert len(a) == pc.SAMPLE_SIZE and np.array_equal(a, b)
    assert len(np.unique(a)) == len(a) and a.min() >= 0 and a.max() < 10_000_000
    assert np.array_equal(pc.sample_rows(300), np.arange(300))


@pytest.mark.parametrize(
    "how,mode", [("plain", "mean"), ("plain", "max"), ("grouped", "mean"), ("refine", "mean")]
)
def test_sample_scores_match_the_searchs_own_scores(how, mode):
    cat = _catalog(600, seed=2)
    ex = Examples(positives=[5, 17, 400], negatives=[9])
    q = SearchQuery(cat, ex, how=how, mode=mode, k=50, labels={5: "positive", 9: "negative"})
    out = run_query(q)
    rows = out.result.rows[:30]
    assert np.allclose(pc.score_rows(cat, q, rows), out.result.scores[:30], atol=1e-5)


def test_score_at_inverts_top_and_texts_read_well():
    p = pc.RegionPercentiles(np.linspace(0, 1, 1000, dtype=np.float32), 1000)
    assert p.top(p.score_at(0.1))[0] == pytest.approx(0.1, abs=0.002)
    assert pc.format_top(0.001) == "top 0.1 %"
    assert pc.format_top(0.0123) == "top 1.2 %"
    assert pc.format_top(0.25) == "top 25 %"
    assert pc.format_top(0.0, 20_000) == "top < 0.005 %"
    assert [pc.top_class(s) for s in (0.0005, 0.005, 0.05, 0.3, 0.9)] == [0, 1, 2, 3, 4]


def test_session_search_and_its_payload_carry_the_percentile():
    from terrafind.core.present.features import show_outcome

    s = Session()
    from terrafind.core.session import OpenedData

    s.use_data(OpenedData(_catalog(400), ["x"]))
    s.set_example(7, "positive")
    out = s.run_search()
    shown = show_outcome(s.catalog, out)
    props = shown.fc["features"][0]["properties"]
    assert 0 <= props["top"] <= 0.01 and shown.items[0].top == props["top"]
    # the stride the map draws cells with: half the chip, as the chips overlap by half
    assert shown.fc["stride"] == pytest.approx([0.01, 0.01])


def test_exported_hits_carry_their_share_of_the_region(tmp_path):
    import json

    from terrafind.core.session import OpenedData

    s = Session()
    s.use_data(OpenedData(_catalog(400), ["x"]))
    s.set_example(7, "positive")
    out = s.run_search()
    path, n = s.export_hits(tmp_path / "hits.geojson")
    props = [f["properties"] for f in json.loads(path.read_text())["features"]]
    assert len(props) == n and props[0]["top_share"] == pytest.approx(float(out.tops()[0]), abs=1e-6)
