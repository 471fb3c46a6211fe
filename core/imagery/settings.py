"""The imagery a user chose for a dataset, remembered across sessions, and the local files behind it.

A dataset without ``source_url`` (Earth Index) gets its thumbnails and imagery basemap from imagery the
user configures: a local COG or VRT, a folder of COGs (a mosaic), a remote COG or an XYZ template. The
choice is kept in ``config_dir()/imagery.json``, keyed by the dataset's source paths (resolved, sorted).
Not by ``Catalog.fingerprint()``: that changes with the region, and the imagery of a file does not.

:func:`local_cogs` lists the local rasters an imagery basemap can be rendered from: the chips' own local
``source_url`` files plus the configured local imagery. Remote sources are never listed, so nothing is
ever bulk-downloaded to make a basemap.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from terrafind.core.errors import InputError

__all__ = [
    "imagery_for",
    "set_imagery_for",
    "settings_path",
    "dataset_key",
    "check_imagery",
    "grant_choice",
    "local_cogs",
    "MAX_BASEMAP_FILES",
]

FORMAT = "terrafind-imagery-settings"
MAX_BASEMAP_FILES = 50  # more distinct scenes than this make a basemap too slow to build in the app
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2", ".img")


def grant_choice(value: str, dataset: str) -> None:
    """The person chose ``value`` as imagery for the data ``dataset``: allow its site (an address or tile
    service) or its folder (a local file or folder), remembered like an "Allow" answer."""
    from terrafind.core.imagery.xyz import check_template, is_template
    from terrafind.core.net.gate import gate
    from terrafind.core.net.locations import Local, locate

    loc = check_template(value) if is_template(value) else locate(value)
    if isinstance(loc, Local):
        p = loc.path.expanduser().resolve()
        gate().allow(str(p if p.is_dir() else p.parent), dataset)
    else:
        gate().allow(loc.site, dataset)


def settings_path() -> Path:
    from terrafind.core.paths import config_dir

    return config_dir() / "imagery.json"


def dataset_key(sources: Sequence[str | Path]) -> str:
    """The key of a dataset: its source paths, resolved and sorted, one per line."""
    return "\n".join(sorted(str(Path(s).expanduser().resolve()) for s in sources))


def _read() -> dict[str, Any]:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # absent or damaged: no imagery remembered (the user chooses it again)
    datasets = data.get("datasets") if isinstance(data, dict) else None
    return datasets if isinstance(datasets, dict) else {}


def imagery_for(sources: Sequence[str | Path]) -> str | None:
    """The imagery remembered for the dataset made of ``sources``, or None."""
    if not sources:
        return None
    entry = _read().get(dataset_key(sources))
    value = entry.get("imagery") if isinstance(entry, dict) else None
    return str(value) if value else None


def set_imagery_for(sources: Sequence[str | Path], value: str | None) -> None:
    """Remember ``value`` as the imagery of the dataset made of ``sources`` (None forgets it).

    Written atomically, so a crash never leaves a half-written settings file."""
    from terrafind.core.files import write_text_atomic

    if not sources:
        return
    datasets = _read()
    key = dataset_key(sources)
    if value:
        datasets[key] = {"sources": key.split("\n"), "imagery": str(value)}
    else:
        datasets.pop(key, None)
    path = settings_path()
    try:
        write_text_atomic(path, json.dumps({"format": FORMAT, "datasets": datasets}, indent=1))
    except OSError as exc:
        raise InputError(f"Could not remember the imagery in {path}: {exc.strerror or exc}.") from exc


def _is_local(value: str) -> bool:
    from terrafind.core.imagery.hosts import is_remote
    from terrafind.core.imagery.xyz import is_template

    return not (is_remote(value) or is_template(value))


def _rasters(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in RASTER_SUFFIXES)


def check_imagery(value: str) -> None:
    """Raise :class:`InputError` when imagery cannot be imagery: a local file that is not a raster, a
    folder without one, a tile address with other placeholders than {z}/{x}/{y}, or anything that is not
    a local path or a plain address (:func:`terrafind.core.net.locations.locate`)."""
    from terrafind.core.imagery.rasters import driver_for
    from terrafind.core.imagery.xyz import check_template, is_template
    from terrafind.core.net.locations import Remote, locate

    if is_template(value) or "{" in value or "}" in value:
        check_template(value)  # any brace: a tile address, filled with {z}/{x}/{y} only
        return
    loc = locate(value)
    if isinstance(loc, Remote):
        driver_for(loc.path)
        return
    path = loc.path.expanduser()
    if path.is_dir() and not _rasters(path):
        raise InputError(f"The folder {path} holds no GeoTIFF, COG or VRT files to use as imagery.")
    if path.is_file() and path.suffix.lower() not in RASTER_SUFFIXES:
        raise InputError(f"{path.name} is not imagery: choose a GeoTIFF/COG (.tif) or a VRT (.vrt).")


def local_cogs(
    catalog: Any,
    imagery: str | None = None,
    *,
    limit: int = MAX_BASEMAP_FILES,
    data: tuple[str, list[Path] | None] | None = None,
) -> list[Path]:
    """Local rasters for an imagery basemap of ``catalog``: the distinct local ``source_url`` files of its
    chips, then the configured local ``imagery`` (a file, or the rasters of a folder); at most ``limit``.

    Remote ``source_url`` values and XYZ templates are skipped: a basemap is made from files on this
    computer only (tile services' terms forbid bulk downloads, and remote COGs would be downloaded whole).
    Files the data names pass the same check as thumbnails (:mod:`terrafind.core.imagery.admit`): under
    the data's folders or a folder the user allowed, regular files with a raster suffix. ``data`` gives
    the (permission key, folders) to use instead of the catalog's own (a field pack being built).
    """
    from terrafind.core.errors import TerrafindError
    from terrafind.core.imagery.admit import admit, catalog_key, data_roots

    dataset, roots = data or (catalog_key(catalog), data_roots(getattr(catalog, "sources", []) or []))
    found: list[Path] = []
    names = getattr(catalog.attributes, "column_names", [])
    candidates: list[str] = []
    if "source_url" in names:
        # unique() in Arrow: a million-row catalog usually has a handful of scenes.
        values = catalog.attributes.column("source_url").unique().to_pylist()
        candidates += sorted(str(v) for v in values if v)
    if imagery:
        candidates.append(imagery)
    for v in candidates:
        if not _is_local(v):
            continue
        try:
            adm = admit(
                v.removeprefix("file://") if v.startswith("file:///") else v, dataset=dataset, roots=roots
            )
        except TerrafindError:
            continue  # refused or not allowed: thumbnails say why; the basemap just leaves it out
        p = Path(str(getattr(adm.loc, "path", "")))
        found += _rasters(p) if adm.kind == "folder" else [p]
    out: list[Path] = []
    seen: set[str] = set()
    for p in found:
        key = str(p.resolve())
        if key not in seen:
            seen.add(key)
            out.append(Path(key))
    return out[:limit]
