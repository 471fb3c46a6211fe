"""Does a detector travel? Train on the labels of some dates, check it on a date it never saw.

Refine's classifier (:func:`terrafind.core.search.refine.train_classifier`) is fitted on the examples and
labels of the training dates (plus random background chips of those dates, as Refine does) and applied to
the held-out date: of the chips it calls a target there (probability at or above 0.5), the share the user
labelled a target is its precision; of the held-out targets, the share it calls a target is its recall.
Nothing of the held-out date goes into the fit, so the figures say how the detector will do on a date
nobody has labelled yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from terrafind.core.errors import InputError
from terrafind.core.present.items import NEGATIVE, POSITIVE
from terrafind.core.search.run import PROBABILITY_CUT

__all__ = ["TransferCheck", "check_transfer"]


@dataclass(frozen=True)
class TransferCheck:
    """The held-out date's confusion counts and what they mean."""

    hold_out: str
    trained_on: tuple[str, ...]
    n_train: int
    tp: int
    fp: int
    fn: int
    tn: int
    hits: int  # chips of the held-out date the detector calls a target
    chips: int

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def sentence(self) -> str:
        n_test = self.tp + self.fp + self.fn + self.tn
        p = (
            "not measurable (it called none of them a target)"
            if self.precision is None
            else (f"{self.precision:.2f} ({self.tp} of {self.tp + self.fp} it calls a target are targets)")
        )
        r = (
            ""
            if self.recall is None
            else f", recall {self.recall:.2f} ({self.tp} of {self.tp + self.fn} targets found)"
        )
        return (
            f"Trained on {', '.join(self.trained_on)} ({self.n_train} labels), checked on the {n_test} labels of "
            f"{self.hold_out}: precision {p}{r}. At {self.hold_out} it finds {self.hits:,} of {self.chips:,} chips."
        )


def _vectors(catalog: Any, ids: Iterable[str]) -> np.ndarray:
    rows = [int(r) for r in catalog.rows_of(list(ids)) if r >= 0]
    return (
        np.asarray(catalog.vectors[np.asarray(rows, np.int64)], np.float32)
        if rows
        else np.zeros((0, catalog.dim), np.float32)
    )


def check_transfer(
    dates: Any,
    marks: Mapping[str, Any],
    hold_out: str,
    learn_from: Iterable[str] | None = None,
    *,
    background: int = 1000,
    seed: int = 0,
) -> TransferCheck:
    """Train on the marks (:class:`terrafind.core.dates.marks.DateMarks` by date, every date's) of the
    dates in ``learn_from`` (default: all) except ``hold_out``; check on ``hold_out``'s marks."""
    from terrafind.core.search.refine import train_classifier

    allowed = set(dates.labels if learn_from is None else learn_from) - {hold_out}
    trained = tuple(
        lab for lab in dates.labels if lab in allowed and lab in marks and not marks[lab].is_empty()
    )
    test = marks.get(hold_out)
    if test is None or not test.of_kind(POSITIVE) or not test.of_kind(NEGATIVE):
        raise InputError(
            f"To check the detector on {hold_out}, mark at least one chip right and one wrong at {hold_out} first."
        )
    pos = [_vectors(dates.get(lab).catalog, marks[lab].of_kind(POSITIVE)) for lab in trained]
    neg = [_vectors(dates.get(lab).catalog, marks[lab].of_kind(NEGATIVE)) for lab in trained]
    pos_x = np.vstack(pos) if pos else np.zeros((0, 1), np.float32)
    neg_x = np.vstack(neg) if neg else np.zeros((0, 1), np.float32)
    if not trained or len(pos_x) == 0 or len(neg_x) == 0:
        raise InputError(
            f"To check on {hold_out}, the other dates need at least one chip marked right and one wrong to "
            "learn from."
        )
    rng = np.random.default_rng(seed)
    bg = []
    for lab in trained:
        cat = dates.get(lab).catalog
        take = min(len(cat), max(1, background // len(trained)))
        bg.append(np.asarray(cat.vectors[np.sort(rng.choice(len(cat), take, replace=False))], np.float32))
    model = train_classifier(pos_x, neg_x, np.vstack(bg))
    target = dates.get(hold_out).catalog
    yes = model.proba(_vectors(target, test.of_kind(POSITIVE))) >= PROBABILITY_CUT
    no = model.proba(_vectors(target, test.of_kind(NEGATIVE))) >= PROBABILITY_CUT
    hits = sum(int(np.count_nonzero(model.proba(target.vectors[s : s + 65536]) >= PROBABILITY_CUT))
               for s in range(0, len(target), 65536))  # fmt: skip
    return TransferCheck(
        hold_out, trained, len(pos_x) + len(neg_x),
        tp=int(yes.sum()), fp=int(no.sum()), fn=int((~yes).sum()), tn=int((~no).sum()),
        hits=hits, chips=len(target),
    )  # fmt: skip
