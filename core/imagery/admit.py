"""Whether a thumbnail's imagery may be read, and how: the imagery side of the network gate.

A chip's imagery is named by the data (``source_url``) or by the dataset's configured imagery (chosen
by the user, or carried by a project). Before anything is opened or fetched, :func:`admit` decides:

* an XYZ template: plain https(s) with only ``{z}``/``{x}``/``{y}`` placeholders, its site allowed;
* a remote COG: a plain address whose site the user allowed for this data, with a raster suffix;
* a local file or folder: under the data's own folders (``roots``) or a folder the user allowed, a
  regular file with a raster suffix (never ``/dev/...``, never a GDAL virtual path).

Anything else raises one of the gate's errors (:class:`~terrafind.core.net.gate.Offline`,
:class:`~terrafind.core.net.gate.NotAllowed`, :class:`~terrafind.core.net.locations.Refused`), which the
thumbnail service turns into a placeholder and a sentence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terrafind.core.imagery.rasters import driver_for
from terrafind.core.imagery.xyz import check_template, is_template
from terrafind.core.net.gate import data_key, gate
from terrafind.core.net.locations import Local, Remote, locate

__all__ = ["Admitted", "admit", "data_roots", "catalog_key"]


@dataclass(frozen=True)
class Admitted:
    """Imagery that may be read now. ``kind``: "local" (a file), "folder" (a mosaic of files), "remote"
    (a COG over the network) or "template" (XYZ tiles)."""

    kind: str
    source: str  # as named (the thumbnail cache key uses this)
    loc: Remote | Local
    site: str | None = None


def admit(source: str, *, dataset: str, roots: Sequence[Path] | None) -> Admitted:
    """See the module docstring; ``roots`` None trusts local paths (data built in memory, no file)."""
    if is_template(source):
        remote = gate().check(check_template(source), dataset=dataset, purpose="imagery tiles")
        return Admitted("template", source, remote, remote.site)
    loc = locate(source)
    if isinstance(loc, Remote):
        driver_for(loc.path)
        gate().check(loc, dataset=dataset, purpose="thumbnails")
        return Admitted("remote", source, loc, loc.site)
    real = gate().check_local(loc.path, roots=roots, dataset=dataset)
    if real.is_dir():
        return Admitted("folder", source, Local(real))
    driver_for(real.name)
    return Admitted("local", source, Local(real))


def data_roots(sources: Iterable[Any]) -> list[Path] | None:
    """The folders of a catalog's local files (``SourceFile`` or path strings): local imagery named by
    the data must lie under one of them. None when the data came from no file at all."""
    paths = [str(getattr(s, "path", s)) for s in sources]
    if not paths:
        return None
    roots = []
    for p in paths:
        loc = locate(p)
        if isinstance(loc, Local):
            roots.append(loc.path.expanduser().resolve().parent)
    return list(dict.fromkeys(roots))


def catalog_key(catalog: Any) -> str:
    """The permission key of a catalog's data (:func:`terrafind.core.net.gate.data_key` of its files)."""
    return data_key(str(s.path) for s in getattr(catalog, "sources", []) or [])
