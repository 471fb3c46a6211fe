"""Search that learns from the user's labels: a small classifier re-ranks the hits ("Refine").

Why a classifier at all: cosine similarity ranks well but has no natural cut-off, and the mean of diverse
examples drifts (research/peers.md section 3). Once the user has said "yes" and "no" a few times, a logistic
regression on the labelled vectors separates the two far better than any one query vector.

Why background negatives: a classifier trained only on the user's nearby negatives floods a region with
false positives (everything unlike the few negatives looks "positive"). So every fit adds chips sampled at
random from the region as negatives. Most of them are not the target (targets are rare), and the few that
are do little harm because the background as a whole carries only ``BACKGROUND_SHARE`` of the negative
class weight: 1000 random chips never outvote five hand-picked labels.

Calibration decision: the probability is LogisticRegression's own sigmoid, fitted with balanced class
weights (both classes carry the same total weight). With a handful of labels, CalibratedClassifierCV would
fit its calibration map on one or two labels per fold, which is noisier than the sigmoid it corrects. The
probability is therefore "how likely a target, if targets and non-targets were equally common": 0.5 is
the point of most doubt, which is what the review queue needs, and ranks are unaffected by the prior.

Speed: scoring is one matrix-vector product (100k x 384 in ~15 ms) and liblinear fits 1000 x 384 in well
under 100 ms on one core. See :func:`refine` for the measured totals.

Limit: one linear classifier draws one "cap" on the sphere of unit vectors. A kind of chip lying exactly
between two groups of positives cannot be cut out of it; :func:`grouped_search` (mode max over groups)
handles that case, and rejected chips still help the classifier wherever they differ in any direction.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, check
from terrafind.core.search.groups import group_examples, grouped_search, spread_warning
from terrafind.core.types import SearchResult

__all__ = [
    "RefineResult",
    "refine",
    "region_share",
    "train_classifier",
    "format_share",
    "group_examples",
    "grouped_search",
    "spread_warning",
    "WHOLE_REGION_MAX_ROWS",
    "BACKGROUND_SHARE",
]

# Below this many chips the classifier scores every chip of the region (100k x 384 costs ~15 ms), so
# nothing outside a similarity pool can be missed. Above it, a pool of the best by similarity is scored.
WHOLE_REGION_MAX_ROWS = 200_000
# The share of the negative class weight carried by random background chips (the rest by the user's
# own negatives): half keeps both voices; the user's rejects still count as much as the whole background.
BACKGROUND_SHARE = 0.5
DEFAULT_BACKGROUND = 1000
# Inverse L2 strength on raw unit vectors, with class weights scaled to the number of user labels (see
# _weights). Swept 10..1000 on synthetic clusters at 128-d and 384-d: 100 separates unseen targets from
# the rest best (lower: every chip drifts to 0.5; higher: only the labelled chips themselves score high).
C_DEFAULT = 100.0
_BLOCK = 65_536


@dataclass
class RefineResult:
    """What :func:`refine` returns.

    ``result.rows`` are the best ``k`` chips by probability (labelled chips excluded), ``result.scores``
    their cosine similarity to the closest positive, ``result.probabilities`` the classifier's probability
    and ``result.matched`` the index (into the positives as given) of that closest positive.
    ``review_rows`` / ``review_probabilities`` are up to ``k`` chips of the pool ordered most uncertain first
    (|p - 0.5| ascending): label these to teach the classifier most. ``pool_rows`` and
    ``pool_probabilities`` cover every chip scored (the whole region when it is small), for
    :func:`region_share`.
    """

    result: SearchResult
    review_rows: np.ndarray
    review_probabilities: np.ndarray
    cv_accuracy: float | None
    cv_method: str
    n_pos: int
    n_neg: int
    n_background: int
    elapsed_ms: float
    pool_rows: np.ndarray
    pool_probabilities: np.ndarray
    region_rows: int
    model: Any = None  # the fitted classifier (``proba(vectors)``): scores any chip, of any date


# --- the classifier --------------------------------------------------------------------------------------


@dataclass
class _Model:
    """A fitted logistic regression folded into ``x @ w + b`` on the raw unit vectors."""

    w: np.ndarray  # (d,) float32
    b: float

    def proba(self, x: np.ndarray) -> np.ndarray:
        z = np.asarray(x @ self.w, dtype=np.float64) + self.b
        return (1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))).astype(np.float32)


def _fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, *, c: float = C_DEFAULT) -> _Model:
    from sklearn.linear_model import LogisticRegression

    # Raw unit vectors, no z-scoring: z-scoring lifts every noisy dimension to the same footing, and with
    # a handful of labels the fit then memorises noise (measured on 384-d synthetic clusters: median
    # probability of unseen true targets 0.5 with z-scores vs 0.6 raw, with 0.2 vs 0.03 for the rest).
    # liblinear is single-threaded and 2-4x faster than lbfgs at a few thousand rows x 384 here.
    model = LogisticRegression(C=c, solver="liblinear", max_iter=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on separable toy data is harmless here
        model.fit(x, y, sample_weight=weight)
    return _Model(model.coef_[0].astype(np.float32), float(model.intercept_[0]))


def train_classifier(pos_x: np.ndarray, neg_x: np.ndarray, background_x: np.ndarray) -> _Model:
    """Refine's classifier fitted on labelled vectors plus background vectors (weights as :func:`refine`
    gives them); ``proba(x)`` of the result scores any vectors."""
    x = np.vstack([pos_x, neg_x, background_x]).astype(np.float32)
    y = np.r_[np.ones(len(pos_x)), np.zeros(len(neg_x) + len(background_x))]
    return _fit(x, y, _weights(len(pos_x), len(neg_x), len(background_x)))


def _weights(n_pos: int, n_neg: int, n_bg: int) -> np.ndarray:
    """Balanced sample weights (positives | user negatives | background).

    Each class carries a total weight of ``n_pos + n_neg``: the background adds knowledge of the region
    but no extra confidence, so the L2 penalty is weighed against the user's labels alone. Scaled to the
    number of background chips instead, the fit memorises a few positives' noise (measured: median
    probability of true targets 0.04 instead of 0.6 with 6 positives at 384-d).
    """
    neg_share = 1.0 - BACKGROUND_SHARE if n_bg else 1.0
    bg_share = BACKGROUND_SHARE if n_neg else 1.0
    parts = [np.full(n_pos, 1.0 / max(n_pos, 1))]
    parts.append(np.full(n_neg, neg_share / max(n_neg, 1)))
    parts.append(np.full(n_bg, bg_share / max(n_bg, 1)))
    w = np.concatenate(parts)
    return w * ((n_pos + n_neg) * 2.0 / w.sum())


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.atleast_2d(np.asarray(v, np.float32))
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.where(n > 0, n, 1.0)).astype(np.float32)


def _check_rows(catalog: Catalog, rows: Sequence[int], what: str) -> np.ndarray:
    arr = np.asarray([int(r) for r in rows], dtype=np.int64)
    bad = arr[(arr < 0) | (arr >= len(catalog))]
    if len(bad):
        raise InputError(f"The {what} example at row {int(bad[0])} is not a chip of this region.")
    return np.unique(arr) if len(arr) else arr


def _sample_background(n: int, exclude: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    avail = n - len(exclude)
    count = max(0, min(count, avail))
    if count == 0:
        return np.zeros(0, np.int64)
    picked = rng.choice(n, size=min(n, count + len(exclude)), replace=False)
    picked = picked[~np.isin(picked, exclude)][:count]
    return np.sort(picked.astype(np.int64))


# --- candidates ----------------------------------------------------------------------------------------


def _max_similarity(vectors: np.ndarray, pos: np.ndarray, cancel: CancelToken | None):
    """(sims (N,), matched (N,)) of every row against its closest positive, block by block."""
    n = len(vectors)
    sims = np.empty(n, np.float32)
    matched = np.empty(n, np.int64)
    pt = np.ascontiguousarray(pos.T)
    for start in range(0, n, _BLOCK):
        check(cancel)
        s = vectors[start : start + _BLOCK] @ pt
        matched[start : start + len(s)] = s.argmax(axis=1)
        sims[start : start + len(s)] = s.max(axis=1)
    return sims, matched


def _pool(catalog, pos_vecs, labelled, index, pool_size, cancel) -> tuple[np.ndarray, str]:
    """Rows to score: the whole region when small, else the best ``pool_size`` by similarity to each positive."""
    n = len(catalog)
    if n <= WHOLE_REGION_MAX_ROWS:
        return np.setdiff1d(np.arange(n, dtype=np.int64), labelled), "whole region"
    if index is not None:
        rows, _ = index.query(pos_vecs, pool_size + len(labelled))
        cand = np.unique(rows.reshape(-1))
        method = "index pool"
    else:
        # The same pool as the index gives, by the exact scan (int8 kernel, both cores, pages handed back):
        # it holds the best ``pool_size`` by closest positive, since each of those is among the best of its
        # own closest positive.
        from terrafind.core.search.exact import exact_topk

        rows, _ = exact_topk(catalog.vectors, pos_vecs, pool_size, exclude=labelled, cancel=cancel)
        cand = np.unique(rows.reshape(-1))
        method = "exact pool"
    return np.setdiff1d(cand.astype(np.int64), labelled), method


def _smallest(key: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest keys, ascending, ties by row (argpartition first: 100k keys)."""
    k = max(0, min(k, len(key)))
    if k == 0:
        return np.zeros(0, np.int64)
    if k < len(key):
        part = np.argpartition(key, k - 1)[:k]
        part = np.flatnonzero(key <= key[part].max())  # keep ties at the cut so rows decide them
    else:
        part = np.arange(len(key))
    order = np.lexsort((rows[part], key[part]))[:k]
    return part[order]


# --- quality -------------------------------------------------------------------------------------------


def _cv_accuracy(catalog, pos, neg, bg_x, seed, pos_more=None, neg_more=None) -> tuple[float | None, str]:
    """Accuracy on the user's labels from fits that never saw them.

    Leave-one-out on up to 10 labels; 5-fold above. When two labels fall in the same grid cell (cells
    four chip widths wide), neighbouring chips are near-duplicates and plain folds would flatter the
    model, so folds hold out whole cells instead (spatially blocked). Labelled vectors from other dates
    (``pos_more``, ``neg_more``) are labels too; with no place of their own here, each is its own fold.
    """
    rows = np.concatenate([pos, neg])
    n_more_p = 0 if pos_more is None else len(pos_more)
    n_more_n = 0 if neg_more is None else len(neg_more)
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg)), np.ones(n_more_p), np.zeros(n_more_n)]
    if int(y.sum()) < 2 or int(len(y) - y.sum()) < 2:
        return None, "needs 2 positives and 2 negatives"
    cents = catalog.centroids[rows]
    import shapely

    if len(rows):
        b = shapely.bounds(catalog.footprints[rows])
        cell = 4.0 * float(np.median(np.maximum(b[:, 2] - b[:, 0], 1e-9)))
        cells = np.floor(cents / cell).astype(np.int64)
        _, groups = np.unique(cells, axis=0, return_inverse=True)
        groups = groups.reshape(-1)
    else:
        groups = np.zeros(0, np.int64)
    start = int(groups.max()) + 1 if len(groups) else 0
    groups = np.concatenate([groups, start + np.arange(n_more_p + n_more_n)])
    n_groups = int(groups.max()) + 1
    if n_groups < len(y):
        if n_groups < 2:
            return None, "labels all in one place"
        folds = min(5, n_groups)
        fold_of = groups % folds
        method = f"spatially blocked {folds}-fold"
    elif len(y) <= 10:
        fold_of = np.arange(len(y))
        method = "leave-one-out"
    else:
        rng = np.random.default_rng(seed)
        fold_of = rng.permutation(len(y)) % 5
        method = "5-fold"
    extra = [v for v in (pos_more, neg_more) if v is not None and len(v)]
    x_all = np.vstack([catalog.vectors[rows], *[_unit(v) for v in extra]]) if extra else catalog.vectors[rows]
    correct = 0
    tested = 0
    for f in np.unique(fold_of):
        test = fold_of == f
        tr_pos, tr_neg = x_all[~test & (y == 1)], x_all[~test & (y == 0)]
        if len(tr_pos) == 0 or len(tr_neg) == 0:
            continue
        x = np.vstack([tr_pos, tr_neg, bg_x])
        yy = np.r_[np.ones(len(tr_pos)), np.zeros(len(tr_neg) + len(bg_x))]
        model = _fit(x, yy, _weights(len(tr_pos), len(tr_neg), len(bg_x)))
        pred = model.proba(x_all[test]) >= 0.5
        correct += int(np.sum(pred == (y[test] == 1)))
        tested += int(test.sum())
    if tested == 0:
        return None, method
    return correct / tested, method


def region_share(catalog: Catalog, scores_or_result, threshold: float) -> float:
    """The share (0..1) of the region's chips at or above ``threshold``.

    ``scores_or_result`` is one score per chip of the region (exact), a :class:`RefineResult` (uses the
    probabilities of its pool; chips outside the pool count as below) or a :class:`SearchResult` (uses
    its probabilities when present, else its scores; a result cut at ``k`` gives a lower bound).
    """
    n = len(catalog)
    if n == 0:
        return 0.0
    if isinstance(scores_or_result, RefineResult):
        values = scores_or_result.pool_probabilities
    elif isinstance(scores_or_result, SearchResult):
        r = scores_or_result
        values = r.probabilities if r.probabilities is not None else r.scores
    else:
        values = np.asarray(scores_or_result)
        if len(values) != n:
            raise InputError(f"Expected one score per chip ({n}), got {len(values)}.")
    return float(np.count_nonzero(np.asarray(values) >= threshold)) / n


def format_share(share: float) -> str:
    """A share as people read it next to the score plot: "top 0.2 % of this region"."""
    pct = 100.0 * share
    if pct == 0:
        return "no chip of this region"
    text = f"{pct:.2g}" if pct < 10 else f"{pct:.0f}"
    return f"top {text} % of this region"


# --- the verb ------------------------------------------------------------------------------------------


def refine(
    catalog: Catalog,
    positives: Sequence[int],
    negatives: Sequence[int],
    *,
    index=None,
    k: int = 100,
    threshold: float | None = None,
    pool_size: int = 5000,
    n_background: int | None = None,
    seed: int = 0,
    cv: bool = True,
    exclude: Sequence[int] = (),
    positive_vectors: np.ndarray | None = None,
    negative_vectors: np.ndarray | None = None,
    cancel: CancelToken | None = None,
) -> RefineResult:
    """Train a logistic regression on the user's labels plus random background chips and re-rank.

    Parameters
    ----------
    positives, negatives : catalog rows the user marked right / wrong (at least one of each).
    index : a :class:`terrafind.core.search.index.VectorIndex`; used only above ``WHOLE_REGION_MAX_ROWS`` chips to take the
        candidate pool (``pool_size`` best by similarity per positive). Without it, an exact scan does.
    k : how many hits (and review chips) to return.
    threshold : keep only hits with probability >= threshold.
    n_background : random region chips added as negatives (default ``min(1000, region)``; 0 turns them
        off, for experiments only: see the module docs).
    cv : also estimate accuracy on the labels by cross-validation (a few more fits, ~50-80 ms each).
    exclude : rows never returned (e.g. chips under an imported mask of towns), besides the labelled ones.
    positive_vectors, negative_vectors : labelled vectors from elsewhere (the same places at other dates:
        terrafind.core.dates.marks), trained on with the rows; they count as labels of their own.

    Measured on 2 cores (bench in tests/core/test_refine.py::test_refine_speed): training on 1000
    background chips + labels and scoring 100k x 384 candidates takes ~0.15-0.3 s without CV.
    """
    t0 = time.perf_counter()
    pos = _check_rows(catalog, positives, "positive")
    neg = _check_rows(catalog, negatives, "negative")
    d = catalog.dim
    pos_more = np.zeros((0, d), np.float32) if positive_vectors is None else np.asarray(positive_vectors)
    neg_more = np.zeros((0, d), np.float32) if negative_vectors is None else np.asarray(negative_vectors)
    if len(pos) + len(pos_more) == 0 or len(neg) + len(neg_more) == 0:
        raise InputError(
            "Refining needs at least one chip marked right and one marked wrong; "
            f"there are {len(pos) + len(pos_more)} right and {len(neg) + len(neg_more)} wrong."
        )
    clash = np.intersect1d(pos, neg)
    if len(clash):
        raise InputError(f"Chip {catalog.ids[int(clash[0])]} is marked both right and wrong; unmark one.")
    labelled = np.union1d(pos, neg)
    n = len(catalog)
    n_bg = DEFAULT_BACKGROUND if n_background is None else int(n_background)
    bg = _sample_background(n, labelled, n_bg, seed)
    check(cancel)
    vecs = catalog.vectors
    pos_x = np.vstack([vecs[pos], _unit(pos_more)]).astype(np.float32)
    neg_x = np.vstack([vecs[neg], _unit(neg_more)]).astype(np.float32)
    x = np.vstack([pos_x, neg_x, vecs[bg]])
    y = np.r_[np.ones(len(pos_x)), np.zeros(len(neg_x) + len(bg))]
    model = _fit(x, y, _weights(len(pos_x), len(neg_x), len(bg)))
    check(cancel)

    pos_vecs = pos_x
    masked = np.union1d(labelled, _check_rows(catalog, exclude, "excluded")) if len(exclude) else labelled
    pool, method = _pool(catalog, pos_vecs, masked, index, int(pool_size), cancel)
    if method == "whole region":
        # Contiguous blocks of the catalog itself: gathering 100k rows first would copy 150 MB.
        probs_all = np.empty(n, np.float32)
        for start in range(0, n, _BLOCK):
            check(cancel)
            probs_all[start : start + _BLOCK] = model.proba(vecs[start : start + _BLOCK])
        probs = probs_all[pool]
    else:
        probs = model.proba(vecs[pool])

    keep = np.ones(len(pool), bool) if threshold is None else probs >= threshold
    cand, cand_p = pool[keep], probs[keep]
    top_idx = _smallest(-cand_p.astype(np.float64), cand, int(k))
    top, top_p = cand[top_idx], cand_p[top_idx]
    sims, matched = _max_similarity(vecs[top], pos_vecs, None)
    # ``matched`` must index the positives as the caller gave them, not the de-duplicated sort.
    given = [int(r) for r in positives]
    # (rows first, then the vectors from elsewhere, as SearchResult.matched counts them)
    matched = np.asarray(
        [given.index(int(pos[m])) if m < len(pos) else len(given) + m - len(pos) for m in matched], np.int64
    )

    review = _smallest(np.abs(probs.astype(np.float64) - 0.5), pool, int(k))

    cv_acc, cv_method = (None, "not asked")
    if cv:
        cv_acc, cv_method = _cv_accuracy(catalog, pos, neg, vecs[bg], seed, pos_more, neg_more)
    elapsed = (time.perf_counter() - t0) * 1000.0
    result = SearchResult(
        rows=top,
        scores=sims,
        matched=matched,
        mode="refine",
        k=int(k),
        threshold=threshold,
        positives=tuple(given),
        negatives=tuple(int(r) for r in negatives),
        method=method,
        elapsed_ms=elapsed,
        probabilities=top_p,
    )
    return RefineResult(
        result=result,
        review_rows=pool[review],
        review_probabilities=probs[review],
        cv_accuracy=cv_acc,
        cv_method=cv_method,
        n_pos=len(pos_x),
        n_neg=len(neg_x),
        n_background=len(bg),
        elapsed_ms=elapsed,
        pool_rows=pool,
        pool_probabilities=probs,
        region_rows=n,
        model=model,
    )
