"""The search index on disk: graph files, their JSON sidecars and checksums, and build checkpoints.

A finished index is ``<fingerprint>.hnsw`` with ``<fingerprint>.json`` beside it; an unfinished one is
``<fingerprint>.partial.hnsw`` / ``.partial.json`` (a checkpoint, :func:`save_checkpoint`), which a later
build resumes from. Every file is written through :func:`terrafind.core.files.write_atomic` and checked
on the way back in (size, Adler-32 per 64 MB piece), because hnswlib trusts the bytes it loads. The
sidecar goes last: a graph without its sidecar is never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from terrafind.core.errors import CacheError
from terrafind.core.files import write_atomic, write_text_atomic
from terrafind.core.progress import CancelToken, ProgressFn, check, report

__all__ = [
    "CHECKSUM",
    "file_sums",
    "write_graph",
    "read_sidecar",
    "verify_graph",
    "partial_paths",
    "remove_files",
    "build_lock",
]

CHECKSUM = "adler32/64MB"
_CHECK_CHUNK = 64 << 20  # one checksum per 64 MB of the file (pieces checked in parallel)
_READ_PIECE = 16 << 20


def _chunk_sum(path: Path, offset: int, length: int) -> int:
    total, left = 1, length  # adler32 starts at 1
    with open(path, "rb") as fh:
        fh.seek(offset)
        while left > 0:
            piece = fh.read(min(_READ_PIECE, left))
            if not piece:
                break
            total = zlib.adler32(piece, total)
            left -= len(piece)
    return total


def file_sums(path: Path, progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> list[int]:
    """Adler-32 of each 64 MB piece of the file, a few pieces at a time.

    A full check, because hnswlib would follow garbled offsets anywhere. Adler-32 (~1.4 GB/s per core here,
    CRC-32 ~0.7-2 GB/s) over pieces in a thread pool (zlib releases the GIL) keeps the check of a 1M-chip
    index well under a second on 2 cores; it also warms the page cache that hnswlib reads next.
    """
    size = path.stat().st_size
    offsets = list(range(0, size, _CHECK_CHUNK)) or [0]
    sums: list[int] = []
    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i in range(0, len(offsets), workers):
            check(cancel)
            batch = offsets[i : i + workers]
            sums.extend(pool.map(lambda off: _chunk_sum(path, off, _CHECK_CHUNK), batch))
            report(progress, min(size, batch[-1] + _CHECK_CHUNK), size, "Checking the saved search index")
    return sums


def write_graph(save: Any, path: Path, sidecar: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write a graph with ``save(tmp_path)`` and its sidecar (``meta`` plus size, checksums, time)."""
    out = dict(meta)

    def write(tmp: Path) -> None:
        save(tmp)
        out.update(
            size=tmp.stat().st_size,
            checksum=CHECKSUM,
            sums=file_sums(tmp),
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )

    write_atomic(write, path)
    write_text_atomic(sidecar, json.dumps(out, indent=1))
    return out


def read_sidecar(sidecar: Path) -> dict[str, Any]:
    """The sidecar's JSON object; CacheError when it is missing or not JSON."""
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, ValueError, RecursionError) as exc:  # (a pack's sidecar may be nested brackets)
        raise CacheError("The saved search index has no readable description.", detail=str(exc)) from exc
    if not isinstance(meta, dict):
        raise CacheError("The saved search index has no readable description.")
    return meta


def verify_graph(
    path: Path,
    meta: dict[str, Any],
    expected: dict[str, Any],
    progress: ProgressFn | None,
    cancel: CancelToken | None,
) -> None:
    """CacheError unless the sidecar says ``expected`` and the file has the recorded size and checksums."""
    for key, want in expected.items():
        if meta.get(key) != want:
            raise CacheError(f"The saved search index was made for other data ({key} differs).")
    if not path.exists() or path.stat().st_size != meta.get("size"):
        raise CacheError("The saved search index file is missing or has the wrong size.")
    if meta.get("checksum") != CHECKSUM or file_sums(path, progress, cancel) != meta.get("sums"):
        raise CacheError("The saved search index file is damaged (checksum differs).")


def partial_paths(index_file: Path) -> tuple[Path, Path]:
    """(graph, sidecar) of the checkpoint of an unfinished build of ``index_file``."""
    stem = index_file.name[: -len(".hnsw")] if index_file.name.endswith(".hnsw") else index_file.name
    return index_file.with_name(f"{stem}.partial.hnsw"), index_file.with_name(f"{stem}.partial.json")


def remove_files(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass


@contextlib.contextmanager
def build_lock(
    index_file: Path, progress: ProgressFn | None = None, cancel: CancelToken | None = None
) -> Iterator[bool]:
    """Hold the right to build ``index_file`` (an advisory lock on ``<stem>.lock`` beside it) for the
    ``with`` block. Two builders of one region's index (two windows, the app and ``terrafind-cli index``)
    would write the same checkpoint over each other; the second waits here, cancellable, until the first
    is done, and yields True when it waited (the index may be finished by then: load it first). Where
    locks are not available (no ``fcntl``) it yields False at once."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here, builds are not shared
        yield False
        return
    lock = index_file.with_name(index_file.name.split(".")[0] + ".lock")
    with open(lock, "a+b") as fh:
        waited = False
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = True
                # said on every turn: the app's index process hears "cancel" only through its progress
                report(progress, 0, 0, "Waiting for another Terrafind that is building this index")
                check(cancel)
                time.sleep(0.5)
        try:
            yield waited
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
