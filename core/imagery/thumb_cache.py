"""The thumbnail disk cache: one SQLite file, PNG blobs by key, capped in bytes, least recently used out.

One SQLite file is easy to copy into a field pack and as fast as files on disk (a hit is ~0.05 ms).
WAL lets readers and the writer work at the same time; each thread has its own connection because a
sqlite3 connection must not be shared between threads. ``last_access`` is refreshed at most once a
minute per entry, so a cache hit is a read, not a write, in the common case.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

from terrafind.core.errors import CacheError

__all__ = ["ThumbCache", "PACK_IMAGERY", "read_only_connection"]

# The name a field pack gives its local imagery: thumbnails are found in the pack by it, and no path of the
# machine that made the pack travels with it ("field-pack:scene.tif").
PACK_IMAGERY = "field-pack:"


def read_only_connection(path: Path, **kwargs) -> sqlite3.Connection:
    """A connection that cannot write, for a database someone else made (a field pack's thumbnails or
    basemap): opened read-only and immutable (no journal, no -wal/-shm files beside it), with SQL in the
    file's schema (views, triggers) not trusted and every query read-only."""
    uri = f"file:{quote(str(Path(path).resolve()))}?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True, **kwargs)
    con.execute("pragma trusted_schema = off")
    con.execute("pragma query_only = on")
    con.execute("pragma cell_size_check = on")
    return con


_SCHEMA = """
create table if not exists thumbs (
    key text primary key,
    png blob not null,
    status text not null,
    source text,
    bytes integer not null,
    created real not null,
    last_access real not null
);
create index if not exists thumbs_last_access on thumbs(last_access);
create table if not exists meta (name text primary key, value text);
"""
_TOUCH_AFTER = 60.0  # seconds: don't rewrite last_access on every hit


class ThumbCache:
    """PNG thumbnails by key in SQLite, at most ``max_bytes`` of PNG data (LRU eviction).

    ``read_only``: a cache made elsewhere (a field pack's): never written, not even an access time."""

    def __init__(self, path: Path, *, max_bytes: int = 512 * 2**20, read_only: bool = False) -> None:
        self.path = Path(path)
        self.max_bytes = int(max_bytes)
        self.read_only = read_only
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []  # every thread's connection (seal closes the others)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for p in (
                self.path,
                *(self.path.with_name(self.path.name + x) for x in ("-wal", "-shm", "-journal")),
            ):
                if p.is_symlink():
                    p.unlink()  # a link planted where our cache goes: SQLite would write through it
        try:
            con = self._con()
            if not read_only:
                with con:
                    con.executescript(_SCHEMA)
            self._total = int(con.execute("select coalesce(sum(bytes), 0) from thumbs").fetchone()[0])
            self._pinned = con.execute("select 1 from meta where name = 'pinned'").fetchone() is not None
        except sqlite3.DatabaseError as exc:
            raise CacheError(
                f"The thumbnail cache {self.path} is damaged; delete it and Terrafind will make a new one.",
                detail=str(exc),
            ) from exc

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            if self.read_only:
                con = read_only_connection(self.path, isolation_level=None, check_same_thread=True)
            else:
                # check_same_thread=False only so that seal() can close connections of finished threads;
                # each thread still uses its own connection alone.
                con = sqlite3.connect(
                    str(self.path), timeout=10, isolation_level=None, check_same_thread=False
                )
                con.execute("pragma journal_mode=wal")
                con.execute("pragma synchronous=normal")
                with self._lock:
                    self._all.append(con)
            self._local.con = con
        return con

    def get(self, key: str) -> tuple[bytes, str] | None:
        """(png, status) for ``key``, or None."""
        con = self._con()
        row = con.execute("select png, status, last_access from thumbs where key = ?", (key,)).fetchone()
        if row is None:
            return None
        now = time.time()
        if now - row[2] > _TOUCH_AFTER and not self.read_only:
            try:
                con.execute("update thumbs set last_access = ? where key = ?", (now, key))
            except sqlite3.OperationalError:
                pass  # busy: the access time is a hint, the hit is what matters
        return bytes(row[0]), str(row[1])

    def has(self, key: str) -> bool:
        return self._con().execute("select 1 from thumbs where key = ?", (key,)).fetchone() is not None

    def put(self, key: str, png: bytes, status: str = "ok", source: str | None = None) -> None:
        """Store a thumbnail, then evict the least recently used ones while over ``max_bytes``."""
        if self.read_only:
            return
        con = self._con()
        now = time.time()
        with self._lock:  # the running total is shared by every thread
            old = con.execute("select bytes from thumbs where key = ?", (key,)).fetchone()
            con.execute(
                "insert or replace into thumbs(key, png, status, source, bytes, created, last_access) "
                "values (?, ?, ?, ?, ?, ?, ?)",
                (key, sqlite3.Binary(png), status, source, len(png), now, now),
            )
            self._total += len(png) - (old[0] if old else 0)
            if self._total > self.max_bytes and not self._pinned:
                self._evict(con)

    def _evict(self, con: sqlite3.Connection) -> None:
        # Down to 90 % of the cap so that a full cache does not evict on every single put.
        target = int(self.max_bytes * 0.9)
        con.execute("begin immediate")
        try:
            freed = 0
            doomed = []
            for key, nbytes in con.execute("select key, bytes from thumbs order by last_access, created"):
                if self._total - freed <= target:
                    break
                doomed.append((key,))
                freed += nbytes
            con.executemany("delete from thumbs where key = ?", doomed)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        self._total -= freed

    def pin(self) -> None:
        """Never evict from this file, whatever ``max_bytes`` a later user gives (a field pack's
        thumbnails must survive being opened by an app with a smaller cache limit)."""
        with self._con() as con:
            con.execute("insert or replace into meta values ('pinned', '1')")
        self._pinned = True

    @property
    def pinned(self) -> bool:
        return self._pinned

    def has_source(self, source: str) -> bool:
        """Does the cache hold any thumbnail cut from ``source``? (A scan: call it rarely.)"""
        return (
            self._con().execute("select 1 from thumbs where source = ? limit 1", (source,)).fetchone()
            is not None
        )

    @property
    def total_bytes(self) -> int:
        return self._total

    def __len__(self) -> int:
        return int(self._con().execute("select count(*) from thumbs").fetchone()[0])

    def keys(self) -> list[str]:
        return [r[0] for r in self._con().execute("select key from thumbs")]

    def copy_from(self, other: ThumbCache, keys: list[str]) -> int:
        """Copy the given entries of ``other`` into this cache (for field packs); return how many."""
        n = 0
        for key in keys:
            got = other.get(key)
            if got is not None and not self.has(key):
                self.put(key, got[0], got[1])
                n += 1
        return n

    def checkpoint(self) -> None:
        """Fold the WAL into the main file (before copying or hashing the file)."""
        self._con().execute("pragma wal_checkpoint(truncate)")

    def seal(self) -> None:
        """Make the file self-contained for copying elsewhere (a field pack): WAL folded in and switched
        off, so a reader can open it read-only and immutable."""
        con = self._con()
        with self._lock:  # the threads that cut thumbnails are done: their connections go first
            others, self._all = [c for c in self._all if c is not con], [con]
        for other in others:
            other.close()
        con.execute("pragma wal_checkpoint(truncate)")
        con.execute("pragma journal_mode=delete")

    def rekey(self, pairs: list[tuple[str, str]], source: str) -> int:
        """Give entries new keys (old, new) and the source name ``source``; return how many moved."""
        con = self._con()
        moved = 0
        with self._lock:
            con.execute("begin immediate")
            try:
                for old, new in pairs:
                    if old != new:
                        moved += con.execute(
                            "update or replace thumbs set key = ?, source = ? where key = ?",
                            (new, source, old),
                        ).rowcount
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        return moved

    def close(self) -> None:
        """Close this thread's connection."""
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
