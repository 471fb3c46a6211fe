"""How big a field pack will be, and what it will lack, before it is built.

Sizes come from measured items, not fixed guesses (a fixed 30 kB per thumbnail made the demo pack's
estimate 457 MB for a 315 MB pack): thumbnails from the PNGs already in the user's thumbnail cache for
these chips (else a few cut now from local imagery), the embeddings from the files' bytes per row, the
basemap from its tile plan and the average tile of basemaps already made. What will be missing is said with
its reason (:func:`terrafind.core.imagery.explain.explain_imagery`'s sentence for thumbnails), so a person
can fix it (File > Imagery...) before waiting for a useless pack.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from terrafind.core.errors import ImageryError
from terrafind.core.pack.layout import THUMB_BYTES_EST, TILE_BYTES_EST, input_files, local_imagery
from terrafind.core.progress import CancelToken, ProgressFn, check
from terrafind.core.types import Region

__all__ = ["estimate_pack", "thumbnail_sizes", "SAMPLE_ROWS"]

SAMPLE_ROWS = 200  # chips whose cached thumbnails are looked up (spread over the region)
CUT_SAMPLES = 16  # thumbnails cut from local imagery to measure when the cache has too few (~10 ms each)
# A thumbnail in the pack's SQLite file takes more than its PNG: B-tree pages are not full, and each row has
# its key and status (measured on the demo pack: 21.1 kB per chip for PNGs of 19.5 kB on average).
SQLITE_OVERHEAD = 1.08


def thumbnail_sizes(
    catalog: Any, imagery: str | None, *, cut: bool, cancel: CancelToken | None = None
) -> dict:
    """``{"cached_share": 0..1, "bytes_each": int, "measured": n}``: the share of the region's chips whose
    thumbnail is in the user's cache, and the average PNG size of a sample (cut ``CUT_SAMPLES`` when the
    cache has fewer than 5 and ``cut`` is allowed)."""
    from terrafind.core.imagery.thumbnails import ThumbnailService

    n = len(catalog)
    if n == 0:
        return {"cached_share": 0.0, "bytes_each": 0, "measured": 0}
    rows = np.unique(np.linspace(0, n - 1, min(n, SAMPLE_ROWS)).astype(np.int64))
    svc = ThumbnailService()  # the user's cache (a pack copies from it)
    try:
        if imagery:
            svc.set_imagery(svc.dataset_key(catalog), imagery, must_exist=False)
        sizes, found = [], 0
        for row in rows.tolist():
            key = svc.key_of(catalog, row)
            got = svc.cache.get(key) if key else None
            if got is not None:
                found += 1
                if got[1] == "ok":
                    sizes.append(len(got[0]))
        if len(sizes) < 5 and cut:
            for row in rows[:: max(1, len(rows) // CUT_SAMPLES)][:CUT_SAMPLES].tolist():
                check(cancel)
                thumb = svc.thumbnail(catalog, row)
                if thumb.status == "ok":
                    sizes.append(len(thumb.png))
        each = int(np.mean(sizes)) if sizes else THUMB_BYTES_EST
        return {"cached_share": found / len(rows), "bytes_each": each, "measured": len(sizes)}
    finally:
        svc.close()


def _tile_bytes() -> int:
    """The average tile of the basemaps already made on this computer, else the fixed estimate."""
    import sqlite3

    from terrafind.core.paths import cache_dir

    total = tiles = 0
    for path in sorted((cache_dir() / "basemaps").glob("*.mbtiles"))[:5]:
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                count, size = db.execute("SELECT COUNT(*), SUM(LENGTH(tile_data)) FROM tiles").fetchone()
        except sqlite3.Error:
            continue
        tiles += count or 0
        total += size or 0
    return int(total / tiles) if tiles >= 20 else TILE_BYTES_EST


def estimate_pack(
    paths: Sequence[str | Path],
    region: Region,
    imagery: str | None = None,
    *,
    thumbnails_available: bool = True,
    thumbnails_why: str = "",
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> dict[str, Any]:
    """Bytes each part of a pack would take (``embeddings``, ``index``, ``thumbnails``, ``basemap``,
    ``total``), ``rows``, and ``missing``: one sentence per part that will be missing or partial, with why.

    ``thumbnails_available`` / ``thumbnails_why`` say whether thumbnails can be cut now and why not
    (the app passes its :class:`terrafind.core.imagery.explain.ImageryExplained`); when they cannot, only
    the thumbnails already cached go into the pack. Needs no network."""
    from terrafind.core.read.reader import open_catalog

    if imagery:
        from terrafind.core.imagery.settings import check_imagery

        check_imagery(imagery)  # said before anything is read
    files = input_files(paths)
    catalog = open_catalog(files, region=region, progress=progress, cancel=cancel)
    n = len(catalog)
    rows_total = sum(s.rows_total for s in catalog.sources) or 1
    bytes_total = sum(s.size for s in catalog.sources)
    est: dict[str, Any] = {"rows": n, "missing": []}
    est["embeddings"] = int(bytes_total * n / rows_total)
    from terrafind.core.search.index import IndexParams

    params = IndexParams.for_rows(n)  # the saved graph: reduced vectors, 2M links, a label a chip
    est["index"] = int(n * (4 * (min(params.dims, catalog.dim) + 1) + 8 * params.M + 12)) if n else 0
    cogs = local_imagery(imagery, catalog)
    thumbs = thumbnail_sizes(catalog, imagery, cut=thumbnails_available and bool(cogs), cancel=cancel)
    made = n if thumbnails_available else int(round(thumbs["cached_share"] * n))
    est["thumbnails"] = int(made * thumbs["bytes_each"] * SQLITE_OVERHEAD)
    if made < n:
        est["missing"].append(
            f"Thumbnails: about {n - made:,} of {n:,} chips will have none. {thumbnails_why}".strip()
        )
    tiles = 0
    if cogs:
        from terrafind.core.imagery.basemap import plan_basemap

        try:
            tiles = plan_basemap(cogs, bounds=region.bbox)["tiles"]
        except ImageryError as exc:
            est["missing"].append(f"No imagery basemap: {exc.message}")
    else:
        where = (
            "the data's imagery is not on this computer" if not imagery else f"{imagery} is not a local file"
        )
        est["missing"].append(
            f"No imagery basemap: one is made only from local imagery (a COG, a VRT or a folder of COGs), "
            f"and {where}."
        )
    est["basemap"] = tiles * _tile_bytes()
    est["total"] = est["embeddings"] + est["index"] + est["thumbnails"] + est["basemap"]
    return est
