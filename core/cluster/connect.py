"""A Dask cluster for one run: started here (a ``LocalCluster`` of worker processes) or reached at an address.

Processes, not threads: most of the embedder's and the index builder's Python code holds the GIL, so one
single-threaded process per core is what uses the cores. A local cluster listens on 127.0.0.1 only (and its
dashboard too, on a free port): nothing on the network can reach it. An address (``tcp://host:8786``) is a
scheduler someone started (``dask scheduler`` and ``dask worker`` on each machine, or a cluster manager such
as dask-jobqueue or dask-kubernetes, which print that address); Terrafind must be installed on every worker
and the files must be at the same paths there (a shared folder): see README, "On a cluster".
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken

__all__ = ["ClusterRun", "open_cluster", "require_dask", "CONNECT_TIMEOUT_S"]

CONNECT_TIMEOUT_S = 20  # a scheduler that does not answer within this is reported, not waited for
# Workers that must be there before work starts at an address (a cluster manager may still be starting them).
WORKER_WAIT_S = 60


def require_dask() -> None:
    """Raise InputError (one sentence) when Dask's distributed scheduler is not installed."""
    if importlib.util.find_spec("distributed") is None:
        raise InputError(
            "--cluster needs Dask's distributed scheduler, which is not installed: "
            "pip install 'terrafind[cluster]'."
        )


@dataclass
class ClusterRun:
    """A connected client, what it is connected to, and its dashboard link (None when there is none)."""

    client: Any  # distributed.Client
    address: str
    local: bool
    dashboard: str | None
    # Set by Ctrl-C while the run is on (see open_cluster): the waiting loops of terrafind.core.cluster.tasks
    # check it and stop cleanly, however busy the client's own threads are.
    interrupted: CancelToken = field(default_factory=CancelToken)

    @property
    def workers(self) -> int:
        """Workers connected now."""
        return len(self.client.scheduler_info().get("workers", {}))

    def describe(self) -> str:
        """One line for the terminal: where the work runs and where to watch it."""
        where = "a local cluster" if self.local else f"the cluster at {self.address}"
        n = self.workers
        line = f"Working on {where} of {n} worker{'s' if n != 1 else ''}"
        return line + (f"; dashboard: {self.dashboard}" if self.dashboard else "") + "."


def _dashboard(client: Any, local: bool) -> str | None:
    """The dashboard link when the scheduler serves one (it needs bokeh where the scheduler runs; here we
    can only check for a local cluster)."""
    services = client.scheduler_info().get("services", {})
    if "dashboard" not in services:
        return None
    if local and importlib.util.find_spec("bokeh") is None:
        return None
    link = client.dashboard_link
    return str(link) if link else None


@contextmanager
def open_cluster(
    address: str | None = None, *, workers: int | None = None, timeout_s: float = CONNECT_TIMEOUT_S
) -> Iterator[ClusterRun]:
    """A client on a new local cluster (``address`` None: ``workers`` processes, default one per core) or on
    the scheduler at ``address``; everything started here is stopped on the way out (also on Ctrl-C)."""
    require_dask()
    from distributed import Client, LocalCluster

    # Dask logs every lost connection at WARNING; a user's terminal gets our sentences instead.
    for name in ("distributed", "distributed.nanny", "distributed.worker", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)
    cluster = client = None
    try:
        if address is None:
            n = max(1, int(workers or os.cpu_count() or 1))
            dash = "127.0.0.1:0" if importlib.util.find_spec("bokeh") is not None else None
            cluster = LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=dash,
                silence_logs=logging.CRITICAL,  # a failed tile is reported by us, by name
                preload=["terrafind.core.cluster.worker_setup"],  # Ctrl-C is the client's to handle
            )
            client = Client(cluster, timeout=timeout_s)
        else:
            try:
                client = Client(_address(address), timeout=timeout_s)
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"No Dask scheduler answered at {address} within {timeout_s:.0f} s; start one "
                    "(dask scheduler) or check the address.",
                    detail=str(exc),
                ) from None
            if workers:
                client.wait_for_workers(int(workers), timeout=WORKER_WAIT_S)
        run = ClusterRun(
            client, str(client.scheduler.address), address is None, _dashboard(client, address is None)
        )
        with _ctrl_c_sets(run.interrupted):
            yield run
    finally:
        _close(client, cluster)


@contextmanager
def _ctrl_c_sets(token: CancelToken) -> Iterator[None]:
    """While the run is on, Ctrl-C also sets ``token`` before raising KeyboardInterrupt as usual: should the
    KeyboardInterrupt land in one of Dask's callbacks or finalizers (where Python swallows it), the waiting
    loops of terrafind.core.cluster.tasks still see the token and stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_sigint(signum: int, frame: Any) -> None:
        token.cancel()
        signal.default_int_handler(signum, frame)

    hook = sys.unraisablehook

    def swallowed(unraisable: Any) -> None:
        # A KeyboardInterrupt that landed in a finalizer (a Dask future's __del__, seen in CI): Python would
        # print it as "Exception ignored ... Traceback" under "cancelled."; the token carries it instead.
        if isinstance(unraisable.exc_value, KeyboardInterrupt) and token.cancelled:
            return
        hook(unraisable)

    previous = signal.signal(signal.SIGINT, on_sigint)
    sys.unraisablehook = swallowed
    try:
        yield
    finally:
        sys.unraisablehook = hook
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


def _close(client: Any, cluster: Any) -> None:
    """Stop what this run started, whatever stopped the run: with Ctrl-C held off meanwhile (a second one
    would leave a client half-closed, and Python would complain about it at exit)."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        for closing in (client, cluster):
            if closing is not None:
                try:
                    closing.close()
                except Exception:  # noqa: BLE001 - a scheduler gone already: nothing left to stop
                    pass
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def _address(text: str) -> str:
    """``host:port`` or a full address (``tcp://``, ``tls://``...) as Dask takes it."""
    text = text.strip()
    if not text:
        raise InputError("--cluster was given an empty address; give tcp://HOST:PORT or nothing.")
    return text if "://" in text else f"tcp://{text}"
