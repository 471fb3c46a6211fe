"""Precision you can quote: a random sample of the visible hits, checked by a person.

A search says nothing about how many of its hits are right. Practitioners learn it by checking a random
sample (Earth Genome's published workflows check a random 5 %). Here:

* The sample is a fixed random order of the search's hits (:func:`sample_order`, a seed per check); the
  sample is the first ``size`` hits of that order that are *visible* (at or above the line, inside the
  loss range). A random order restricted to any subset is a random order of that subset, so moving the
  line keeps the sample random, and marks already given keep counting.
* A person marks sampled hits "Yes, this" / "Not this" (the session's ordinary labels). Only marks on
  sampled hits count: a mark on a hit picked by eye (the best ones, say) would flatter the estimate.
* The precision estimate is right / checked, with a **Wilson score interval** (95 %): unlike the plain
  normal interval it stays inside 0..1 and keeps a sensible width with 10 or 20 marks and with all of
  them right (Wilson 1927; Brown, Cai & DasGupta 2001 recommend it for small samples). The sample is
  drawn without replacement from the visible hits; the interval ignores that (finite population
  correction), which only makes it a little wider than it need be.
* "Expect about N false hits among these M": N = (1 - precision) x M, with the interval's range.

The estimate is about the hits as they are when it is read (the visible ones of the search it was drawn
from); a new search draws a new sample.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "Z95",
    "METHOD",
    "wilson",
    "sample_order",
    "sample_rows",
    "default_size",
    "PrecisionEstimate",
    "estimate",
]

Z95 = 1.959963984540054  # the two-sided 95 % normal quantile
METHOD = "Wilson score interval, 95 %"
MIN_SIZE, MAX_SIZE, SHARE = 20, 200, 0.05


def wilson(right: int, checked: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``right / checked`` (0, 1 when nothing was checked)."""
    n = int(checked)
    if n <= 0:
        return 0.0, 1.0
    p = right / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def sample_order(rows: np.ndarray, seed: int) -> np.ndarray:
    """The rows of a search's hits in a random order fixed by ``seed``."""
    rows = np.asarray(rows, np.int64)
    return rows[np.random.default_rng(seed).permutation(len(rows))]


def sample_rows(order: np.ndarray, visible: np.ndarray, size: int) -> np.ndarray:
    """The first ``size`` rows of ``order`` that are among the ``visible`` rows (in the order's order)."""
    order = np.asarray(order, np.int64)
    keep = np.isin(order, np.asarray(visible, np.int64))
    return order[keep][: max(0, int(size))]


def default_size(visible: int) -> int:
    """5 % of the visible hits, at least 20 and at most 200 (and never more than there are)."""
    return int(min(visible, max(MIN_SIZE, min(MAX_SIZE, math.ceil(SHARE * visible)))))


@dataclass(frozen=True)
class PrecisionEstimate:
    """What a checked random sample says about the visible hits."""

    hits: int  # visible hits the sample stands for (M)
    sample: int  # hits in the sample
    checked: int  # sampled hits marked Yes or No
    right: int  # of them marked Yes

    @property
    def precision(self) -> float | None:
        return self.right / self.checked if self.checked else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.right, self.checked) if self.checked else None

    @property
    def expected_false(self) -> tuple[int, int, int] | None:
        """(about, at least, at most) false hits among the visible ones, from the precision and interval."""
        p, ci = self.precision, self.interval
        if p is None or ci is None:
            return None
        m = self.hits
        return (round((1 - p) * m), round((1 - ci[1]) * m), round((1 - ci[0]) * m))

    def sentence(self) -> str:
        """ "Checked 18 of the 20 sampled hits: 15 right. Precision about 83 % (61-94 %, Wilson 95 %):
        expect about 34 false hits among these 200 (12-78)." """
        if not self.checked:
            return (
                f"A random sample of {self.sample} of these {self.hits:,} hits: mark each Yes (Y) or Not this (N) "
                "to learn how many of all the hits are right."
            )
        p, ci, false = self.precision, self.interval, self.expected_false
        assert p is not None and ci is not None and false is not None
        return (
            f"Checked {self.checked} of the {self.sample} sampled hits: {self.right} right. Precision about "
            f"{100 * p:.0f} % ({100 * ci[0]:.0f}-{100 * ci[1]:.0f} %, Wilson 95 %): expect about "
            f"{false[0]:,} false hits among these {self.hits:,} ({false[1]:,}-{false[2]:,})."
        )

    def to_dict(self) -> dict:
        """For an export's provenance."""
        ci, false = self.interval, self.expected_false
        return asdict(self) | {
            "precision": None if self.precision is None else round(self.precision, 4),
            "interval": None if ci is None else [round(ci[0], 4), round(ci[1], 4)],
            "method": METHOD,
            "expected_false_hits": None
            if false is None
            else {"about": false[0], "low": false[1], "high": false[2]},
            "text": self.sentence(),
        }


def estimate(sample: np.ndarray, visible_count: int, labels: dict[int, str]) -> PrecisionEstimate:
    """The estimate from the ``labels`` ({row: "positive" | "negative"}) of the ``sample`` rows."""
    marks = [labels.get(int(r)) for r in np.asarray(sample, np.int64)]
    checked = sum(1 for m in marks if m in ("positive", "negative"))
    right = sum(1 for m in marks if m == "positive")
    return PrecisionEstimate(int(visible_count), len(marks), checked, right)
