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

    def open_catalog(self, *, centred: bool = True, **kwargs: Any) -> Any:
        """The pack's chips as a :class:`terrafind.core.catalog.Catalog`, scoring centred cosines on the
        mean the manifest records (as the app that made the pack did; ``centred=False``: plain cosine)."""
        from terrafind.core.read.reader import open_catalog
        from terrafind.core.session_space import region_mean

        if not self.catalog_paths:
            raise InputError(f"The field pack {self.root} has no readable embeddings left.")
        catalog = open_catalog(self.catalog_paths, **kwargs)
        return catalog.centred(region_mean([catalog], self)) if centred else catalog

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
                from terrafind.core.search.hnsw_check import check_hnsw_file

                # A pack's index was written on another machine: its structure is checked before hnswlib,
                # which trusts the bytes it reads, ever sees it.
                meta = json.loads(sidecar.read_text())
                check_hnsw_file(stored, rows=len(catalog), dim=int(meta["graph_dim"]))
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

        # The pack's cache, checked against the manifest and never written; without a usable one (missing or
        # changed since the pack was made), the user's own cache.
        path = self.thumbnails_path
        kwargs.setdefault("size", self.thumbnail_size)
        kwargs.setdefault("read_only", path is not None)
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
    from terrafind.core.pack.check import read_manifest

    try:
        return Path(path).is_dir() and bool(read_manifest(Path(path)))
    except InputError:
        return False


def open_pack(pack_dir: str | Path, *, verify: bool = True) -> PackInfo:
    """Open a field pack folder and check it before use (:mod:`terrafind.core.pack.check`: entries inside
    the pack, listed with sha256; sizes, and sha256 when ``verify``).

    A broken rule refuses the pack with one sentence naming the entry; a changed or missing file is named
    in ``problems`` and its part is left out; the rest works."""
    from terrafind.core.pack.check import checked_files, read_manifest

    root = Path(pack_dir)
    manifest = read_manifest(root)
    files, problems = checked_files(root, manifest, verify=verify)
    # A manifest may come from someone else: the parts Terrafind reads are taken only in their own shape.
    parts = _obj(manifest.get("parts"))

    def usable(rel: Any) -> Path | None:
        return files.get(rel) if isinstance(rel, str) else None

    index_rel = parts.get("index")
    index_path = usable(index_rel)
    if index_path is not None and usable(f"{str(index_rel).rsplit('.', 1)[0]}.json") is None:
        index_path = None  # an index without its (checked) sidecar is never loaded
    raw_region = manifest.get("region")
    region = Region.from_dict(raw_region) if isinstance(raw_region, dict) else None
    imagery = manifest.get("imagery")
    extra = [str(p)[:500] for p in _seq(manifest.get("problems")) if isinstance(p, str)][:50]
    dates = {
        str(label): {
            "index": usable(e.get("index")),
            "basemap": usable(e.get("basemap")),
            "imagery": e.get("imagery"),
        }
        for label, e in _obj(parts.get("dates")).items()
        if isinstance(e, dict)
    }
    return PackInfo(
        root=root,
        catalog_paths=[p for p in (usable(r) for r in _seq(parts.get("embeddings"))) if p is not None],
        index_path=index_path,
        # a dated pack keeps every date's thumbnails in the one cache, listed (and checked) like any file
        thumbnails_path=usable(parts.get("thumbnails")) or usable("thumbnails.sqlite"),
        mbtiles_path=usable(parts.get("basemap")),
        region=region,
        imagery=str(imagery)[:2000] if isinstance(imagery, str) and imagery else None,
        thumbnail_size=_size(manifest.get("thumbnail_size")),
        manifest=manifest,
        problems=problems + extra,
        dates=dates,
        assigned={
            str(root / rel): str(lab)[:200]
            for rel, lab in _obj(manifest.get("assigned")).items()
            if isinstance(lab, str)
        },
    )


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _seq(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _size(value: Any) -> int:
    """The pack's thumbnail size, within what the app draws (16-512 px), else the default 128."""
    return int(value) if isinstance(value, int) and 16 <= value <= 512 else 128
