"""The approximate (hnswlib) index of a catalog: a graph on reduced vectors, exact re-ranking, a disk cache.

What fits in memory is a graph on a PCA projection of the vectors plus one residual column
(:mod:`terrafind.core.search.reduce`: 196-260 B a chip instead of hnswlib's own 1.5 KB float32 copy). A
query asks the graph for a few hundred candidates (``fetch``) and ranks them exactly from the catalog's
own vectors (memory-mapped from the region store), so scores are exact and recall is measured against
exact float32 search (docs/performance.md, "Region store and index").

The build runs in one worker thread, chunk by chunk (:mod:`terrafind.core.search.build`), with progress and
an estimate of the time left, and saves a checkpoint every few minutes: a build stopped by closing the app
resumes where it was. The finished graph is saved under the region's store (or ``cache_dir()/index`` for
catalogs made from arrays) with a name derived from the catalog's fingerprint and the graph's parameters;
a JSON sidecar records what the file should be, and a file that does not match (truncated, garbled, from
other data, another hnswlib) is rebuilt, never loaded blindly, because hnswlib trusts the bytes it reads.

Threads: queries hold a lock because ``set_ef`` is index-wide state; the graph is published only when
complete, so no query ever runs while ``add_items`` does.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import hnswlib
import numpy as np

from terrafind.core.catalog import Catalog
from terrafind.core.errors import CacheError
from terrafind.core.paths import cache_dir as _default_cache_dir
from terrafind.core.progress import CancelToken, ProgressFn, report
from terrafind.core.search import index_files as files
from terrafind.core.search.exact import top_sorted
from terrafind.core.search.reduce import Projection
from terrafind.core.versions import build_of

__all__ = [
    "IndexParams",
    "VectorIndex",
    "build_index",
    "load_cached_index",
    "load_or_build_index",
    "index_paths",
    "index_root",
]

_FORMAT = 2  # of the saved graph (part of the cache key): 2 = reduced vectors + residual, space l2
_SIDECAR_FORMAT = 3  # of the JSON sidecar


@dataclass(frozen=True)
class IndexParams:
    """How the graph is built and searched.

    ``dims`` PCA dimensions (plus the residual column) in space "l2"; M = 24 and ef_construction = 200:
    measured on 1 M clustered 384-d chips (bench/scale.py, docs/performance.md), M 16 / efC 100 tops out
    near 0.92 recall@100 on chips picked by people at any ``dims``, M 24 / efC 200 reaches 0.95-0.98. A query
    fetches ``max(fetch, fetch_per_k * k)`` candidates at ef = 1.25 x that (hnswlib cannot return more
    than ef), and ranks them exactly.
    """

    space: str = "l2"
    dims: int = 64
    M: int = 24
    ef_construction: int = 200
    ef_search: int = 1500
    fetch: int = 1200
    fetch_per_k: float = 4.0
    chunk_rows: int = 20_000
    num_threads: int = -1  # all cores
    seed: int = 100
    checkpoint_s: float = 300.0  # save the unfinished graph this often (a stopped build resumes from it)

    def graph_key(self) -> str:
        """The parameters that change the saved graph (query-time and chunking settings do not)."""
        import json

        return json.dumps(
            {
                "space": self.space,
                "dims": self.dims,
                "M": self.M,
                "efc": self.ef_construction,
                "seed": self.seed,
                "v": _FORMAT,
            },
            sort_keys=True,
        )

    @classmethod
    def for_rows(cls, rows: int) -> IndexParams:
        """The parameters for a region of ``rows`` chips: fewer graph dimensions above 4 M chips, so that
        10 M chips' graph stays near 5 GB (49 values a chip instead of 65), and more candidates to make up
        for them (docs/performance.md: at 1 M, 800 candidates gave recall@100 0.953 on chips people pick,
        1,200 gave 0.964, 2,400 0.974; exact int8 search itself reaches 0.984)."""
        if rows <= 4_000_000:
            return cls(dims=64, fetch=1200, ef_search=1500)
        return cls(dims=48, fetch=2000, ef_search=2500)

    def fetch_for(self, k: int, rows: int) -> int:
        """Candidates to re-rank for a top-``k`` (at most the rows there are)."""
        return min(int(rows), max(int(self.fetch), int(math.ceil(self.fetch_per_k * k)), int(k)))

    def ef_for(self, fetch: int) -> int:
        return max(int(self.ef_search), int(math.ceil(1.25 * fetch)), int(fetch))


def _threads(params: IndexParams) -> int:
    return params.num_threads if params.num_threads > 0 else (os.cpu_count() or 1)


class VectorIndex:
    """A complete hnswlib graph over a catalog's rows (labels = row numbers) and the vectors to re-rank by."""

    def __init__(
        self,
        index: hnswlib.Index | None,
        rows: int,
        dim: int,
        params: IndexParams,
        *,
        projection: Projection | None = None,
        vectors: Any = None,
        fingerprint: str = "",
        from_cache: bool = False,
    ) -> None:
        self._index = index
        self.rows = int(rows)
        self.dim = int(dim)
        self.params = params
        self.projection = projection
        self.vectors = vectors
        self.fingerprint = fingerprint
        self.from_cache = from_cache
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self.rows

    def candidates(self, queries: np.ndarray, fetch: int) -> np.ndarray:
        """The graph's ``fetch`` nearest rows for each unit query ((q, fetch) int64, -1 where fewer)."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        fetch = min(int(fetch), self.rows)
        if fetch <= 0 or self._index is None or self.projection is None or q.shape[0] == 0:
            return np.zeros((q.shape[0], 0), np.int64)
        return self.graph_knn(self.projection.queries(q), fetch)

    def graph_knn(self, reduced: np.ndarray, fetch: int) -> np.ndarray:
        """The graph's ``fetch`` nearest rows of already reduced queries (hnswlib releases the GIL here)."""
        if self._index is None:
            return np.zeros((len(reduced), 0), np.int64)
        with self._lock:
            self._index.set_ef(self.params.ef_for(fetch))
            labels, _ = self._index.knn_query(np.asarray(reduced, np.float32), k=fetch)
        return labels.astype(np.int64)

    def query(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by cosine: (rows (q, k') int64, sims (q, k') float32, exact), best first.

        ``k' = min(k, len(self))``. The graph proposes candidates, the catalog's vectors rank them. Safe to
        call from several threads at once (graph queries are serialised: ~1-3 ms each)."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        k_eff = min(int(k), self.rows)
        if k_eff <= 0 or self.projection is None or q.shape[0] == 0:
            return np.zeros((q.shape[0], 0), np.int64), np.zeros((q.shape[0], 0), np.float32)
        labels = self.candidates(q, self.params.fetch_for(k_eff, self.rows))
        out_rows = np.full((q.shape[0], k_eff), -1, np.int64)
        out_sims = np.full((q.shape[0], k_eff), -np.inf, np.float32)
        for j in range(q.shape[0]):
            cand = np.unique(labels[j][labels[j] >= 0])
            sims = np.clip(np.asarray(self.vectors[cand]) @ q[j], -1.0, 1.0).astype(np.float32)
            r, s = top_sorted(cand, sims, k_eff)
            out_rows[j, : len(r)], out_sims[j, : len(s)] = r, s
        release = getattr(self.vectors, "release", None)
        if release is not None and getattr(self.vectors, "release_pages", False):
            release()  # re-ranking touched pages all over a big store: hand them back
        return out_rows, out_sims

    def stored_vectors(self, rows: np.ndarray) -> np.ndarray:
        """The reduced vectors the graph holds for ``rows`` (checks a cached graph belongs to the data)."""
        if self._index is None:
            return np.zeros((0, self.projection.dims if self.projection else 0), np.float32)
        return np.asarray(self._index.get_items(np.asarray(rows, np.int64)), dtype=np.float32)

    def save(self, path: Path) -> None:
        if self._index is not None:
            self._index.save_index(str(path))


# --- where indexes live ------------------------------------------------------------------------------


def index_root(catalog: Catalog) -> Path:
    """The folder whose ``index/`` holds the catalog's index: its region store's, else ``cache_dir()``."""
    store = getattr(catalog, "store", None)
    return Path(store.folder) if store is not None else _default_cache_dir()


def index_paths(fingerprint: str, cache_dir: Path | None = None) -> tuple[Path, Path]:
    """(index file, JSON sidecar) for a fingerprint under ``cache_dir/index`` (default: ``cache_dir()``)."""
    folder = (Path(cache_dir) if cache_dir is not None else _default_cache_dir()) / "index"
    return folder / f"{fingerprint}.hnsw", folder / f"{fingerprint}.json"


def _sidecar_meta(vi: VectorIndex) -> dict[str, Any]:
    assert vi.projection is not None
    return {
        "format": _SIDECAR_FORMAT,
        "fingerprint": vi.fingerprint,
        "rows": vi.rows,
        "dim": vi.dim,
        "graph_dim": vi.projection.dims,
        "params": asdict(vi.params),
        "hnswlib": build_of("hnswlib"),
        "projection": vi.projection.to_json(),
    }


def _save(vi: VectorIndex, index_file: Path, sidecar: Path) -> None:
    files.write_graph(vi.save, index_file, sidecar, _sidecar_meta(vi))


def build_index(
    catalog: Catalog,
    *,
    params: IndexParams | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    checkpoint: Path | None = None,
) -> VectorIndex:
    """Build the graph over ``catalog.vectors``, one chunk of rows at a time.

    Progress (with the time left) is reported and the cancel token checked once per chunk
    (``params.chunk_rows``); a cancelled build raises :class:`terrafind.core.errors.Cancelled` and nothing
    half-built escapes. With ``checkpoint`` (the finished index's file name) the unfinished graph is saved
    beside it every ``params.checkpoint_s`` seconds and when cancelled, and a build finds and resumes it.
    """
    from terrafind.core.search.build import build_graph

    params = params or IndexParams.for_rows(len(catalog))
    n, d = len(catalog), catalog.dim
    fp = catalog.fingerprint(extra=params.graph_key() + catalog.space_key())
    if n == 0:
        report(progress, 0, 0, "Building the search index")
        return VectorIndex(None, 0, d, params, vectors=catalog.vectors, fingerprint=fp)
    index, projection = build_graph(
        catalog.vectors, params, fp, progress=progress, cancel=cancel, checkpoint=checkpoint
    )
    return VectorIndex(index, n, d, params, projection=projection, vectors=catalog.vectors, fingerprint=fp)


# --- the disk cache ---------------------------------------------------------------------------------


def _self_check(vi: VectorIndex, catalog: Catalog) -> None:
    """The loaded graph must hold this catalog's vectors and find them: sample rows, compare, query."""
    assert vi.projection is not None
    rng = np.random.default_rng(0)
    sample = np.unique(rng.integers(0, vi.rows, size=min(16, vi.rows)))
    stored = vi.stored_vectors(sample)
    expected = vi.projection.rows(np.asarray(catalog.vectors[sample]))
    # The residual column is a square root of a difference (noisy where it is near 0): a looser check.
    if (
        stored.shape != expected.shape
        or not np.allclose(stored[:, :-1], expected[:, :-1], atol=1e-4)
        or not np.allclose(stored[:, -1], expected[:, -1], atol=1e-2)
    ):
        raise CacheError("The saved search index holds other vectors than this data.")
    # The graph alone: an exact re-rank would read ~1,000 chips' vectors per sample row from the mapped
    # file, most of it (0.3 GB at 1 M) for the app's index process, which never ranks (core.search.server).
    rows = vi.candidates(np.asarray(catalog.vectors[sample]), min(10, vi.rows))
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
    meta = files.read_sidecar(sidecar)
    expected = {
        "format": _SIDECAR_FORMAT,
        "fingerprint": fingerprint,
        "rows": len(catalog),
        "dim": catalog.dim,
        "hnswlib": build_of("hnswlib"),  # distribution too: builds differ in file format
    }
    files.verify_graph(index_file, meta, expected, progress, cancel)
    try:
        projection = Projection.from_json(meta["projection"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CacheError("The saved search index has no usable projection.", detail=str(exc)) from None
    if projection.W.shape[0] != catalog.dim or meta.get("graph_dim") != projection.dims:
        raise CacheError("The saved search index was made for vectors of another width.")
    report(progress, 0, 1, "Loading the search index")
    from terrafind.core.search.build import check_graph_memory

    check_graph_memory(len(catalog), projection.dims, params.M)  # before hnswlib allocates it
    index = hnswlib.Index(space=params.space, dim=projection.dims)
    try:
        index.load_index(str(index_file), max_elements=len(catalog))
    except (RuntimeError, ValueError, MemoryError) as exc:
        raise CacheError("The saved search index could not be read.", detail=str(exc)) from exc
    if index.get_current_count() != len(catalog) or index.dim != projection.dims:
        raise CacheError("The saved search index holds a different number of chips.")
    index.set_num_threads(_threads(params))
    vi = VectorIndex(
        index,
        len(catalog),
        catalog.dim,
        params,
        projection=projection,
        vectors=catalog.vectors,
        fingerprint=fingerprint,
        from_cache=True,
    )
    _self_check(vi, catalog)
    report(progress, 1, 1, "Loading the search index")
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

    For callers that must not start a build of minutes (the CLI's ``search``)."""
    params = params or IndexParams.for_rows(len(catalog))
    fingerprint = catalog.fingerprint(extra=params.graph_key() + catalog.space_key())
    index_file, sidecar = index_paths(
        fingerprint, cache_dir if cache_dir is not None else index_root(catalog)
    )
    if len(catalog) == 0 or not sidecar.exists():
        return None
    try:
        return _load_cached(catalog, params, fingerprint, index_file, sidecar, progress, cancel)
    except CacheError:
        files.remove_files(index_file, sidecar)
        return None


def load_or_build_index(
    catalog: Catalog,
    *,
    params: IndexParams | None = None,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> VectorIndex:
    """The catalog's index from the disk cache when a valid one is there, else built (resuming a
    checkpoint when there is one) and saved.

    A cache entry that fails any check (sidecar, fingerprint, size, checksum, element count, a sample of
    stored vectors, a self-query) is deleted and rebuilt. Saving is best effort: a full or read-only disk
    still returns the built index.
    """
    params = params or IndexParams.for_rows(len(catalog))
    root = cache_dir if cache_dir is not None else index_root(catalog)
    cached = load_cached_index(catalog, params=params, cache_dir=root, progress=progress, cancel=cancel)
    if cached is not None:
        return cached
    index_file, sidecar = index_paths(
        catalog.fingerprint(extra=params.graph_key() + catalog.space_key()), root
    )
    if not _writable(index_file.parent):
        return build_index(catalog, params=params, progress=progress, cancel=cancel)
    with files.build_lock(index_file, progress, cancel) as waited:
        if waited:  # another process built it meanwhile
            done = load_cached_index(catalog, params=params, cache_dir=root, progress=progress, cancel=cancel)
            if done is not None:
                return done
        vi = build_index(catalog, params=params, progress=progress, cancel=cancel, checkpoint=index_file)
        if len(catalog) > 0:
            try:
                _save(vi, index_file, sidecar)
            except (OSError, RuntimeError):
                pass  # an unwritable cache only costs the next start a rebuild
            files.remove_files(*files.partial_paths(index_file))
    return vi


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
