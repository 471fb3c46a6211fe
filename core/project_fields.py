"""The fields of a ``*.terrafind`` project, checked as they are read: a project may come from someone
else, and what it holds goes to the session, the map and the search. Each function returns the value in
the shape Terrafind itself writes, or raises ValueError/TypeError (the caller says "damaged" in one
sentence); optional parts in an odd shape are dropped (None), as an older file would lack them."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

__all__ = ["texts", "ids", "optional_text", "clean_dict", "clean_view", "clean_results", "clean_params"]

MAX_ITEMS = 5_000_000  # chips named in one list (examples, labels, masks, results): a big region
MAX_TEXT = 4096  # a path, an address or an id
MAX_NUMBER = 1e12  # what a parameter may be (counts, metres, scores)


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_ITEMS:
        raise ValueError(f"{what} is not a list of reasonable length")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or len(str(value)) > MAX_TEXT:
        raise ValueError(f"{what} holds {type(value).__name__}, not a name")
    return str(value)


def texts(value: Any, what: str) -> list[str]:
    """A list of names (sources, masked chip ids)."""
    return [_text(v, what) for v in _list(value, what)]


def ids(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, entry) of a list of {"id": ..., ...} entries (examples, labels)."""
    for entry in _list(value, "a list of chips"):
        if not isinstance(entry, dict):
            raise ValueError("a chip entry is not an object")
        yield _text(entry["id"], "a chip id"), entry


def optional_text(value: Any) -> str | None:
    return _text(value, "a name") if value not in (None, "") else None


def clean_dict(value: Any, what: str) -> dict[str, Any] | None:
    """An object, or None when absent (anything else is damaged)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"{what} is not an object")
    return value


def _number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and abs(value) <= MAX_NUMBER
    )


def clean_view(value: Any) -> dict[str, float] | None:
    """Where the map looked: finite numbers only (it goes to the map page); otherwise forgotten."""
    if not isinstance(value, dict) or not value or len(value) > 16:
        return None
    if not all(isinstance(k, str) and _number(v) for k, v in value.items()):
        return None
    return {k: float(v) for k, v in value.items()}


def clean_results(value: Any) -> dict[str, Any] | None:
    """Saved results: ids with finite scores (and probabilities), or nothing (the search runs again)."""
    if not isinstance(value, dict):
        return None
    got_ids, scores = value.get("ids"), value.get("scores")
    if not isinstance(got_ids, list) or not isinstance(scores, list) or len(got_ids) != len(scores):
        return None
    if len(got_ids) > MAX_ITEMS or not all(_number(s) for s in scores):
        return None
    probs = value.get("probabilities")
    if probs is not None and not (
        isinstance(probs, list) and len(probs) == len(got_ids) and all(_number(p) for p in probs)
    ):
        probs = None
    try:
        out_ids = [_text(i, "a result id") for i in got_ids]
    except ValueError:
        return None
    out = {**value, "ids": out_ids, "scores": [float(s) for s in scores]}
    if probs is None:
        out.pop("probabilities", None)  # (absent when the search was not refined)
    for key, kind in (("mode", str), ("method", str)):
        if not isinstance(out.get(key, ""), kind) or len(str(out.get(key, ""))) > 40:
            out.pop(key, None)
    for key in ("k", "elapsed_ms"):
        if key in out and not _number(out[key]):
            out.pop(key)
    return out


def clean_params(saved: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The saved search parameters that have a known name and a value of the default's kind (a number
    where a number belongs, a short word where a word belongs); the defaults for the rest."""
    out = dict(defaults)
    for key, value in saved.items():
        if key not in defaults:
            continue
        default = defaults[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10_000_000
        elif isinstance(default, str):
            ok = isinstance(value, str) and len(value) <= 40
        else:  # None by default: off, or a number (a threshold, a share, a loss bound, metres)
            ok = value is None or _number(value)
        if ok:
            out[key] = value
    return out
