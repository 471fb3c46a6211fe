"""Hard-negative rounds on data whose truth is known: a rare target and a commoner look-alike elsewhere
(tests/synth.py confuser_catalog); a simulated person answers with the truth."""

from __future__ import annotations

import numpy as np
import pytest
from synth import confuser_catalog

from terrafind.core.search import rounds as rd
from terrafind.core.session import Session


def _session(target_spots, **kw):
    s = Session()
    s.catalog, truth = confuser_catalog(4000, d=32, seed=3, target_spots=target_spots, **kw)
    for r in np.flatnonzero(truth == 1)[:3]:
        s.set_example(int(r), "positive")
    s.params["k"] = 300
    return s, truth


def _detector(outcome, truth):
    """(false targets, true targets) of the detector's p >= 0.5 set, over the whole region."""
    rows = np.asarray(outcome.refine.pool_rows)[np.asarray(outcome.refine.pool_probabilities) >= 0.5]
    return int(np.sum(truth[rows] != 1)), int(np.sum(truth[rows] == 1))


def oracle(truth):
    return lambda rows: {int(r): "positive" if truth[int(r)] == 1 else "negative" for r in rows}


def test_reviewed_rounds_cut_false_targets_and_stop_when_the_estimate_settles():
    far_look_alike = dict(closeness=0.9, spread=0.6, n_confuser=800)
    spots = ((0.2, 0.3), (0.25, 0.7))  # the target in two places: the second is "far from your sites"
    s1, truth = _session(spots, **far_look_alike)
    first = rd.improve(s1, max_rounds=1, per_round=10, judge=oracle(truth))
    s, _ = _session(spots, **far_look_alike)
    res = rd.improve(s, max_rounds=6, per_round=10, judge=oracle(truth))
    figures = res.rounds
    assert figures[0].round == 0 and figures[0].targets is None and "no detector yet" in figures[0].line()
    refined = [f for f in figures if f.targets is not None]
    assert len(refined) >= 3
    # the detector's count of targets falls round after round, then settles: that stops the rounds
    assert refined[-2].targets < refined[0].targets
    assert "stopped improving" in res.stopped and len(figures) < 7
    assert all(f.offered == 10 for f in figures[1:])
    # what the truth says: fewer false targets, the true ones kept (the person never took a target)
    false_before, true_before = _detector(first.outcome, truth)
    false_after, true_after = _detector(res.outcome, truth)
    assert false_after < false_before and true_after >= 0.8 * true_before
    assert not any(truth[r] == 1 for r in res.taken)
    assert all(s.labels[r] == "negative" for r in res.taken)
    assert "Round 2:" in figures[2].line() and "hard negatives taken" in figures[2].line()


def test_taken_without_asking_helps_a_local_target_and_is_put_back_when_it_hurts():
    # the target in one place only: every sure hit far from it is a look-alike, and taking them helps
    s, truth = _session(((0.2, 0.3),), closeness=0.9, spread=0.35, n_confuser=800)
    res = rd.improve(s, max_rounds=4, per_round=10)
    assert res.taken and not any(truth[r] == 1 for r in res.taken)
    false_after, true_after = _detector(res.outcome, truth)
    assert false_after <= 2 and true_after >= 0.8 * int(np.sum(truth == 1))
    # the target in two places: the surest far hits are targets; the detector stops being sure of the
    # person's own sites, so the rounds stop and those negatives are put back
    s2, truth2 = _session(((0.2, 0.3), (0.25, 0.7)), closeness=0.9, spread=0.35, n_confuser=800)
    before = dict(s2.labels)
    res2 = rd.improve(s2, max_rounds=4, per_round=10)
    assert res2.stopped.startswith(rd.MISSED_SITES) and "put back" in res2.stopped
    assert s2.labels == before and res2.taken == []
    assert res2.rounds[-1].site_confidence < rd.MIN_CONFIDENCE_KEPT * res2.rounds[-2].site_confidence


def test_hard_negatives_skip_patches_joined_to_a_site_and_near_chips():
    s, truth = _session(((0.2, 0.3),), closeness=0.9, spread=0.35, n_confuser=800)
    s.run_search()
    visible = s.visible()
    sites = np.asarray(s.search_examples().positives)
    linked = rd.linked_to_sites(s.catalog, visible.rows, sites)
    assert linked.sum() >= 0.9 * np.sum(truth == 1) and np.all(truth[visible.rows[linked]] == 1)
    offered = rd.hard_negatives(s.catalog, visible, sites, count=10)
    assert len(offered) == 10 and not np.any(truth[offered] == 1)
    assert np.all(rd.far_from(s.catalog, offered, sites, 3 * rd._metres(s.catalog)))
    assert rd.hard_negatives(s.catalog, visible, sites, count=10, far_m=1e9).size == 0


@pytest.mark.parametrize(
    "figures,expect",
    [
        ([rd.RoundFigures(0, "plain", None, 300)], None),
        (
            [rd.RoundFigures(0, "plain", None, 300), rd.RoundFigures(1, "refine", 80, 300, 10, 10),
             rd.RoundFigures(2, "refine", 75, 300, 10, 10)],
            "stopped improving",
        ),
        (
            [rd.RoundFigures(0, "plain", None, 300), rd.RoundFigures(1, "refine", 80, 300, 10, 10),
             rd.RoundFigures(2, "refine", 40, 300, 10, 10)],
            None,
        ),
        ([rd.RoundFigures(5, "refine", 40, 300, 10, 10)], "after 5 rounds"),
    ],
)  # fmt: skip
def test_stop_rules(figures, expect):
    reason = rd.stop_reason(figures, 5)
    assert (reason is None) if expect is None else (expect in reason)
