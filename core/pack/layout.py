"""What a field pack folder holds and the small helpers its builder and its reader share.

Layout of a pack folder::

    manifest.json          sizes + sha256 of every file, the region, the inputs (provenance), software
    embeddings/*.parquet   the region's chips, same layout and metadata as the inputs
    index/<fp>.hnsw/.json  the search index of those chips (terrafind.core.search.index cache layout) + its sidecar
    thumbnails.sqlite      a thumbnail for every chip (terrafind.core.imagery.thumb_cache), 128 px unless told otherwise
    basemap.mbtiles        the imagery basemap of the region (terrafind.core.imagery.basemap), when there is local imagery
    pack-state.json        which parts are finished (resume); removed when the pack is complete
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from terrafind.core.files import sha256_file, write_text_atomic

__all__ = [
    "MANIFEST",
    "STATE",
    "PACK_FORMAT",
    "THUMB_BYTES_EST",
    "TILE_BYTES_EST",
    "sha256_file",
    "write_json",
    "input_files",
    "local_imagery",
    "versions",
]

MANIFEST = "manifest.json"
STATE = "pack-state.json"
PACK_FORMAT = 1
THUMB_BYTES_EST = 30_000  # a 128 px RGB PNG of Sentinel-2 land cover (measured 20-40 KB)
TILE_BYTES_EST = 9_000  # a 256 px WEBP tile (q85) of a Sentinel-2 scene (measured 5-12 KB)


def write_json(path: Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def input_files(paths: Sequence[str | Path]) -> list[str]:
    from terrafind.core.read.sources import resolve_paths

    return [p for _, p in resolve_paths([str(p) for p in paths])]


def local_imagery(imagery: str | None, catalog: Any, data: tuple[str, Any] | None = None) -> list[Path]:
    """Local COGs for the basemap: the configured imagery (file or folder, the user's choice) or the chips'
    local sources (checked like thumbnails: :func:`terrafind.core.imagery.settings.local_cogs`)."""
    from terrafind.core.imagery.cut import list_folder
    from terrafind.core.imagery.hosts import is_remote
    from terrafind.core.imagery.settings import local_cogs
    from terrafind.core.imagery.xyz import is_template

    if imagery:
        if is_remote(imagery) or is_template(imagery):
            return []
        p = Path(imagery)
        return list_folder(p) if p.is_dir() else [p]
    return local_cogs(catalog, data=data)


def versions() -> dict[str, str]:
    """The software that made a pack, by distribution name (``chroma-hnswlib``, not the module ``hnswlib``:
    its index files differ from upstream's)."""
    from terrafind.core.versions import library_versions

    out = library_versions(("terrafind", "rasterio", "pyarrow", "hnswlib"))
    try:
        import rasterio

        out["gdal"] = rasterio.__gdal_version__
    except Exception:  # noqa: BLE001
        pass
    return out
