"""Field packs: one folder with everything a region needs offline.

The folder's layout is in :mod:`terrafind.core.pack.layout`; building is :mod:`terrafind.core.pack.build`.

Building runs the parts in order and records each finished part in ``pack-state.json``; a second run with
the same inputs skips finished parts, and the thumbnail and basemap parts continue chip by chip and tile
by tile. Opening checks the manifest: a changed or missing file is named in ``problems`` and the parts
that are intact still work. Nothing in a pack needs the network.

Using a pack (what ``terrafind DIR`` does)::

    info = open_pack(folder)                  # info.problems names changed / missing files
    catalog = info.open_catalog()
    index = info.load_index(catalog)          # the stored index, checked; rebuilt only if broken
    thumbs = info.thumbnail_service(catalog)  # offline, over the pack's thumbnails
    tiles = info.basemap()                    # MBTiles or None
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terrafind.core.errors import InputError
from terrafind.core.pack.layout import MANIFEST, sha256_file
from terrafind.core.progress import CancelToken, ProgressFn
from terrafind.core.types import Region

__all__ = ["PackInfo", "open_pack", "is_pack"]


@dataclass
class PackInfo:
    """What an opened pack holds. Paths are None for parts the pack does not have (or that are broken)."""

    root: Path
    catalog_paths: list[Path]
    index_path: Path | None
    thumbnails_path: Path | None
    mbtiles_path: Path | None
    region: Region | None
    imagery: str | None
    thumbnail_size: int
    manifest: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # A pack of several dates: {date: {"index": path or None, "basemap": path or None, "imagery": ...}}
    # and the dates given (not read) of its embeddings files, {absolute path: date}.
    dates: dict[str, dict[str, Any]] = field(default_factory=dict)
    assigned: dict[str, str] = field(default_factory=dict)

    def attach_dates(self, dated: Any) -> None:
        """Give each date of the opened pack its basemap and imagery (terrafind.core.dates.region.DateSlice)."""
        for s in dated.slices:
            entry = self.dates.get(s.label) or {}
            s.basemap = str(entry["basemap"]) if entry.get("basemap") else None
            s.imagery = entry.get("imagery") or self.imagery

    @property
    def index_dir(self) -> Path:
        """The ``cache_dir`` to give :func:`terrafind.core.search.index.load_or_build_index` (it adds ``index/``)."""
        return self.root

    def open_catalog(self, **kwargs: Any) -> Any:
        """The pack's chips as a :class:`terrafind.core.catalog.Catalog`."""
        from terrafind.core.read.reader import open_catalog

        if not self.catalog_paths:
            raise InputError(f"The field pack {self.root} has no readable embeddings left.")
        return open_catalog(self.catalog_paths, **kwargs)

    def load_index(
        self, catalog: Any, *, progress: ProgressFn | None = None, cancel: CancelToken | None = None
    ) -> Any:
        """The pack's stored index for ``catalog`` (checked against its vectors), else one built anew.

        The index cache is keyed by the files' paths, so a pack moved to another disk would not find its
        index by name; the stored one is then loaded after the same checks (sidecar, checksum, vectors)."""
        from terrafind.core.search import index as ix

        stored = self.index_path
        if catalog.period is not None and catalog.period in self.dates:
            stored = self.dates[catalog.period].get("index")
        if stored is not None:
            sidecar = stored.with_suffix(".json")
            try:
                meta = json.loads(sidecar.read_text())
                params = ix.IndexParams(**meta["params"])
                return ix._load_cached(  # noqa: SLF001 - the checks we want, with the stored fingerprint
                    catalog, params, meta["fingerprint"], stored, sidecar, progress, cancel
                )
            except Exception:  # noqa: BLE001 - any problem: fall back to the ordinary cache / a rebuild
                pass
        return ix.load_or_build_index(catalog, progress=progress, cancel=cancel)

    def thumbnail_service(self, catalog: Any | None = None, **kwargs: Any) -> Any:
        """A :class:`terrafind.core.imagery.thumbnails.ThumbnailService` over the pack's thumbnails (offline by default)."""
        from terrafind.core.imagery.thumbnails import ThumbnailService

        path = self.thumbnails_path or (self.root / "thumbnails.sqlite")
        kwargs.setdefault("size", self.thumbnail_size)
        svc = ThumbnailService(path, max_cache_bytes=kwargs.pop("max_cache_bytes", 64 * 2**30), **kwargs)
        svc.online = False
        if catalog is not None and self.imagery:
            svc.set_imagery(svc.dataset_key(catalog), self.imagery, must_exist=False)
        return svc

    def basemap(self) -> Any:
        """The pack's :class:`terrafind.core.imagery.basemap.MBTiles`, or None."""
        from terrafind.core.imagery.basemap import MBTiles

        return MBTiles(self.mbtiles_path) if self.mbtiles_path else None


def is_pack(path: str | Path) -> bool:
    """True when ``path`` is a folder with a field-pack manifest (for ``terrafind DIR``)."""
    p = Path(path) / MANIFEST
    try:
        return p.is_file() and json.loads(p.read_text()).get("format") == "terrafind-field-pack"
    except (OSError, ValueError):
        return False


def open_pack(pack_dir: str | Path, *, verify: bool = True) -> PackInfo:
    """Open a field pack folder and check it against its manifest (sizes, and sha256 when ``verify``).

    A changed or missing file is named in ``problems`` and its part is left out; the rest works."""
    root = Path(pack_dir)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        raise InputError(f"{root} is not a Terrafind field pack: it has no {MANIFEST}.") from None
    except ValueError as exc:
        raise InputError(f"The {MANIFEST} of the field pack {root} is damaged.", detail=str(exc)) from None
    problems: list[str] = []
    bad: set[str] = set()
    for rel, entry in (manifest.get("files") or {}).items():
        p = root / rel
        if not p.is_file():
            problems.append(f"{rel} is missing from the field pack.")
            bad.add(rel)
        elif entry.get("mutable"):
            continue
        elif p.stat().st_size != entry.get("bytes") or (verify and sha256_file(p) != entry.get("sha256")):
            problems.append(f"{rel} has changed since the field pack was made.")
            bad.add(rel)
    parts = manifest.get("parts") or {}

    def usable(rel: str | None) -> Path | None:
        return root / rel if rel and rel not in bad and (root / rel).is_file() else None

    index_rel = parts.get("index")
    index_path = usable(index_rel)
    if index_path is not None and index_rel and str(Path(index_rel).with_suffix(".json").as_posix()) in bad:
        index_path = None
    region = Region.from_dict(manifest["region"]) if manifest.get("region") else None
    dates = {
        str(label): {
            "index": usable(e.get("index")),
            "basemap": usable(e.get("basemap")),
            "imagery": e.get("imagery"),
        }
        for label, e in (parts.get("dates") or {}).items()
        if isinstance(e, dict)
    }
    return PackInfo(
        root=root,
        catalog_paths=[p for p in (usable(r) for r in parts.get("embeddings", [])) if p is not None],
        index_path=index_path,
        thumbnails_path=usable(parts.get("thumbnails")),
        mbtiles_path=usable(parts.get("basemap")),
        region=region,
        imagery=manifest.get("imagery"),
        thumbnail_size=int(manifest.get("thumbnail_size") or 128),
        manifest=manifest,
        problems=problems + list(manifest.get("problems") or []),
        dates=dates,
        assigned={str(root / rel): str(lab) for rel, lab in (manifest.get("assigned") or {}).items()},
    )
