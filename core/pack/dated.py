"""Field packs of a region at several dates: each date's index, thumbnails and imagery basemap.

The embeddings part is the same as for one snapshot (each input file's chips in the region); what a
dated pack adds is per date (:func:`build_date_parts`): the date's search index in the pack's index cache
layout, thumbnails of every chip of every date in the one ``thumbnails.sqlite`` (keyed by imagery and
place, so dates never mix), and a basemap ``basemap-<date>.mbtiles`` from that date's own imagery. The
manifest's ``parts.dates`` lists them and ``assigned`` keeps the date of every embeddings file whose date
was given rather than read, so the pack opens as the same dates anywhere, offline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from terrafind.core.errors import ImageryError
from terrafind.core.progress import CancelToken, ProgressFn, check

__all__ = ["pack_assigned", "build_date_parts", "basemap_name"]


def basemap_name(label: str) -> str:
    return f"basemap-{re.sub(r'[^0-9A-Za-z.-]', '_', label)}.mbtiles"


def pack_assigned(
    sources: Sequence[str], names: Sequence[str], assigned: Mapping[str, str]
) -> dict[str, str]:
    """{embeddings/<name>: date} for every input whose whole file has one date the user gave (dates read
    from the files themselves travel inside the copied files)."""
    from terrafind.core.dates.detect import file_date

    out = {}
    for src, name in zip(sources, names, strict=True):
        fd = file_date(src, assigned)
        if fd.how == "assigned" and fd.label:
            out[f"embeddings/{name}"] = fd.label
    return out


def build_date_parts(
    out: Path,
    dated: Any,
    *,
    imagery: str | None,
    date_imagery: Mapping[str, str | None],
    size: int,
    bbox: tuple[float, float, float, float],
    inputs: Sequence[str],
    done: dict[str, Any],
    finish: Callable[[str, Any], None],
    problems: list[str],
    progress: ProgressFn | None,
    cancel: CancelToken | None,
) -> dict[str, dict[str, Any]]:
    """Index, thumbnails and basemap of every date (resumable part by part); returns ``parts.dates``.
    ``inputs`` are the files the pack was made from (their folders' imagery may be read)."""
    from terrafind.core.imagery.admit import data_roots
    from terrafind.core.net.gate import data_key
    from terrafind.core.pack.layout import local_imagery
    from terrafind.core.pack.thumbs import pack_alias, pack_thumbnails
    from terrafind.core.search.index import index_paths, load_or_build_index

    parts: dict[str, dict[str, Any]] = {}
    for s in dated.slices:
        check(cancel)
        label, cat = s.label, s.catalog
        mine = date_imagery.get(label) or imagery
        key = f"date:{label}"
        if f"{key}:index" not in done:
            vi = load_or_build_index(cat, cache_dir=out, progress=progress, cancel=cancel)
            finish(f"{key}:index", index_paths(vi.fingerprint, out)[0].relative_to(out).as_posix())
        if f"{key}:thumbnails" not in done or done[f"{key}:thumbnails"].get("missing"):
            info = pack_thumbnails(cat, out / "thumbnails.sqlite", mine, size, progress, cancel, inputs)
            if info["missing"]:
                why = info.pop("why", "") or "the imagery was offline or absent."
                problems.append(
                    f"{info['missing']} of {len(cat)} thumbnails of {label} could not be made: {why}"
                )
            finish(f"{key}:thumbnails", info)
        if f"{key}:basemap" not in done:
            made = None
            cogs = local_imagery(mine, cat, (data_key(inputs), data_roots(inputs)))
            if cogs:
                from terrafind.core.imagery.basemap import build_mbtiles

                try:
                    build_mbtiles(
                        cogs, out / basemap_name(label), bounds=bbox, progress=progress, cancel=cancel
                    )
                    made = basemap_name(label)
                except ImageryError as exc:
                    problems.append(f"{label}: {exc.message}")
            else:
                problems.append(f"No local imagery of {label} was given, so the pack has no basemap of it.")
            finish(f"{key}:basemap", made)
        parts[label] = {
            "index": done[f"{key}:index"],
            "basemap": done[f"{key}:basemap"],
            "imagery": pack_alias(mine) if mine else None,  # no path of this machine travels
            "chips": len(cat),
        }
    if "thumbnails" not in done:  # one cache for every date: the pack's thumbnails part
        counts = [done[f"date:{s.label}:thumbnails"] for s in dated.slices]
        finish("thumbnails", {k: sum(int(c.get(k, 0)) for c in counts) for k in ("cached", "missing")})
    return parts
