"""When is each file? Dates of embeddings files, read from their footers, names or the user.

A file's date, first found wins:

1. a date the user assigned to the file or to a folder holding it;
2. its ``date`` / ``datetime`` / ``timestamp`` column, when the row-group statistics give one value (a
   file whose rows hold several dates is split by that column: :mod:`terrafind.core.dates.open`);
3. the ``start_datetime`` / ``end_datetime`` of its ``emb`` footer (Earth Index yearly releases, the
   built-in embedder: a yearly composite states its year);
4. a name like Clay's ``<MGRS>_<start>_<end>_vNNN.gpq``, or a name holding one year ("landsat_2020").

A date is shown as the span it covers: one calendar year reads "2024", one month "2024-06", one day
"2024-06-15", anything else "2024-03-01..2024-09-30". The label is the key everywhere (projects, packs,
the CLI), and ``start`` orders the dates.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terrafind.core.errors import InputError

__all__ = [
    "DATE_COLUMNS",
    "FileDate",
    "DatePlan",
    "span_label",
    "parse_date",
    "file_date",
    "plan_dates",
    "label_start",
    "check_label",
]

DATE_COLUMNS = ("date", "datetime", "timestamp", "start_datetime")
# A file whose rows hold more distinct dates than this is a mosaic of scenes (one snapshot), not a series.
MAX_DATES_IN_A_FILE = 24
_NAME_SPAN = re.compile(r"(\d{4}-\d{2}-\d{2})_(\d{4}-\d{2}-\d{2})")
_LABEL = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?(\.\.\d{4}-\d{2}-\d{2})?$")


def parse_date(value: Any) -> _dt.date | None:
    """A date from an ISO text, a date or a datetime; None when it is not one."""
    if value is None:
        return None
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    m = re.match(r"\s*(\d{4})-(\d{2})-(\d{2})", str(value))
    if not m:
        return None
    try:
        return _dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def span_label(start: _dt.date, end: _dt.date) -> str:
    """The label of the span ``start``..``end`` (an ``end`` on the 1st of the next month or year counts
    as the end of the one before: STAC writes a year as 2024-01-01..2025-01-01)."""
    if end > start and end.day == 1:
        end = end - _dt.timedelta(days=1)
    if end <= start:
        return start.isoformat()
    last_day = calendar.monthrange(end.year, end.month)[1]
    if start.day == 1 and end.day == last_day:
        if start.month == 1 and end.month == 12 and start.year == end.year:
            return f"{start.year}"
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.year}-{start.month:02d}"
    return f"{start.isoformat()}..{end.isoformat()}"


def label_start(label: str) -> str:
    """The ISO day a label starts on ("2024" -> "2024-01-01"), for ordering."""
    head = label.split("..")[0]
    parts = head.split("-")
    return f"{parts[0]}-{parts[1] if len(parts) > 1 else '01'}-{parts[2] if len(parts) > 2 else '01'}"


def label_end(label: str) -> str:
    """The ISO day a label ends on ("2024" -> "2024-12-31", "2024-02" -> "2024-02-29")."""
    if ".." in label:
        return label.split("..")[1]
    parts = label.split("-")
    year = int(parts[0])
    if len(parts) == 1:
        return f"{year}-12-31"
    month = int(parts[1])
    if len(parts) == 2:
        return f"{year}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"
    return label


def check_label(text: str) -> str:
    """A date the user typed, as a label ("2020", "2020-06", "2020-06-15" or "A..B"); InputError else."""
    label = text.strip()
    if not _LABEL.match(label) or parse_date(label_start(label)) is None:
        raise InputError(
            f"'{text}' is not a date Terrafind understands: write a year (2020), a month (2020-06) or a day "
            "(2020-06-15)."
        )
    return label


@dataclass
class FileDate:
    """What was found about one file's date: ``label`` (None = unknown), where it came from, and for a
    file whose rows hold several dates, the column and its distinct values."""

    path: str
    label: str | None
    how: str  # "assigned" | "column" | "footer" | "name" | "several" | "unknown"
    column: str | None = None
    values: list[str] = field(default_factory=list)


def _column_stats(meta: Any, column: str) -> tuple[_dt.date, _dt.date] | None:
    """(min, max) of a date column from row-group statistics, or None when they do not tell."""
    schema = meta.schema
    idx = next((i for i in range(len(schema)) if schema.column(i).name == column), None)
    if idx is None:
        return None
    lo = hi = None
    for g in range(meta.num_row_groups):
        col = meta.row_group(g).column(idx)
        stats = col.statistics
        if meta.row_group(g).num_rows == 0:
            continue
        if stats is None or not stats.has_min_max:
            if stats is not None and stats.null_count == meta.row_group(g).num_rows:
                continue  # an all-null group says nothing
            return None
        a, b = parse_date(stats.min), parse_date(stats.max)
        if a is None or b is None:
            return None
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    return None if lo is None or hi is None else (lo, hi)


def _assigned(path: str, assigned: Mapping[str, str]) -> str | None:
    p = Path(path).resolve()
    best, depth = None, -1
    for key, label in assigned.items():
        k = Path(key).expanduser().resolve()
        if (k == p or k in p.parents) and len(k.parts) > depth:
            best, depth = label, len(k.parts)
    return best


def file_date(path: str, assigned: Mapping[str, str] | None = None) -> FileDate:
    """The date of one GeoParquet file (see the module docstring); reads its footer only, and the date
    column when the statistics say it holds several dates."""
    import pyarrow.parquet as pq

    label = _assigned(path, assigned or {})
    if label is not None:
        return FileDate(path, check_label(label), "assigned")
    try:
        pf = pq.ParquetFile(path)
    except (OSError, ValueError):
        return FileDate(path, None, "unknown")  # the reader says what is wrong with it
    names = pf.schema_arrow.names
    for column in DATE_COLUMNS:
        if column not in names:
            continue
        span = _column_stats(pf.metadata, column)
        if span is None:
            continue
        lo, hi = span
        if lo == hi:
            return FileDate(path, lo.isoformat(), "column", column)
        values = sorted(
            {d.isoformat() for d in (parse_date(v) for v in _distinct(pf, column)) if d is not None}
        )
        if len(values) > MAX_DATES_IN_A_FILE:  # a mosaic of many scenes: one date, the span they cover
            return FileDate(path, span_label(lo, hi), "column", column)
        return FileDate(path, None, "several", column, values)
    meta = pf.schema_arrow.metadata or {}
    try:
        emb = json.loads(meta.get(b"emb", b"{}"))
    except ValueError:
        emb = {}
    if isinstance(emb, dict):
        a, b = parse_date(emb.get("start_datetime")), parse_date(emb.get("end_datetime"))
        if a is not None:
            return FileDate(path, span_label(a, b or a), "footer")
    m = _NAME_SPAN.search(Path(path).name)
    if m:
        a, b = parse_date(m[1]), parse_date(m[2])
        if a is not None and b is not None:
            return FileDate(path, span_label(a, b), "name")
    year = name_year(Path(path).name)
    return FileDate(path, year, "name") if year else FileDate(path, None, "unknown")


def name_year(name: str) -> str | None:
    """The year a file name states, when it holds exactly one plausible one ("landsat_2020.parquet")."""
    stem = name.split(".")[0]
    years = [
        y for y in re.findall(r"(?<!\d)(\d{4})(?!\d)", stem) if 1950 <= int(y) <= _dt.date.today().year + 1
    ]
    return years[0] if len(set(years)) == 1 else None


def _distinct(pf: Any, column: str) -> list[Any]:
    import pyarrow.compute as pc

    table = pf.read(columns=[column])
    return pc.unique(table.column(column)).to_pylist()


@dataclass
class DatePlan:
    """How files open as dates. ``parts`` maps each label to its files (in date order); ``split`` lists
    files whose rows hold several dates (opened once and split by ``column``); ``note`` is a sentence
    when the files cannot be shown as dates although some have one."""

    parts: dict[str, list[str]] = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)  # path -> date column
    note: str | None = None

    @property
    def labels(self) -> list[str]:
        return sorted(self.parts, key=lambda lab: (label_start(lab), lab))

    def is_dated(self) -> bool:
        return len(self.parts) >= 2


def plan_dates(files: Sequence[str], assigned: Mapping[str, str] | None = None) -> DatePlan:
    """Group ``files`` (resolved paths) by date. A plan with fewer than two dates means "one snapshot"."""
    found = [file_date(f, assigned) for f in files]
    plan = DatePlan()
    unknown = [fd for fd in found if fd.label is None and fd.how != "several"]
    for fd in found:
        if fd.how == "several":
            plan.split[fd.path] = str(fd.column)
            for value in fd.values:
                plan.parts.setdefault(value, []).append(fd.path)
        elif fd.label is not None:
            plan.parts.setdefault(fd.label, []).append(fd.path)
    if unknown and plan.parts:
        names = ", ".join(Path(fd.path).name for fd in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        plan.note = (
            f"{names}{more} {'states' if len(unknown) == 1 else 'state'} no date, so the files open as one "
            "snapshot; give each file its date (File > Open several dates...) to compare dates."
        )
        return DatePlan(note=plan.note)
    return plan
