"""Checking a field pack before anything in it is used: the manifest decides nothing on its own.

A pack comes from someone else's machine. Its manifest names the files to read; a crafted one could name
``/home/you/.ssh/id_rsa``, ``../../elsewhere``, or a symlink leading out of the pack, and a database in it
could be opened for writing. So, before use:

* the manifest is a JSON object of bounded size, in a format this Terrafind knows;
* every entry is a relative path inside the pack (no absolute path, drive, backslash, ``..``, empty or
  hidden trick), which after resolving symlinks is still inside the pack and is a regular file;
* every file a part uses is listed with its size and sha256 (checked, except for old packs' thumbnail
  caches, which older versions modified while reading).

A broken rule refuses the whole pack with one sentence naming the entry; a file that is merely missing or
changed is named in ``problems`` and its part is left out (the rest still works).
"""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

from terrafind.core.errors import InputError
from terrafind.core.pack.layout import MANIFEST, sha256_file

__all__ = ["read_manifest", "checked_files", "MAX_MANIFEST_BYTES"]

MAX_MANIFEST_BYTES = 16 << 20
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+=\-]{0,200}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def read_manifest(root: Path) -> dict[str, Any]:
    """The pack's manifest as a dict (size-limited, any parse failure is one sentence)."""
    path = root / MANIFEST
    try:
        if path.is_symlink() or not path.is_file():
            raise FileNotFoundError
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise InputError(
                f"The {MANIFEST} of the field pack {root.name} is far too large to be a manifest."
            )
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{root} is not a Terrafind field pack: it has no {MANIFEST}.") from None
    except (ValueError, RecursionError, UnicodeDecodeError) as exc:
        raise InputError(
            f"The {MANIFEST} of the field pack {root.name} is damaged.", detail=str(exc)
        ) from None
    if not isinstance(data, dict) or data.get("format") != "terrafind-field-pack":
        raise InputError(f"{root.name} is not a Terrafind field pack: its {MANIFEST} is of another kind.")
    return data


def _refuse(root: Path, rel: Any, why: str) -> InputError:
    shown = str(rel)[:80]
    return InputError(f"The field pack {root.name} cannot be used: its entry '{shown}' {why}.")


def _inside(root: Path, real_root: Path, rel: Any) -> Path:
    """``root/rel`` after the rules of the module docstring; raises naming ``rel``."""
    if not isinstance(rel, str) or not rel:
        raise _refuse(root, rel, "is not a file name")
    parts = PurePosixPath(rel).parts
    if rel.startswith("/") or "\\" in rel or ":" in rel or not parts:
        raise _refuse(root, rel, "is an absolute path, not a file inside the pack")
    if any(p in ("..", ".") or not _SEGMENT.match(p) for p in parts) or rel != "/".join(parts):
        raise _refuse(root, rel, "leads outside the pack or is not a plain file name")
    path = root.joinpath(*parts)
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return path  # missing: the caller reports it as a problem, not a refusal
    if not real.is_relative_to(real_root):
        raise _refuse(root, rel, "is a link to a file outside the pack")
    if not real.is_file():
        raise _refuse(root, rel, "is not a regular file")
    return path


def checked_files(root: Path, manifest: dict[str, Any], *, verify: bool) -> tuple[dict[str, Path], list[str]]:
    """({entry: path} of the files that may be used, problems) after checking every entry and every file a
    part names (see the module docstring). Raises :class:`InputError` for a broken rule."""
    real_root = root.resolve()
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise InputError(
            f"The field pack {root.name} cannot be used: its manifest lists no files with checksums."
        )
    usable: dict[str, Path] = {}
    problems: list[str] = []
    for rel, entry in files.items():
        path = _inside(root, real_root, rel)
        if not isinstance(entry, dict) or not _SHA.match(str(entry.get("sha256", ""))):
            raise _refuse(root, rel, "is not listed with its sha256")
        if not isinstance(entry.get("bytes"), int):
            raise _refuse(root, rel, "is not listed with its size")
        if not path.is_file():
            problems.append(f"{rel} is missing from the field pack.")
            continue
        if not entry.get("mutable") and (
            path.stat().st_size != entry["bytes"] or (verify and sha256_file(path) != entry["sha256"])
        ):
            problems.append(f"{rel} has changed since the field pack was made.")
            continue
        usable[rel] = path
    for rel in _part_entries(manifest.get("parts")):
        _inside(root, real_root, rel)
        if rel not in files:
            raise _refuse(root, rel, "is used by the pack but not listed with its sha256")
    return usable, problems


def _part_entries(parts: Any) -> list[str]:
    """Every file name the manifest's parts use (embeddings, index and its sidecar, thumbnails, basemap)."""
    if parts is None:
        return []
    if not isinstance(parts, dict):
        raise InputError("The field pack's manifest is damaged: its parts are not a list of files.")
    out: list[Any] = []
    emb = parts.get("embeddings") or []
    out += emb if isinstance(emb, list) else [emb]
    for key in ("index", "thumbnails", "basemap"):
        if parts.get(key):
            out.append(parts[key])
    if isinstance(parts.get("index"), str):
        out.append(str(PurePosixPath(parts["index"]).with_suffix(".json")))
    dates = parts.get("dates") or {}  # a pack of several dates: each date's index (+ sidecar) and basemap
    if not isinstance(dates, dict) or not all(isinstance(e, dict) for e in dates.values()):
        raise InputError("The field pack's manifest is damaged: its dates are not a list of files.")
    for entry in dates.values():
        out += [entry[key] for key in ("index", "basemap") if entry.get(key)]
        if isinstance(entry.get("index"), str):
            out.append(str(PurePosixPath(entry["index"]).with_suffix(".json")))
    return out
