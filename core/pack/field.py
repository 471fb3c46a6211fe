"""What a field pack carries for the field team besides the region's data: the user's examples and labels,
the hits to visit (GeoJSON for GIS, GPX for phones), and the credits of the imagery it holds.

Written after :func:`terrafind.core.pack.build.build_pack` into ``field/`` of the pack and recorded in its
manifest (sizes and sha256 like every other file, so opening the pack checks them too), under ``field``
(counts and files) and ``credits``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from terrafind.core.pack.layout import MANIFEST, sha256_file, write_json

__all__ = ["write_field_files", "add_to_manifest", "describe_pack", "FIELD_DIR"]

FIELD_DIR = "field"


def add_to_manifest(out: Path, files: list[Path], **keys: Any) -> dict[str, Any]:
    """List ``files`` (inside ``out``) in the pack's manifest and set ``keys``; return the manifest."""
    path = Path(out) / MANIFEST
    manifest = json.loads(path.read_text())
    listed = manifest.setdefault("files", {})
    for f in files:
        listed[f.relative_to(out).as_posix()] = {"bytes": f.stat().st_size, "sha256": sha256_file(f)}
    manifest["bytes_total"] = sum(int(e["bytes"]) for e in listed.values())
    manifest.update(keys)
    write_json(path, manifest)
    return manifest


def write_field_files(session: Any, out: str | Path, *, credits: list[str] | None = None) -> dict[str, Any]:
    """Write ``session``'s examples and labels and its visible hits into the pack ``out``; record them and
    ``credits`` in the manifest. Returns the manifest's ``field`` entry (counts and file names)."""
    out = Path(out)
    folder = out / FIELD_DIR
    folder.mkdir(exist_ok=True)
    written: list[Path] = []
    counts = {"examples": len(session.examples), "labels": len(session.labels), "hits": 0}
    if session.visible() is not None and len(session.visible()):
        for name, fmt in (("hits.geojson", "geojson"), ("hits.gpx", "gpx")):
            path, n = session.export_hits(folder / name, fmt)
            written.append(Path(path))
            counts["hits"] = n
    ex = session.search_examples()
    if ex.positives or ex.negatives:
        path, _n = session.export_labels(folder / "examples-and-labels.geojson", "geojson")
        written.append(Path(path))
    field = {**counts, "files": [p.relative_to(out).as_posix() for p in written]}
    add_to_manifest(out, written, field=field, credits=[c for c in (credits or []) if c])
    return field


def describe_pack(manifest: dict[str, Any]) -> tuple[str, list[str]]:
    """(what a finished pack holds, in one sentence; what it lacks, one sentence each) from its manifest."""
    from terrafind.core.units import human_bytes

    parts = manifest.get("parts") or {}
    held = [f"{int(parts.get('rows') or 0):,} chips with their search index"]
    counts = parts.get("thumbnail_counts") or {}
    if counts.get("cached"):
        held.append(f"{int(counts['cached']):,} thumbnails")
    if parts.get("basemap"):
        held.append("an imagery basemap")
    field = manifest.get("field") or {}
    if field:
        held.append(
            f"your {field.get('examples', 0)} examples, {field.get('labels', 0)} marks and "
            f"{field.get('hits', 0)} hits (in field/: GeoJSON, and GPX for phones)"
        )
    if manifest.get("credits"):
        held.append("the imagery credits")
    size = human_bytes(int(manifest.get("bytes_total") or 0))
    text = f"The field pack ({size}) holds " + ", ".join(held[:-1]) + (" and " if len(held) > 1 else "")
    return text + held[-1] + ".", [str(p) for p in manifest.get("problems") or []]
