"""The approximate (hnswlib) index of a catalog, built in chunks and cached on disk.

Building 1M x 384 takes minutes on 2 cores but reloading takes ~1.5 s (research/perf-baseline.md), so an
index is always saved under ``cache_dir()/index`` with a name derived from the catalog's fingerprint (files,
sizes, mtimes, footer hashes, region) and the parameters that shape the graph. A JSON sidecar records what
the file should be; a cache file that does not match (truncated, garbled, from other data, another hnswlib)
is rebuilt, never loaded blindly, because hnswlib trusts the bytes it reads.

Threads: ``build_index`` runs in one worker thread; the returned :class:`VectorIndex` is published only
when every chunk was added, and its queries hold a lock because ``set_ef`` is index-wide state.
"""

from __future__ import annotations

import json
import os
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.errors import CacheError
from terrafind.core.files import write_atomic, write_text_atomic
from terrafind.core.paths import cache_dir as _default_cache_dir
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.versions import build_of

__all__ = [
    "IndexParams",
    "VectorIndex",
    "build_index",
    "load_cached_index",
    "load_or_build_index",
    "index_paths",
]

_FORMAT = 1  # of the saved graph (part of the cache key)
_SIDECAR_FORMAT = 2  # of the JSON sidecar
_CHECK_CHUNK = 64 << 20  # one checksum per 64 MB of the cache file (pieces checked in parallel)
_READ_PIECE = 16 << 20


@dataclass(frozen=True)
class IndexParams:
    """How the hnswlib graph is built and searched.

    ``space="ip"`` on unit vectors is cosine similarity (hnswlib's "cosine" would normalise a copy again).
    M=16 / ef_construction=200 as measured in research/perf-baseline.md. At query time
    ef = max(ef_search, ef_per_k * k): recall falls as k grows unless ef grows with it, and hnswlib cannot
    return k results with ef < k. Swept with bench/core.py on 1M x 384 (docs/performance.md), two builds:
    recall@100 0.973-0.987 at ef 256, 0.979-0.992 at ef 384, 0.980-0.993 at ef 512 (0.7 / 1.0 / 1.3 ms);
    recall@1000 0.988-0.996 at ef 1.5 k and 0.989-0.997 at 2 k (1.9 / 2.2 ms): past 384 and 1.5 k, more
    ef buys almost nothing.
    """

    space: str = "ip"
    M: int = 16
    ef_construction: int = 200
    ef_search: int = 384
    ef_per_k: float = 1.5
    chunk_rows: int = 20_000
    num_threads: int = -1  # all cores
    seed: int = 100

    def graph_key(self) -> str:
        """The parameters that change the saved graph (query-time and chunking settings do not)."""
        return json.dumps(
            {"space": self.space, "M": self.M, "efc": self.ef_construction, "seed": self.seed, "v": _FORMAT},
            sort_keys=True,
        )

    def ef_for(self, k: int) -> int:
        return max(int(self.ef_search), int(np.ceil(self.ef_per_k * k)), int(k))


class VectorIndex:
    """A complete hnswlib index over a catalog's rows (labels = row numbers)."""

    def __init__(
        self,
        index: hnswlib.Index | None,
        rows: int,
        dim: int,
        params: IndexParams,
        *,
        fingerprint: str = "",
        from_cache: bool = False,
    ) -> None:
        self._index = index
        self.rows = int(rows)
        self.dim = int(dim)
        self.params = params
        self.fingerprint = fingerprint
        self.from_cache = from_cache
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.rows

    def query(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-``k`` by inner product: (rows (q, k') int64, sims (q, k') float32), best first.

        ``k' = min(k, len(self))``. Safe to call from several threads at once (calls are serialised:
        each takes ~0.3-3 ms and itself uses all cores across the query rows).
        """
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        k_eff = min(int(k), self.rows)
        if k_eff <= 0 or self._index is None or q.shape[0] == 0:
            return np.zeros((q.shape[0], 0), np.int64), np.zeros((q.shape[0], 0), np.float32)
        with self._lock:
            self._index.set_ef(self.params.ef_for(k_eff))
            labels, dist = self._index.knn_query(q, k=k_eff)
        # hnswlib's "ip" distance is 1 - <q, x>.
        return labels.astype(np.int64), (1.0 - dist).astype(np.float32)

    def stored_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The vectors the index holds for ``rows`` (used to check a cached index belongs to the data)."""
        if self._index is None:
            return np.zeros((0, self.dim), np.float32)
        return np.asarray(self._index.get_items(np.asarray(rows, np.int64)), dtype=np.float32)

    def save(self, path: Path) -> None:
        if self._index is not None:
            self._index.save_index(str(path))


def build_index(
    catalog: Catalog,
    *,
    params: IndexParams | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> VectorIndex:
    """Build an hnswlib index over ``catalog.vectors``, one chunk of rows at a time.

    Progress is reported and the cancel token checked once per chunk (``params.chunk_rows``); a cancelled
    build raises :class:`terrafind.core.errors.Cancelled` and nothing half-built escapes.
    """
    params = params or IndexParams()
    n, d = len(catalog), catalog.dim
    fp = catalog.fingerprint(extra=params.graph_key())
    label = "Building the search index"
    if n == 0:
        report(progress, 0, 0, label)
        return VectorIndex(None, 0, d, params, fingerprint=fp)
    index = hnswlib.Index(space=params.space, dim=d)
    index.init_index(
        max_elements=n, ef_construction=params.ef_construction, M=params.M, random_seed=params.seed
    )
    index.set_num_threads(params.num_threads if params.num_threads > 0 else (os.cpu_count() or 1))
    report(progress, 0, n, label)
    step = max(1, int(params.chunk_rows))
    for start in range(0, n, step):
        check(cancel)
        stop = min(n, start + step)
        # add_items releases the GIL and uses num_threads threads; the GUI stays responsive.
        index.add_items(catalog.vectors[start:stop], np.arange(start, stop, dtype=np.int64))
        report(progress, stop, n, label)
    return VectorIndex(index, n, d, params, fingerprint=fp)


# --- the disk cache ---------------------------------------------------------------------------------


def index_paths(fingerprint: str, cache_dir: Path | None = None) -> tuple[Path, Path]:
    """(index file, JSON sidecar) for a fingerprint."""
    folder = (Path(cache_dir) if cache_dir is not None else _default_cache_dir()) / "index"
    return folder / f"{fingerprint}.hnsw", folder / f"{fingerprint}.json"


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


def _file_sums(path: Path, progress: ProgressFn | None, cancel: CancelToken | None) -> list[int]:
    """Adler-32 of each 64 MB piece of the file, two pieces at a time.

    A full check, because hnswlib would follow garbled offsets anywhere. Adler-32 (~1.4 GB/s per core here,
    CRC-32 ~0.7-2 GB/s) over pieces in a thread pool (zlib releases the GIL) keeps the check of a 1M x 384
    index (1.7 GB) well under a second on 2 cores; it also warms the page cache that hnswlib reads next.
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


def _save(vi: VectorIndex, index_file: Path, sidecar: Path) -> None:
    meta: dict[str, Any] = {}

    def write(tmp: Path) -> None:
        vi.save(tmp)
        meta.update(
            format=_SIDECAR_FORMAT,
            fingerprint=vi.fingerprint,
            rows=vi.rows,
            dim=vi.dim,
            params=asdict(vi.params),
            hnswlib=build_of("hnswlib"),
            size=tmp.stat().st_size,
            checksum="adler32/64MB",
            sums=_file_sums(tmp, None, None),
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )

    write_atomic(write, index_file)
    # The sidecar goes last: an index file without its sidecar is never trusted.
    write_text_atomic(sidecar, json.dumps(meta, indent=1))


def _self_check(vi: VectorIndex, catalog: Catalog) -> None:
    """The loaded graph must hold this catalog's vectors and find them: sample rows, compare, query."""
    rng = np.random.default_rng(0)
    sample = np.unique(rng.integers(0, vi.rows, size=min(16, vi.rows)))
    stored = vi.stored_vectors(sample)
    if stored.shape != (len(sample), vi.dim) or not np.allclose(stored, catalog.vectors[sample], atol=1e-6):
        raise CacheError("The saved search index holds other vectors than this data.")
    rows, _ = vi.query(catalog.vectors[sample], k=min(10, vi.rows))
    found = np.mean([s in r for s, r in zip(sample, rows, strict=True)])
    # Duplicate vectors can legitimately hide a row behind its twin; a broken graph finds almost nothing.
    if found < 0.75:
        raise CacheError("The saved search index does not find its own chips.")


def _load_cached(
    catalog: Catalog,
    params: IndexParams,
    fingerprint: str,
    index_file: Path,
    sidecar: Path,
    progress: ProgressFn | None,
    cancel: CancelToken | None,
) -> VectorIndex:
    """Open a cached index after checking it; raise CacheError on any mismatch."""
    try:
        meta: dict[str, Any] = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise CacheError("The saved search index has no readable description.", detail=str(exc)) from exc
    expected = {
        "format": _SIDECAR_FORMAT,
        "fingerprint": fingerprint,
        "rows": len(catalog),
        "dim": catalog.dim,
        "hnswlib": build_of("hnswlib"),  # distribution too: builds differ in file format
    }
    for key, want in expected.items():
        if meta.get(key) != want:
            raise CacheError(f"The saved search index was made for other data ({key} differs).")
    if not index_file.exists() or index_file.stat().st_size != meta.get("size"):
        raise CacheError("The saved search index file is missing or has the wrong size.")
    if meta.get("checksum") != "adler32/64MB" or _file_sums(index_file, progress, cancel) != meta.get("sums"):
        raise CacheError("The saved search index file is damaged (checksum differs).")
    index = hnswlib.Index(space=params.space, dim=catalog.dim)
    try:
        index.load_index(str(index_file), max_elements=len(catalog))
    except (RuntimeError, ValueError, MemoryError) as exc:
        raise CacheError("The saved search index could not be read.", detail=str(exc)) from exc
    if index.get_current_count() != len(catalog) or index.dim != catalog.dim:
        raise CacheError("The saved search index holds a different number of chips.")
    index.set_num_threads(params.num_threads if params.num_threads > 0 else (os.cpu_count() or 1))
    vi = VectorIndex(index, len(catalog), catalog.dim, params, fingerprint=fingerprint, from_cache=True)
    _self_check(vi, catalog)
    return vi


def load_cached_index(
    catalog: Catalog,
    *,
    params: IndexParams | None = None,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> VectorIndex | None:
    """The catalog's index from the disk cache, or None when there is no valid one (a bad one is deleted).

    For callers that must not start a build of several minutes (the CLI's ``search``)."""
    params = params or IndexParams()
    fingerprint = catalog.fingerprint(extra=params.graph_key())
    index_file, sidecar = index_paths(fingerprint, cache_dir)
    if len(catalog) == 0 or not sidecar.exists():
        return None
    try:
        return _load_cached(catalog, params, fingerprint, index_file, sidecar, progress, cancel)
    except CacheError:
        for p in (index_file, sidecar):
            p.unlink(missing_ok=True)
        return None


def load_or_build_index(
    catalog: Catalog,
    *,
    params: IndexParams | None = None,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> VectorIndex:
    """The catalog's index from the disk cache when a valid one is there, else built and saved.

    A cache entry that fails any check (sidecar, fingerprint, size, checksum, element count, a sample of
    stored vectors, a self-query) is deleted and rebuilt. Saving is best effort: a full or read-only disk
    still returns the built index.
    """
    params = params or IndexParams()
    cached = load_cached_index(catalog, params=params, cache_dir=cache_dir, progress=progress, cancel=cancel)
    if cached is not None:
        return cached
    vi = build_index(catalog, params=params, progress=progress, cancel=cancel)
    if len(catalog) > 0:
        try:
            _save(vi, *index_paths(vi.fingerprint, cache_dir))
        except (OSError, RuntimeError):
            pass  # an unwritable cache only costs the next start a rebuild
    return vi
