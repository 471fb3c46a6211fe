"""Opening a sharded region as one: the shards' chips as one catalog (one per date) and a merged index.

Each shard is opened from its own region store (in its folder: nothing is read from the tile itself when
the store is there), and the chips go into one catalog, shard after shard (by date, then name), so shard
``i``'s rows are ``offset_i .. offset_i + rows_i`` of the region's: :class:`ShardedRegion` keeps those
offsets and each shard's own catalog, whose index (in its store, checked like any cached index) answers for
its rows in a :class:`terrafind.core.shards.index.ShardedIndex`. The region's vectors are decoded into one
float32 matrix, sized from the manifest, shard by shard: opening holds the region's vectors once, in memory
(a region larger than memory is opened a part at a time: a box on the map, ``--bbox``).

Opened with a region (a box on the map, ``--bbox``), only the tiles that touch it are read, limited to it,
as plain files (:func:`tiles_in`): the shards' indexes cover whole tiles, so such a region gets its own
index as any other data does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.shards import manifest as M
from terrafind.core.shards.index import ShardedIndex
from terrafind.core.types import Region

__all__ = ["ShardPart", "ShardedRegion", "open_sharded", "tiles_in", "in_space"]

_BLOCK = 65_536


@dataclass
class ShardPart:
    """Where one shard's chips sit in a region catalog, and the shard's own (store-backed) catalog."""

    name: str
    offset: int
    rows: int
    catalog: Catalog


@dataclass
class ShardedRegion:
    """An opened sharded region: its folder, manifest, and for each catalog opened from it (one per date)
    the shards in it. ``catalogs[i]`` is made of ``parts[i]``."""

    root: Path
    manifest: dict[str, Any]
    catalogs: list[Catalog] = field(default_factory=list)
    parts: list[list[ShardPart]] = field(default_factory=list)
    dates: Any = None  # terrafind.core.dates.region.DatedRegion when the tiles are of several dates

    @property
    def catalog(self) -> Catalog:
        """The catalog shown first (the latest date's)."""
        return self.catalogs[-1]

    def files(self) -> list[str]:
        """The tiles' files, every date's, in shard order."""
        return [str(s.path) for cat in self.catalogs for s in cat.sources]

    def parts_of(self, catalog: Catalog) -> list[ShardPart] | None:
        """The shards of ``catalog``: one opened here, or the same centred or plain (a catalog of another
        space shares the plain rows of the one it was made from)."""
        for cat, parts in zip(self.catalogs, self.parts, strict=True):
            if cat is catalog or cat.plain is catalog.plain:
                return parts
        return None

    def load_index(
        self,
        catalog: Catalog,
        *,
        build: bool = True,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> ShardedIndex | None:
        """The merged index of ``catalog`` from its shards' indexes (each checked against its chips like any
        cached index); a shard whose index is missing or does not match is built anew in its folder
        (``build``) or, without ``build``, the answer is None (searches are then exact)."""
        from terrafind.core.search import index as ix

        parts = self.parts_of(catalog)
        if parts is None:
            return None
        loaded = []
        for i, part in enumerate(parts):
            check(cancel)
            report(progress, i, len(parts), f"Loading the index of {part.name}")
            own = in_space(part.catalog, catalog)
            one: Any = (
                ix.load_or_build_index(own, cancel=cancel)
                if build
                else ix.load_cached_index(own, cancel=cancel)
            )
            if one is None:
                return None
            loaded.append((part.offset, one))
        report(progress, len(parts), len(parts), "Index of every shard loaded")
        return ShardedIndex(loaded, catalog.dim, fingerprint=catalog.fingerprint(extra=catalog.space_key()))


def in_space(shard: Catalog, region: Catalog) -> Catalog:
    """A shard's catalog scoring as the region's does: centred on the region's mean, or plain. Its index
    (in the shard's folder, its fingerprint naming the mean) then ranks in the region's space."""
    return shard.centred(region.centre) if region.centre is not None else shard.uncentred()


def _entries(root: Path) -> list[dict[str, Any]]:
    data = M.read_manifest(root)
    entries = [e for e in data["shards"] if isinstance(e, dict) and e.get("files")]
    if not entries:
        raise InputError(f"The sharded region {root} has no shards yet: build them with terrafind-cli index.")
    for e in entries:
        for f in e["files"]:
            if not M.real_path(root, f["path"]).exists():
                raise InputError(
                    f"The tile {e['name']} of {root.name} is missing ({f['path']}); put it back, or build "
                    "the region again without it."
                )
    return sorted(entries, key=lambda e: (str(e.get("date") or ""), str(e["name"])))


def tiles_in(root: str | Path, region: Region) -> list[str]:
    """The files of the tiles whose box touches ``region``, or InputError when none does."""
    from terrafind.core.read.geo import bbox_intersects

    root = Path(root)
    files = [
        str(M.real_path(root, f["path"]))
        for e in _entries(root)
        if not e.get("bbox") or bbox_intersects(tuple(e["bbox"]), region.bbox)
        for f in e["files"]
    ]
    if not files:
        raise InputError(f"None of the tiles of {root.name} lies inside the chosen region.")
    return files


def open_sharded(
    root: str | Path,
    *,
    embedding_column: str | None = None,
    chip_size_m: float | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> ShardedRegion:
    """Open every shard of the region folder ``root``: one catalog per date of the tiles (one catalog
    when they state no dates or one), shards in (date, name) order."""
    from terrafind.core.dates.region import DatedRegion, DateSlice

    root = Path(root)
    entries = _entries(root)
    out = ShardedRegion(root, M.read_manifest(root))
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for e in entries:
        groups.setdefault(e.get("date"), []).append(e)
    dated = len(groups) > 1
    done, slices = 0, []
    for label, group in groups.items():
        catalog, parts = _open_group(root, group, dated, label, embedding_column, chip_size_m,
                                     lambda i, name, d=done: report(progress, d + i, len(entries), f"Opening {name}"),
                                     cancel)  # fmt: skip
        done += len(group)
        out.catalogs.append(catalog)
        out.parts.append(parts)
        files = [str(M.real_path(root, f["path"])) for e in group for f in e["files"]]
        if dated:
            slices.append(DateSlice(str(label), catalog, files))
    report(progress, len(entries), len(entries), "Region opened")
    if dated:
        if None in groups:
            raise InputError(
                f"Some tiles of {root.name} state a date and others do not; give each tile its date "
                "(terrafind-cli embed --date) and index them again."
            )
        out.dates = DatedRegion(slices)
        order = [s.catalog for s in out.dates.slices]  # oldest first, as the dates are shown
        pairs = sorted(zip(out.catalogs, out.parts, strict=True), key=lambda cp: order.index(cp[0]))
        out.catalogs, out.parts = [c for c, _ in pairs], [p for _, p in pairs]
    return out


def _open_group(
    root: Path, group: list[dict[str, Any]], dated: bool, label: str | None, embedding_column: str | None,
    chip_size_m: float | None, say: Any, cancel: CancelToken | None,
) -> tuple[Catalog, list[ShardPart]]:  # fmt: skip
    """The shards of one date as one catalog (vectors copied into one matrix as each shard is read)."""
    from terrafind.core.read.collect import unique_ids
    from terrafind.core.read.reader import open_catalog

    planned = sum(int(e.get("rows", 0)) for e in group)
    vectors: np.ndarray | None = None
    norms: np.ndarray | None = None
    ids: list[Any] = []
    shapes: list[Any] = []
    tables: list[pa.Table] = []
    sources: list[Any] = []
    problems: list[str] = []
    parts: list[ShardPart] = []
    first: Catalog | None = None
    offset = 0
    for i, e in enumerate(group):
        check(cancel)
        say(i, e["name"])
        files = [str(M.real_path(root, f["path"])) for f in e["files"]]
        cat = open_catalog(files, embedding_column=embedding_column, chip_size_m=chip_size_m,
                           store_root=root / "shards" / str(e["name"]), cancel=cancel)  # fmt: skip
        n = len(cat)
        if first is None:
            first = cat
        elif cat.dim != first.dim:
            raise InputError(
                f"The tile {e['name']} has {cat.dim}-value embeddings but {group[0]['name']} has {first.dim}: "
                "a region's tiles must be made by one model."
            )
        if vectors is None:
            vectors = np.empty((max(planned, n), cat.dim), np.float32)
            norms = np.ones(len(vectors), np.float32)
        if offset + n > len(vectors):  # the tile changed since it was indexed: grow (rare)
            vectors = np.concatenate(
                [vectors[:offset], np.empty((offset + n - len(vectors[:offset]), cat.dim), np.float32)]
            )
            norms = np.concatenate([norms[:offset], np.ones(n, np.float32)])  # type: ignore[index]
        assert norms is not None
        for a in range(0, n, _BLOCK):  # int8 codes of a big store decoded a block at a time
            b = min(n, a + _BLOCK)
            vectors[offset + a : offset + b] = np.asarray(cat.vectors[a:b], np.float32)
        norms[offset : offset + n] = np.asarray(cat.norms) if cat.norms is not None else 1.0
        ids.append(pa.array([str(i) for i in np.asarray(cat.ids)], pa.string()))
        shapes.append(np.asarray(cat.footprints, dtype=object))
        tables.append(cat.attributes)
        sources.extend(cat.sources)
        problems.extend(f"{e['name']}: {p}" for p in cat.problems)
        parts.append(ShardPart(str(e["name"]), offset, n, cat))
        offset += n
    assert vectors is not None and norms is not None and first is not None
    catalog = Catalog(
        vectors=vectors[:offset],
        ids=unique_ids(pa.concat_arrays(ids), problems),
        footprints=np.concatenate(shapes),
        attributes=_concat(tables, offset),
        sources=sources,
        adapter=first.adapter,
        model=first.model,
        problems=problems,
        chip_size_m=first.chip_size_m,
        period=str(label) if dated and label is not None else None,
        norms=norms[:offset],
    )
    return catalog, parts


def _concat(tables: Sequence[pa.Table], rows: int) -> pa.Table:
    if any(t.num_columns for t in tables):
        return pa.concat_tables(tables, promote_options="permissive")
    return pa.Table.from_batches([pa.record_batch([pa.nulls(rows)], names=["_"]).select([])])
