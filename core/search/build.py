"""Building the search graph chunk by chunk: progress with the time left, checkpoints, and resuming.

Rows are added in order, ``chunk_rows`` at a time: decoded from the region's vectors, projected
(:class:`terrafind.core.search.reduce.Projection`) and handed to hnswlib's ``add_items`` (which releases the
GIL and uses every core). After each chunk the progress callback gets the rows done and a label that says
how long the rest will take, from the speed of the last few chunks (insertion slows slowly as the graph
grows, so a recent window beats the average since the start).

Every ``checkpoint_s`` seconds, and when the build is cancelled (the app closing, another region opened),
the unfinished graph is saved with its projection and row count (:func:`save_checkpoint`); the next build
of the same region and parameters loads it and carries on from that row. At 10 M chips a build takes the
better part of an hour on two cores: a restart loses at most a few minutes of it.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from terrafind.core.errors import CacheError, Cancelled
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.search import index_files as files
from terrafind.core.search.reduce import Projection, fit_projection
from terrafind.core.versions import build_of

__all__ = ["build_graph", "time_left", "graph_bytes", "check_graph_memory", "LABEL"]

LABEL = "Building the search index"
_MIN_CHECKPOINT_ROWS = 50_000  # a graph smaller than this is rebuilt faster than it is saved and loaded


def time_left(seconds: float) -> str:
    """``"about 40 s left"``, ``"about 12 min left"``, ``"about 1 h 10 min left"``."""
    s = max(0.0, float(seconds))
    if s < 60:
        return f"about {max(5, int(round(s / 5.0)) * 5)} s left"
    minutes = int(round(s / 60.0))
    if minutes < 60:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60:02d} min left"


def graph_bytes(rows: int, dims: int, m: int) -> int:
    """Memory an hnswlib graph of ``rows`` reduced vectors of ``dims`` values takes: per element the level-0
    record (vector, label, 2M links) and ~100 B of lock, label map and upper levels (measured: 492 B a chip
    for 65 values and M 16, 557 B for M 24; research notes of issue 12)."""
    return int(rows) * (4 * int(dims) + 8 + 8 * int(m) + 4 + 100)


def check_graph_memory(rows: int, dims: int, m: int) -> None:
    """InputError (one sentence) when the graph would not fit in the memory available now."""
    from terrafind.core.read.budget import check_memory

    check_memory(
        graph_bytes(rows, dims, m),
        f"The search index of {rows:,} chips",
        hint="searches stay exact (slower); a smaller region gets an index.",
    )


def _block(vectors: Any, start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) as float32; a big store's pages are handed back after the read (the build reads
    every row once: left mapped, they would add the whole file to the process's memory)."""
    block = np.asarray(vectors[start:stop], np.float32)
    if getattr(vectors, "release_pages", False):
        vectors.release(start, stop)
    return block


def _checkpoint_meta(
    fp: str, n: int, d: int, projection: Projection, count: int, params: Any
) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "format": "checkpoint-1",
        "fingerprint": fp,
        "rows": n,
        "dim": d,
        "count": count,
        "graph_dim": projection.dims,
        "params": asdict(params),
        "hnswlib": build_of("hnswlib"),
        "projection": projection.to_json(),
    }


def _resume(checkpoint: Path, fp: str, n: int, d: int, params: Any) -> tuple[Any, Projection, int] | None:
    """(graph, projection, rows done) from a checkpoint of this build, or None (a bad one is deleted)."""
    graph, sidecar = files.partial_paths(checkpoint)
    if not sidecar.exists():
        return None
    try:
        meta = files.read_sidecar(sidecar)
        expected = {
            "format": "checkpoint-1",
            "fingerprint": fp,
            "rows": n,
            "dim": d,
            "hnswlib": build_of("hnswlib"),
        }
        files.verify_graph(graph, meta, expected, None, None)
        projection = Projection.from_json(meta["projection"])
        count = int(meta["count"])
        if not 0 < count < n or projection.W.shape[0] != d:
            raise CacheError("The saved part of the search index does not fit.")
        check_graph_memory(n, projection.dims, params.M)
        index = hnswlib.Index(space=params.space, dim=projection.dims)
        index.load_index(str(graph), max_elements=n)
        if index.get_current_count() != count:
            raise CacheError("The saved part of the search index holds another number of chips.")
        return index, projection, count
    except (CacheError, KeyError, TypeError, ValueError, RuntimeError, MemoryError):
        files.remove_files(graph, sidecar)
        return None


def save_checkpoint(index: Any, checkpoint: Path, meta: dict[str, Any]) -> None:
    """Save the unfinished graph beside ``checkpoint`` (best effort: a full disk only loses the resume)."""
    graph, sidecar = files.partial_paths(checkpoint)
    try:
        files.write_graph(lambda p: index.save_index(str(p)), graph, sidecar, meta)
    except (OSError, RuntimeError):
        files.remove_files(graph, sidecar)


def build_graph(
    vectors: Any,
    params: Any,
    fingerprint: str,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    checkpoint: Path | None = None,
) -> tuple[Any, Projection]:
    """(complete hnswlib graph over every row of ``vectors``, its projection); see the module docstring."""
    import os

    n, d = int(vectors.shape[0]), int(vectors.shape[1])
    resumed = _resume(checkpoint, fingerprint, n, d, params) if checkpoint is not None else None
    if resumed is not None:
        index, projection, done = resumed
    else:
        check(cancel)
        projection = fit_projection(vectors, params.dims)
        if getattr(vectors, "release_pages", False):
            vectors.release()  # the sample's pages
        check_graph_memory(n, projection.dims, params.M)  # before hnswlib allocates it
        index = hnswlib.Index(space=params.space, dim=projection.dims)
        index.init_index(
            max_elements=n, ef_construction=params.ef_construction, M=params.M, random_seed=params.seed
        )
        done = 0
    index.set_num_threads(params.num_threads if params.num_threads > 0 else (os.cpu_count() or 1))
    step = max(1, int(params.chunk_rows))
    recent: deque[tuple[float, int]] = deque(maxlen=8)
    recent.append((time.monotonic(), done))
    saved_at, saved_rows = time.monotonic(), done
    resumed_note = f" (resumed at {done:,})" if resumed is not None else ""
    report(progress, done, n, f"{LABEL}{resumed_note}")

    def save() -> None:
        nonlocal saved_at, saved_rows
        if checkpoint is not None and done >= _MIN_CHECKPOINT_ROWS and done > saved_rows and done < n:
            save_checkpoint(index, checkpoint, _checkpoint_meta(fingerprint, n, d, projection, done, params))
            saved_rows = done
        saved_at = time.monotonic()

    try:
        for start in range(done, n, step):
            check(cancel)
            stop = min(n, start + step)
            data = projection.rows(_block(vectors, start, stop))
            # add_items releases the GIL and uses num_threads threads; the GUI stays responsive.
            index.add_items(data, np.arange(start, stop, dtype=np.int64))
            done = stop
            now = time.monotonic()
            recent.append((now, done))
            (t0, r0), (t1, r1) = recent[0], recent[-1]
            rate = (r1 - r0) / max(t1 - t0, 1e-9)
            pct = int(100 * done / n)
            label = f"{LABEL}: {pct} %, {time_left((n - done) / rate)}" if done < n and rate > 0 else LABEL
            report(progress, done, n, label)
            if checkpoint is not None and now - saved_at >= params.checkpoint_s:
                save()
    except Cancelled:
        save()  # what was built so far is not lost: the next build resumes from it
        raise
    return index, projection
