"""A detector: what the current search looks for, as a score of any chip of any date.

Made from a session's search (:meth:`terrafind.core.session.Session.detector`): the examples' likeness
(mode "mean" or "max", as :mod:`terrafind.core.search.query` scores it), or after Refine the classifier
itself (probability). Either scores every chip of every date the same way, which is what "new since" and
the timeline need: the same question asked of each year. ``line`` is what counts as a hit: the user's
threshold when there is one, else the detector's own (probability 0.5; for likeness, the score of the
last of the top-k hits of the date searched).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from terrafind.core.progress import CancelToken, check
from terrafind.core.search.query import BETA, mean_query

__all__ = ["Detector", "BLOCK"]

BLOCK = 65_536


@dataclass(frozen=True)
class Detector:
    """See the module docstring. ``by`` is "score" (likeness, -1..1) or "probability" (0..1)."""

    by: str
    line: float
    positives: np.ndarray  # (p, d) unit vectors of the examples, any date
    negatives: np.ndarray  # (m, d)
    mode: str = "mean"
    model: Any = None  # the refined classifier (terrafind.core.search.refine), when ``by`` is probability
    described: str = ""  # e.g. "3 examples (2 of 1985)" for provenance and the timeline's caption

    def scores(
        self, catalog: Any, rows: np.ndarray | None = None, *, cancel: CancelToken | None = None
    ) -> np.ndarray:
        """The score of every chip of ``catalog`` (or of ``rows``), float32, block by block."""
        idx = np.arange(len(catalog)) if rows is None else np.asarray(rows, np.int64)
        out = np.empty(len(idx), np.float32)
        q = mean_query(self.positives, self.negatives) if self.by == "score" and self.mode == "mean" else None
        for start in range(0, len(idx), BLOCK):
            check(cancel)
            sl = slice(start, start + BLOCK)
            block = catalog.vectors[idx[sl]] if rows is not None else catalog.vectors[sl]
            out[sl] = self._score_block(np.asarray(block, np.float32), q)
        return out

    def _score_block(self, block: np.ndarray, q: np.ndarray | None) -> np.ndarray:
        if self.by == "probability":
            return self.model.proba(block)
        if q is not None:
            return np.clip(block @ q, -1.0, 1.0)
        s = (block @ self.positives.T).max(axis=1)
        if len(self.negatives):
            s = s - BETA * np.maximum(0.0, (block @ self.negatives.T).max(axis=1))
        return np.clip(s, -1.0, 1.0)

    def hits(self, catalog: Any, *, cancel: CancelToken | None = None) -> np.ndarray:
        """Rows of ``catalog`` at or above the line."""
        return np.flatnonzero(self.scores(catalog, cancel=cancel) >= self.line)
