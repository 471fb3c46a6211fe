"""Inputs are never outputs: where Terrafind may write a file the user asked for.

Exports, projects, embeddings, label sets and field packs are written only where they cannot destroy what
the user has: never over a file that is open (the data, a field pack in use), never into a folder that
holds the open data, never over a file of another kind (a GeoParquet file named ``data.gpx``), never
over a folder. Formats and suffixes agree (:func:`terrafind.core.export.formats.resolve`). Every rule is
one sentence that says what to do instead.

``protected`` is what is open: file paths (the data's files) and folders (a field pack's root); callers
get it from :meth:`terrafind.core.session.Session.protected_paths` or from their own inputs (the CLI).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from terrafind.core.errors import InputError

__all__ = ["file_kind", "check_output_file", "check_pack_folder", "free_pack_folder", "KINDS"]

# What a file of each output kind may replace (by content, not by name).
KINDS = {
    "geojson": {"json", "empty"},
    "gpkg": {"sqlite", "empty"},
    "csv": {"text", "empty"},
    "gpx": {"xml", "empty"},
    "kml": {"xml", "empty"},
    "project": {"project", "empty"},
    "embeddings": {"parquet", "empty"},
    "labelset": {"parquet", "empty"},
    "raster": {"tiff", "empty"},  # the scores raster (core.export.raster)
}
_NAMES = {
    "parquet": "a GeoParquet/Parquet file",
    "sqlite": "a database (GeoPackage/SQLite)",
    "zip": "a zip archive",
    "tiff": "an image (GeoTIFF)",
    "json": "a JSON/GeoJSON file",
    "project": "a Terrafind project",
    "xml": "an XML file (GPX/KML)",
    "text": "a text file",
    "other": "a file of another kind",
}


def file_kind(path: Path) -> str:
    """What an existing file holds, from its first bytes: parquet, sqlite, zip, tiff, project, json, xml,
    text, empty or other."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return "other"
    if not head:
        return "empty"
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"SQLite format 3\x00"):
        return "sqlite"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"{"):
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path.stat().st_size < 50 << 20 else None
        except (OSError, ValueError, RecursionError):
            data = None
        return "project" if isinstance(data, dict) and data.get("format") == "terrafind-project" else "json"
    if text.startswith(b"<"):
        return "xml"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return "other"
    return "text"


def _resolved(paths: Iterable[str | Path]) -> list[Path]:
    out = []
    for p in paths:
        try:
            out.append(Path(p).expanduser().resolve())
        except (OSError, RuntimeError):
            continue
    return out


def check_output_file(path: str | Path, kind: str, protected: Iterable[str | Path] = ()) -> Path:
    """Raise :class:`InputError` unless a file of ``kind`` (a key of :data:`KINDS`) may be written at
    ``path``: not an open file, not inside an open pack, not a folder, not a file of another kind."""
    target = Path(path).expanduser()
    real = target.resolve()
    name = target.name
    for p in _resolved(protected):
        if real == p:
            raise InputError(
                f"{name} is open in Terrafind: choose another name, so that it is not overwritten."
            )
        if p.is_dir() and real.is_relative_to(p):
            raise InputError(
                f"{name} would be written inside the field pack in use ({p.name}): choose another folder."
            )
    if target.is_symlink():
        return target  # the write replaces the link itself (one rename), never the file it points to
    if real.is_dir():
        raise InputError(f"{name} is a folder: choose a file name.")
    if real.exists():
        found = file_kind(real)
        if found not in KINDS[kind]:
            raise InputError(
                f"{name} already exists and is {_NAMES.get(found, 'a file of another kind')}: choose another "
                "name (Terrafind never writes over a file of another kind)."
            )
    return target


def check_pack_folder(folder: str | Path, protected: Iterable[str | Path] = ()) -> Path:
    """Raise :class:`InputError` unless a field pack may be written into ``folder``: a new or empty folder,
    or a pack (finished or half-built) that is not in use and holds none of the open data."""
    out = Path(folder).expanduser()
    real = out.resolve()
    for p in _resolved(protected):
        if real == p or real.is_relative_to(p) or (p.is_dir() and p.is_relative_to(real)):
            raise InputError(
                f"The folder {out.name} holds the data or the field pack in use: choose a new, empty folder "
                "for the field pack."
            )
        if not p.is_dir() and p.is_relative_to(real):
            raise InputError(
                f"The folder {out.name} holds the open data ({p.name}): choose a new, empty folder for the "
                "field pack."
            )
    if real.exists() and not real.is_dir():
        raise InputError(f"{out.name} is a file, not a folder: choose a folder for the field pack.")
    if real.is_dir() and any(real.iterdir()):
        from terrafind.core.pack.layout import MANIFEST, STATE

        if not ((real / MANIFEST).is_file() or (real / STATE).is_file()):
            raise InputError(
                f"The folder {out.name} already holds other files: choose a new, empty folder for the field pack."
            )
    return out


def free_pack_folder(parent: str | Path, name: str, protected: Iterable[str | Path] = ()) -> Path:
    """A folder in ``parent`` for a new pack named after ``name``: "<name>-pack", "<name>-pack-2"... the
    first that is new (never the pack in use, never a folder holding the open data)."""
    base = Path(parent).expanduser()
    real = base.resolve()
    for p in _resolved(protected):
        if p.is_dir() and (real == p or real.is_relative_to(p)):
            raise InputError(
                f"The field pack in use ({p.name}) cannot hold a new field pack: choose a folder outside it."
            )
    stem = name.removesuffix("-pack") or "terrafind"
    for i in range(1, 1000):
        candidate = base / (f"{stem}-pack" if i == 1 else f"{stem}-pack-{i}")
        if candidate.exists():
            continue
        try:
            return check_pack_folder(candidate, protected)
        except InputError:
            continue
    raise InputError(f"No free folder name for the field pack in {base}: choose another folder.")
