"""The threshold line of a :class:`terrafind.core.session.Session`, set as a value or as a share of the region.

A person may say "similarity 0.8" or "the top 1 % of this region". The first is a value of one model's
scale; the second means the same on any data and any model. ``params["threshold"]`` is always the value
the visible rule compares (:mod:`terrafind.core.search.visible`); with the unit "top",
``params["threshold_share"]`` is the share the person chose, and every new search puts the line where
that share of its own region lies (:meth:`terrafind.core.search.run.SearchOutcome.value_at`).
"""

from __future__ import annotations

from typing import Any

from terrafind.core.errors import InputError

__all__ = ["LineVerbs", "UNITS"]

UNITS = ("value", "top")


class LineVerbs:
    """Mixed into Session (which has ``params`` and ``outcome``)."""

    params: dict[str, Any]
    outcome: Any

    def set_threshold(self, value: float | None) -> None:
        """Put the line at ``value`` (similarity, or probability after Refine); None: no line. With the
        unit "top", the share of the region above it is remembered for the next searches."""
        p = self.params
        p["threshold"] = None if value is None else float(value)
        share = self.outcome.share_of(p["threshold"]) if self.outcome is not None else None
        p["threshold_share"] = share if p.get("threshold_unit") == "top" else None

    def set_threshold_share(self, share: float | None) -> None:
        """Put the line where ``share`` (0..1) of the region lies above it ("top 1 %" is 0.01); None: no
        line. Kept as a share: every later search puts its line at the same share of its own region."""
        p = self.params
        if share is None:
            p["threshold"] = p["threshold_share"] = None
            return
        if not 0.0 < float(share) <= 1.0:
            raise InputError("Give the share of the region as a percentage between 0 and 100.")
        p["threshold_unit"] = "top"
        p["threshold_share"] = float(share)
        p["threshold"] = self.outcome.value_at(float(share)) if self.outcome is not None else None

    def set_threshold_unit(self, unit: str) -> None:
        """How the person sets the line: "value" (similarity / probability) or "top" (share of region)."""
        if unit not in UNITS:
            raise InputError(f"A threshold is set as one of {', '.join(UNITS)}, not {unit!r}.")
        p = self.params
        p["threshold_unit"] = unit
        t = p.get("threshold")
        share = self.outcome.share_of(t) if self.outcome is not None and t is not None else None
        p["threshold_share"] = share if unit == "top" else None
