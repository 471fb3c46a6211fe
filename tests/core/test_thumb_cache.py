"""The SQLite thumbnail cache: hits, LRU eviction by bytes, several threads."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from terrafind.core.errors import CacheError
from terrafind.core.imagery.thumb_cache import ThumbCache


def test_put_get_and_persist(tmp_path):
    c = ThumbCache(tmp_path / "c.sqlite")
    assert c.get("a") is None
    c.put("a", b"\x89PNG-a", "ok", "src")
    assert c.get("a") == (b"\x89PNG-a", "ok")
    c.put("a", b"\x89PNG-b")
    assert c.total_bytes == 6 and len(c) == 1
    c.close()
    again = ThumbCache(tmp_path / "c.sqlite")
    assert again.get("a") == (b"\x89PNG-b", "ok") and again.total_bytes == 6


def test_lru_eviction_keeps_recently_used(tmp_path):
    c = ThumbCache(tmp_path / "c.sqlite", max_bytes=10_000)
    for i in range(8):
        c.put(f"k{i}", bytes(1000), "ok")
    # make k0 the most recently used (last_access is refreshed for old entries)
    with sqlite3.connect(tmp_path / "c.sqlite") as con:
        con.execute("update thumbs set last_access = last_access - 3600 where key != 'k0'")
    con.close()
    c2 = ThumbCache(tmp_path / "c.sqlite", max_bytes=10_000)
    for i in range(8, 14):
        c2.put(f"k{i}", bytes(1000), "ok")
        time.sleep(0.001)
    assert c2.total_bytes <= 10_000
    assert c2.get("k0") is not None  # recently used: kept
    assert c2.get("k1") is None  # least recently used: evicted first
    assert c2.get("k13") is not None


def test_threads_share_one_file(tmp_path):
    c = ThumbCache(tmp_path / "c.sqlite")
    errors = []

    def work(t):
        try:
            for i in range(50):
                c.put(f"{t}-{i}", bytes([t]) * 100)
                assert c.get(f"{t}-{i}") == (bytes([t]) * 100, "ok")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(c) == 200 and c.total_bytes == 200 * 100


def test_damaged_file_is_named(tmp_path):
    bad = tmp_path / "c.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError, match="c.sqlite"):
        ThumbCache(bad)


def test_pinned_cache_is_never_evicted(tmp_path):
    c = ThumbCache(tmp_path / "pack.sqlite", max_bytes=10**9)
    for i in range(10):
        c.put(f"k{i}", bytes(1000), "ok", "src-a")
    c.pin()
    small = ThumbCache(tmp_path / "pack.sqlite", max_bytes=2000)  # an app with a small cache opens it
    assert small.pinned
    small.put("new", bytes(1000))
    assert len(small) == 11 and small.get("k0") is not None
    assert small.has_source("src-a") and not small.has_source("src-b")
