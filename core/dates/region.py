"""A region seen at several dates: one catalog (and index, imagery, basemap) per date, and the chips matched
across dates.

:func:`open_dates` opens what :func:`terrafind.core.dates.detect.plan_dates` planned: the files of each
date as one catalog, and a file whose rows hold several dates split by its date column. Each date's
catalog has its own ``period`` (so its index is cached apart). :class:`DatedRegion` keeps them in date
order and the :class:`~terrafind.core.dates.match.Match` of every pair asked for (made once, on demand).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.dates.detect import DatePlan, label_start, parse_date
from terrafind.core.dates.match import Match, match_chips
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.types import Region

__all__ = ["DateSlice", "DatedRegion", "open_dates", "display_labels"]


@dataclass
class DateSlice:
    """One date of a region: its label, its chips, the files they came from, and (once known) its search
    index, the imagery its thumbnails come from and an imagery basemap (MBTiles) of that date."""

    label: str
    catalog: Catalog
    files: list[str]
    index: Any = None
    imagery: str | None = None
    basemap: str | None = None

    @property
    def start(self) -> str:
        return label_start(self.label)


@dataclass
class DatedRegion:
    """The dates of one region, oldest first (see the module docstring). Thread-safe for reading; matches
    are made on first use and kept (a dict write of a finished object)."""

    slices: list[DateSlice]
    note: str | None = None
    _matches: dict[tuple[str, str], Match] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.slices.sort(key=lambda s: (s.start, s.label))

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.slices]

    def __len__(self) -> int:
        return len(self.slices)

    def get(self, label: str) -> DateSlice:
        for s in self.slices:
            if s.label == label:
                return s
        raise InputError(f"This region has no date {label}; its dates are {', '.join(self.labels)}.")

    def of_catalog(self, catalog: Any) -> DateSlice | None:
        return next((s for s in self.slices if s.catalog is catalog), None)

    def match(self, a: str, b: str) -> Match:
        """Chips of date ``a`` matched to those of date ``b`` (cached both ways)."""
        if (a, b) not in self._matches:
            if (b, a) in self._matches:
                self._matches[(a, b)] = self._matches[(b, a)].reversed()
            else:
                self._matches[(a, b)] = match_chips(self.get(a).catalog, self.get(b).catalog, a, b)
        return self._matches[(a, b)]

    def neighbours(self, label: str) -> tuple[str | None, str | None]:
        """The dates just before and after ``label`` (None at either end)."""
        labels = self.labels
        i = labels.index(label)
        return (labels[i - 1] if i > 0 else None, labels[i + 1] if i + 1 < len(labels) else None)

    def files(self) -> list[str]:
        """Every file of every date, once."""
        return list(dict.fromkeys(f for s in self.slices for f in s.files))


def display_labels(labels: Sequence[str]) -> dict[str, str]:
    """Short names for the date buttons: the year alone when every date falls in a different year."""
    years = [label_start(lab)[:4] for lab in labels]
    if len(set(years)) == len(labels) and all(".." not in lab for lab in labels):
        return dict(zip(labels, years, strict=True))
    return {lab: lab for lab in labels}


def _split_rows(catalog: Catalog, column: str) -> dict[str, np.ndarray]:
    """Rows of each date of a catalog whose ``column`` holds several dates (day labels)."""
    values = catalog.column(column) or []
    days = np.array([(d.isoformat() if d is not None else "") for d in map(parse_date, values)], object)
    return {str(v): np.flatnonzero(days == v) for v in sorted(set(days.tolist())) if v}


def open_dates(
    plan: DatePlan,
    region: Region | None = None,
    *,
    open_kwargs: Mapping[str, Any] | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> DatedRegion:
    """Open each date of ``plan`` as a catalog limited to ``region`` (kwargs go to ``open_catalog``)."""
    from terrafind.core.read.reader import open_catalog

    kwargs = dict(open_kwargs or {})
    slices: dict[str, DateSlice] = {}
    split_files = sorted(plan.split)
    whole = {lab: [f for f in files if f not in plan.split] for lab, files in plan.parts.items()}
    steps = len([lab for lab, files in whole.items() if files]) + len(split_files)
    done = 0
    for label in plan.labels:
        files = whole[label]
        if not files:
            continue
        check(cancel)
        report(progress, done, steps, f"Opening {label}")
        catalog = open_catalog(files, region=region, cancel=cancel, **kwargs)
        catalog.period = label
        slices[label] = DateSlice(label, catalog, list(files))
        done += 1
    for path in split_files:
        check(cancel)
        report(progress, done, steps, f"Opening {Path(path).name}")
        catalog = open_catalog([path], region=region, cancel=cancel, **kwargs)
        for label, rows in _split_rows(catalog, plan.split[path]).items():
            part = catalog.subset(rows, period=label)
            if label in slices:  # the same date also in other files: one catalog of both
                raise InputError(
                    f"{Path(path).name} holds chips of {label}, and so do other files: open the dates of "
                    "one file, or files of one date each."
                )
            slices[label] = DateSlice(label, part, [path])
        done += 1
    report(progress, steps, steps, "Dates opened")
    notes = [plan.note] if plan.note else []
    notes += _check_one_model(list(slices.values()))
    return DatedRegion(list(slices.values()), note=" ".join(notes) or None)


def _filters_hash(catalog: Catalog) -> str | None:
    inner = (catalog.model or {}).get("model")
    filters = inner.get("filters") if isinstance(inner, dict) else None
    return str(filters.get("sha256")) if isinstance(filters, dict) and filters.get("sha256") else None


def _check_one_model(slices: list[DateSlice]) -> list[str]:
    """Dates made by different models (or widths) cannot be compared: say so rather than compare noise.
    Returns a sentence when the built-in embedder drew other filters for some dates (comparable only in
    part: embed later dates --like the first)."""
    from terrafind.core.read.adapters import model_id

    first = next((s for s in slices if len(s.catalog)), None)
    if first is None:
        return []
    for s in slices:
        if not len(s.catalog):
            continue
        a, b = model_id(first.catalog.model), model_id(s.catalog.model)
        if s.catalog.dim != first.catalog.dim or (a and b and a != b):
            raise InputError(
                f"The chips of {s.label} were made by another model ({s.catalog.model_name}, {s.catalog.dim} "
                f"values) than those of {first.label} ({first.catalog.model_name}, {first.catalog.dim}); "
                "open dates made by one model together."
            )
    hashes = {_filters_hash(s.catalog) for s in slices if len(s.catalog)}
    if len(hashes) > 1 and None not in hashes:
        return [
            "These dates were embedded with filters drawn from each date's own imagery, so their vectors do "
            "not share one space and changes between them mean little; embed the later imagery with "
            f"terrafind-cli embed --like {Path(first.files[0]).name}."
        ]
    return []
