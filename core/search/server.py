"""The app's search graph in a process of its own: loading and saving it never freezes the window.

hnswlib's ``load_index`` and ``save_index`` hold Python's global lock for as long as they run (their
bindings release it only for ``add_items`` and ``knn_query``): 0.8 s at 1 M chips, about 10 s at 10 M,
during which the window cannot run a line of Python, so it freezes. The app therefore keeps a big
region's graph in a child process (:func:`start_index_process`): the child opens the region store by
its folder, loads the saved graph or builds it (progress, checkpoints and resuming as in
:mod:`terrafind.core.search.build`), and then answers graph queries over a pipe. The app's
:class:`RemoteIndex` projects each query, asks the child for candidates (~0.1 ms more than in-process) and
ranks them exactly from its own memory-mapped vectors, like :class:`terrafind.core.search.index.VectorIndex`.

The child is started with multiprocessing's "spawn" (a fresh interpreter: no threads or locks inherited
from the window), as a daemon: it ends with the app; it also ends when its pipe closes. The CLI and the
tests load graphs in-process (no window to keep alive).
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from terrafind.core.errors import CacheError, Cancelled, TerrafindError
from terrafind.core.progress import CancelToken, ProgressFn, report
from terrafind.core.search.index import IndexParams, VectorIndex
from terrafind.core.search.reduce import Projection

__all__ = ["PROCESS_MIN_ROWS", "RemoteIndex", "start_index_process"]

# Above this many chips the app keeps the graph in a process of its own (below, a load takes < 0.1 s).
PROCESS_MIN_ROWS = 100_000
# How long a cancelled child may take to save its checkpoint and say so before it is ended (the app's
# exit waits for the job thread that waits here).
STOP_GRACE_S = 60.0


def _yield_to_the_window() -> None:
    """Run at a lower priority: a graph build takes both cores for minutes, and the person's searches and
    the window (normal priority) should come first; the build only waits while they work."""
    import os
    import sys

    try:
        if sys.platform == "win32":
            import ctypes

            below_normal = 0x4000  # BELOW_NORMAL_PRIORITY_CLASS
            ctypes.windll.kernel32.SetPriorityClass(ctypes.windll.kernel32.GetCurrentProcess(), below_normal)
        else:
            os.nice(10)
    except (OSError, AttributeError):  # not allowed here: the build runs at the usual priority
        pass


def _serve(
    commands: Any, replies: Any, folder: str, params: dict[str, Any], build: bool, centre: Any = None
) -> None:
    """The child: load or build the graph of the store in ``folder``, then answer queries until closed.
    ``centre`` is the mean the app's catalog is centred on (core.session_space): the graph is of that space."""
    from terrafind.core.catalog import Catalog
    from terrafind.core.search.index import load_cached_index, load_or_build_index
    from terrafind.core.store.open import load_store

    token = CancelToken()
    if build:
        _yield_to_the_window()

    def progress(done: int, total: int, label: str) -> None:
        replies.send(("progress", int(done), int(total), str(label)))
        while commands.poll():
            if commands.recv()[0] == "cancel":
                token.cancel()

    try:
        catalog = Catalog.from_store(load_store(Path(folder)))
        if centre is not None:
            catalog = catalog.centred(np.asarray(centre, np.float32))
        p = IndexParams(**params)
        vi: VectorIndex | None
        if build:
            vi = load_or_build_index(catalog, params=p, progress=progress, cancel=token)
        else:
            vi = load_cached_index(catalog, params=p, progress=progress, cancel=token)
        if vi is None or vi.projection is None:
            replies.send(("none",))
            return
        replies.send(("ready", vi.fingerprint, vi.from_cache, vi.projection.to_json()))
        while True:
            cmd = commands.recv()
            if cmd[0] == "knn":
                replies.send(("labels", vi.graph_knn(cmd[1], int(cmd[2]))))
            elif cmd[0] == "close":
                return
    except Cancelled:
        replies.send(("cancelled",))
    except TerrafindError as exc:
        replies.send(("error", exc.message, exc.detail or ""))
    except (EOFError, OSError, BrokenPipeError):
        return  # the app went away
    except BaseException as exc:  # noqa: BLE001 - reported to the app, which shows it
        try:
            replies.send(
                (
                    "error",
                    f"The search index could not be made ({type(exc).__name__}).",
                    traceback.format_exc(),
                )
            )
        except (OSError, BrokenPipeError):
            pass


class RemoteIndex(VectorIndex):
    """A :class:`VectorIndex` whose graph lives in the child process (see the module docstring)."""

    def __init__(self, process: Any, commands: Any, replies: Any, **kwargs: Any) -> None:
        super().__init__(None, **kwargs)
        self._process, self._commands, self._replies = process, commands, replies
        self._talk = threading.Lock()

    def candidates(self, queries: np.ndarray, fetch: int) -> np.ndarray:
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        fetch = min(int(fetch), self.rows)
        if fetch <= 0 or self.projection is None or q.shape[0] == 0:
            return np.zeros((q.shape[0], 0), np.int64)
        with self._talk:
            try:
                self._commands.send(("knn", self.projection.queries(q), fetch))
                kind, labels = self._replies.recv()
            except (EOFError, OSError, BrokenPipeError):
                kind, labels = "gone", None
        if kind != "labels":  # the child is gone (killed, out of memory): exact candidates instead
            from terrafind.core.search.exact import exact_topk

            rows, _ = exact_topk(self.vectors, q, fetch)
            return rows
        return np.asarray(labels, np.int64)

    def stored_vectors(self, rows: np.ndarray) -> np.ndarray:
        raise CacheError("The graph of this index is in another process.")

    def save(self, path: Path) -> None:
        raise CacheError("The graph of this index is saved by its own process.")

    @property
    def alive(self) -> bool:
        return bool(self._process.is_alive())

    def close(self) -> None:
        """Let the child go (its graph is saved already)."""
        with self._talk:
            try:
                self._commands.send(("close",))
            except (OSError, BrokenPipeError):
                pass
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.terminate()


def start_index_process(
    catalog: Any,
    *,
    params: IndexParams | None = None,
    build: bool = True,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> RemoteIndex | None:
    """Load (or, with ``build``, build) the graph of a store-backed ``catalog`` in a child process and return
    the index that queries it; None when there is no saved graph and ``build`` is False. Progress comes from
    the child; ``cancel`` stops it (a build saves a checkpoint first). One-sentence errors come back as
    they were raised there."""
    import multiprocessing

    params = params or IndexParams.for_rows(len(catalog))
    centre = None if catalog.centre is None else [float(x) for x in catalog.centre]  # the app's space
    ctx = multiprocessing.get_context("spawn")
    commands_out, commands_in = ctx.Pipe(duplex=False)  # (receiving end, sending end)
    replies_out, replies_in = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_serve,
        args=(commands_out, replies_in, str(catalog.store.folder), asdict(params), build, centre),
        name="terrafind-index",
        daemon=True,
    )
    proc.start()
    commands_out.close()
    replies_in.close()
    asked_to_stop = 0.0  # when "cancel" was sent (monotonic seconds), 0 before
    try:
        while True:
            if cancel is not None and cancel.cancelled and not asked_to_stop:
                commands_in.send(("cancel",))
                asked_to_stop = time.monotonic()
            if not replies_out.poll(0.1):
                if not proc.is_alive():
                    raise CacheError("The search index process stopped unexpectedly; searches stay exact.")
                if asked_to_stop and time.monotonic() - asked_to_stop > STOP_GRACE_S:
                    proc.terminate()  # it did not stop (its checkpoint is written atomically: never half)
                    raise Cancelled()
                continue
            msg = replies_out.recv()
            if msg[0] == "progress":
                report(progress, msg[1], msg[2], msg[3])
            elif msg[0] == "ready":
                _, fingerprint, from_cache, projection = msg
                return RemoteIndex(
                    proc,
                    commands_in,
                    replies_out,
                    rows=len(catalog),
                    dim=catalog.dim,
                    params=params,
                    projection=Projection.from_json(projection),
                    vectors=catalog.vectors,
                    fingerprint=fingerprint,
                    from_cache=from_cache,
                )
            elif msg[0] == "none":
                return None
            elif msg[0] == "cancelled":
                raise Cancelled()
            elif msg[0] == "error":
                raise TerrafindError(msg[1], detail=msg[2] or None)
    except BaseException:
        if proc.is_alive() and not asked_to_stop:
            proc.terminate()
        proc.join(timeout=30)  # a cancelled build saves its checkpoint first
        raise
