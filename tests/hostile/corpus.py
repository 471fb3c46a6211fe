"""Crafted inputs for the hostile corpus: catalogs, GeoParquet files, places files, packs and projects
made the way someone who wants to hurt the user (or who just made a mistake) would make them.

Small on purpose: each file is a few KB to a few MB, so the whole corpus runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import shapely

from terrafind.core.catalog import Catalog

CHIP = (-75.66, 37.63, -75.65, 37.64)


def make_catalog(n: int, source_urls: list[str] | None = None, *, ids: list[str] | None = None) -> Catalog:
    """``n`` chips in memory (no file behind them), with the given ``source_url`` values."""
    attrs: dict[str, list] = {"date": ["2024-01-01"] * n}
    if source_urls is not None:
        attrs["source_url"] = source_urls
    w, s, e, nn = CHIP
    boxes = [shapely.box(w + i * 0.01, s, e + i * 0.01, nn) for i in range(n)]
    return Catalog(
        vectors=np.eye(n, 8, dtype=np.float32) + 0.01,
        ids=np.array(ids or [f"c{i}" for i in range(n)], dtype=object),
        footprints=np.array(boxes),
        attributes=pa.table(attrs),
    )
