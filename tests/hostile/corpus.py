"""Crafted inputs for the hostile corpus: catalogs, GeoParquet files, places files, packs and projects
made the way someone who wants to hurt the user (or who just made a mistake) would make them.

Small on purpose: each file is a few KB to a few MB, so the whole corpus runs in seconds.
"""

from __future__ import annotations

from pathlib import Path

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


# --- GeoParquet files ---------------------------------------------------------------------------------
def _geo_meta() -> dict[bytes, bytes]:
    import json

    geo = {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": {"encoding": "WKB"}}}
    return {b"geo": json.dumps(geo).encode()}


def chip_boxes(n: int, bbox=(-75.95, 37.25, -75.55, 37.65)) -> np.ndarray:
    cols = int(np.ceil(np.sqrt(n)))
    w, s, e, nn = bbox
    dx, dy = (e - w) / cols, (nn - s) / cols
    i = np.arange(n)
    x0, y0 = w + (i % cols) * dx, s + (i // cols) * dy
    return shapely.box(x0, y0, x0 + dx, y0 + dy)


def write_geoparquet(path, vectors, geometries, **columns) -> Path:
    """A GeoParquet file in the Earth Index layout: id, embedding (fixed size), geometry (WKB), columns."""
    import pyarrow.parquet as pq

    n, d = vectors.shape
    table = pa.table(
        {
            "id": pa.array([f"c{i}" for i in range(n)]),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), d),
            "geometry": pa.array(shapely.to_wkb(geometries), pa.binary()),
            **columns,
        }
    )
    pq.write_table(table.replace_schema_metadata(_geo_meta()), path)
    return path


def write_huge_claim(path, rows: int = 40_000, dim: int = 2048) -> Path:
    """A file of a few hundred KB whose footer promises rows x dim float32 values (all zeros, written by
    run-length and dictionary encodings): the kind that made the reader allocate 100+ GB."""
    import pyarrow.parquet as pq

    zeros = np.zeros(rows * dim, np.float32)  # untouched pages: no memory until written
    table = pa.table(
        {
            "id": pa.array(np.arange(rows)).cast(pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(zeros), dim),
            "geometry": pa.array(shapely.to_wkb(chip_boxes(rows)), pa.binary()),
        }
    )
    pq.write_table(table.replace_schema_metadata(_geo_meta()), path, compression="zstd")
    return path


def write_repeated_text(path, rows: int = 40_000, chars: int = 400_000) -> Path:
    """One long text value stored once in a dictionary and repeated on every row: decoded, it is
    rows x chars bytes (16 GB here) in a file of under a MB."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((rows, 8)).astype(np.float32)
    note = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array(["x" * chars]))
    table = pa.table(
        {
            "id": pa.array([f"c{i}" for i in range(rows)]),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), 8),
            "geometry": pa.array(shapely.to_wkb(chip_boxes(rows)), pa.binary()),
            "note": note,
        }
    )
    pq.write_table(table.replace_schema_metadata(_geo_meta()), path, dictionary_pagesize_limit=4 << 20)
    return path
