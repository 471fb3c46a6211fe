"""Set-up of the worker processes of a local cluster (a Dask preload: ``dask_setup`` runs in each new worker).

Ctrl-C in a terminal reaches the whole foreground process group, the workers of a local cluster too. The
workers ignore it: the client process cancels the run and then stops its cluster, which ends the workers
cleanly; without this, every worker would print a KeyboardInterrupt traceback under the one-line
"cancelled" of terrafind-cli.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["dask_setup"]


def dask_setup(worker: Any) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
