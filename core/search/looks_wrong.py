"""Warnings when a run looks wrong, and examples that do not fit: sentences a person can act on.

A search always returns hits, even when it has picked out nothing. Three signs that it has not:

* **The hits cover a large share of the region** (:data:`MAX_SHARE`, 10 %): a target is rarely that
  common; more likely the line is too low or the examples describe a land cover, not a kind of site.
* **One site swallows a huge area**: when touching hits merge into one site that holds most of them
  (:data:`MAX_SITE_SHARE` of at least :data:`MIN_SITE_CHIPS`), the search is tracing a lake shore or a
  forest, not finding sites.
* **Examples contradict each other**: a negative that the model can hardly tell from a positive (it is
  closer to the positive than :data:`CONTRADICT_TOP` of the whole region) means one of the two marks is
  probably wrong.

And for each example (:func:`odd_positives`): a positive that looks unlike the user's other positives
(not even in the top :data:`ODD_SHARE` of the region by likeness to them) is flagged: "check it or group
your examples". Both use the region itself as the yardstick, so they mean the same on any model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.search.percentiles import format_top, sample_vectors

__all__ = [
    "MAX_SHARE",
    "MAX_SITE_SHARE",
    "MIN_SITE_CHIPS",
    "CONTRADICT_TOP",
    "ODD_SHARE",
    "ODD_TEXT",
    "RunFacts",
    "run_facts",
    "run_warnings",
    "warnings_for",
    "contradictions",
    "odd_positives",
]

MAX_SHARE = 0.10
MAX_SITE_SHARE = 0.5
MIN_SITE_CHIPS = 25
MAX_SITE_HITS = 5000  # above this many visible hits the site check is skipped (merging costs too much)
CONTRADICT_TOP = 0.001
ODD_SHARE = 0.25
ODD_TEXT = "This example looks unlike your others - check it or group your examples."
MAX_EXAMPLES = 50  # beyond this many positives the per-example check is skipped (each costs a pass)


def _share_above(session: Any) -> float | None:
    """The share of the region at or above the line (after Refine, without a line: the classifier's cut)."""
    outcome = session.outcome
    if outcome is None:
        return None
    t = session.params.get("threshold")
    if outcome.refine is not None:
        count = outcome.region_count_above(t)
        return None if count is None else count / max(1, len(session.catalog))
    return None if t is None else outcome.share_of(t)


@dataclass(frozen=True)
class RunFacts:
    """What the warnings look at, taken from a session at one moment (cheap: no pass over the region), so
    that :func:`warnings_for` can run on a worker while the person goes on marking."""

    catalog: Catalog
    share: float | None  # the share of the region above the line
    visible_rows: np.ndarray  # the hits above the line, best first
    positives: list[int]
    negatives: list[int]


def run_facts(session: Any) -> RunFacts | None:
    """The session's current run as :class:`RunFacts` (None without a region or a run)."""
    catalog = session.catalog
    if catalog is None or session.outcome is None:
        return None
    visible = session.visible()
    ex = session.search_examples()
    return RunFacts(
        catalog,
        _share_above(session),
        np.zeros(0, np.int64) if visible is None else np.asarray(visible.rows, np.int64).copy(),
        [int(r) for r in ex.positives],
        [int(r) for r in ex.negatives],
    )


def run_warnings(session: Any) -> list[str]:
    """Every way the session's current run looks wrong, as sentences (empty when none)."""
    facts = run_facts(session)
    return [] if facts is None else warnings_for(facts)


def warnings_for(facts: RunFacts) -> list[str]:
    """The sentences for :class:`RunFacts`. Tens of milliseconds on a big region (the touching hits, the
    region's sample): the app runs it on a worker (gui.results.presenter), never on the window's thread."""
    out: list[str] = []
    catalog, share = facts.catalog, facts.share
    if share is not None and share > MAX_SHARE:
        out.append(
            f"The hits cover {100 * share:.0f} % of this region: a target is rarely that common. Raise the "
            "line, or add negative examples of what should not be found."
        )
    visible = facts.visible_rows
    if 2 * MIN_SITE_CHIPS <= len(visible) <= MAX_SITE_HITS:
        from terrafind.core.search.sites import area_hectares, largest_site, site_outline

        # outlines only a site it warns about
        big = largest_site(catalog, visible)
        count = len(big)
        if count >= MIN_SITE_CHIPS and count >= MAX_SITE_SHARE * len(visible):
            ha = area_hectares(site_outline(catalog, big))
            out.append(
                f"One site holds {count:,} of the {len(visible):,} hits ({ha:,.0f} ha): the "
                "search may be tracing a land cover rather than finding sites. Mark some of it Not this, or "
                "raise the line."
            )
    out.extend(contradictions(catalog, facts.positives, facts.negatives))
    return out


def _closer_share(catalog: Catalog, anchor: np.ndarray, sim: float) -> float:
    """The share of the region (its fixed sample) more alike ``anchor`` than ``sim``."""
    sample = sample_vectors(catalog)
    if not len(sample):
        return 1.0
    return float(np.mean(sample @ anchor > sim))


def contradictions(catalog: Catalog, positives: Any, negatives: Any, *, limit: int = 3) -> list[str]:
    """Sentences about negatives the model can hardly tell from a positive (see the module docstring)."""
    pos = list(dict.fromkeys(int(r) for r in positives))
    neg = list(dict.fromkeys(int(r) for r in negatives))
    if not pos or not neg:
        return []
    vecs = catalog.vectors
    sims = vecs[neg] @ vecs[pos].T  # (negatives, positives): small
    out: list[str] = []
    for i, j in zip(*np.unravel_index(np.argsort(-sims, axis=None), sims.shape), strict=True):
        if len(out) >= limit:
            break
        p, q = pos[int(j)], neg[int(i)]
        share = _closer_share(catalog, vecs[[p]][0], float(sims[i, j]))
        if share > CONTRADICT_TOP:
            break  # sorted by likeness: the rest are further apart still
        out.append(
            f"Your positive {catalog.ids[p]} and negative {catalog.ids[q]} look almost the same to the model "
            f"(the negative is closer to it than {100 * (1 - share):.2f} % of the region): one of the two marks is "
            "probably wrong."
        )
    return out


def odd_positives(catalog: Catalog, positives: Any) -> dict[int, str]:
    """{row: sentence} for each positive that looks unlike the user's other positives: not even in the top
    :data:`ODD_SHARE` of the region by likeness to the mean of the others. Needs 3 positives or more (with
    two, neither can be called the odd one; the spread warning of terrafind.core.search.groups speaks)."""
    pos = list(dict.fromkeys(int(r) for r in positives))
    if len(pos) < 3 or len(pos) > MAX_EXAMPLES or catalog is None:
        return {}
    vecs = catalog.vectors
    sample = sample_vectors(catalog)
    out = {}
    for i, row in enumerate(pos):
        others = vecs[[r for k, r in enumerate(pos) if k != i]]
        q = others.mean(axis=0)
        norm = float(np.linalg.norm(q))
        if norm < 1e-6:
            continue
        q = q / norm
        share = float(np.mean(sample @ q >= float(vecs[[row]][0] @ q))) if len(sample) else 0.0
        if share > ODD_SHARE:
            out[row] = (
                f"{ODD_TEXT} By likeness to the others it is only in the {format_top(share)} of this region."
            )
    return out
