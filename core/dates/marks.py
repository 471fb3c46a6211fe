"""What the user showed and judged, per date: examples and labels belong to the date they were made on.

The session keeps the marks of the date on the map by row (as for one snapshot) and those of the other
dates by chip id (:class:`DateMarks`); switching the date swaps them. A search on one date learns from
the marks of every date it is told to (:func:`travelling_vectors`): a chip clicked on 1985 joins a search
of 2020 as its 1985 vector, which is what makes a detector travel across years.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from terrafind.core.present.items import NEGATIVE, POSITIVE

__all__ = [
    "DateMarks",
    "marks_by_id",
    "marks_by_row",
    "travelling_vectors",
    "marks_to_dict",
    "marks_from_dict",
]


@dataclass
class DateMarks:
    """The examples and labels of one date not on the map, by chip id (kind "positive"/"negative")."""

    examples: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.examples or self.labels)

    def of_kind(self, kind: str) -> list[str]:
        """Ids of ``kind``: clicked examples first, then labels (a click wins over a label of the chip)."""
        ids = [i for i, k in self.examples.items() if k == kind]
        return ids + [i for i, k in self.labels.items() if k == kind and i not in self.examples]


def marks_by_id(catalog: Any, examples: Mapping[int, str], labels: Mapping[int, str]) -> DateMarks:
    """The marks of the date on the map (rows of ``catalog``) by chip id."""
    ids = catalog.ids
    return DateMarks(
        {str(ids[r]): k for r, k in examples.items()}, {str(ids[r]): k for r, k in labels.items()}
    )


def marks_by_row(catalog: Any, marks: DateMarks) -> tuple[dict[int, str], dict[int, str], list[str]]:
    """(examples, labels) by row of ``catalog``, and the ids it does not hold (left out)."""
    missing: list[str] = []

    def rows(entries: dict[str, str]) -> dict[int, str]:
        out = {}
        for chip_id, kind in entries.items():
            row = catalog.row_of(chip_id)
            if row is None:
                missing.append(chip_id)
            else:
                out[int(row)] = kind
        return out

    return rows(marks.examples), rows(marks.labels), missing


def travelling_vectors(
    dates: Any, marks: Mapping[str, DateMarks], learn_from: Iterable[str] | None
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str, str]]]:
    """(positive vectors, negative vectors, [(date, id, kind)]) of the marks of other dates that a search
    learns from (``learn_from``: their labels; None = every date). Ids no longer in their date are skipped."""
    allowed = None if learn_from is None else set(learn_from)
    pos: list[np.ndarray] = []
    neg: list[np.ndarray] = []
    used: list[tuple[str, str, str]] = []
    for label, m in marks.items():
        if m.is_empty() or (allowed is not None and label not in allowed):
            continue
        catalog = dates.get(label).catalog
        for kind, out in ((POSITIVE, pos), (NEGATIVE, neg)):
            for chip_id in m.of_kind(kind):
                row = catalog.row_of(chip_id)
                if row is not None:
                    out.append(np.asarray(catalog.vectors[int(row)], np.float32))
                    used.append((label, chip_id, kind))
    dim = dates.slices[0].catalog.dim if len(dates) else 0
    stack = lambda vs: np.stack(vs).astype(np.float32) if vs else np.zeros((0, dim), np.float32)  # noqa: E731
    return stack(pos), stack(neg), used


def marks_to_dict(marks: Mapping[str, DateMarks]) -> dict[str, Any]:
    """For a project file: {date: {"examples": [{"id", "kind"}], "labels": [{"id", "label"}]}}."""
    return {
        label: {
            "examples": [{"id": i, "kind": k} for i, k in m.examples.items()],
            "labels": [{"id": i, "label": k} for i, k in m.labels.items()],
        }
        for label, m in marks.items()
        if not m.is_empty()
    }


def marks_from_dict(data: Any) -> dict[str, DateMarks]:
    """The inverse of :func:`marks_to_dict`; entries of unknown kinds are dropped."""
    out: dict[str, DateMarks] = {}
    if not isinstance(data, dict):
        return out
    kinds = (POSITIVE, NEGATIVE)
    for label, entry in data.items():
        if not isinstance(entry, dict):
            continue
        ex = {str(e["id"]): e["kind"] for e in _entries(entry.get("examples")) if e.get("kind") in kinds}
        lab = {str(e["id"]): e["label"] for e in _entries(entry.get("labels")) if e.get("label") in kinds}
        out[str(label)] = DateMarks(ex, lab)
    return out


def _entries(value: Any) -> list[dict[str, Any]]:
    """The {"id": ..., ...} objects of a list a project file holds (it may come from someone else:
    anything else in it is left out)."""
    if not isinstance(value, list):
        return []
    return [e for e in value if isinstance(e, dict) and isinstance(e.get("id"), (str, int))]
