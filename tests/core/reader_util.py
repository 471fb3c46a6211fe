"""Small writers of embeddings files in the layouts the reader must recognise (beside tests/synth.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from synth import chip_polygons, clustered_vectors, grid_layout

MISSING = object()
FLOAT32 = pa.float32()


def grid(n: int, d: int, bbox=(10.0, 45.0, 10.2, 45.2), seed: int = 0):
    """Centres, half size, polygons and raw (not unit) vectors of ``n`` chips on a grid."""
    centres, half, labels = grid_layout(n, bbox, 4, seed)
    return centres, half, chip_polygons(centres, half), clustered_vectors(n, d, labels, seed=seed)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def list_column(vecs: np.ndarray, *, fixed: bool = False, value_type: pa.DataType = FLOAT32) -> pa.Array:
    n, d = vecs.shape
    values = pa.array(vecs.reshape(-1).astype(value_type.to_pandas_dtype()), value_type)
    if fixed:
        return pa.FixedSizeListArray.from_arrays(values, d)
    return pa.ListArray.from_arrays(pa.array(np.arange(0, (n + 1) * d, d, dtype=np.int32)), values)


def write(
    path: str | Path,
    columns: dict[str, Any],
    *,
    geometry: str | None = "geometry",
    crs: Any = MISSING,
    bbox: Any = True,
    geometry_types=("Polygon",),
    emb: dict | None = None,
    geo: bool = True,
    row_group_size: int | None = None,
) -> Path:
    """Write ``columns`` as a (Geo)Parquet file; ``geometry`` names a WKB column (shapely arrays are encoded)."""
    cols = {}
    for name, values in columns.items():
        if isinstance(values, np.ndarray) and values.dtype == object and name == geometry:
            cols[name] = pa.array(shapely.to_wkb(values), pa.binary())
        else:
            cols[name] = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
    table = pa.table(cols)
    meta: dict[bytes, bytes] = {}
    if geo and geometry:
        col: dict[str, Any] = {"encoding": "WKB", "geometry_types": list(geometry_types)}
        if crs is not MISSING:
            col["crs"] = crs
        if bbox is True:
            geoms = shapely.from_wkb(table.column(geometry).to_numpy(zero_copy_only=False))
            col["bbox"] = shapely.total_bounds(geoms).tolist() if len(geoms) else [0, 0, 0, 0]
        elif bbox:
            col["bbox"] = list(bbox)
        meta[b"geo"] = json.dumps(
            {"version": "1.1.0", "primary_column": geometry, "columns": {geometry: col}}
        ).encode()
    if emb is not None:
        meta[b"emb"] = json.dumps(emb).encode()
    pq.write_table(table.replace_schema_metadata(meta), str(path), row_group_size=row_group_size)
    return Path(path)


def zero_out(path: Path, spans: list[tuple[int, int]]) -> None:
    """Overwrite byte ranges of a file with zeros (makes those pages unreadable, leaves the footer intact)."""
    with open(path, "r+b") as f:
        for start, length in spans:
            f.seek(start)
            f.write(b"\0" * length)


def row_group_spans(path: Path, groups: list[int]) -> list[tuple[int, int]]:
    """Byte ranges of every column chunk of the given row groups."""
    meta = pq.ParquetFile(path).metadata
    spans = []
    for g in groups:
        rg = meta.row_group(g)
        for c in range(rg.num_columns):
            cc = rg.column(c)
            start = cc.dictionary_page_offset if cc.has_dictionary_page else cc.data_page_offset
            spans.append((int(start), int(cc.total_compressed_size)))
    return spans


def data_span(path: Path) -> tuple[int, int]:
    """All bytes between the leading magic and the footer: every data page of the file."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        f.seek(size - 8)
        footer_len = int.from_bytes(f.read(4), "little")
    return 4, size - 8 - footer_len - 4
