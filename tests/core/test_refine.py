"""Refine (classifier on the user's labels), review queue, quality figures and grouped examples."""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pytest
from synth import chip_polygons, grid_layout

import terrafind.core.search.refine as refine_mod
from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.search.groups import closeness, group_examples, grouped_search, spread_warning
from terrafind.core.search.query import search
from terrafind.core.search.refine import format_share, refine, region_share
from terrafind.core.types import Examples

A, B, DISTRACTOR, LOCAL = 0, 1, 2, 3


def make_catalog(n=3600, d=128, *, seed=0, spread=0.5, n_clusters=8, distractor=True):
    """Chips in spatial blobs of 8 kinds; kind 2 lies between kinds 0 and 1 (plus a little of its own
    direction), so the mean of positives from kinds 0 and 1 points at kind 2 first."""
    centres, half, labels = grid_layout(n, n_clusters=n_clusters, seed=seed)
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((n_clusters + 1, d))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    if distractor:
        c[DISTRACTOR] = c[A] + c[B] + 0.3 * c[n_clusters]
        c[DISTRACTOR] /= np.linalg.norm(c[DISTRACTOR])
    v = c[labels] + rng.standard_normal((n, d)) * spread / np.sqrt(d)
    v = (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)
    ids = np.array([f"chip-{i}" for i in range(n)], dtype=object)
    attrs = pa.table({"date": ["2024-06-01"] * n})
    return Catalog(v, ids, chip_polygons(centres, half), attrs), labels


@pytest.fixture(scope="module")
def clustered():
    return make_catalog()


def pick(labels, kind, count, seed, mask=None):
    rows = np.flatnonzero((labels == kind) & (True if mask is None else mask))
    return [int(r) for r in np.random.default_rng(seed).choice(rows, count, replace=False)]


def test_refine_beats_plain_similarity_when_the_mean_of_positives_is_ambiguous(clustered):
    cat, labels = clustered
    truth = np.isin(labels, [A, B])
    for seed in (1, 2):
        pos = pick(labels, A, 3, seed) + pick(labels, B, 3, seed)
        neg = pick(labels, DISTRACTOR, 3, seed)
        plain = search(cat, Examples(positives=pos, negatives=neg), k=50, mode="mean")
        refined = refine(cat, pos, neg, k=50).result
        p_plain = truth[plain.rows].mean()
        p_refined = truth[refined.rows].mean()
        assert p_refined >= 0.9, p_refined
        assert p_refined > p_plain + 0.3, (p_refined, p_plain)


def test_background_negatives_reduce_false_positives_in_a_held_out_region(clustered):
    cat, labels = clustered
    west = cat.centroids[:, 0] < np.median(cat.centroids[:, 0])
    # Labels only from the west half, negatives only of one local kind: the classic "local negatives" trap.
    pos = pick(labels, A, 4, 3, west)
    neg = pick(labels, LOCAL, 4, 3, west)
    east_wrong = ~west & ~np.isin(labels, [A, B])

    def false_positives(n_background):
        r = refine(cat, pos, neg, k=50, n_background=n_background, cv=False)
        p = np.zeros(len(cat), np.float32)
        p[r.pool_rows] = r.pool_probabilities
        return int(np.count_nonzero((p >= 0.5) & east_wrong))

    without, with_bg = false_positives(0), false_positives(None)
    assert without > 100  # the trap is real on this data
    assert with_bg < 0.1 * without, (with_bg, without)


def test_result_rows_scores_and_matched(clustered):
    cat, labels = clustered
    pos = pick(labels, A, 2, 5) + pick(labels, B, 2, 5)
    neg = pick(labels, DISTRACTOR, 2, 5)
    out = refine(cat, pos, neg, k=40)
    res = out.result
    assert len(res) == 40 and res.mode == "refine" and res.method == "whole region"
    assert not set(res.rows.tolist()) & set(pos + neg)  # labelled chips never come back
    assert np.all(np.diff(res.probabilities) <= 0)  # best probability first
    sims = cat.vectors[res.rows] @ cat.vectors[pos].T
    np.testing.assert_allclose(res.scores, sims.max(axis=1), atol=1e-5)
    np.testing.assert_array_equal(res.matched, sims.argmax(axis=1))
    assert (out.n_pos, out.n_neg, out.n_background) == (4, 2, 1000)
    assert res.positives == tuple(pos) and res.negatives == tuple(neg)
    masked = refine(cat, pos, neg, k=40, exclude=res.rows[:10].tolist(), cv=False).result
    assert not set(masked.rows.tolist()) & set(res.rows[:10].tolist())
    np.testing.assert_array_equal(masked.rows[:30], res.rows[10:40])
    high = refine(cat, pos, neg, k=4000, threshold=0.9).result
    assert len(high) < 4000 and np.all(high.probabilities >= 0.9)


def test_review_queue_orders_by_uncertainty(clustered):
    cat, labels = clustered
    out = refine(cat, pick(labels, A, 3, 7), pick(labels, LOCAL, 3, 7), k=60)
    doubt = np.abs(out.review_probabilities - 0.5)
    assert len(out.review_rows) == 60
    assert np.all(np.diff(doubt) >= 0)
    # The queue holds the most doubtful chips of the whole pool, not of the best hits.
    all_doubt = np.sort(np.abs(out.pool_probabilities - 0.5))
    np.testing.assert_allclose(doubt, all_doubt[:60], atol=1e-7)
    lookup = dict(zip(out.pool_rows.tolist(), out.pool_probabilities.tolist(), strict=True))
    assert [lookup[r] for r in out.review_rows.tolist()] == pytest.approx(out.review_probabilities.tolist())
    assert doubt[0] < abs(out.result.probabilities[0] - 0.5)


def test_refine_needs_a_positive_and_a_negative(clustered):
    cat, labels = clustered
    with pytest.raises(InputError, match="one chip marked right and one marked wrong"):
        refine(cat, [1, 2], [])
    with pytest.raises(InputError, match="one chip marked right"):
        refine(cat, [], [3])
    with pytest.raises(InputError, match="both right and wrong"):
        refine(cat, [1, 2], [2])
    with pytest.raises(InputError, match="not a chip"):
        refine(cat, [len(cat) + 5], [2])


def test_cross_validated_accuracy_and_spatial_blocking():
    cat, labels = make_catalog(n=1600, d=64, spread=0.2, distractor=False, seed=4)
    scattered = refine(cat, pick(labels, A, 4, 1), pick(labels, LOCAL, 4, 1), k=10)
    assert scattered.cv_method == "leave-one-out"
    assert scattered.cv_accuracy is not None and scattered.cv_accuracy >= 0.85
    # Labels on neighbouring chips: folds must hold out whole places.
    cols = int(np.ceil(np.sqrt(len(cat))))
    a_row = int(np.flatnonzero(labels == A)[0])
    d_row = int(np.flatnonzero(labels == LOCAL)[0])
    clustered_pos = [r for r in (a_row, a_row + 1, a_row + cols) if labels[r] == A]
    clustered_neg = [r for r in (d_row, d_row + 1, d_row + cols) if labels[r] == LOCAL]
    near = refine(cat, clustered_pos + pick(labels, A, 2, 9), clustered_neg + pick(labels, LOCAL, 2, 9), k=10)
    assert near.cv_method.startswith("spatially blocked")
    too_few = refine(cat, [a_row], [d_row], k=10)
    assert too_few.cv_accuracy is None


def test_region_share_and_its_wording(clustered):
    cat, labels = clustered
    scores = np.zeros(len(cat))
    scores[:9] = 1.0
    assert region_share(cat, scores, 0.5) == pytest.approx(9 / len(cat))
    assert format_share(0.002) == "top 0.2 % of this region"
    assert format_share(0.15) == "top 15 % of this region"
    out = refine(cat, pick(labels, A, 3, 2), pick(labels, LOCAL, 3, 2), k=20)
    expected = np.count_nonzero(out.pool_probabilities >= 0.5) / len(cat)
    assert region_share(cat, out, 0.5) == pytest.approx(expected)
    assert region_share(cat, out.result, 0.0) == pytest.approx(20 / len(cat))
    with pytest.raises(InputError):
        region_share(cat, scores[:5], 0.5)


def test_large_regions_score_a_candidate_pool(clustered, monkeypatch):
    cat, labels = clustered
    monkeypatch.setattr(refine_mod, "WHOLE_REGION_MAX_ROWS", 1000)
    pos, neg = pick(labels, A, 3, 4), pick(labels, LOCAL, 3, 4)
    exact = refine(cat, pos, neg, k=30, pool_size=300, cv=False)
    assert exact.result.method == "exact pool"
    assert 300 <= len(exact.pool_rows) <= 3 * 300
    assert not set(exact.pool_rows.tolist()) & set(pos + neg)
    sims = cat.vectors @ cat.vectors[pos].T  # (chips, positives)
    sims[pos + neg] = -np.inf
    per_positive = np.argsort(-sims, axis=0, kind="stable")[:300]
    # the pool is each positive's 300 most similar chips (as the index gives it), so it holds the 300 most
    # similar to any positive
    assert set(exact.pool_rows.tolist()) == set(per_positive.reshape(-1).tolist())
    assert set(np.argsort(-sims.max(axis=1))[:300].tolist()) <= set(exact.pool_rows.tolist())

    class FakeIndex:
        def query(self, queries, k):
            s = queries @ cat.vectors.T
            rows = np.argsort(-s, axis=1)[:, :k]
            return rows, np.take_along_axis(s, rows, axis=1)

    by_index = refine(cat, pos, neg, k=30, pool_size=300, index=FakeIndex(), cv=False)
    assert by_index.result.method == "index pool"
    assert np.mean(np.isin(by_index.result.rows, exact.result.rows)) >= 0.9


def test_refine_speed_100k_candidates():
    """Training + scoring 100k x 384 under 1 s on 2 cores (the assert leaves CI noise some room)."""
    n, d = 100_000, 384
    rng = np.random.default_rng(0)
    v = rng.standard_normal((n, d), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    side = np.arange(n, dtype=np.float64)
    polys = chip_polygons(np.column_stack([side % 300 * 0.003, side // 300 * 0.003]), (0.0015, 0.0015))
    cat = Catalog(v, np.array([str(i) for i in range(n)], dtype=object), polys, pa.table({"x": np.zeros(n)}))
    refine(cat, [0, 1], [2], k=10, cv=False)  # warm up (imports sklearn)
    t0 = time.perf_counter()
    out = refine(cat, list(range(10)), list(range(10, 20)), k=100, cv=False)
    elapsed = time.perf_counter() - t0
    assert len(out.pool_rows) == n - 20
    print(f"refine train+score 100k x 384: {elapsed * 1000:.0f} ms")
    assert elapsed < 1.5


# --- grouped examples ----------------------------------------------------------------------------------


def test_group_examples_splits_two_kinds_and_keeps_one_kind_together(clustered):
    cat, labels = clustered
    a, b = pick(labels, A, 3, 11), pick(labels, B, 3, 11)
    groups = group_examples(cat, a[:2] + b + a[2:])
    assert sorted(sorted(g) for g in groups) == sorted([sorted(a), sorted(b)])
    assert group_examples(cat, a) == [a]
    assert group_examples(cat, [a[0], b[0]]) == [[a[0]], [b[0]]]
    assert group_examples(cat, a[:1]) == [a[:1]]


def test_spread_warning(clustered):
    cat, labels = clustered
    a, b = pick(labels, A, 3, 12), pick(labels, B, 3, 12)
    assert spread_warning(cat, a) is None
    assert closeness(cat, a) > 0.6
    text = spread_warning(cat, a + b)
    assert text is not None and "6 examples" in text and "Group my examples" in text
    assert spread_warning(cat, a[:1]) is None


def test_grouped_search_tells_which_example_each_hit_matched(clustered):
    cat, labels = clustered
    a, b = pick(labels, A, 3, 13), pick(labels, B, 3, 13)
    pos = a + b
    res = grouped_search(cat, pos, pick(labels, DISTRACTOR, 2, 13), k=80)
    assert res.mode == "grouped" and len(res) == 80
    assert np.mean(np.isin(labels[res.rows], [A, B])) >= 0.95
    assert np.all(np.diff(res.scores) <= 0)
    hit_kind = labels[res.rows]
    example_kind = labels[np.asarray(pos)[res.matched]]
    assert np.mean(hit_kind == example_kind) >= 0.95
    assert {A, B} <= set(hit_kind.tolist())  # both kinds found, not only the closer one
    assert not set(res.rows.tolist()) & set(pos)
    # Even a group's hits never include another group's examples.
    tiny = grouped_search(cat, a + b, [], k=len(cat))
    assert not set(tiny.rows.tolist()) & set(a + b) and len(tiny) == len(cat) - 6


def test_real_clay_sample_neighbours_are_close_and_refine_runs():
    from shared_data import shared_file

    from terrafind.core.read.reader import open_catalog

    cat = open_catalog([shared_file("clay-v0-embeddings", "03WVN_20220610_20220610_v001.gpq")])
    sims = cat.vectors @ cat.vectors[10]
    near = [int(r) for r in np.argsort(-sims)[:5]]  # chip 10 and its four nearest
    far = [int(r) for r in np.argsort(sims)[:3]]
    assert spread_warning(cat, near) is None and closeness(cat, near) > 0.8
    assert spread_warning(cat, near[:2] + far[:2]) is not None
    out = refine(cat, near[:3], far, k=10)
    assert len(out.result) == 10 and not set(out.result.rows.tolist()) & set(near[:3] + far)
    assert out.result.probabilities[0] > 0.5
