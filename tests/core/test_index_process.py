"""The app's search graph in a process of its own: built or loaded there, queried over a pipe, ranked here."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from synth import write_earth_index

from terrafind.core.errors import Cancelled
from terrafind.core.progress import CancelToken
from terrafind.core.read.reader import open_catalog
from terrafind.core.search.index import IndexParams, load_cached_index
from terrafind.core.search.server import start_index_process

PARAMS = IndexParams(dims=16, M=12, ef_construction=60, chunk_rows=500)


@pytest.fixture(params=["centred", "plain"])
def catalog(tmp_path, request):
    truth = write_earth_index(tmp_path / "ei.parquet", n=3000, d=32)
    cat = open_catalog(truth["path"])
    return cat.centred() if request.param == "centred" else cat  # the child builds in the app's space


def test_a_graph_built_in_its_process_answers_like_one_in_memory(catalog):
    seen = []
    remote = start_index_process(catalog, params=PARAMS, progress=lambda d, t, label: seen.append(d))
    try:
        assert remote is not None and remote.alive and not remote.from_cache
        assert seen[0] == 0 and seen[-1] == 3000  # the child's progress came through
        local = load_cached_index(catalog, params=PARAMS)  # the graph the child saved
        assert local is not None and local.fingerprint == remote.fingerprint
        q = np.asarray(catalog.vectors[[3, 1500, 2999]])
        r_rows, r_sims = remote.query(q, 20)
        l_rows, l_sims = local.query(q, 20)
        np.testing.assert_array_equal(r_rows, l_rows)
        np.testing.assert_allclose(r_sims, l_sims)
    finally:
        remote.close()
    assert not remote.alive
    again = start_index_process(catalog, params=PARAMS, build=False)  # loaded from the app cache
    try:
        assert again is not None and again.from_cache and again.query(q[:1], 5)[0][0, 0] == 3
    finally:
        again.close()


def test_a_cancelled_build_stops_its_process(catalog):
    token = CancelToken()
    start = time.monotonic()

    def progress(done, total, label):
        if done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        start_index_process(catalog, params=PARAMS, progress=progress, cancel=token)
    assert time.monotonic() - start < 60
    assert load_cached_index(catalog, params=PARAMS) is None  # nothing half-built was saved as finished


def test_a_process_waiting_for_another_builder_stops_when_cancelled(catalog):
    """The app's index process waiting on another builder's lock (the app closing meanwhile) hears the
    cancel and ends: the job thread the app's exit waits for never hangs."""
    from terrafind.core.search import index_files
    from terrafind.core.search.index import index_paths, index_root

    index_file, _ = index_paths(
        catalog.fingerprint(extra=PARAMS.graph_key() + catalog.space_key()), index_root(catalog)
    )
    index_file.parent.mkdir(parents=True, exist_ok=True)
    token = CancelToken()
    labels = []

    def progress(done, total, label):
        labels.append(label)
        token.cancel()  # the app closes while the child waits

    with index_files.build_lock(index_file):  # another Terrafind is building
        start = time.monotonic()
        with pytest.raises(Cancelled):
            start_index_process(catalog, params=PARAMS, progress=progress, cancel=token)
        assert time.monotonic() - start < 30
    assert "Waiting for another Terrafind that is building this index" in labels


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="POSIX priorities")
def test_a_build_runs_below_the_window_and_a_load_does_not(tmp_path):
    """A graph build takes both cores for minutes: its process yields to the person's searches (measured
    at 1 M: exact search while it builds 63-65 -> 38-40 ms p50, docs/performance.md)."""
    truth = write_earth_index(tmp_path / "ei.parquet", n=1500, d=16)
    cat = open_catalog(truth["path"])
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    built = start_index_process(cat, params=PARAMS)
    try:
        assert os.getpriority(os.PRIO_PROCESS, built._process.pid) == min(19, mine + 10)
    finally:
        built.close()
    loaded = start_index_process(cat, params=PARAMS, build=False)  # only loads: the usual priority
    try:
        assert loaded is not None and os.getpriority(os.PRIO_PROCESS, loaded._process.pid) == mine
    finally:
        loaded.close()
