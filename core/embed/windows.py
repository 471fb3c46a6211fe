"""The built-in embedder's work cut into pieces: images as picklable jobs, chip rows as windows.

A :class:`ImageJob` says everything a process needs to embed part of an image without the open dataset of
the process that planned it (a path, the bands, how validity is known, the size). :func:`embed_window`
computes the chip rows ``[first, stop)`` of one image and keeps the chips with enough valid pixels: what a
cluster task runs (:mod:`terrafind.core.cluster.embed`). :func:`local_chips` is the same stream computed in
this process. Both give bit-identical numbers to a whole-image run (see
:func:`terrafind.core.embed.raster.iter_chip_rows`), so the file written from them is the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from terrafind.core.embed.raster import iter_chip_rows, open_image, read_padded
from terrafind.core.embed.rcf import RCFModel
from terrafind.core.progress import CancelToken

__all__ = ["ImageJob", "ChipRow", "embed_window", "local_chips", "windows_of"]

# (image number, chip row, kept chip columns, their features (len(keep), 2K) float32)
ChipRow = tuple[int, int, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class ImageJob:
    """One image of an embedding run, as any process can pick it up (no open dataset in it)."""

    number: int  # its place among the run's images
    path: str
    bands: tuple[int, ...]
    kind: str  # terrafind.core.embed.raster.mask_kind
    height: int
    width: int
    rows_per_read: int  # block rows per read: bounds a read's memory

    def chip_rows(self, params: Any) -> int:
        return params.grid().chip_counts(self.height, self.width)[0]


def _kept(
    job: ImageJob, model: RCFModel, params: Any, read: Any, pool: Executor | None,
    cancel: CancelToken | None, chip_rows: tuple[int, int] | None,
) -> Iterator[ChipRow]:  # fmt: skip
    rows = iter_chip_rows(read, job.height, job.width, model, params.grid(), rows_per_read=job.rows_per_read,
                          pool=pool, cancel=cancel, chip_rows=chip_rows)  # fmt: skip
    for r, feats, share in rows:
        keep = np.flatnonzero(share >= params.min_valid)
        yield job.number, r, keep, np.ascontiguousarray(feats[keep])


def local_chips(
    sources: Sequence[Any],
    jobs: Sequence[ImageJob],
    model: RCFModel,
    params: Any,
    *,
    pool: Executor | None = None,
    cancel: CancelToken | None = None,
) -> Iterator[ChipRow]:
    """Every chip row of every image in order, computed here (``sources`` are the jobs' open datasets)."""
    for src, job in zip(sources, jobs, strict=True):

        def read(r0: int, r1: int, c0: int, c1: int, src: Any = src, job: ImageJob = job) -> Any:
            return read_padded(src, list(job.bands), r0, r1, c0, c1, job.kind)

        yield from _kept(job, model, params, read, pool, cancel, None)


def embed_window(
    job: ImageJob, model: RCFModel, params: Any, first: int, stop: int, cancel: CancelToken | None = None
) -> list[ChipRow]:
    """Chip rows ``[first, stop)`` of ``job``'s image with their kept chips (one cluster task).

    Opens the image itself and uses one BLAS thread, as the single-process path does: the numbers are then
    the same bits (a cluster of machines with other CPUs may differ in the last bits: docs/performance.md)."""
    src = open_image(job.path)
    try:
        with threadpool_limits(limits=1, user_api="blas"):

            def read(r0: int, r1: int, c0: int, c1: int) -> Any:
                return read_padded(src, list(job.bands), r0, r1, c0, c1, job.kind)

            return list(_kept(job, model, params, read, None, cancel, (first, stop)))
    finally:
        src.close()


def windows_of(job: ImageJob, params: Any, rows_per_window: int) -> list[tuple[int, int]]:
    """The chip-row windows ``[(first, stop), ...]`` an image is cut into, in order."""
    n = job.chip_rows(params)
    step = max(1, int(rows_per_window))
    return [(r, min(n, r + step)) for r in range(0, n, step)]
