"""Synthetic embeddings files that look like real ones, for tests and benchmarks.

Vectors come in clusters ("land covers") that also sit together on the ground, like real chips: each
cluster owns a few spatial blobs of the grid, so a search from one chip finds its neighbours and far-away
chips of the same kind. Vectors are deliberately *not* unit length (real products are not).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely

DEFAULT_BBOX = (-75.95, 37.25, -75.55, 37.65)  # Virginia Eastern Shore, where the demo scene is

EMB_META = {
    "schema_version": "0.0.1",
    "model": {"id": "synthetic_vits", "family": "DinoV2", "name": "Synthetic", "config": "test data"},
    "license": "CC0-1.0",
    "embedding": {"dim": None, "quantization": None},
    "start_datetime": "2024-01-01T00:00:00Z",
    "end_datetime": "2025-01-01T00:00:00Z",
}


def clustered_vectors(
    n: int, d: int, labels: np.ndarray, *, seed: int = 0, spread: float = 0.35
) -> np.ndarray:
    """(n, d) float32 vectors around one random centre per label, with norms between 0.5 and 3."""
    rng = np.random.default_rng(seed)
    n_clusters = int(labels.max()) + 1
    centres = rng.standard_normal((n_clusters, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noise = rng.standard_normal((n, d)).astype(np.float32) * (spread / np.sqrt(d))
    vecs = centres[labels] + noise
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs *= rng.uniform(0.5, 3.0, size=(n, 1)).astype(np.float32)
    return vecs.astype(np.float32)


def grid_layout(n: int, bbox=DEFAULT_BBOX, n_clusters: int = 8, seed: int = 0):
    """Chip centres on a grid inside ``bbox`` and spatially blobby cluster labels.

    Returns (centres (n, 2) lon/lat, half size in degrees (dx, dy), labels (n,) int64)."""
    rng = np.random.default_rng(seed + 1)
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    w, s, e, nth = bbox
    dx, dy = (e - w) / cols, (nth - s) / rows
    idx = np.arange(n)
    lon = w + (idx % cols + 0.5) * dx
    lat = nth - (idx // cols + 0.5) * dy
    centres = np.column_stack([lon, lat])
    # Each cluster gets 3 seed points; a chip takes the label of its nearest seed.
    seeds = rng.uniform([w, s], [e, nth], size=(n_clusters * 3, 2))
    dist = ((centres[:, None, :] - seeds[None, :, :]) ** 2).sum(-1)
    labels = (dist.argmin(1) % n_clusters).astype(np.int64)
    return centres, (dx / 2, dy / 2), labels


def chip_polygons(centres: np.ndarray, half: tuple[float, float]) -> np.ndarray:
    hx, hy = half
    return shapely.box(centres[:, 0] - hx, centres[:, 1] - hy, centres[:, 0] + hx, centres[:, 1] + hy)


def write_earth_index(
    path: str | Path,
    n: int = 500,
    d: int = 384,
    *,
    bbox=DEFAULT_BBOX,
    n_clusters: int = 8,
    seed: int = 0,
    points: bool = False,
    row_group_size: int | None = None,
    bbox_covering: bool = False,
    emb_meta: bool = True,
    extra_columns: dict | None = None,
    overlap: float = 1.0,
) -> dict:
    """Write an Earth Index-layout GeoParquet file; return what a test needs to check results.

    ``overlap`` 2.0 makes chips twice the grid's stride, so each overlaps its neighbours by half (as
    Earth Index and the demo region do)."""
    centres, half, labels = grid_layout(n, bbox, n_clusters, seed)
    half = (half[0] * overlap, half[1] * overlap)
    vecs = clustered_vectors(n, d, labels, seed=seed)
    polys = chip_polygons(centres, half)
    geoms = shapely.points(centres) if points else polys
    ids = np.array([f"chip-{seed}-{i:07d}" for i in range(n)], dtype=object)
    emb = pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1), pa.float32()), d)
    columns = {
        "id": pa.array(ids, pa.string()),
        "embedding": emb,
        "geometry": pa.array(shapely.to_wkb(geoms)),
    }
    if bbox_covering:
        b = shapely.bounds(geoms)
        columns["bbox"] = pa.StructArray.from_arrays(
            [pa.array(b[:, i], pa.float64()) for i in range(4)], ["xmin", "ymin", "xmax", "ymax"]
        )
    for name, values in (extra_columns or {}).items():
        columns[name] = pa.array(values)
    table = pa.table(columns)
    gb = shapely.total_bounds(geoms).tolist()
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": ["Point" if points else "Polygon"],
                "crs": None,  # null CRS means lon/lat (OGC:CRS84) in GeoParquet
                "bbox": gb,
            }
        },
    }
    if bbox_covering:
        geo["columns"]["geometry"]["covering"] = {
            "bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}
        }
    meta = {b"geo": json.dumps(geo).encode()}
    if emb_meta:
        m = json.loads(json.dumps(EMB_META))
        m["embedding"]["dim"] = d
        if points:
            m["chip_size_m"] = 320
        meta[b"emb"] = json.dumps(m).encode()
    table = table.replace_schema_metadata(meta)
    pq.write_table(table, str(path), row_group_size=row_group_size or 65536, compression="zstd")
    return {
        "path": Path(path),
        "ids": ids,
        "vectors": vecs,
        "labels": labels,
        "centres": centres,
        "half": half,
        "bbox": tuple(gb),
    }
