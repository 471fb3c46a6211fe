"""A detector that improves itself: hard-negative rounds ("Improve automatically").

Practitioners report that a detector floods a region with false positives until hard negatives are fed
back in several rounds (Earth Genome's published workflow cut false-positive patches from 6,750 to 153).
A round here:

1. searches (Refine once there is a negative; a plain search before that) and notes the figures;
2. takes the hits the detector is surest about that lie **far from every confirmed site** (a site = a
   positive example or a hit marked Yes; "far" = ``far_m`` metres between chip centres, default three chip
   widths). Near a confirmed site a sure hit is likely another part of it; far away it is where a detector
   usually fails;
3. offers them for review (the person marks each Yes or Not this) or, when the person allows, takes them
   as negatives at once;
4. retrains on the new marks (the next round's search).

The figure that must improve is ``targets``: how many chips of the whole region the detector calls a
target (probability 0.5 or more after Refine; above the line before). Hard negatives remove false
targets, so the count falls round after round and settles near the true number. The rounds stop when it
falls by less than :data:`MIN_GAIN` (10 %) in a round, when a checked random sample says precision did not
rise (:mod:`terrafind.core.search.check`), when no sure hit lies far from the confirmed sites, or after
``max_rounds``. Each round's figures are kept for the person to see (:class:`RoundFigures`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.search.visible import filter_values

__all__ = [
    "MIN_GAIN",
    "RoundFigures",
    "far_from",
    "hard_negatives",
    "figures_of",
    "stop_reason",
    "site_confidence",
    "linked_to_sites",
    "ImproveResult",
    "improve",
]

MIN_GAIN = 0.10  # a round that cuts the detector's targets by less than this has stopped improving
# A round whose negatives cut the detector's confidence in the confirmed sites it never saw below this
# share of what it was took targets for negatives (site_confidence). Measured on synthetic look-alikes:
# right negatives keep 0.86-1.05 of it (very close look-alikes cost a little), wrong ones 0.05-0.4.
MIN_CONFIDENCE_KEPT = 0.6
FAR_CHIPS = 3.0  # default distance from confirmed sites, in chip widths
METRES_PER_DEGREE = 111_320.0


@dataclass
class RoundFigures:
    """One round as the person sees it."""

    round: int  # 0 = before any hard negative
    how: str  # "plain" or "refine"
    targets: int | None  # chips of the region the detector calls targets
    hits: int  # visible hits
    offered: int = 0  # hard negatives offered (or taken) this round
    taken: int = 0  # of them now negatives (marked Not this, or taken automatically)
    confirmed: int = 0  # of them marked Yes (review only)
    cv_accuracy: float | None = None
    site_confidence: float | None = None  # a detector's mean probability at confirmed sites it never saw
    precision: float | None = None  # from a checked random sample, when there is one

    def line(self) -> str:
        """ "Round 2: 41 target chips in the region (was 180), 10 hard negatives, 87 % right on your marks." """
        parts = [f"Round {self.round}: "]
        if self.targets is None:
            parts.append(f"{self.hits:,} hits by likeness, no detector yet")
        else:
            parts.append(f"{self.targets:,} target chips in the region")
        if self.offered:
            parts.append(f", {self.taken} of {self.offered} hard negatives taken")
            if self.confirmed:
                parts.append(f" ({self.confirmed} were targets after all)")
        if self.cv_accuracy is not None:
            parts.append(f", {100 * self.cv_accuracy:.0f} % right on your marks")
        if self.site_confidence is not None:
            parts.append(f", sure of your sites unseen: {self.site_confidence:.2f}")
        if self.precision is not None:
            parts.append(f", sample precision {100 * self.precision:.0f} %")
        return "".join(parts) + "."


def _metres(catalog: Catalog) -> float:
    """One chip width in metres (the data's stated size, else measured from the chips' spacing)."""
    return max(1.0, catalog.chip_width_m())


def far_from(catalog: Catalog, rows: np.ndarray, sites: np.ndarray, far_m: float) -> np.ndarray:
    """True for each of ``rows`` whose chip centre is at least ``far_m`` metres from every ``sites`` chip."""
    rows = np.asarray(rows, np.int64)
    if not len(sites) or not len(rows):
        return np.ones(len(rows), bool)
    a, b = np.asarray(catalog.centroids[rows]), np.asarray(catalog.centroids[np.asarray(sites, np.int64)])
    lat = np.radians((a[:, None, 1] + b[None, :, 1]) / 2)
    dx = (a[:, None, 0] - b[None, :, 0]) * np.cos(lat) * METRES_PER_DEGREE
    dy = (a[:, None, 1] - b[None, :, 1]) * METRES_PER_DEGREE
    return np.sqrt(dx * dx + dy * dy).min(axis=1) >= far_m


def linked_to_sites(catalog: Catalog, rows: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """True for each of ``rows`` joined to a confirmed site through hits whose chips touch (neighbours on
    the chip grid, diagonals included): a patch of hits that holds a site is that site, however far it
    reaches (a lake, a mine), so none of it is a hard negative."""
    rows = np.asarray(rows, np.int64)
    sites = np.asarray(sites, np.int64)
    if not len(rows) or not len(sites):
        return np.zeros(len(rows), bool)
    sx, sy = catalog.stride
    sx, sy = max(sx, 1e-12), max(sy, 1e-12)
    allr = np.concatenate([rows, sites])
    # Cells counted from a site's centre: chip centres then sit on whole numbers, never on the .5 where
    # rounding could merge two neighbours or split them apart.
    cents = np.asarray(catalog.centroids[allr])
    cells = np.round((cents - cents[len(rows)]) / np.array([sx, sy])).astype(np.int64)
    by_cell: dict[tuple[int, int], list[int]] = {}
    for i, (cx, cy) in enumerate(cells.tolist()):
        by_cell.setdefault((cx, cy), []).append(i)
    seen = np.zeros(len(allr), bool)
    todo = list(range(len(rows), len(allr)))  # start from the sites
    seen[todo] = True
    while todo:  # breadth-first over touching cells (a few thousand hits at most)
        cx, cy = cells[todo.pop()].tolist()
        for ddx in (-1, 0, 1):
            for ddy in (-1, 0, 1):
                for j in by_cell.get((cx + ddx, cy + ddy), ()):
                    if not seen[j]:
                        seen[j] = True
                        todo.append(j)
    return seen[: len(rows)]


def hard_negatives(
    catalog: Catalog,
    visible: Any,
    sites: np.ndarray,
    *,
    count: int = 10,
    far_m: float | None = None,
    skip: set[int] | None = None,
) -> np.ndarray:
    """The ``count`` visible hits the detector is surest about (probability, else similarity) that lie
    at least ``far_m`` metres from every confirmed site and are not joined to one by touching hits
    (:func:`linked_to_sites`), best first; ``skip`` rows are left out."""
    far = FAR_CHIPS * _metres(catalog) if far_m is None else float(far_m)
    rows = np.asarray(visible.rows, np.int64)
    order = np.argsort(-filter_values(visible), kind="stable")
    rows = rows[order]
    if skip:
        rows = rows[~np.isin(rows, np.fromiter(skip, np.int64))]
    # joined to a site through all the hits (before the distance cut: the chain runs through near ones)
    rows = rows[~linked_to_sites(catalog, rows, sites)]
    return rows[far_from(catalog, rows, sites, far)][: max(0, int(count))]


def figures_of(round_no: int, outcome: Any, visible: Any, precision: float | None = None) -> RoundFigures:
    """The figures of one finished search."""
    targets = outcome.region_count_above(None) if outcome.refine is not None else None
    refined = outcome.refine
    return RoundFigures(
        round=round_no,
        how=outcome.how,
        targets=targets,
        hits=0 if visible is None else len(visible),
        cv_accuracy=None if refined is None else refined.cv_accuracy,
        precision=precision,
    )


def site_confidence(catalog: Catalog, positives: Any, negatives: Any, *, max_sites: int = 10, seed: int = 0):
    """How sure a detector that never saw a confirmed site is of it: the mean probability that fits without
    each site (up to ``max_sites``, spread over the list) give it; None with fewer than 2 sites.

    The same classifier as Refine (its fit, class weights and random background chips); with no negative
    yet, the background alone stands for the other class. Right hard negatives (look-alikes that are not
    the target) raise it; wrong ones (targets taken for negatives) drop it sharply: measured on synthetic
    data with 3 sites, 0.87 with no negative, 0.91 with 15 look-alikes, 0.46 with 15 far targets."""
    from terrafind.core.search.refine import DEFAULT_BACKGROUND, _fit, _sample_background, _weights

    pos = np.unique(np.asarray(positives, np.int64))
    neg = np.unique(np.asarray(negatives, np.int64))
    if len(pos) < 2:
        return None
    vecs = catalog.vectors
    bg = _sample_background(len(catalog), np.union1d(pos, neg), DEFAULT_BACKGROUND, seed)
    picks = pos[np.unique(np.linspace(0, len(pos) - 1, min(max_sites, len(pos))).astype(np.int64))]
    probs = []
    for held in picks:
        train = pos[pos != held]
        x = np.vstack([vecs[train], vecs[neg], vecs[bg]])
        y = np.r_[np.ones(len(train)), np.zeros(len(neg) + len(bg))]
        model = _fit(x, y, _weights(len(train), len(neg), len(bg)))
        probs.append(float(model.proba(vecs[[int(held)]])[0]))
    return float(np.mean(probs))


MISSED_SITES = "Stopped: the last round's negatives made the detector miss your own sites"


def stop_reason(rounds: list[RoundFigures], max_rounds: int) -> str | None:
    """Why the rounds stop now, or None to go on (see the module docstring)."""
    if not rounds:
        return None
    last = rounds[-1]
    earlier = [r.site_confidence for r in rounds[:-1] if r.site_confidence is not None]
    now = last.site_confidence
    if now is not None and earlier and now < MIN_CONFIDENCE_KEPT * earlier[-1]:
        return (
            f"{MISSED_SITES} (sure of them unseen: {now:.2f}, was {earlier[-1]:.2f}): some of those negatives "
            "were probably targets, so your target occurs far from your sites too; review the offered chips "
            "instead of taking them."
        )
    if last.round >= max_rounds:
        return f"Stopped after {max_rounds} rounds (the most asked for)."
    if len(rounds) >= 3 and rounds[-2].how == "refine" and last.how == "refine":
        before, now = rounds[-2].targets, last.targets
        if before and now is not None and now > (1.0 - MIN_GAIN) * before:
            return (
                f"Stopped: the estimate stopped improving (target chips {before:,} -> {now:,}, "
                f"less than {100 * MIN_GAIN:.0f} % fewer)."
            )
    if last.precision is not None:
        earlier = [r.precision for r in rounds[:-1] if r.precision is not None]
        if earlier and last.precision <= earlier[-1]:
            return "Stopped: the checked sample's precision did not rise this round."
    return None


@dataclass
class ImproveResult:
    """What :func:`improve` did: each round's figures, the negatives it took, why it stopped and the last
    search's outcome (the detector after the rounds)."""

    rounds: list[RoundFigures] = field(default_factory=list)
    taken: list[int] = field(default_factory=list)
    stopped: str = ""
    outcome: Any = None


def improve(
    session: Any,
    *,
    max_rounds: int = 5,
    per_round: int = 10,
    far_m: float | None = None,
    judge: Callable[[np.ndarray], dict[int, str]] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> ImproveResult:
    """Hard-negative rounds on ``session`` (a snapshot: its labels change) until :func:`stop_reason`.

    Without ``judge`` the offered chips are taken as negatives (the person allowed it); with ``judge``
    (offered rows -> {row: "positive" | "negative"}, e.g. a person's marks, or the truth in a test) its
    answers are used and unanswered chips are skipped. Refine is switched on for the rounds."""
    from terrafind.core.search.run import run_query

    session.learn["refine"] = True
    out = ImproveResult()
    pending: tuple[int, int, int] | None = None  # (offered, taken, confirmed) before the round searched now
    last_taken: list[int] = []
    for round_no in range(0, max_rounds + 1):
        check(cancel)
        report(progress, round_no, max_rounds + 1, f"Round {round_no}: searching")
        outcome = run_query(session.query(), cancel=cancel)
        session.set_outcome(outcome)
        visible = session.visible()
        figures = figures_of(round_no, outcome, visible)
        if pending is not None:
            figures.offered, figures.taken, figures.confirmed = pending
        ex = session.search_examples()
        figures.site_confidence = site_confidence(session.catalog, ex.positives, ex.negatives)
        out.rounds.append(figures)
        previous, out.outcome = out.outcome, outcome
        reason = stop_reason(out.rounds, max_rounds) if round_no else None
        if reason and reason.startswith(MISSED_SITES) and judge is None and previous is not None:
            # Taken without asking, and they cost the detector its own sites: put them back.
            for row in last_taken:
                session.set_label(row, None)
            out.taken = [r for r in out.taken if r not in set(last_taken)]
            session.set_outcome(previous)
            out.outcome = previous
            reason += f" Its {len(last_taken)} negatives were put back."
        if reason:
            out.stopped = reason
            break
        sites = np.asarray(session.search_examples().positives, np.int64)
        offered = hard_negatives(session.catalog, visible, sites, count=per_round, far_m=far_m)
        if not len(offered):
            out.stopped = "Stopped: no hit the detector is sure about lies far from your confirmed sites."
            break
        answers = {int(r): "negative" for r in offered} if judge is None else judge(offered)
        if not answers:
            out.stopped = "Stopped: none of the offered chips was marked."
            break
        for row, label in answers.items():
            session.set_label(int(row), label)
        taken = [r for r, label in answers.items() if label == "negative"]
        out.taken.extend(taken)
        last_taken = taken
        pending = (len(offered), len(taken), sum(1 for lab in answers.values() if lab == "positive"))
    report(progress, max_rounds + 1, max_rounds + 1, "Rounds done")
    return out
