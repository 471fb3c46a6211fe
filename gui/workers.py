"""The only place that creates threads: jobs run on two small pools of persistent Python threads.

A job is a plain function called as ``fn(progress=..., cancel=...)`` (the keyword arguments every long
``core`` function takes). Its outcome comes back to the GUI thread through queued signals of a
:class:`WorkerSignals` object that lives in the GUI thread.

Latest wins (Orange's ``concurrent.py`` idea): jobs have a *kind* ("open", "index", "search", "export"...).
Starting a job of a kind that is still running cancels the old one's :class:`CancelToken` and disconnects it
first, so its late result can never reach the screen even though its thread finishes its current chunk.

Thumbnails get their own small pool (max 4) so a slow COG read never delays a search, and background jobs
(the search index build, which takes the better part of an hour at 10 M chips) a thread of their own, so
the two job threads stay free for opening, searching and exporting. ``QPixmap`` must only be made on the
GUI thread; workers hand back bytes.

Why not QThreadPool + QRunnable (the first version): PySide gives a Python ``QRunnable.run`` a fresh Python
thread state each time and drops it afterwards, together with the thread's ``threading.local`` data. pyproj
keeps its PROJ context there, and the next job that used pyproj on such a thread segfaulted in
``proj_create`` (measured three ways: opening the demo region after building it, opening a file after a
job that used pyproj, and the sites job of the learning panel). Python threads keep one thread state for
their whole life, which is what pyproj (and GDAL's per-thread state) expect.
"""

from __future__ import annotations

import itertools
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from terrafind.core.errors import Cancelled
from terrafind.core.progress import CancelToken

__all__ = ["Worker", "WorkerSignals", "Job", "TaskRunner", "freeze_heap"]


def freeze_heap() -> None:
    """Take every object alive now out of Python's full garbage collections (``gc.freeze``).

    A full collection walks every tracked object while holding the GIL, whichever thread it runs in: with
    the window built and a catalog open that is 160-240k objects and 60-80 ms, measured as the longest
    freeze of the window while opening the demo region. Objects alive at startup and after an open (modules,
    Qt wrappers, the catalog) live on anyway; refcounting still frees them when dropped, only reference
    cycles among them are never collected. gc.freeze itself is a list splice, no walk: cheap here.
    """
    import gc

    gc.freeze()


_libraries_ready = False


def _prepare_libraries() -> None:
    """Initialise pyproj once on the GUI thread, before any worker imports it (costs ~30 ms at start)."""
    global _libraries_ready
    if _libraries_ready:
        return
    _libraries_ready = True
    try:
        import pyproj

        pyproj.CRS.from_epsg(4326)
    except Exception:  # noqa: BLE001 - without pyproj the readers say so themselves
        pass


class WorkerSignals(QObject):
    """Emitted from the worker thread; delivered queued to receivers in the GUI thread."""

    progress = Signal(int, int, int, str)  # job id, done, total, label
    finished = Signal(int, object)  # job id, result
    failed = Signal(int, object, str)  # job id, exception, formatted traceback
    cancelled = Signal(int)


class Worker:
    """Runs ``fn(progress=, cancel=)`` once (``run``, in a pool thread) and reports through ``signals``."""

    def __init__(self, job_id: int, fn: Callable[..., Any], token: CancelToken, signals: WorkerSignals):
        self.job_id, self.fn, self.token, self.signals = job_id, fn, token, signals
        self._last_progress = 0.0

    def _progress(self, done: int, total: int, label: str) -> None:
        # Throttle to ~20 updates/s: a core loop may report thousands of chunks and each emit is an event.
        now = time.monotonic()
        if now - self._last_progress < 0.05 and done < total:
            return
        self._last_progress = now
        self.signals.progress.emit(self.job_id, int(done), int(total), str(label))

    def run(self) -> None:
        try:
            if self.token.cancelled:
                raise Cancelled()
            result = self.fn(progress=self._progress, cancel=self.token)
        except Cancelled:
            self.signals.cancelled.emit(self.job_id)
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI, never a silent thread
            self.signals.failed.emit(self.job_id, exc, traceback.format_exc())
        else:
            self.signals.finished.emit(self.job_id, result)


@dataclass(eq=False)
class Job:
    """A running job as the GUI sees it."""

    id: int
    kind: str
    label: str
    token: CancelToken
    on_done: Callable[[Any], None] | None
    on_error: Callable[[BaseException, str], None] | None
    on_cancel: Callable[[], None] | None
    shown: bool  # appears in the status bar with a progress bar and Cancel
    started: float = field(default_factory=time.monotonic)
    done: int = 0
    total: int = 0
    text: str = ""

    @property
    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.started) * 1000.0


class TaskRunner(QObject):
    """Starts jobs, keeps the newest of each kind, and routes their outcome to callbacks on the GUI thread."""

    job_started = Signal(object)  # Job
    job_progress = Signal(object)  # Job (done/total/text updated)
    job_ended = Signal(object, str)  # Job, "done" | "failed" | "cancelled" | "superseded"
    error = Signal(object, str)  # an exception without its own on_error, and its traceback

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 2, thumb_threads: int = 4):
        super().__init__(parent)
        _prepare_libraries()
        self.pool = ThreadPoolExecutor(max_threads, thread_name_prefix="terrafind-job")
        self.thumb_pool = ThreadPoolExecutor(thumb_threads, thread_name_prefix="terrafind-thumb")
        self.background_pool = ThreadPoolExecutor(1, thread_name_prefix="terrafind-background")
        self._futures: set[Future] = set()
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._current: dict[str, Job] = {}  # kind -> newest job of that kind
        self._closed = False  # after shutdown(): late requests (a debounce timer firing) start nothing
        # One signals object for all jobs: it lives in the GUI thread, so every emit from a worker is queued.
        self._signals = WorkerSignals(self)
        self._signals.progress.connect(self._on_progress)
        self._signals.finished.connect(self._on_finished)
        self._signals.failed.connect(self._on_failed)
        self._signals.cancelled.connect(self._on_cancelled)

    # --- starting ---------------------------------------------------------------------------------
    def start(
        self,
        kind: str,
        fn: Callable[..., Any],
        *,
        label: str = "",
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException, str], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
        shown: bool = True,
        thumbnails: bool = False,
        background: bool = False,
        latest_wins: bool = True,
    ) -> Job:
        """Run ``fn(progress=, cancel=)`` in a worker (``background``: on the thread for long background
        work). With ``latest_wins`` an older job of ``kind`` is cancelled and forgotten first. After
        :meth:`shutdown` nothing starts: the job comes back cancelled."""
        if self._closed:
            job = Job(next(self._ids), kind, label or kind, CancelToken(), None, None, None, False)
            job.token.cancel()
            return job
        if latest_wins:
            old = self._current.pop(kind, None)
            if old is not None:
                self._drop(old, "superseded")
        job = Job(next(self._ids), kind, label or kind, CancelToken(), on_done, on_error, on_cancel, shown)
        self._jobs[job.id] = job
        if latest_wins:
            self._current[kind] = job
        if shown:
            self.job_started.emit(job)
        worker = Worker(job.id, fn, job.token, self._signals)
        pool = self.thumb_pool if thumbnails else self.background_pool if background else self.pool
        future = pool.submit(worker.run)
        self._futures.add(future)
        future.add_done_callback(self._futures.discard)
        return job

    # --- control ----------------------------------------------------------------------------------
    def cancel(self, kind: str | None = None) -> None:
        """Cancel the jobs of ``kind`` (all jobs when None). Their callbacks are not called."""
        for job in list(self._jobs.values()):
            if kind is None or job.kind == kind:
                if job.on_cancel is not None:
                    job.on_cancel()
                self._drop(job, "cancelled")

    def running(self, kind: str | None = None) -> list[Job]:
        return [j for j in self._jobs.values() if kind is None or j.kind == kind]

    def wait_idle(self, timeout_ms: int = 5000) -> bool:
        """Wait until no job is running in a thread (their results may still be queued for the GUI)."""
        deadline = time.monotonic() + timeout_ms / 1000.0
        for future in list(self._futures):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                future.exception(timeout=left)
            except Exception:  # noqa: BLE001 - a timeout or a cancelled future: checked below
                pass
        return all(f.done() for f in list(self._futures))

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Cancel everything and wait for the threads (on exit: no thread may outlive the app)."""
        self._closed = True
        self.cancel()
        for future in list(self._futures):
            future.cancel()  # not started yet: never starts
        self.wait_idle(timeout_ms)
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.thumb_pool.shutdown(wait=False, cancel_futures=True)
        self.background_pool.shutdown(wait=False, cancel_futures=True)

    def _drop(self, job: Job, how: str) -> None:
        job.token.cancel()
        self._jobs.pop(job.id, None)  # a later signal of this id finds nothing and is ignored
        if self._current.get(job.kind) is job:
            del self._current[job.kind]
        if job.shown:
            self.job_ended.emit(job, how)

    def _take(self, job_id: int) -> Job | None:
        job = self._jobs.pop(job_id, None)
        if job is not None and self._current.get(job.kind) is job:
            del self._current[job.kind]
        return job

    # --- outcomes (GUI thread) ----------------------------------------------------------------------
    @Slot(int, int, int, str)
    def _on_progress(self, job_id: int, done: int, total: int, text: str) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        job.done, job.total, job.text = done, total, text
        if job.shown:
            self.job_progress.emit(job)

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: object) -> None:
        job = self._take(job_id)
        if job is None:
            return
        if job.shown:
            self.job_ended.emit(job, "done")
        if job.on_done is not None:
            try:
                job.on_done(result)
            except Exception as exc:  # noqa: BLE001 - a failing callback is an error to show, not a crash
                self.error.emit(exc, traceback.format_exc())

    @Slot(int, object, str)
    def _on_failed(self, job_id: int, exc: object, tb: str) -> None:
        job = self._take(job_id)
        if job is None:
            return
        if job.shown:
            self.job_ended.emit(job, "failed")
        if job.on_error is not None:
            job.on_error(exc, tb)  # type: ignore[arg-type]
        else:
            self.error.emit(exc, tb)

    @Slot(int)
    def _on_cancelled(self, job_id: int) -> None:
        job = self._take(job_id)
        if job is None:
            return
        if job.shown:
            self.job_ended.emit(job, "cancelled")
        if job.on_cancel is not None:
            job.on_cancel()
