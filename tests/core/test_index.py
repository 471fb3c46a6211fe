"""The hnswlib index (chunked build, progress, cancel, disk cache that never trusts a bad file) and the
exact top-k that serves small regions and answers while the index builds."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from synth import chip_polygons, clustered_vectors, grid_layout

from terrafind.core.catalog import Catalog
from terrafind.core.errors import Cancelled
from terrafind.core.progress import CancelToken
from terrafind.core.search.exact import exact_scored_topk, exact_topk, top_sorted
from terrafind.core.search.index import IndexParams, build_index, index_paths, load_or_build_index

PARAMS = IndexParams(chunk_rows=500, ef_construction=64)


def make_catalog(n: int = 2000, d: int = 32, seed: int = 0) -> Catalog:
    centres, half, labels = grid_layout(n, seed=seed)
    v = clustered_vectors(n, d, labels, seed=seed)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ids = np.array([f"c{seed}-{i}" for i in range(n)], dtype=object)
    return Catalog(v, ids, chip_polygons(centres, half), pa.table({"n": np.arange(n)}))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return make_catalog()


def brute(matrix: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    s = matrix @ q
    return np.lexsort((np.arange(len(s)), -s))[:k]


# --- exact ------------------------------------------------------------------------------------------


def test_exact_topk_matches_a_full_sort_across_blocks(catalog):
    q = catalog.vectors[[3, 700, 1500]] + 0.01
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    rows, sims = exact_topk(catalog.vectors, q, 50, block_rows=300)
    assert rows.shape == sims.shape == (3, 50) and rows.dtype == np.int64 and sims.dtype == np.float32
    for j in range(3):
        np.testing.assert_array_equal(rows[j], brute(catalog.vectors, q[j].astype(np.float32), 50))
        np.testing.assert_allclose(sims[j], catalog.vectors[rows[j]] @ q[j], rtol=1e-5)
    one_block, _ = exact_topk(catalog.vectors, q, 50, block_rows=10_000)
    np.testing.assert_array_equal(rows, one_block)


def test_exact_excludes_rows_and_returns_fewer_when_few_remain(catalog):
    small = catalog.vectors[:40]
    rows, _ = exact_topk(small, small[5], 100, exclude=[5, 6, 7, 999], block_rows=16)
    assert rows.shape == (1, 37)
    assert not {5, 6, 7} & set(rows[0].tolist())
    assert rows[0][0] != 5


def test_exact_ties_are_ordered_by_row():
    m = np.tile(np.eye(4, dtype=np.float32)[:1], (10, 1))  # ten identical rows
    m = np.concatenate([np.eye(4, dtype=np.float32)[1:], m])
    rows, sims = exact_topk(m, np.array([1, 0, 0, 0], np.float32), 5, block_rows=4)
    np.testing.assert_array_equal(rows[0], [3, 4, 5, 6, 7])
    r2, s2 = top_sorted(np.array([9, 2, 5, 1]), np.array([0.5, 0.5, 0.9, 0.5], np.float32), 3)
    np.testing.assert_array_equal(r2, [5, 1, 2])


def test_exact_scored_topk_carries_aux_with_each_row(catalog):
    def score(block):
        return block[:, 0], (block[:, 1] > 0).astype(np.int64)

    rows, scores, aux = exact_scored_topk(catalog.vectors, score, 25, exclude=[0], block_rows=256)
    v = catalog.vectors
    expected = np.lexsort((np.arange(len(v)), -v[:, 0]))
    expected = expected[expected != 0][:25]
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_array_equal(aux, (v[rows, 1] > 0).astype(np.int64))


def test_exact_can_be_cancelled(catalog):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        exact_topk(catalog.vectors, catalog.vectors[0], 10, cancel=token)


# --- build --------------------------------------------------------------------------------------


def test_build_reports_each_chunk_and_finds_each_chip(catalog):
    calls = []
    vi = build_index(catalog, params=PARAMS, progress=lambda d, t, label: calls.append((d, t)))
    assert [d for d, _ in calls] == [0, 500, 1000, 1500, 2000] and {t for _, t in calls} == {2000}
    rows, sims = vi.query(catalog.vectors[:50], 5)
    assert rows.shape == (50, 5) and rows.dtype == np.int64
    assert np.mean(rows[:, 0] == np.arange(50)) > 0.95
    assert np.all(sims <= 1.0001) and np.all(np.diff(sims, axis=1) <= 1e-6)
    # Recall of the approximate top-50 against exact.
    truth, _ = exact_topk(catalog.vectors, catalog.vectors[100:120], 50)
    approx, _ = vi.query(catalog.vectors[100:120], 50)
    recall = np.mean([len(np.intersect1d(a, t)) / 50 for a, t in zip(approx, truth, strict=True)])
    assert recall > 0.95


def test_query_with_k_above_ef_and_above_rows(catalog):
    vi = build_index(catalog, params=IndexParams(chunk_rows=1000, ef_construction=32, ef_search=10))
    rows, _ = vi.query(catalog.vectors[7], 300)  # k > ef_search: ef must grow with k
    assert rows.shape == (1, 300) and len(set(rows[0].tolist())) == 300
    rows, _ = vi.query(catalog.vectors[7], 5000)
    assert rows.shape == (1, 2000)


def test_cancel_stops_the_build_between_chunks(catalog):
    token = CancelToken()
    seen = []

    def progress(done, total, label):
        seen.append(done)
        if done >= 1000:
            token.cancel()

    with pytest.raises(Cancelled):
        build_index(catalog, params=PARAMS, progress=progress, cancel=token)
    assert seen == [0, 500, 1000]


def test_empty_catalog_builds_an_empty_index():
    empty = Catalog(
        np.zeros((0, 8), np.float32), np.array([], object), np.array([], object), pa.table({"a": []})
    )
    vi = load_or_build_index(empty)
    rows, sims = vi.query(np.ones(8, np.float32), 10)
    assert len(vi) == 0 and rows.shape == (1, 0)


# --- the disk cache -----------------------------------------------------------------------------


def _cached(catalog, tmp_path):
    vi = load_or_build_index(catalog, params=PARAMS, cache_dir=tmp_path)
    return vi, *index_paths(vi.fingerprint, tmp_path)


def test_cache_is_reopened_when_the_fingerprint_matches(catalog, tmp_path, terrafind_home):
    vi, index_file, sidecar = _cached(catalog, tmp_path)
    assert not vi.from_cache and index_file.exists()
    meta = json.loads(sidecar.read_text())
    assert meta["rows"] == 2000 and meta["dim"] == 32 and meta["size"] == index_file.stat().st_size
    again = load_or_build_index(catalog, params=PARAMS, cache_dir=tmp_path)
    assert again.from_cache
    np.testing.assert_array_equal(
        again.query(catalog.vectors[:20], 10)[0], vi.query(catalog.vectors[:20], 10)[0]
    )
    # Query-time settings share the graph; build settings do not.
    assert load_or_build_index(
        catalog, params=IndexParams(chunk_rows=500, ef_construction=64, ef_search=99), cache_dir=tmp_path
    ).from_cache
    # The default location is terrafind.core.paths.cache_dir()/index (TERRAFIND_HOME in tests).
    load_or_build_index(catalog, params=PARAMS)
    assert (terrafind_home / "cache" / "index" / index_file.name).exists()


@pytest.mark.parametrize("damage", ["truncate", "garble", "delete_sidecar_fields", "bad_json"])
def test_a_damaged_cache_is_rebuilt_not_loaded(catalog, tmp_path, damage):
    _, index_file, sidecar = _cached(catalog, tmp_path)
    data = bytearray(index_file.read_bytes())
    if damage == "truncate":
        index_file.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "garble":
        data[len(data) // 3 : len(data) // 3 + 4096] = b"\xff" * 4096  # same size, wrong bytes
        index_file.write_bytes(bytes(data))
    elif damage == "delete_sidecar_fields":
        sidecar.write_text(json.dumps({"fingerprint": "x"}))
    else:
        sidecar.write_text("{not json")
    vi = load_or_build_index(catalog, params=PARAMS, cache_dir=tmp_path)
    assert not vi.from_cache
    assert vi.query(catalog.vectors[42], 1)[0][0, 0] == 42
    assert load_or_build_index(catalog, params=PARAMS, cache_dir=tmp_path).from_cache  # saved again, good


def test_swapped_sidecars_and_foreign_index_files_are_caught(tmp_path):
    a, b = make_catalog(seed=1), make_catalog(seed=2)
    _, a_file, a_side = _cached(a, tmp_path)
    _, b_file, b_side = _cached(b, tmp_path)
    a_meta, b_meta = a_side.read_text(), b_side.read_text()
    a_side.write_text(b_meta)
    b_side.write_text(a_meta)
    assert not load_or_build_index(a, params=PARAMS, cache_dir=tmp_path).from_cache
    # Worse: B's index file under A's name with a sidecar that describes it perfectly (size, checksum)
    # and claims A's fingerprint. Only the stored vectors give it away.
    meta = json.loads(a_side.read_text())
    a_file.write_bytes(b_file.read_bytes())
    meta.update(size=json.loads(b_meta)["size"], sums=json.loads(b_meta)["sums"])
    a_side.write_text(json.dumps(meta))
    vi = load_or_build_index(a, params=PARAMS, cache_dir=tmp_path)
    assert not vi.from_cache
    np.testing.assert_array_equal(vi.query(a.vectors[:10], 1)[0][:, 0], np.arange(10))


def test_concurrent_queries_match_serial_ones(catalog):
    from concurrent.futures import ThreadPoolExecutor

    vi = build_index(catalog, params=PARAMS)
    queries = [(catalog.vectors[i * 10], k) for i in range(40) for k in (5, 300)]
    serial = [vi.query(q, k)[0] for q, k in queries]
    with ThreadPoolExecutor(4) as pool:  # mixed k: ef changes between calls, which the lock serialises
        parallel = list(pool.map(lambda qk: vi.query(*qk)[0], queries))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_unwritable_cache_still_returns_the_index(catalog, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    vi = load_or_build_index(catalog, params=PARAMS, cache_dir=blocker)
    assert len(vi) == 2000 and not vi.from_cache


def test_exact_split_across_threads_matches_one_scan():
    from terrafind.core.search import exact

    rng = np.random.default_rng(9)
    m = rng.standard_normal((70_000, 8)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    m[34_990:35_010] = m[0]  # duplicates straddling the boundary between the two threads' ranges
    assert len(exact._split(exact._rounds(len(m), 5000, 1)[0])) == min(2, exact._workers())
    q = np.stack([m[0], m[123]])
    rows, sims = exact_topk(m, q, 40, exclude=[0, 35_000], block_rows=5000)
    for j in range(2):
        s = np.clip(m @ q[j], -1, 1)
        s[[0, 35_000]] = -np.inf
        np.testing.assert_array_equal(rows[j], np.lexsort((np.arange(len(s)), -s))[:40])
    r2, s2, aux = exact_scored_topk(m, lambda b: (b @ q[1], None), 10, block_rows=7000)
    full = m @ q[1]
    np.testing.assert_array_equal(r2, np.lexsort((np.arange(len(full)), -full))[:10])
    assert np.all(aux == -1) and np.all(np.diff(s2) <= 0)
