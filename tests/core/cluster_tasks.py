"""Task functions for the cluster tests (pickled by value: the workers need not import this module)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from terrafind.core.errors import Cancelled, InputError
from terrafind.core.progress import check


def ok(value, *, cancel=None):
    return value * 2


def bad_tile(name, *, cancel=None):
    raise InputError(f"{name} is not a tile Terrafind can read.")


def flaky(marker, *, cancel=None):
    """Fails with an unexpected error the first time (Dask retries it), then works."""
    if not Path(marker).exists():
        Path(marker).write_text("failed once")
        raise OSError("the disk hiccuped")
    return "second try"


def kill_worker_once(marker, *, cancel=None):
    """Kills the worker process running it the first time (a lost machine); the scheduler gives the task to
    another worker, where it works."""
    if not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)
    return int(Path(marker).read_text())


def wait_for_cancel(folder, i, *, cancel=None):
    """Runs until the run is cancelled, then says so in a file."""
    end = time.monotonic() + 60
    try:
        while time.monotonic() < end:
            check(cancel)
            time.sleep(0.05)
    except Cancelled:
        Path(folder, f"stopped-{i}").write_text("stopped")
        raise
    return "never cancelled"
