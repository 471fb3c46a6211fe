"""Search by example: the mean and max formulas, negatives, exclusions, k, threshold, ordering, index path."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from synth import chip_polygons, clustered_vectors, grid_layout

import terrafind.core.search.query as search_mod
from terrafind.core.catalog import Catalog
from terrafind.core.errors import Cancelled, InputError
from terrafind.core.progress import CancelToken
from terrafind.core.search.index import IndexParams, build_index
from terrafind.core.search.query import BETA, search
from terrafind.core.types import Examples


def make_catalog(n: int = 3000, d: int = 48, seed: int = 3) -> tuple[Catalog, np.ndarray]:
    centres, half, labels = grid_layout(n, n_clusters=6, seed=seed)
    v = clustered_vectors(n, d, labels, seed=seed)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ids = np.array([f"chip-{i}" for i in range(n)], dtype=object)
    return Catalog(v, ids, chip_polygons(centres, half), pa.table({"n": np.arange(n)})), labels


@pytest.fixture(scope="module")
def data():
    return make_catalog()


def unit(x):
    return x / np.linalg.norm(x)


def test_a_chips_own_vector_finds_that_chip_first_with_score_one(data):
    cat, _ = data
    raw = cat.vectors[123] * 7.5  # raw vectors need not be unit length
    res = search(cat, Examples(positive_vectors=raw[None, :]), k=10)
    assert res.rows[0] == 123 and res.scores[0] == pytest.approx(1.0, abs=1e-5)
    assert res.method == "exact" and res.mode == "mean" and res.elapsed_ms > 0
    assert np.all(np.diff(res.scores) <= 0) and np.all(res.matched == -1)


def test_mean_formula_and_labelled_chips_never_returned(data):
    cat, labels = data
    pos, neg = [10, 11, 12], [int(np.flatnonzero(labels != labels[10])[0])]
    res = search(cat, Examples(positives=pos, negatives=neg), k=50, exclude=[13, 14])
    q = unit(cat.vectors[pos].mean(0) - BETA * cat.vectors[neg].mean(0))
    expected = np.lexsort((np.arange(len(cat)), -(cat.vectors @ q)))
    expected = [r for r in expected if r not in {10, 11, 12, 13, 14, *neg}][:50]
    np.testing.assert_array_equal(res.rows, expected)
    np.testing.assert_allclose(res.scores, cat.vectors[res.rows] @ q, atol=1e-5)
    assert res.positives == (10, 11, 12) and res.negatives == tuple(neg)


def test_a_negative_pushes_its_lookalikes_down(data):
    cat, labels = data
    a = int(np.flatnonzero(labels == 0)[0])
    # A positive made halfway between two kinds; the negative says "not the second kind".
    b = int(np.flatnonzero(labels == 1)[0])
    mixed = unit(cat.vectors[a] + cat.vectors[b])[None, :]
    before = search(cat, Examples(positive_vectors=mixed), k=200)
    after = search(cat, Examples(positive_vectors=mixed, negatives=[b]), k=200)
    assert np.mean(labels[before.rows] == 1) > 0.2
    assert np.mean(labels[after.rows] == 1) < np.mean(labels[before.rows] == 1) / 2


def test_max_mode_finds_each_kind_and_records_the_matched_example(data):
    cat, labels = data
    a = int(np.flatnonzero(labels == 2)[0])
    b = int(np.flatnonzero(labels == 4)[0])
    res = search(cat, Examples(positives=[a, b]), k=100, mode="max")
    kinds = labels[res.rows]
    assert set(kinds.tolist()) == {2, 4}
    np.testing.assert_array_equal(res.matched, np.where(kinds == 2, 0, 1))
    s = cat.vectors[res.rows] @ cat.vectors[[a, b]].T
    np.testing.assert_allclose(res.scores, s.max(1), atol=1e-5)
    # The mean of two different kinds finds neither well: max mode scores its hits higher.
    mean = search(cat, Examples(positives=[a, b]), k=100)
    assert res.scores.mean() > mean.scores.mean()


def test_max_mode_negative_penalty_formula(data):
    cat, _ = data
    pos = cat.vectors[[5, 900]]
    neg = cat.vectors[[1700]]
    res = search(
        cat, Examples(positives=[5], positive_vectors=cat.vectors[[900]], negatives=[1700]), k=30, mode="max"
    )
    s = cat.vectors @ pos.T
    full = s.max(1) - BETA * np.maximum(0, (cat.vectors @ neg.T).max(1))
    full[[5, 1700]] = -np.inf
    expected = np.lexsort((np.arange(len(cat)), -full))[:30]
    np.testing.assert_array_equal(res.rows, expected)
    np.testing.assert_allclose(res.scores, full[expected], atol=1e-5)
    assert set(res.matched.tolist()) <= {0, 1}  # rows first (0 = chip 5), then raw vectors (1)


def test_threshold_k_limits_and_scores_in_range(data):
    cat, _ = data
    res = search(cat, Examples(positives=[7]), k=10_000)
    assert len(res) == len(cat) - 1 and 7 not in res.rows
    assert res.scores.min() >= -1 and res.scores.max() <= 1
    cut = float(res.scores[40])
    thr = search(cat, Examples(positives=[7]), k=10_000, threshold=cut)
    assert len(thr) >= 41 and thr.scores.min() >= cut and thr.threshold == cut
    np.testing.assert_array_equal(thr.rows, res.rows[: len(thr)])


def test_duplicates_tie_in_row_order_and_scores_are_clipped():
    v = np.tile(unit(np.arange(1, 9, dtype=np.float32)), (30, 1)).astype(np.float32)
    v[::2] *= np.float32(1.0000001)  # a whisker over unit length, as float rounding makes it
    centres = np.column_stack([np.arange(30.0), np.zeros(30)])
    cat = Catalog(
        v,
        np.arange(30).astype(str).astype(object),
        chip_polygons(centres, (0.4, 0.4)),
        pa.table({"a": np.arange(30)}),
    )
    res = search(cat, Examples(positives=[3]), k=10)
    np.testing.assert_array_equal(res.rows, [0, 1, 2, 4, 5, 6, 7, 8, 9, 10])
    assert res.scores.max() <= 1.0
    again = search(cat, Examples(positives=[3]), k=10, mode="max")
    np.testing.assert_array_equal(again.rows, res.rows)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"examples": Examples()}, "Add at least one example"),
        ({"examples": Examples(negatives=[1])}, "Add at least one example"),
        ({"k": 0}, "between 1 and 10000"),
        ({"k": 10_001}, "between 1 and 10000"),
        ({"mode": "median"}, "Unknown search mode"),
        ({"examples": Examples(positives=[99_999])}, "not in the loaded data"),
        ({"examples": Examples(positive_vectors=np.ones((1, 5)))}, "have 5 numbers"),
        ({"examples": Examples(positive_vectors=np.zeros((1, 48)))}, "empty or not a number"),
        ({"examples": Examples(positive_vectors=np.stack([np.ones(48), -np.ones(48)]))}, "cancel each other"),
    ],
)
def test_bad_requests_get_one_sentence(data, kwargs, words):
    cat, _ = data
    args = {"examples": Examples(positives=[1]), **kwargs}
    with pytest.raises(InputError, match=words):
        search(cat, args.pop("examples"), **args)


def test_cancel_token_stops_a_search(data):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        search(data[0], Examples(positives=[1]), cancel=token)


@pytest.mark.parametrize("mode", ["mean", "max"])
def test_index_path_agrees_with_exact(data, monkeypatch, mode):
    cat, labels = data
    vi = build_index(cat, params=IndexParams(chunk_rows=1000, ef_construction=100))
    alike = int(np.flatnonzero(labels == labels[20])[-1])  # two examples of one kind
    ex = Examples(positives=[20, alike], negatives=[1200])
    exact = search(cat, ex, k=100, mode=mode, exclude=range(21, 60))
    # Small catalogs are served exactly even with an index at hand.
    assert search(cat, ex, k=100, mode=mode, index=vi).method == "exact"
    monkeypatch.setattr(search_mod, "EXACT_MAX_ROWS", 0)
    approx = search(cat, ex, k=100, mode=mode, index=vi, exclude=range(21, 60))
    assert approx.method == "index" and len(approx) == 100
    assert len(np.intersect1d(approx.rows, exact.rows)) >= 95
    assert not set(approx.rows.tolist()) & {20, alike, 1200, *range(21, 60)}
    assert np.all(np.diff(approx.scores) <= 0)
    common = np.intersect1d(approx.rows, exact.rows)
    a = dict(zip(approx.rows.tolist(), approx.scores.tolist(), strict=True))
    e = dict(zip(exact.rows.tolist(), exact.scores.tolist(), strict=True))
    assert max(abs(a[r] - e[r]) for r in common) < 1e-5
    if mode == "max":
        m = dict(zip(approx.rows.tolist(), approx.matched.tolist(), strict=True))
        n = dict(zip(exact.rows.tolist(), exact.matched.tolist(), strict=True))
        assert all(m[r] == n[r] for r in common)
    # An index built for other data (different size) is ignored, not trusted.
    other = build_index(make_catalog(n=500)[0], params=IndexParams(ef_construction=32))
    assert search(cat, ex, k=10, mode=mode, index=other).method == "exact"


def test_examples_far_apart_are_scored_exactly_even_with_an_index(data, monkeypatch):
    """Their mean lies between kinds, where the graph walk goes astray (docs/performance.md): exact."""
    from terrafind.core.search.groups import SPREAD_WARN_CLOSENESS, closeness

    cat, labels = data
    vi = build_index(cat, params=IndexParams(chunk_rows=1000, ef_construction=100))
    monkeypatch.setattr(search_mod, "EXACT_MAX_ROWS", 0)
    apart = [20, int(np.flatnonzero(labels != labels[20])[0])]
    alike = [20, int(np.flatnonzero(labels == labels[20])[-1])]
    assert closeness(cat, apart) < SPREAD_WARN_CLOSENESS <= closeness(cat, alike)
    far = search(cat, Examples(positives=apart), k=50, index=vi)
    assert far.method == "exact"
    assert far.rows.tolist() == search(cat, Examples(positives=apart), k=50).rows.tolist()
    assert search(cat, Examples(positives=alike), k=50, index=vi).method == "index"
    # "max" scores each chip by its closest example: no mean between kinds, the graph serves it
    assert search(cat, Examples(positives=apart), k=50, mode="max", index=vi).method == "index"
