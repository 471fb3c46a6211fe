"""A threshold in either unit: a value (similarity / probability) or a share of the region ("top 1 %")."""

from __future__ import annotations

import numpy as np
import pytest
from synth import synthetic_catalog

from terrafind.core.errors import InputError
from terrafind.core.search.percentiles import RegionPercentiles
from terrafind.core.session import Session


@pytest.fixture
def session():
    s = Session()
    s.catalog = synthetic_catalog(2000, d=24, seed=4)[0]
    return s


def test_region_percentiles_of_a_pool_count_the_region():
    # 10 values of a region of 100 chips: the other 90 score lower
    p = RegionPercentiles(np.linspace(0.5, 0.95, 10).astype(np.float32), 100, 100)
    assert p.top(0.95)[0] == pytest.approx(0.01) and p.top(0.5)[0] == pytest.approx(0.10)
    assert p.score_at(0.01) == pytest.approx(0.95) and p.score_at(0.5) == pytest.approx(0.5)
    edges = np.array([0.0, 0.6, 1.0])
    assert p.counts(edges).tolist() == [2.0, 8.0]  # one pooled value = one chip
    sample = RegionPercentiles(np.linspace(0, 1, 20).astype(np.float32), 1000)
    assert sample.counts(np.array([0.0, 1.0])).tolist() == [1000.0]  # scaled up to the region


def test_share_is_kept_across_searches_and_kinds(session):
    s = session
    s.set_example(3, "positive")
    out = s.run_search()
    s.set_threshold_share(0.01)
    assert s.params["threshold_unit"] == "top" and s.params["threshold_share"] == 0.01
    t = s.params["threshold"]
    all_scores = s.catalog.vectors @ s.catalog.vectors[3]
    assert np.mean(all_scores >= t) == pytest.approx(0.01, abs=0.002)  # the whole region, exactly here
    assert out.share_of(t) == pytest.approx(0.01, abs=1e-3)
    # another search: the line moves to the top 1 % of the new scores
    s.set_example(900, "positive")
    out2 = s.run_search()
    t2 = s.params["threshold"]
    assert t2 != t and out2.share_of(t2) == pytest.approx(0.01, abs=1e-3)
    # refined: the line is a probability now, still the top 1 % of the region
    s.set_label(int(out2.result.rows[-1]), "negative")
    s.learn["refine"] = True
    out3 = s.run_search()
    assert out3.how == "refine" and s.params["threshold_by"] == "probability"
    probs = np.asarray(out3.refine.pool_probabilities)
    assert np.sum(probs >= s.params["threshold"]) == pytest.approx(0.01 * len(s.catalog), abs=2)
    visible = s.visible()
    assert len(visible) <= 21 and np.all(visible.probabilities >= s.params["threshold"])


def test_a_value_line_remembers_its_share_only_in_the_top_unit(session):
    s = session
    s.set_example(3, "positive")
    out = s.run_search()
    line = float(out.result.scores[9])
    s.set_threshold(line)
    assert s.params["threshold_share"] is None  # unit "value": the value stays, whatever the region
    s.set_threshold_unit("top")
    assert s.params["threshold_share"] == pytest.approx(out.share_of(line))
    s.set_threshold(float(out.result.scores[4]))  # dragging the line in the top unit keeps its share
    assert s.params["threshold_share"] == pytest.approx(out.share_of(float(out.result.scores[4])))
    s.set_threshold_unit("value")
    assert s.params["threshold_share"] is None and s.params["threshold"] == pytest.approx(
        out.result.scores[4]
    )
    with pytest.raises(InputError):
        s.set_threshold_share(1.5)
    with pytest.raises(InputError):
        s.set_threshold_unit("percent")


def test_project_keeps_the_unit(session):
    s = session
    s.set_example(3, "positive")
    s.run_search()
    s.set_threshold_share(0.02)
    proj = s.to_project()
    other = Session()
    other.catalog = s.catalog
    other.apply_project(proj)
    assert other.params["threshold_unit"] == "top" and other.params["threshold_share"] == 0.02
