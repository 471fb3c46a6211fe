"""Opening a region store: map its files, check them against ``meta.json``, and make the catalog.

Nothing is read whole: vectors, per-row floats, boxes, grid and the chips file are memory-mapped, so a
10 M-chip region opens in well under a second (docs/performance.md) and costs no memory until searched.
Any mismatch (a file missing or of the wrong size, another format, unreadable ranges) raises
:class:`terrafind.core.errors.CacheError`; the reader then deletes the store and reads the region again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from terrafind.core.errors import CacheError
from terrafind.core.store import layout as L
from terrafind.core.store.chips import IdColumn
from terrafind.core.store.codec import Int8Codec
from terrafind.core.store.grid import ChipGrid, GridParams
from terrafind.core.store.vectors import StoredVectors, map_array, release

__all__ = ["RegionStore", "load_store"]


@dataclass(eq=False)
class RegionStore:
    """A mapped region store (see :mod:`terrafind.core.store.layout` for its files)."""

    folder: Path
    meta: dict[str, Any]
    vectors: Any  # np.ndarray (float32, mapped) or StoredVectors (int8)
    norms: np.ndarray  # (n,) length of each vector as read
    cnorm: np.ndarray  # (n,) |unit row - mu|
    mu: np.ndarray  # (d,) the mean unit row
    boxes: np.ndarray  # (n, 4) footprint boxes
    grid: ChipGrid
    ids: IdColumn
    attributes: pa.Table
    _chips_map: Any = None  # keeps the Arrow memory map open while the tables live
    _maps: tuple[Any, ...] = ()  # the mmaps of boxes and per-row floats (see release)
    reused: bool = False  # opened again (True) or written by this open (False)

    @property
    def key(self) -> str:
        return self.folder.name

    @property
    def rows(self) -> int:
        return int(self.meta["rows"])

    @property
    def code(self) -> str:
        return str(self.meta["code"])

    @property
    def index_dir(self) -> Path:
        """Where this region's search index and its checkpoints live."""
        return self.folder / L.INDEX_DIR

    def size(self) -> int:
        """Bytes on disk, index included."""
        return L.folder_size(self.folder)

    def release(self) -> None:
        """Hand the pages of boxes, per-row floats and vectors back to the page cache after a pass over
        all of them (a coverage raster, a grid): they stay cached by the system, not held by the app."""
        for mm in self._maps:
            release(mm)
        if hasattr(self.vectors, "release"):
            self.vectors.release()


def _check_sizes(folder: Path, meta: dict[str, Any]) -> None:
    sizes = meta.get("sizes")
    if not isinstance(sizes, dict):
        raise CacheError("The region's cache has no list of its files.")
    for name, size in sizes.items():
        p = folder / name
        if not p.is_file() or p.stat().st_size != size:
            raise CacheError(f"The region's cache file {name} is missing or has the wrong size.")


def load_store(folder: Path) -> RegionStore:
    """Map the store in ``folder``; CacheError when it is incomplete, damaged or of another format."""
    folder = Path(folder)
    try:
        meta = L.read_meta(folder)
    except (OSError, ValueError) as exc:
        raise CacheError("The region's cache has no readable description.", detail=str(exc)) from None
    if meta.get("format") != L.STORE_FORMAT or meta.get("code") not in ("f32", "i8"):
        raise CacheError("The region's cache was written in another format.")
    _check_sizes(folder, meta)
    try:
        n, d = int(meta["rows"]), int(meta["dim"])
        mu = np.asarray(meta["mu"], np.float32)
        params = GridParams.from_json(meta["grid"])
        if mu.shape != (d,) or n < 0:
            raise ValueError("rows, dimensions and mean do not fit")
        if meta["code"] == "i8":
            codec = Int8Codec.from_json(meta["codec"], d)
            codes, mapping = map_array(folder / L.VECTORS, np.int8, (n, d))
            inv, _ = map_array(folder / L.INV, np.float32, (n,))
            vectors: Any = StoredVectors(codes, codec, inv, mapping)
        else:
            vectors, _ = map_array(folder / L.VECTORS, np.float32, (n, d))
        norms, m1 = map_array(folder / L.NORM, np.float32, (n,))
        cnorm, m2 = map_array(folder / L.CNORM, np.float32, (n,))
        boxes, m3 = map_array(folder / "boxes.f64", np.float64, (n, 4))
        keys = np.load(folder / L.GRID_KEYS, mmap_mode="r")
        order = np.load(folder / L.GRID_ROWS, mmap_mode="r")
        if keys.shape != (n,) or order.shape != (n,):
            raise ValueError("the grid does not fit the rows")
        source = pa.memory_map(str(folder / L.CHIPS))
        table = pa.ipc.open_file(source).read_all()
        if table.num_rows != n or table.column_names[:1] != ["id"]:
            raise ValueError("the chips file does not fit the rows")
    except (KeyError, TypeError, ValueError, OSError, pa.ArrowException) as exc:
        raise CacheError("The region's cache is damaged.", detail=str(exc)) from None
    attributes = table.drop_columns(["id"])
    if attributes.num_columns == 0:  # a zero-column table must still know its row count
        attributes = pa.Table.from_batches([pa.record_batch([pa.nulls(n)], names=["_"]).select([])])
    L.touch(folder)
    return RegionStore(
        folder=folder,
        meta=meta,
        vectors=vectors,
        norms=norms,
        cnorm=cnorm,
        mu=mu,
        boxes=boxes,
        grid=ChipGrid(boxes, params, keys, order),
        ids=IdColumn(table.column("id")),
        attributes=attributes,
        _chips_map=source,
        _maps=tuple(m for m in (m1, m2, m3) if m is not None),
    )
