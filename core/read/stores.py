"""Where an open meets the region stores: the key of what is read, the attribute schema of the chips file,
the disk check before writing, and cutting a region out of a cached whole (:mod:`terrafind.core.store`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa

from terrafind.core.catalog import Catalog
from terrafind.core.errors import CacheError, InputError
from terrafind.core.progress import CancelToken, ProgressFn
from terrafind.core.read.sources import ParquetSource
from terrafind.core.store.layout import META, store_dir, store_key
from terrafind.core.store.open import load_store
from terrafind.core.store.writer import choose_code
from terrafind.core.types import Region
from terrafind.core.units import human_bytes

__all__ = ["READER_VERSION", "identity", "attribute_schema", "check_disk", "cut_from_whole"]

READER_VERSION = 2  # what a store holds for the same inputs changes with this (part of the store key)


def identity(
    sources: list[ParquetSource],
    region: Region | None,
    embedding_column: str | None,
    chip_size_m: float | None,
) -> dict[str, Any]:
    """What a region store is made from: each file's identity, the region, the reading options."""
    return {
        "sources": [[s.path, s.size, s.mtime_ns, s.footer_hash] for s in sources],
        "region": region.to_dict() if region is not None else None,
        "embedding_column": embedding_column,
        "chip_size_m": chip_size_m,
        "reader": READER_VERSION,
    }


def attribute_schema(sources: list[ParquetSource]) -> pa.Schema:
    """One schema for the attribute columns of all files (types promoted; text where they disagree)."""
    fields: dict[str, pa.DataType] = {}
    for src in sources:
        for name in src.layout.attributes:
            t = src.schema.field(name).type
            if pa.types.is_dictionary(t):
                t = t.value_type
            if isinstance(t, pa.ExtensionType):
                t = t.storage_type
            if name not in fields or fields[name] == t or pa.types.is_null(t):
                fields.setdefault(name, t)
                continue
            if pa.types.is_null(fields[name]):
                fields[name] = t
                continue
            try:
                merged = pa.unify_schemas(
                    [pa.schema([(name, fields[name])]), pa.schema([(name, t)])], promote_options="permissive"
                )
                fields[name] = merged.field(name).type
            except (pa.ArrowException, TypeError):
                fields[name] = pa.string()
    return pa.schema(list(fields.items()))


def check_disk(folder: Path, rows: int, dim: int, label: str) -> None:
    """InputError when the app cache's disk cannot hold the region's store (checked before writing)."""
    per_row = dim * (1 if choose_code(rows) == "i8" else 4) + 12 + 32 + 24 + 16 + 64
    need = int(rows * per_row * 1.05) + (1 << 20)
    free = shutil.disk_usage(folder).free
    if need > free:
        raise InputError(
            f"Opening {label} needs about {human_bytes(need)} of free disk space for its app cache in "
            f"{folder}, but only {human_bytes(free)} is free: free some space or choose a smaller region."
        )


def cut_from_whole(
    sources: list[ParquetSource],
    region: Region,
    embedding_column: str | None,
    chip_size_m: float | None,
    folder: Path,
    progress: ProgressFn | None,
    cancel: CancelToken | None,
) -> Catalog | None:
    """The region's catalog cut from the store of the whole files (:mod:`terrafind.core.store.derive`),
    or None when that store is not there."""
    from terrafind.core.store.derive import derive_store

    whole_dir = store_dir(store_key(identity(sources, None, embedding_column, chip_size_m)))
    if not (whole_dir / META).exists():
        return None
    try:
        whole = load_store(whole_dir)
    except CacheError:
        return None
    meta: dict[str, Any] = {
        k: whole.meta[k] for k in ("sources", "adapter", "model", "chip_size_m") if k in whole.meta
    }
    meta.update(
        region=region.to_dict(),
        identity=identity(sources, region, embedding_column, chip_size_m),
        problems=list(whole.meta.get("problems", [])),
    )
    final = derive_store(whole, region, folder, meta, progress=progress, cancel=cancel)
    store = load_store(final)
    if store.rows == 0 and whole.rows:
        store.meta.setdefault("problems", []).append(
            "None of the chips in the opened files lies inside the chosen region."
        )
    return Catalog.from_store(store)
