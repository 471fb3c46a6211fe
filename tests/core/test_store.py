"""terrafind.core.store: the region store (app cache) written on first open, mapped on reopen, and searched.

Small data throughout: int8 stores are forced by lowering F32_MAX_ROWS (the switch is by row count)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import shapely
from synth import write_earth_index

from terrafind.core.catalog import Catalog
from terrafind.core.read.reader import open_catalog
from terrafind.core.search.exact import exact_scored_topk, exact_topk
from terrafind.core.store import layout
from terrafind.core.store.vectors import StoredVectors


@pytest.fixture
def int8(monkeypatch):
    """Stores of any size keep int8 codes (as regions above 250k chips do)."""
    import terrafind.core.store.writer as writer

    monkeypatch.setattr(writer, "F32_MAX_ROWS", 0)


def _unit(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _array_catalog(cat: Catalog) -> Catalog:
    """The same chips as an in-memory catalog (the old representation), to compare lookups with."""
    import pyarrow as pa

    fps = np.asarray(cat.footprints[np.arange(len(cat))], dtype=object)
    return Catalog(
        np.asarray(cat.vectors),
        np.asarray(cat.ids[np.arange(len(cat))]),
        fps,
        pa.table({"x": np.zeros(len(cat))}),
    )


def test_int8_store_reads_like_the_float_vectors_and_ranks_like_them(tmp_path, int8):
    truth = write_earth_index(tmp_path / "ei.parquet", n=3000, d=64, row_group_size=700)
    cat = open_catalog(truth["path"])
    assert isinstance(cat.vectors, StoredVectors) and cat.store.code == "i8"
    exact = _unit(truth["vectors"]).astype(np.float32)
    # row access as an array: ints, slices, arrays, masks and (rows, column) pairs
    v = cat.vectors
    assert v.shape == (3000, 64) and v.dtype == np.float32 and len(v) == 3000
    np.testing.assert_allclose(v[5], exact[5], atol=0.02)
    np.testing.assert_allclose(v[10:20], exact[10:20], atol=0.02)
    np.testing.assert_allclose(v[[3, 1, 2999]], exact[[3, 1, 2999]], atol=0.02)
    mask = np.zeros(3000, bool)
    mask[[7, 70]] = True
    np.testing.assert_allclose(v[mask], exact[[7, 70]], atol=0.02)
    np.testing.assert_allclose(v[[4, 8], 0], exact[[4, 8], 0], atol=0.02)
    np.testing.assert_allclose(np.linalg.norm(v[:100], axis=1), 1.0, atol=1e-5)
    # exact search over the codes (threads, blocks, exclusions) against float32
    rng = np.random.default_rng(1)
    q = _unit(exact[rng.choice(3000, 6)] + exact[rng.choice(3000, 6)])
    rows, sims = exact_topk(v, q, 100, exclude=[0, 1500], block_rows=512)
    for j in range(len(q)):
        s = exact @ q[j]
        s[[0, 1500]] = -np.inf
        truth_top = np.argsort(-s)[:100]
        assert len(np.intersect1d(rows[j], truth_top)) >= 90
        assert 0 not in rows[j] and 1500 not in rows[j] and np.all(np.diff(sims[j]) <= 0)
        np.testing.assert_allclose(sims[j], np.clip(v[rows[j]] @ q[j], -1, 1), atol=1e-5)
    r2, s2, aux = exact_scored_topk(v, lambda b: (b @ q[0], None), 50, block_rows=1000)
    np.testing.assert_array_equal(r2, rows[0][:50][np.isin(rows[0][:50], r2)][: len(r2)])


def test_streamed_scan_reports_the_best_so_far_then_the_same_answer(tmp_path, int8, monkeypatch):
    import terrafind.core.search.exact as ex

    monkeypatch.setattr(ex, "STREAM_MIN_ROWS", 1000)
    truth = write_earth_index(tmp_path / "ei.parquet", n=4000, d=32)
    cat = open_catalog(truth["path"])
    q = np.asarray(cat.vectors[17])
    seen = []
    rows, sims = exact_topk(
        cat.vectors, q, 20, block_rows=256, partial=lambda r, s, done, n: seen.append((r, done, n))
    )
    plain, _ = exact_topk(cat.vectors, q, 20, block_rows=256)
    np.testing.assert_array_equal(rows, plain)
    assert len(seen) == ex.STREAM_ROUNDS - 1 and seen[0][1] < seen[-1][1] < 4000 and seen[0][2] == 4000
    # the first round already samples the whole region: its blocks come from everywhere
    first = ex._rounds(4000, 256, ex.STREAM_ROUNDS)[0]
    assert first[0][0] == 0 and first[-1][0] >= 4000 - 256 * ex.STREAM_ROUNDS


def test_lookups_on_a_store_match_the_in_memory_catalog(tmp_path, int8):
    truth = write_earth_index(tmp_path / "ei.parquet", n=900, d=16)
    cat = open_catalog(truth["path"])
    mem = _array_catalog(cat)
    np.testing.assert_allclose(np.asarray(cat.centroids), mem.centroids, atol=1e-12)
    assert cat.bounds == pytest.approx(mem.bounds) and cat.stride == mem.stride
    rng = np.random.default_rng(3)
    w, s, e, n = cat.bounds
    for lon, lat in rng.uniform([w - 0.05, s - 0.05], [e + 0.05, n + 0.05], size=(60, 2)):
        assert cat.chip_at(lon, lat) == mem.chip_at(lon, lat)
        a, b = cat.nearest(lon, lat), mem.nearest(lon, lat)
        assert a == b or shapely.distance(cat.footprints[a], shapely.Point(lon, lat)) == pytest.approx(
            shapely.distance(mem.footprints[b], shapely.Point(lon, lat))
        )
    area = shapely.Point(*cat.centroids[450]).buffer(0.03)
    np.testing.assert_array_equal(cat.rows_in(area), mem.rows_in(area))
    assert cat.footprints[450].equals(mem.footprints[450])
    # ids: one, many, missing
    assert cat.ids[3] == truth["ids"][3] and list(cat.ids[[1, 2]]) == list(truth["ids"][1:3])
    assert cat.row_of(truth["ids"][42]) == 42 and cat.row_of("nope") is None
    np.testing.assert_array_equal(cat.rows_of([truth["ids"][9], "x", truth["ids"][9]]), [9, -1, 9])


def test_store_keeps_lengths_and_distances_to_the_mean(tmp_path, int8):
    truth = write_earth_index(tmp_path / "ei.parquet", n=1200, d=24)
    cat = open_catalog(truth["path"])
    st = cat.store
    np.testing.assert_allclose(cat.norms, np.linalg.norm(truth["vectors"], axis=1), rtol=1e-5)
    unit = np.asarray(cat.vectors)
    np.testing.assert_allclose(st.mu, _unit(truth["vectors"]).mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(st.cnorm, np.linalg.norm(unit - st.mu, axis=1), atol=1e-4)


def test_reopen_maps_the_store_and_a_changed_file_gets_a_new_one(tmp_path):
    truth = write_earth_index(tmp_path / "ei.parquet", n=500, d=16)
    path = truth["path"]
    first = open_catalog(path)
    assert first.store is not None and first.store.code == "f32"
    assert isinstance(first.vectors, np.ndarray)  # small regions keep float32, used as a plain array
    labels = []
    again = open_catalog(path, progress=lambda d, t, label: labels.append(label))
    assert labels == ["Opened from the app cache"] and again.store.folder == first.store.folder
    np.testing.assert_array_equal(np.asarray(again.vectors), np.asarray(first.vectors))
    (info,) = layout.list_stores()
    assert info.rows == 500 and info.files == ("ei.parquet",) and info.size > 500 * 16 * 4
    # the same file with other contents: a new store, and the old one is gone
    write_earth_index(path, n=400, d=16, seed=5)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    changed = open_catalog(path)
    assert len(changed) == 400 and changed.store.folder != first.store.folder
    assert [i.key for i in layout.list_stores()] == [changed.store.key]


def test_a_damaged_store_is_read_again_and_clearing_frees_the_space(tmp_path):
    truth = write_earth_index(tmp_path / "ei.parquet", n=300, d=8)
    cat = open_catalog(truth["path"])
    folder = cat.store.folder
    with open(folder / layout.VECTORS, "ab") as fh:  # a truncated or grown file is not trusted
        fh.write(b"x")
    labels = []
    again = open_catalog(truth["path"], progress=lambda d, t, label: labels.append(label))
    assert "Opened from the app cache" not in labels and len(again) == 300
    assert layout.clear_stores() > 0 and layout.list_stores() == []


def test_a_region_gets_a_store_of_its_own(tmp_path):
    from terrafind.core.types import Region

    truth = write_earth_index(tmp_path / "ei.parquet", n=400, d=8)
    whole = open_catalog(truth["path"])
    w, s, e, n = whole.bounds
    part = open_catalog(truth["path"], region=Region.from_bbox(w, s, (w + e) / 2, n))
    assert 0 < len(part) < len(whole) and part.store.key != whole.store.key
    assert len(layout.list_stores()) == 2


def test_the_disk_must_hold_the_store(tmp_path, monkeypatch):
    import shutil as sh

    from terrafind.core.errors import InputError

    truth = write_earth_index(tmp_path / "ei.parquet", n=300, d=8)
    usage = sh.disk_usage(tmp_path)
    monkeypatch.setattr(sh, "disk_usage", lambda p: usage._replace(free=1000))
    with pytest.raises(InputError, match="free disk space for its app cache"):
        open_catalog(truth["path"])


def test_a_region_of_a_cached_region_is_cut_from_its_store(tmp_path, int8, monkeypatch):
    import terrafind.core.read.reader as reader
    from terrafind.core.types import Region

    truth = write_earth_index(tmp_path / "ei.parquet", n=1500, d=32)
    whole = open_catalog(truth["path"])
    w, s, e, n = whole.bounds
    region = Region.from_wkt(f"POLYGON(({w} {s}, {(w + e) / 2} {s}, {w} {(s + n) / 2}, {w} {s}))")
    layout.clear_stores(keep={whole.store.key})
    read = []
    monkeypatch.setattr(reader, "iter_batches", lambda *a, **k: read.append(1) or iter(()))
    part = open_catalog(truth["path"], region=region)  # cut from the whole region's store
    assert not read and 0 < len(part) < len(whole) and part.store.code == "i8"
    monkeypatch.undo()
    rows = whole.rows_of(part.ids)
    np.testing.assert_array_equal(whole.store.vectors.codes[rows], part.store.vectors.codes)
    np.testing.assert_allclose(np.asarray(part.vectors), np.asarray(whole.vectors[rows]), atol=1e-6)
    np.testing.assert_allclose(part.store.mu, np.asarray(part.vectors).mean(axis=0), atol=1e-5)
    assert part.region == region and part.chip_at(*part.centroids[0]) == 0
    cut_ids, cut_vectors = list(part.ids), np.asarray(part.vectors)
    layout.clear_stores()
    read_part = open_catalog(truth["path"], region=region)  # the same region read from the file
    assert list(read_part.ids) == cut_ids  # the same chips...
    np.testing.assert_allclose(np.asarray(read_part.vectors), cut_vectors, atol=0.02)  # ...alike coded


def test_a_big_gather_hands_its_pages_back_piece_by_piece(tmp_path, int8, monkeypatch):
    """Scattered rows of a big store (a region sample) are gathered in file order, each piece's file range
    handed back to the page cache before the next: 20k random rows of 10 M chips had made 2.7 GB of the
    codes resident in the app (its peak memory), 0.2 GB now. The rows come back in the order asked."""
    import terrafind.core.store.vectors as sv

    truth = write_earth_index(tmp_path / "ei.parquet", n=3000, d=32)
    cat = open_catalog(truth["path"])
    vecs = cat.store.vectors
    assert isinstance(vecs, StoredVectors)
    rows = np.random.default_rng(3).choice(len(cat), 700, replace=False)
    want = np.stack([vecs[int(r)] for r in rows])
    released: list[tuple[int, int | None]] = []
    monkeypatch.setattr(sv, "GATHER_RELEASE_ROWS", 100)
    monkeypatch.setattr(vecs, "release_pages", True)  # as a store above RELEASE_BYTES
    monkeypatch.setattr(vecs, "release", lambda start=0, stop=None: released.append((start, stop)))
    np.testing.assert_array_equal(vecs[rows], want)
    assert len(released) == 7  # one range per piece of 100 rows...
    starts = [a for a, _ in released]
    assert starts == sorted(starts) and released[-1][1] == int(rows.max()) + 1  # ...in file order
    released.clear()
    vecs[rows[:50]]  # a few rows: gathered at once, nothing to hand back
    assert not released
    np.testing.assert_array_equal(vecs[1000:1500], np.stack([vecs[i] for i in range(1000, 1500)]))
    assert released == [(1000, 1500)]  # a block of a scan (refine's pool) hands its range back too
