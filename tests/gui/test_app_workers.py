"""TaskRunner (latest wins, cancel, errors), the status bar's Cancel, and where errors are shown."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QTimer

from terrafind.core.errors import InputError
from terrafind.core.progress import check
from terrafind.gui import errors
from terrafind.gui.panels.status import StatusBar
from terrafind.gui.workers import TaskRunner


def _slow(seconds: float, value, started: threading.Event | None = None):
    def job(progress, cancel):
        if started is not None:
            started.set()
        end = time.monotonic() + seconds
        i = 0
        while time.monotonic() < end:
            check(cancel)
            progress(i, 100, "working")
            i += 1
            time.sleep(0.01)
        return value

    return job


@pytest.fixture
def runner(qtbot):
    r = TaskRunner()
    yield r
    r.shutdown()


def test_latest_search_wins(qtbot, runner):
    got = []
    started = threading.Event()
    runner.start("search", _slow(1.0, "old", started), on_done=got.append)
    assert started.wait(5)
    runner.start("search", _slow(0.05, "new"), on_done=got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    assert runner.wait_idle(3000)
    qtbot.wait(50)
    assert got == ["new"]  # the old job was cancelled and its result never arrived


def test_failure_goes_to_on_error_with_traceback(qtbot, runner):
    seen = []

    def bad(progress, cancel):
        raise InputError("This file has no embedding column; found: id, geometry")

    runner.start("open", bad, on_error=lambda exc, tb: seen.append((exc, tb)))
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    exc, tb = seen[0]
    assert isinstance(exc, InputError) and "Traceback" in tb and "bad" in tb


def test_gui_thread_keeps_answering_and_cancel_stops_the_job(qtbot, runner):
    bar = StatusBar(runner)
    qtbot.addWidget(bar)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)
    outcome = []
    started = threading.Event()
    runner.start(
        "index",
        _slow(30.0, "never", started),
        label="Building the search index",
        on_done=outcome.append,
        on_cancel=lambda: outcome.append("cancelled"),
    )
    assert started.wait(5)
    qtbot.waitUntil(lambda: not bar.cancel_button.isHidden() and bar.progress.maximum() == 100, timeout=5000)
    qtbot.wait(400)
    timer.stop()
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) >= 10 and max(gaps) < 0.1  # the event loop was never blocked for 100 ms
    t0 = time.monotonic()
    bar.cancel_button.click()
    assert outcome == ["cancelled"]
    assert runner.running() == []
    assert runner.wait_idle(2000)
    assert time.monotonic() - t0 < 1.0  # the worker stopped at its next chunk, not after 30 s
    assert bar.cancel_button.isHidden()


def test_expected_error_in_message_bar_unexpected_in_dialog(qtbot):
    bar = errors.MessageBar()
    qtbot.addWidget(bar)
    reporter = errors.ErrorReporter(bar)
    shown = []
    errors.set_dialog_hook(lambda kind, title, text, detail: shown.append((kind, text, detail)) or True)
    try:
        reporter.report(InputError("The file a.parquet is not GeoParquet: no geometry column."))
        assert bar.text() == "The file a.parquet is not GeoParquet: no geometry column."
        assert shown == []
        try:
            raise ZeroDivisionError("boom")
        except ZeroDivisionError as exc:
            reporter.report(exc)
        assert shown[0][0] == "critical" and "ZeroDivisionError" in shown[0][1]
        assert "Traceback" in shown[0][2]
        # an exception escaping a plain thread reaches the dialog through the installed hook
        restore = errors.install_hooks(reporter)
        try:
            t = threading.Thread(target=lambda: 1 / 0)
            t.start()
            t.join()
            qtbot.waitUntil(lambda: len(shown) == 2, timeout=3000)
        finally:
            restore()
    finally:
        errors.set_dialog_hook(None)


def test_nothing_starts_after_shutdown(qtbot):
    # A debounce timer of a closed window may still fire: it must start nothing and raise nothing.
    r = TaskRunner()
    r.shutdown()
    ran = []
    job = r.start("thumbnails", lambda progress, cancel: ran.append(1), thumbnails=True, on_done=ran.append)
    qtbot.wait(100)
    assert job.token.cancelled and ran == [] and r.running() == []
