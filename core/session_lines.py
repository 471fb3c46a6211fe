"""What the visible rule compares, on a :class:`terrafind.core.session.Session`: the threshold line, set as a
value or as a share of the region, and the loss range (the Clay v1 ``loss``, :mod:`terrafind.core.read.v1`).

A person may say "similarity 0.8" or "the top 1 % of this region". The first is a value of one model's
scale; the second means the same on any data and any model. ``params["threshold"]`` is always the value
the visible rule compares (:mod:`terrafind.core.search.visible`); with the unit "top",
``params["threshold_share"]`` is the share the person chose, and every new search puts the line where
that share of its own region lies (:meth:`terrafind.core.search.run.SearchOutcome.value_at`).

``params["loss_min"]`` / ``params["loss_max"]`` (None: open) hide hits whose loss lies outside (a chip
without a loss is hidden while a bound is set: nothing says it is inside); the map, the gallery, sites and
exports all follow (:meth:`LineVerbs.loss_keep`). ``params["colour_by"]`` ("auto" or "loss") is how the
map colours hits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from terrafind.core.errors import InputError

__all__ = ["LineVerbs", "UNITS", "COLOUR_BY"]

UNITS = ("value", "top")
COLOUR_BY = ("auto", "loss")


class LineVerbs:
    """Mixed into Session (which has ``params``, ``outcome`` and ``catalog``)."""

    params: dict[str, Any]
    outcome: Any
    catalog: Any

    def set_loss_range(self, low: float | None, high: float | None) -> None:
        """Show only hits whose loss lies in [low, high] (None: that side open; both None: no filter)."""
        lo = None if low is None else float(low)
        hi = None if high is None else float(high)
        if lo is not None and hi is not None and lo > hi:
            raise InputError(f"The loss range {lo:g} to {hi:g} is empty: give the smaller number first.")
        if (lo is not None or hi is not None) and self.chip_loss() is None:
            raise InputError("This data has no loss column, so hits cannot be filtered by loss.")
        self.params["loss_min"], self.params["loss_max"] = lo, hi

    def set_colour_by(self, by: str) -> None:
        """How the map colours hits: "auto" (share of the region, probability after Refine) or "loss"."""
        if by not in COLOUR_BY:
            raise InputError(f"Hits are coloured by one of {', '.join(COLOUR_BY)}, not {by!r}.")
        self.params["colour_by"] = by

    def snap_m(self) -> float:
        """How near a chip a click or an imported place must be to take it (metres): the person's setting,
        else one chip width."""
        v = self.params.get("snap_m")
        if v is not None:
            return max(0.0, float(v))
        return 0.0 if self.catalog is None else self.catalog.chip_width_m()

    def chip_for(self, lon: float, lat: float) -> tuple[int, float] | None:
        """(row, metres away) of the chip a click at (lon, lat) means: under it, else the nearest within
        :meth:`snap_m`; None when there is none."""
        if self.catalog is None:
            return None
        return self.catalog.chip_near(lon, lat, self.snap_m())

    def chip_loss(self) -> np.ndarray | None:
        """The loss of every chip of the open data, or None when it has none."""
        if self.catalog is None:
            return None
        from terrafind.core.read.v1 import chip_loss

        return chip_loss(self.catalog)

    def loss_keep(self, result: Any) -> np.ndarray | None:
        """True for the hits of ``result`` inside the loss range; None when no range is set."""
        lo, hi = self.params.get("loss_min"), self.params.get("loss_max")
        loss = self.chip_loss()
        if (lo is None and hi is None) or loss is None:
            return None
        values = loss[np.asarray(result.rows, np.int64)]
        keep = np.isfinite(values)
        if lo is not None:
            keep &= values >= lo
        if hi is not None:
            keep &= values <= hi
        return keep

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
