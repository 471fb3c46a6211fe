"""Progress reporting and cancellation for long jobs, without Qt.

Every long ``core`` function takes the keyword arguments ``progress`` and ``cancel``::

    def build(..., *, progress: ProgressFn | None = None, cancel: CancelToken | None = None): ...

and calls ``report(progress, done, total, label)`` and ``check(cancel)`` once per chunk. The GUI turns the
callback into a queued Qt signal; the CLI prints a bar; tests record the calls.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from terrafind.core.errors import Cancelled

__all__ = ["ProgressFn", "CancelToken", "report", "check", "TextProgress"]

ProgressFn = Callable[[int, int, str], None]


class CancelToken:
    """A flag another thread sets to ask a job to stop at its next chunk."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


def report(progress: ProgressFn | None, done: int, total: int, label: str) -> None:
    """Call ``progress`` when there is one."""
    if progress is not None:
        progress(int(done), int(total), label)


def check(cancel: CancelToken | None) -> None:
    """Raise :class:`Cancelled` when ``cancel`` was set."""
    if cancel is not None:
        cancel.raise_if_cancelled()


class TextProgress:
    """A progress callback that draws a one-line bar on a terminal (stderr), for the CLI."""

    def __init__(self, stream=None, width: int = 30, min_interval: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.min_interval = min_interval
        self._last = 0.0
        self._label = ""

    def __call__(self, done: int, total: int, label: str) -> None:
        now = time.monotonic()
        final = total > 0 and done >= total
        if not final and now - self._last < self.min_interval and label == self._label:
            return
        self._last, self._label = now, label
        frac = min(1.0, done / total) if total > 0 else 0.0
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{label[:40]:<40} [{bar}] {frac * 100:5.1f}%")
        if final:
            self.stream.write("\n")
        self.stream.flush()
