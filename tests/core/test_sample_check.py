"""Precision you can quote: a random sample of the visible hits, marked by a simulated person whose
answers are the truth (the synthetic clusters), gives an estimate whose interval holds the true precision."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synth import synthetic_catalog

from terrafind.core.errors import InputError
from terrafind.core.search import check as ck
from terrafind.core.session import Session


def test_wilson_interval_known_values():
    lo, hi = ck.wilson(15, 20)
    assert lo == pytest.approx(0.5313, abs=1e-3) and hi == pytest.approx(0.8881, abs=1e-3)
    lo, hi = ck.wilson(20, 20)  # all right: the interval still says "not surely 100 %"
    assert hi == 1.0 and lo == pytest.approx(0.8389, abs=1e-3)
    assert ck.wilson(0, 0) == (0.0, 1.0)
    assert [ck.default_size(m) for m in (5, 100, 1000, 10_000)] == [5, 20, 50, 200]


def test_a_random_order_restricted_to_the_visible_hits_is_the_sample():
    order = ck.sample_order(np.arange(100), seed=3)
    assert sorted(order.tolist()) == list(range(100)) and order.tolist() != list(range(100))
    visible = np.arange(0, 100, 2)
    sample = ck.sample_rows(order, visible, 10)
    assert len(sample) == 10 and np.all(sample % 2 == 0)
    assert sample.tolist() == [r for r in order.tolist() if r % 2 == 0][:10]


@pytest.fixture
def session():
    s = Session()
    s.catalog, truth = synthetic_catalog(3000, d=24, seed=11, spread=0.9)
    s.truth = truth
    return s


def _mark(s, rows, target):
    for r in rows:
        s.set_label(int(r), "positive" if s.truth[int(r)] == target else "negative")


def test_estimate_holds_the_true_precision_and_goes_to_the_export(session, tmp_path):
    s = session
    target = int(s.truth[5])
    s.set_example(5, "positive")
    s.params["k"] = 600  # enough hits that some are wrong
    out = s.run_search()
    hits = out.result.rows
    true_precision = float(np.mean(s.truth[hits] == target))
    assert 0.2 < true_precision < 0.95  # the test can tell right from wrong
    with pytest.raises(InputError):
        Session().start_check()
    c = s.start_check(seed=1)
    assert c.size == 30  # 5 % of 600
    rows = s.check_rows()
    assert len(rows) == 30 and set(rows.tolist()) <= set(hits.tolist())
    est = s.check_estimate()
    assert est.checked == 0 and "mark each" in est.sentence()
    _mark(s, rows, target)
    est = s.check_estimate()
    assert est.checked == est.sample == 30 and est.hits == 600
    lo, hi = est.interval
    assert lo <= true_precision <= hi
    about, low, high = est.expected_false
    assert low <= about <= high and about == round((1 - est.precision) * 600)
    assert "Wilson 95 %" in est.sentence() and "among these 600" in est.sentence()
    path, _ = s.export_hits(tmp_path / "hits.geojson")
    quoted = json.loads(path.read_text())["terrafind"]["precision_check"]
    assert quoted["checked"] == 30 and quoted["method"] == ck.METHOD
    assert quoted["interval"][0] <= quoted["precision"] <= quoted["interval"][1]
    assert quoted["expected_false_hits"]["about"] == about
    # a line moved up: the sample stays random among the visible hits, marks still count
    s.set_threshold(float(out.result.scores[299]))
    rows2 = s.check_rows()
    assert set(rows2.tolist()) <= set(hits[:300].tolist())
    assert set(rows2.tolist()) & set(rows.tolist())  # the marked ones that are still visible
    assert s.check_estimate().hits == 300
    # a new search draws a new sample
    s.set_example(6, "positive")
    s.run_search()
    assert s.active_check() is None and s.check_estimate() is None


def test_interval_covers_the_truth_about_95_percent_of_the_time(session):
    s = session
    target = int(s.truth[5])
    s.set_example(5, "positive")
    s.params["k"] = 800
    out = s.run_search()
    hits = out.result.rows
    truth_right = s.truth[hits] == target
    true_precision = float(np.mean(truth_right))
    covered = 0
    trials = 300
    for seed in range(trials):
        sample = ck.sample_rows(ck.sample_order(hits, seed), hits, 25)
        right = int(np.sum(s.truth[sample] == target))
        lo, hi = ck.wilson(right, 25)
        covered += lo <= true_precision <= hi
    assert covered / trials >= 0.9  # nominal 95 %; a finite population makes it a little conservative
