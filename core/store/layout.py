"""Where region stores live, what names their files have, and how they are listed, sized and cleared.

A region store is the app cache of one opened region: everything a search needs, written once during the
first open and memory-mapped on every later one (:mod:`terrafind.core.store.writer`,
:mod:`terrafind.core.store.open`). It lives in ``cache_dir()/regions/<key>/`` where the key hashes what
the region was read from (each file's path, size, modification time and footer), the region and the
reading options (:func:`store_key`): a changed file gives a new key, and the store of its old content is
deleted when the new one is written (:func:`remove_stale`).

The files of a store (``meta.json`` says which exist and their sizes):

====================  ==========================================================================
``meta.json``         format, rows, dimensions, the code (``f32`` or ``i8``), the int8 ranges, the mean
                      unit vector ``mu``, the sources, region, model, problems, chip size, grid
``vectors.bin``       the rows, row-major, no header: float32 unit rows, or int8 codes
``inv.f32``           (i8) per row 1 / |decoded row|: plain cosine = (codes . q-fold) * inv
``cnorm.f32``         per row |unit row - mu|: cosine centred at query time (docs/architecture.md)
``norm.f32``          per row the vector's length as read (before it was made unit)
``chips.arrow``       Arrow IPC: id, xmin, ymin, xmax, ymax (float64 footprint box), then the
                      attribute columns; memory-mapped, nothing is held per chip
``grid_keys.npy``     the spatial grid (:mod:`terrafind.core.store.grid`): sorted cell keys and the
``grid_rows.npy``     rows in that order
``index/``            the search index of this region (:mod:`terrafind.core.search.index`)
====================  ==========================================================================

A store is complete on its own (codes and ranges, mean, grid, index) and its scores are exact cosines, so a
region made of several stores (shards, e.g. one per tile) searches each and merges the top hits by score
(docs/architecture.md, "Several stores as one region").
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terrafind.core.paths import cache_dir

__all__ = [
    "STORE_FORMAT",
    "META",
    "VECTORS",
    "INV",
    "CNORM",
    "NORM",
    "CHIPS",
    "GRID_KEYS",
    "GRID_ROWS",
    "INDEX_DIR",
    "StoreInfo",
    "regions_dir",
    "store_key",
    "store_dir",
    "read_meta",
    "list_stores",
    "clear_stores",
    "remove_stale",
    "folder_size",
    "touch",
    "changed",
]

STORE_FORMAT = 1  # of the files below; part of the key, so a new format never reads an old store
META = "meta.json"
VECTORS = "vectors.bin"
INV = "inv.f32"
CNORM = "cnorm.f32"
NORM = "norm.f32"
CHIPS = "chips.arrow"
GRID_KEYS = "grid_keys.npy"
GRID_ROWS = "grid_rows.npy"
INDEX_DIR = "index"
_USED = ".used"  # touched on every open: the cache list says when a region was last used
_PARTIAL_AGE_S = 6 * 3600  # a half-written store older than this was left by a crash


def regions_dir(root: Path | None = None) -> Path:
    """``cache_dir()/regions`` (or ``root/regions``), made when missing."""
    folder = (Path(root) if root is not None else cache_dir()) / "regions"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_key(identity: dict[str, Any]) -> str:
    """The folder name of the store of ``identity`` (sources, region, options; JSON-able)."""
    payload = json.dumps({"format": STORE_FORMAT, **identity}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def store_dir(key: str, root: Path | None = None) -> Path:
    return regions_dir(root) / key


def read_meta(folder: Path) -> dict[str, Any]:
    """A store's ``meta.json`` (ValueError / OSError when missing or not JSON)."""
    data = json.loads((Path(folder) / META).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("meta.json is not an object")
    return data


def folder_size(folder: Path) -> int:
    """Bytes of every file under ``folder`` (0 when it is gone)."""
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def touch(folder: Path) -> None:
    """Remember that the store was used now (best effort: a read-only cache still opens)."""
    try:
        (Path(folder) / _USED).touch()
    except OSError:
        pass


@dataclass(frozen=True)
class StoreInfo:
    """One store as the cache list shows it."""

    key: str
    folder: Path
    size: int
    rows: int
    files: tuple[str, ...]  # the embeddings files it was read from (names only)
    used: float  # when it was last opened (seconds since the epoch)
    has_index: bool


def _info(folder: Path) -> StoreInfo | None:
    try:
        meta = read_meta(folder)
    except (OSError, ValueError):
        return None
    used_file = folder / _USED
    used = used_file.stat().st_mtime if used_file.exists() else (folder / META).stat().st_mtime
    index = folder / INDEX_DIR
    return StoreInfo(
        key=folder.name,
        folder=folder,
        size=folder_size(folder),
        rows=int(meta.get("rows", 0)),
        files=tuple(Path(str(s.get("path", ""))).name for s in meta.get("sources", [])),
        used=used,
        has_index=index.is_dir() and any(p.suffix == ".hnsw" for p in index.iterdir()),
    )


def list_stores(root: Path | None = None) -> list[StoreInfo]:
    """Every complete store, most recently used first."""
    found = [_info(p) for p in regions_dir(root).iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted((i for i in found if i is not None), key=lambda i: -i.used)


def clear_stores(
    keys: list[str] | None = None, *, keep: set[str] | None = None, root: Path | None = None
) -> int:
    """Delete the stores named by ``keys`` (all when None) except those in ``keep`` (open right now);
    return the bytes freed. Clearing all also removes half-written stores left by crashed opens."""
    freed = 0
    keep = keep or set()
    for folder in regions_dir(root).iterdir():
        if not folder.is_dir() or folder.name in keep:
            continue
        if folder.name.startswith("."):  # being written, or left by a crash
            if keys is not None or time.time() - folder.stat().st_mtime < _PARTIAL_AGE_S:
                continue
        elif keys is not None and folder.name not in keys:
            continue
        size = folder_size(folder)
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            freed += size
    return freed


def remove_stale(paths: list[str], key: str, root: Path | None = None) -> None:
    """Delete stores read from the same files (by path) whose files have changed since: they can never be
    used again. Half-written stores left by a crash long ago go too."""
    wanted = sorted(paths)
    for folder in regions_dir(root).iterdir():
        if not folder.is_dir() or folder.name == key:
            continue
        if folder.name.startswith("."):
            if time.time() - folder.stat().st_mtime > _PARTIAL_AGE_S:
                shutil.rmtree(folder, ignore_errors=True)
            continue
        try:
            meta = read_meta(folder)
        except (OSError, ValueError):
            continue
        theirs = sorted(str(s.get("path")) for s in meta.get("sources", []))
        if theirs == wanted and changed(meta):
            shutil.rmtree(folder, ignore_errors=True)


def changed(meta: dict[str, Any]) -> bool:
    """True when a file the store was read from is gone or differs now (size or modification time)."""
    for s in meta.get("sources", []):
        if "://" in str(s.get("path")):  # a remote file: its identity is checked when it is opened
            continue
        try:
            st = os.stat(str(s.get("path")))
        except OSError:
            return True
        if st.st_size != s.get("size") or st.st_mtime_ns != s.get("mtime_ns"):
            return True
    return False
