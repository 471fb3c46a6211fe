"""Plain rows the shell fills from core results for the side panels (no Qt, so they are easy to test)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ResultItem", "ExampleItem", "POSITIVE", "NEGATIVE"]

POSITIVE = "positive"
NEGATIVE = "negative"


@dataclass
class ResultItem:
    """One search hit as the gallery shows it. ``row`` is the catalog row (the key everywhere)."""

    row: int
    rank: int
    score: float
    chip_id: str
    date: str | None
    lon: float
    lat: float
    probability: float | None = None
    label: str | None = None  # POSITIVE, NEGATIVE or None
    matched: str | None = None  # chip id of the example this hit matched (grouped / refined searches)
    top: float | None = None  # share of the region scoring as high (0.001 = "top 0.1 %"), when known
    # the chip's loss (Clay v1 layout, terrafind.core.read.v1), when the data has one
    loss: float | None = None
    # A comparison across dates (terrafind.core.change): the same place at the date before and after,
    # each (date, row of that date's catalog; -1 when it has no chip there), and the score then.
    before: tuple[str, int] | None = None
    after: tuple[str, int] | None = None
    score_before: float | None = None
    kind: str = "score"  # what ``score`` is: "score", "probability" or "change"


@dataclass
class ExampleItem:
    """One example chip the user showed. ``kind`` is POSITIVE or NEGATIVE."""

    row: int  # -1 for an example of another date than the one on the map
    kind: str
    chip_id: str
    date: str | None = None  # the date it was shown on, when the region has several
    flag: str | None = None  # why it may be a mistake (terrafind.core.search.looks_wrong.odd_positives)
