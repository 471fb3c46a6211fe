"""The words a places file uses for a verdict ("confirmed", "rejected", "not visited"...) and what they mean.

See :mod:`terrafind.core.read.places` for how a file's status column decides positives, negatives,
exclusions and places skipped.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["STATUS_WORDS", "parse_status", "norm", "key"]

STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "positive": (
        "confirmed",
        "confirm",
        "yes",
        "y",
        "true",
        "1",
        "positive",
        "pos",
        "present",
        "found",
        "correct",
        "right",
        "match",
        "verified",
        "target",
        "+",
    ),
    "negative": (
        "rejected",
        "reject",
        "no",
        "n",
        "false",
        "0",
        "negative",
        "neg",
        "absent",
        "not found",
        "notfound",
        "wrong",
        "incorrect",
        "false positive",
        "no match",
        "-",
    ),
    "exclude": ("exclude", "excluded", "mask", "masked", "ignore", "known", "already known", "omit"),
    "skip": (
        "",
        "not visited",
        "unvisited",
        "pending",
        "unknown",
        "to visit",
        "todo",
        "skipped",
        "na",
        "n/a",
        "none",
        "not checked",
        "unchecked",
    ),
}
_WORD_TO_STATUS = {w: s for s, words in STATUS_WORDS.items() for w in words}


def norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", str(text).strip().lower()).strip()


def key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


def parse_status(value: Any) -> str | None:
    """ "positive" / "negative" / "exclude" for a known word, "skip" for not visited, None if unknown."""
    if value is None:
        return "skip"
    if isinstance(value, bool):
        return "positive" if value else "negative"
    word = norm(value)
    if word in _WORD_TO_STATUS:
        return _WORD_TO_STATUS[word]
    return _WORD_TO_STATUS.get(word.replace(" ", ""))
