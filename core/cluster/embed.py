"""The built-in embedder's chip rows computed on a Dask cluster, window by window, written here in order.

Planning stays in this process: the filters are chosen once (or taken from ``--like``) exactly as on one
machine, then each image is cut into windows of chip rows (:func:`terrafind.core.embed.windows.windows_of`)
and every window is a task (:func:`terrafind.core.embed.windows.embed_window`). Results come back in order
with a bounded number of windows running ahead, and :func:`terrafind.core.embed.embedder.write_embeddings`
writes them as it would its own: the file is the same bytes as a run on one machine (tests prove it).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from terrafind.core.cluster.tasks import map_ordered
from terrafind.core.embed.rcf import RCFModel
from terrafind.core.embed.windows import ChipRow, ImageJob, embed_window, windows_of
from terrafind.core.progress import CancelToken

__all__ = ["cluster_chips", "rows_per_window"]

MAX_WINDOW_ROWS = 64  # chip rows in one task at most (~7 MB of 256-d features for a 10980 px wide tile)


def rows_per_window(chip_rows: int, workers: int) -> int:
    """Chip rows per task: about three windows per worker per image (so that the workers stay busy while
    results are written in order), at most :data:`MAX_WINDOW_ROWS`."""
    return max(1, min(MAX_WINDOW_ROWS, math.ceil(chip_rows / (3 * max(1, workers)))))


def cluster_chips(run: Any, *, window_rows: int | None = None) -> Any:
    """A ``chips`` source for :func:`terrafind.core.embed.embedder.write_embeddings` that computes on the
    cluster of ``run`` (:class:`terrafind.core.cluster.connect.ClusterRun`)."""

    def chips(
        jobs: list[ImageJob], model: RCFModel, params: Any, cancel: CancelToken | None
    ) -> Iterator[ChipRow]:
        workers = max(1, run.workers)
        shared = run.client.scatter(model, broadcast=True)  # once, not once per window
        items = [
            (job, shared, params, first, stop)
            for job in jobs
            for first, stop in windows_of(
                job, params, window_rows or rows_per_window(job.chip_rows(params), workers)
            )
        ]
        for window in map_ordered(run, embed_window, items, ahead=4 * workers, cancel=cancel):
            yield from window

    return chips
