"""What a :class:`terrafind.core.session.Session` says about all of its hits: the random-sample check of
the visible hits (see :mod:`terrafind.core.search.check` for why it is done this way and what the figures
mean), and the scores of every chip as a raster (:mod:`terrafind.core.export.raster`).

A check belongs to one search outcome: it holds that search's hits in a random order; the sample is the
first ``size`` of them that are visible now. The person's ordinary Yes / No labels on sampled hits are
the marks. A new search drops the check (its hits, and so the sample, are new).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, ProgressFn
from terrafind.core.search import check as ck

__all__ = ["CheckVerbs", "RasterVerbs", "SampleCheck"]


@dataclass(frozen=True)
class SampleCheck:
    """A random order of one outcome's hits and how many of the visible ones to check."""

    outcome: Any  # the SearchOutcome it was drawn from (by identity)
    order: np.ndarray  # (n,) int64 catalog rows
    size: int
    seed: int


class CheckVerbs:
    """Mixed into Session (which has ``outcome``, ``labels`` and ``visible()``)."""

    outcome: Any
    labels: dict[int, str]
    sample_check: SampleCheck | None

    visible: Callable[[], Any]  # the Session's (an annotation only)

    def start_check(self, size: int | None = None, seed: int | None = None) -> SampleCheck:
        """Draw a random sample of the visible hits to check (``size`` default: 5 %, 20 to 200)."""
        visible = self.visible()
        if self.outcome is None or visible is None or not len(visible):
            raise InputError("Search first: there are no hits to check.")
        n = ck.default_size(len(visible)) if size is None else int(size)
        if n < 1:
            raise InputError("Check at least one hit.")
        if seed is None:  # a new sample each time a person asks for one, yet repeatable from the check
            seed = int(np.random.default_rng().integers(0, 2**31 - 1))
        order = ck.sample_order(np.asarray(self.outcome.result.rows), seed)
        self.sample_check = SampleCheck(self.outcome, order, n, int(seed))
        return self.sample_check

    def active_check(self) -> SampleCheck | None:
        """The check of the current search, or None (none started, or another search since)."""
        c = self.sample_check
        return c if c is not None and c.outcome is self.outcome else None

    def check_rows(self) -> np.ndarray:
        """The rows of the sample now: the first ``size`` visible hits in the check's random order."""
        c, visible = self.active_check(), self.visible()
        if c is None or visible is None:
            return np.zeros(0, np.int64)
        return ck.sample_rows(c.order, np.asarray(visible.rows), c.size)

    def check_estimate(self) -> ck.PrecisionEstimate | None:
        """What the marks on the sample say about the visible hits, or None without a check."""
        visible = self.visible()
        if self.active_check() is None or visible is None:
            return None
        return ck.estimate(self.check_rows(), len(visible), self.labels)


class RasterVerbs:
    """Mixed into Session (which has ``catalog``, ``outcome``, ``check_precise``, ``protected_paths`` and
    ``_provenance``)."""

    catalog: Any

    # the Session's own verbs (annotations only: nothing here shadows them)
    check_precise: Callable[..., None]
    protected_paths: Callable[[], Any]
    _provenance: Callable[[], dict[str, Any]]

    def export_raster(
        self, path: str | Path, *, progress: ProgressFn | None = None, cancel: CancelToken | None = None
    ) -> tuple[Path, str]:
        """Write every chip's value in the last search (similarity, probability, loss or novelty) as a
        Cloud-Optimized GeoTIFF, one pixel per chip (core.export.raster); return (path, what it holds)."""
        from terrafind.core.export.raster import chip_grid, region_values, write_cog
        from terrafind.core.outputs import check_output_file

        self.check_precise(None, "write a raster of every chip")  # as precise as the hits themselves
        check_output_file(path, "raster", self.protected_paths())
        values, what = region_values(self, progress=progress, cancel=cancel)
        grid = chip_grid(self.catalog)
        info = {"kind": "scores raster", "values": what, "crs": grid.crs, "grid_misfit_pixels": grid.misfit}
        written, shared = write_cog(values, grid, path, what=what, provenance=self._provenance() | info)
        return written, what
