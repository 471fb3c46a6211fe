"""The search graph on reduced vectors: built from a region store, resumed from a checkpoint after a stop,
re-ranked exactly (so recall is against exact search), kept with the region's app cache."""

from __future__ import annotations

import numpy as np
import pytest
from synth import write_earth_index

from terrafind.core.errors import Cancelled
from terrafind.core.progress import CancelToken
from terrafind.core.read.reader import open_catalog
from terrafind.core.search import index_files
from terrafind.core.search.build import time_left
from terrafind.core.search.exact import exact_topk
from terrafind.core.search.index import (
    IndexParams,
    index_paths,
    index_root,
    load_cached_index,
    load_or_build_index,
)

# Small graphs, a checkpoint after every chunk (the size floor lowered to match).
PARAMS = IndexParams(dims=16, M=12, ef_construction=60, chunk_rows=400, checkpoint_s=0.0)


@pytest.fixture
def int8(monkeypatch):
    import terrafind.core.search.build as build
    import terrafind.core.store.writer as writer

    monkeypatch.setattr(writer, "F32_MAX_ROWS", 0)
    monkeypatch.setattr(build, "_MIN_CHECKPOINT_ROWS", 1)


def test_graph_on_a_store_ranks_exactly_and_lives_with_the_store(tmp_path, int8):
    truth = write_earth_index(tmp_path / "ei.parquet", n=3000, d=48)
    cat = open_catalog(truth["path"])
    labels = []
    vi = load_or_build_index(cat, params=PARAMS, progress=lambda d, t, label: labels.append(label))
    assert vi.projection.dims == 17 and index_root(cat) == cat.store.folder
    assert any("left" in label for label in labels)  # the status bar says how long the rest takes
    assert list((cat.store.folder / "index").glob("*.hnsw"))
    q = np.asarray(cat.vectors[[5, 900, 2100]])
    rows, sims = vi.query(q, 50)
    truth_rows, truth_sims = exact_topk(cat.vectors, q, 50)
    recall = np.mean([len(np.intersect1d(a, b)) / 50 for a, b in zip(rows, truth_rows, strict=True)])
    assert recall > 0.95
    np.testing.assert_allclose(sims[:, 0], truth_sims[:, 0], atol=1e-6)  # exact scores, not graph ones
    again = load_cached_index(cat, params=PARAMS)
    assert again is not None and again.from_cache


def test_a_stopped_build_resumes_from_its_checkpoint(tmp_path, int8):
    truth = write_earth_index(tmp_path / "ei.parquet", n=2400, d=32)
    cat = open_catalog(truth["path"])
    token = CancelToken()

    def stop_at_half(done, total, label):
        if done >= 1200:
            token.cancel()

    with pytest.raises(Cancelled):
        load_or_build_index(cat, params=PARAMS, progress=stop_at_half, cancel=token)
    index_file, _ = index_paths(cat.fingerprint(extra=PARAMS.graph_key()), index_root(cat))
    graph, sidecar = index_files.partial_paths(index_file)
    assert graph.exists() and index_files.read_sidecar(sidecar)["count"] == 1200
    seen = []
    vi = load_or_build_index(cat, params=PARAMS, progress=lambda d, t, label: seen.append((d, label)))
    assert seen[0][0] == 1200 and "resumed" in seen[0][1]  # no chunk before the checkpoint was redone
    assert not graph.exists() and index_file.exists()  # the finished graph replaces the checkpoint
    rows, _ = vi.query(np.asarray(cat.vectors[[10, 2300]]), 5)
    assert rows[0, 0] == 10 and rows[1, 0] == 2300  # rows from before and after the stop are found


def test_a_damaged_checkpoint_is_dropped_and_built_anew(tmp_path, int8):
    truth = write_earth_index(tmp_path / "ei.parquet", n=1600, d=16)
    cat = open_catalog(truth["path"])
    token = CancelToken()
    with pytest.raises(Cancelled):
        load_or_build_index(
            cat, params=PARAMS, progress=lambda d, t, _: d >= 800 and token.cancel(), cancel=token
        )
    index_file, _ = index_paths(cat.fingerprint(extra=PARAMS.graph_key()), index_root(cat))
    graph, _ = index_files.partial_paths(index_file)
    data = bytearray(graph.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\xee" * 64
    graph.write_bytes(bytes(data))
    seen = []
    vi = load_or_build_index(cat, params=PARAMS, progress=lambda d, t, label: seen.append(d))
    assert seen[0] == 0 and len(vi) == 1600


def test_time_left_reads_like_a_person_says_it():
    assert time_left(3) == "about 5 s left" and time_left(42) == "about 40 s left"
    assert time_left(125) == "about 2 min left" and time_left(4000) == "about 1 h 07 min left"


def test_a_second_builder_waits_for_the_first_and_loads_its_graph(tmp_path, int8):
    """Two builders of one region's index (two windows, the app and terrafind-cli index) never write the
    same checkpoint: the second waits for the first's lock, then loads what it saved."""
    import threading

    from terrafind.core.search.index import _save, build_index

    truth = write_earth_index(tmp_path / "ei.parquet", n=1200, d=32)
    cat = open_catalog(truth["path"])
    index_file, sidecar = index_paths(cat.fingerprint(extra=PARAMS.graph_key()), index_root(cat))
    index_file.parent.mkdir(parents=True, exist_ok=True)
    labels: list[str] = []
    got: list = []
    with index_files.build_lock(index_file) as waited:  # "another process" building
        assert not waited
        second = threading.Thread(
            target=lambda: got.append(
                load_or_build_index(cat, params=PARAMS, progress=lambda d, t, label: labels.append(label))
            )
        )
        second.start()
        for _ in range(200):
            if labels:
                break
            second.join(0.05)
        assert set(labels) == {"Waiting for another Terrafind that is building this index"}
        _save(build_index(cat, params=PARAMS), index_file, sidecar)  # the first one finishes
    second.join(60)
    assert got and got[0].from_cache  # loaded, not built a second time
    token = CancelToken()
    with index_files.build_lock(index_file):  # a waiting builder can be cancelled
        token.cancel()
        index_files.remove_files(index_file, sidecar)
        with pytest.raises(Cancelled):
            load_or_build_index(cat, params=PARAMS, cancel=token)
