"""``--cluster [ADDRESS]`` and ``--workers N`` for the verbs whose work splits by tile or window (embed,
index, pack): the cluster for the run, its one line on the terminal, and the runner the work goes to."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

__all__ = ["add_cluster_args", "cluster_from_args", "runner_for"]


def add_cluster_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster (needs pip install 'terrafind[cluster]')")
    group.add_argument(
        "--cluster",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run the work on a Dask cluster: without ADDRESS a local cluster of worker processes on this "
        "computer; with ADDRESS (tcp://HOST:8786) the running scheduler there (dask scheduler + dask "
        "worker, dask-jobqueue, dask-kubernetes); the files must be at the same paths on every worker",
    )
    group.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local cluster (default: one per core)",
    )


@contextmanager
def cluster_from_args(args: argparse.Namespace) -> Iterator[Any]:
    """The :class:`terrafind.core.cluster.connect.ClusterRun` of ``--cluster`` (None without it); its line
    (where the work runs, the dashboard link) goes to stderr."""
    if getattr(args, "cluster", None) is None:
        if getattr(args, "workers", None):
            from terrafind.core.errors import InputError

            raise InputError("--workers sizes a local cluster: give --cluster too.")
        yield None
        return
    from terrafind.core.cluster.connect import open_cluster

    with open_cluster(args.cluster or None, workers=args.workers) as run:
        print(run.describe(), file=sys.stderr, flush=True)
        yield run


def runner_for(run: Any) -> Any:
    """Where independent tasks run: on the cluster of ``run``, else here, one after another."""
    if run is None:
        from terrafind.core.tasks import run_here

        return run_here
    from terrafind.core.cluster.tasks import run_tasks

    return partial(run_tasks, run)
