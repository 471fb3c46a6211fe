"""The manifest of a sharded region (``region.json``): what each shard was built from and what it holds.

Each shard records its input files by identity (size, modification time, the hash of the Parquet footer)
and the SHA-256 of its index's sidecar (which itself holds checksums of every 64 MB of the index file:
:mod:`terrafind.core.search.index`): a shard is finished when both still match. Paths of files inside
the region folder are stored relative to it, so a region folder with its tiles inside can be moved.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from terrafind.core.errors import InputError
from terrafind.core.files import sha256_file, write_text_atomic

__all__ = [
    "MANIFEST",
    "FORMAT",
    "is_sharded",
    "read_manifest",
    "write_manifest",
    "file_identity",
    "shard_key",
    "stored_path",
    "real_path",
    "sha256_file",
]

MANIFEST = "region.json"
FORMAT = "terrafind-sharded-region"
VERSION = 1


def is_sharded(path: str | Path) -> bool:
    """True for a folder holding a sharded region's manifest."""
    p = Path(path)
    return p.is_dir() and (p / MANIFEST).is_file()


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest of the region folder ``root`` (an empty one when there is none yet)."""
    path = Path(root) / MANIFEST
    if not path.exists():
        return {"format": FORMAT, "version": VERSION, "shards": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is damaged: build the region again.", detail=str(exc)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("shards"), list):
        raise InputError(f"{path} is not the manifest of a Terrafind sharded region.")
    if int(data.get("version", 0)) > VERSION:
        raise InputError(f"{path} was made by a newer Terrafind: update Terrafind to open it.")
    return data


def write_manifest(root: Path, shards: list[dict[str, Any]]) -> Path:
    """Write the manifest (shards sorted by name) in one atomic step."""
    data = {
        "format": FORMAT,
        "version": VERSION,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "shards": sorted(shards, key=lambda s: str(s["name"])),
        "rows": sum(int(s.get("rows", 0)) for s in shards),
    }
    return write_text_atomic(Path(root) / MANIFEST, json.dumps(data, indent=1, sort_keys=True))


def stored_path(root: Path, path: str | Path) -> str:
    """How the manifest names a file: relative to the region folder when inside it, else absolute."""
    p = Path(path).resolve()
    try:
        return p.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(p)


def real_path(root: Path, stored: str) -> Path:
    p = Path(stored)
    return p if p.is_absolute() else Path(root) / p


def file_identity(path: str | Path) -> dict[str, Any]:
    """Size, modification time and the SHA-256 of the Parquet footer of an input file (cheap: the footer
    only), or InputError when it is gone."""
    p = Path(path)
    try:
        st = p.stat()
        with open(p, "rb") as fh:
            fh.seek(max(0, st.st_size - 8))
            tail = fh.read(8)
            length = int.from_bytes(tail[:4], "little") if len(tail) == 8 else 0
            fh.seek(max(0, st.st_size - 8 - length))
            footer = hashlib.sha256(fh.read(length + 8)).hexdigest()
    except OSError as exc:
        raise InputError(f"{p} cannot be read: check that it is still there.", detail=str(exc)) from None
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "footer": footer}


def shard_key(identities: list[dict[str, Any]], graph_key: str) -> str:
    """What a shard is built from, as one hash: its files' identities and the index's parameters."""
    text = json.dumps([identities, graph_key], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
