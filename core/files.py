"""Writing files so that a crash, a full disk or a hostile folder never leaves half a file or follows a link.

Every file Terrafind writes (exports, projects, packs, caches, settings) goes through :func:`write_atomic`:

1. a fresh private folder is made beside the target (``mkdtemp``: an unpredictable name, mode 0700), so
   nobody can place a symlink where the temporary file will be;
2. the writer fills ``<that folder>/<target name>`` (same name and suffix: GDAL drivers and CSV sidecars
   look at them);
3. the file is flushed to disk (``fsync``) and moved over the target in one ``os.replace``, which replaces
   a symlink at the target rather than writing through it; then the folder entry itself is synced.
   Sidecars the writer put beside it (a CSV's ``.terrafind.json``) move along, before the file itself.

Readers see the old file or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "sha256_file",
    "write_atomic",
    "write_bytes_atomic",
    "write_text_atomic",
    "fsync_path",
    "private_folder",
    "commit",
]

_TRANSIENT = ("-journal", "-wal", "-shm")  # SQLite's (GeoPackage) working files: never moved into place


def sha256_file(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex), read 4 MB at a time: what manifests of packs, shards and
    embedded tiles record to tell a finished file from a changed or half-written one."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 << 20):
            h.update(chunk)
    return h.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to disk; folders where the OS cannot are skipped."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. Windows cannot open a folder
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def private_folder(path: Path) -> Path:
    """A fresh folder beside ``path`` only this process can use (unpredictable name, mode 0700): where a
    writer puts its temporary files, so nobody can plant a symlink at their names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{path.name[:40]}.", suffix=".tmp", dir=path.parent))


def commit(tmp: Path, path: Path) -> Path:
    """Flush ``tmp`` to disk and move it over ``path`` in one rename (a symlink at ``path`` is replaced,
    never written through), then flush the folder entry. Returns ``path``."""
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent)
    return path


def write_atomic(write: Callable[[Path], object], path: str | Path) -> Path:
    """Run ``write(tmp)`` on a temporary path beside ``path`` and move the result into place; return ``path``.

    ``tmp`` has the same file name as ``path`` inside a private folder, so writers that pick a driver by the
    suffix or write sidecars next to it work unchanged. Anything ``write`` left behind is removed."""
    path = Path(path)
    folder = private_folder(path)
    try:
        tmp = folder / path.name
        write(tmp)
        sidecars = [p for p in folder.iterdir() if p.name != path.name and not p.name.endswith(_TRANSIENT)]
        for p in [*sidecars, tmp]:
            if p.is_file():
                fsync_path(p)
            os.replace(p, path.parent / p.name)
        fsync_path(path.parent)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return path


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` (see :func:`write_atomic`)."""
    return write_atomic(lambda tmp: tmp.write_bytes(data), path)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Replace ``path`` with ``text`` in UTF-8 (see :func:`write_atomic`)."""
    return write_atomic(lambda tmp: tmp.write_text(text, encoding="utf-8"), path)
