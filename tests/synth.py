"""Synthetic embeddings files that look like real ones, for tests and benchmarks.

Vectors come in clusters ("land covers") that also sit together on the ground, like real chips: each
cluster owns a few spatial blobs of the grid, so a search from one chip finds its neighbours and far-away
chips of the same kind. Vectors are deliberately *not* unit length (real products are not).
"""

from __future__ import annotations

import datetime as dt
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
    vectors: np.ndarray | None = None,
) -> dict:
    """Write an Earth Index-layout GeoParquet file; return what a test needs to check results.

    ``vectors`` (n, d) replace the clustered ones (e.g. clusters with a planted common offset).

    ``overlap`` 2.0 makes chips twice the grid's stride, so each overlaps its neighbours by half (as
    Earth Index and the demo region do)."""
    centres, half, labels = grid_layout(n, bbox, n_clusters, seed)
    half = (half[0] * overlap, half[1] * overlap)
    vecs = clustered_vectors(n, d, labels, seed=seed) if vectors is None else np.asarray(vectors, np.float32)
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


def write_dated(
    folder: str | Path,
    years: tuple[int, ...] = (2019, 2021, 2023),
    n: int = 400,
    d: int = 32,
    *,
    cleared_at: int = 2021,
    cleared: int = 24,
    blip_at: int | None = None,
    blip: int = 0,
    same_ids: bool = True,
    shift: float = 0.0,
    seed: int = 0,
    one_file: bool = False,
    imagery: dict | None = None,
) -> dict:
    """Files of one region at several ``years`` (Earth Index layout, emb span = the year), with planted
    change: ``cleared`` chips (a block of the grid) turn into a new kind of chip from ``cleared_at`` on and
    stay so; ``blip`` other chips look different at ``blip_at`` only. Vectors of unchanged chips move by
    a little noise between dates (not zero: real dates never repeat exactly).

    ``same_ids`` False gives ids per year (match by place); ``shift`` moves the grid of later years by that
    share of a chip (grids that do not line up). ``one_file`` writes every year into one file with a
    ``date`` column. Returns paths and truth (rows are those of the first year's file)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    centres, half, labels = grid_layout(n, DEFAULT_BBOX, 6, seed)
    base = clustered_vectors(n, d, labels, seed=seed, spread=0.25)
    new_kind = np.random.default_rng(seed + 99).standard_normal(d).astype(np.float32)  # unlike every cluster
    new_kind *= 1.5 / np.linalg.norm(new_kind)
    cols = int(np.ceil(np.sqrt(n)))
    r, c = np.divmod(np.arange(n), cols)
    block = np.flatnonzero((r < 5) & (c < max(1, cleared // 5 + 1)))[:cleared]
    others = np.setdiff1d(np.arange(n), block)
    blip_rows = rng.choice(others, size=blip, replace=False) if blip else np.zeros(0, np.int64)
    paths, tables = [], []
    for k, year in enumerate(years):
        v = base + rng.normal(0, 0.02, base.shape).astype(np.float32) * np.linalg.norm(
            base, axis=1, keepdims=True
        )
        if year >= cleared_at:
            v[block] = new_kind + rng.normal(0, 0.03, (len(block), d)).astype(np.float32)
        if blip_at is not None and year == blip_at:
            v[blip_rows] = -base[blip_rows] + rng.normal(0, 0.05, (len(blip_rows), d)).astype(np.float32)
        cen = centres + (np.array([half[0] * 2 * shift, 0.0]) if k else 0.0)
        ids = [f"chip-{i:05d}" if same_ids else f"{year}-{i:05d}" for i in range(n)]
        table = pa.table(
            {
                "id": pa.array(ids, pa.string()),
                "embedding": pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1), pa.float32()), d),
                "geometry": pa.array(shapely.to_wkb(chip_polygons(cen, half))),
                "date": pa.array([dt.date(year, 6, 15)] * n, pa.date32()),
            }
        )
        if imagery and year in imagery:  # each date's own imagery, for thumbnails and basemaps
            table = table.append_column("source_url", pa.array([str(imagery[year])] * n, pa.string()))
        tables.append(table)
        meta = {b"geo": json.dumps({"version": "1.1.0", "primary_column": "geometry",
                                    "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Polygon"]}}}).encode()}  # fmt: skip
        m = json.loads(json.dumps(EMB_META))
        m["embedding"]["dim"] = d
        m["start_datetime"], m["end_datetime"] = f"{year}-01-01T00:00:00Z", f"{year + 1}-01-01T00:00:00Z"
        meta[b"emb"] = json.dumps(m).encode()
        if not one_file:
            path = folder / f"region_{year}.parquet"
            table = table.drop_columns(["date"]).replace_schema_metadata(meta)
            pq.write_table(table, str(path))
            paths.append(path)
    if one_file:
        m = json.loads(json.dumps(EMB_META))
        m["embedding"]["dim"] = d
        meta = {b"emb": json.dumps(m).encode()}
        path = folder / "region_all_years.parquet"
        pq.write_table(pa.concat_tables(tables).replace_schema_metadata(meta), str(path))
        paths = [path]
    return {"paths": paths, "years": years, "cleared": block, "blip": blip_rows, "n": n, "centres": centres,
            "half": half, "labels": labels}  # fmt: skip


def synthetic_catalog(
    n: int = 900,
    d: int = 32,
    *,
    n_clusters: int = 8,
    seed: int = 0,
    spread: float = 0.35,
    bbox=DEFAULT_BBOX,
    attributes: dict | None = None,
):
    """(Catalog, cluster labels) in memory, no file: chips on a grid, vectors clustered by label (unit
    length, as the reader makes them). The truth of every test built on it is ``labels``."""
    from terrafind.core.catalog import Catalog

    centres, half, labels = grid_layout(n, bbox, n_clusters, seed)
    vecs = clustered_vectors(n, d, labels, seed=seed, spread=spread)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.array([f"chip-{seed}-{i:07d}" for i in range(n)], dtype=object)
    table = pa.table(attributes or {"n": np.arange(n)})
    return Catalog(np.ascontiguousarray(vecs, np.float32), ids, chip_polygons(centres, half), table), labels


V1_CLASSES = ("water", "forest", "cropland", "urban", "bare", "wetland", "grass", "snow")


def write_clay_v1(
    path: str | Path,
    n: int = 600,
    d: int = 32,
    *,
    seed: int = 0,
    bbox=DEFAULT_BBOX,
    high_loss: int = 6,
    names: dict | None = None,
    footer_only: bool = False,
) -> dict:
    """A Clay v1-layout GeoParquet file with the seeds' fields: ``embeddings``, ``geometry``, ``datetime``,
    ``Universally Class Identifier`` (the cluster's land cover), ``source_model``, ``loss`` (low for the
    "water" cluster, the way clouds and plain water reconstruct; ``high_loss`` chips planted far above
    the rest), ``loss_metric`` and ``source_creator``. ``names`` renames columns (other spellings);
    ``footer_only`` states source_model / loss_metric / source_creator once in the emb footer instead.

    Returns what a test needs: path, vectors, labels, centres, loss, planted (the high-loss rows)."""
    centres, half, labels = grid_layout(n, bbox, len(V1_CLASSES), seed)
    vecs = clustered_vectors(n, d, labels, seed=seed)
    rng = np.random.default_rng(seed + 7)
    loss = rng.gamma(4.0, 0.02, n) + 0.05
    loss[labels == 0] *= 0.2  # water: reconstructs easily
    planted = np.sort(rng.choice(n, size=high_loss, replace=False))
    loss[planted] = 0.6 + 0.1 * np.arange(high_loss)  # unusual places: far higher than any other chip
    polys = chip_polygons(centres, half)
    names = {
        "class_id": "Universally Class Identifier",
        "source_model": "source_model",
        "loss": "loss",
        "loss_metric": "loss_metric",
        "source_creator": "source_creator",
        **(names or {}),
    }
    columns = {
        "embeddings": pa.array(list(vecs), pa.list_(pa.float32())),
        "geometry": pa.array(shapely.to_wkb(polys)),
        "datetime": pa.array(["2024-06-01"] * n),
        names["class_id"]: pa.array([V1_CLASSES[i] for i in labels]),
        names["loss"]: pa.array(loss, pa.float32()),
    }
    if not footer_only:
        columns[names["source_model"]] = pa.array(["clay-v1.5"] * n)
        columns[names["loss_metric"]] = pa.array(["MSE"] * n)
        columns[names["source_creator"]] = pa.array(["Clay Foundation"] * n)
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Polygon"]}},
    }
    meta = {b"geo": json.dumps(geo).encode()}
    if footer_only:
        emb = {"source_model": "clay-v1.5", "loss_metric": "MSE", "source_creator": "Clay Foundation"}
        meta[b"emb"] = json.dumps(emb).encode()
    table = pa.table(columns).replace_schema_metadata(meta)
    pq.write_table(table, str(path), compression="zstd")
    return {
        "path": Path(path),
        "vectors": vecs,
        "labels": labels,
        "centres": centres,
        "loss": loss.astype(np.float32),
        "planted": planted,
    }


def confuser_catalog(
    n: int = 3000,
    d: int = 32,
    *,
    n_target: int = 60,
    n_confuser: int = 400,
    closeness: float = 0.75,
    seed: int = 0,
    spread: float = 0.35,
    bbox=DEFAULT_BBOX,
    target_spots=((0.2, 0.3), (0.25, 0.7)),
):
    """(Catalog, truth) where the target is rare and a commoner look-alike lies elsewhere: the case that
    floods a detector with false positives until hard negatives are fed back. ``truth`` is 1 for target
    chips (around ``target_spots``, fractions of the box), 2 for the confusers (their centre at cosine ``closeness`` to the target's,
    in other places), 0 for the rest (several other land covers)."""
    from terrafind.core.catalog import Catalog

    centres, half, labels = grid_layout(n, bbox, 10, seed)
    rng = np.random.default_rng(seed + 5)
    lon, lat = centres[:, 0], centres[:, 1]
    w, s, e, nth = bbox
    truth = np.zeros(n, np.int64)
    # the target: the chips nearest two spots in the west; the confusers: nearest four spots in the east
    confuser_spots = ((0.7, 0.2), (0.8, 0.5), (0.65, 0.8), (0.9, 0.85))
    for spots, count, kind in ((target_spots, n_target, 1), (confuser_spots, n_confuser, 2)):
        per = count // len(spots)
        for fx, fy in spots:
            d2 = (lon - (w + fx * (e - w))) ** 2 + (lat - (s + fy * (nth - s))) ** 2
            d2[truth != 0] = np.inf
            truth[np.argsort(d2)[:per]] = kind
    base = rng.standard_normal((12, d)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    t = base[10]
    u = base[11] - (base[11] @ t) * t
    u /= np.linalg.norm(u)
    c = closeness * t + np.sqrt(1 - closeness**2) * u
    centre = base[labels % 10]
    centre[truth == 1] = t
    centre[truth == 2] = c
    vecs = centre + rng.standard_normal((n, d)).astype(np.float32) * (spread / np.sqrt(d))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.array([f"chip-{seed}-{i:07d}" for i in range(n)], dtype=object)
    cat = Catalog(
        np.ascontiguousarray(vecs, np.float32),
        ids,
        chip_polygons(centres, half),
        pa.table({"n": np.arange(n)}),
    )
    return cat, truth


def write_catalog(catalog, path: str | Path) -> Path:
    """A Catalog made in memory (synthetic_catalog, confuser_catalog) as an Earth Index-layout file, rows
    in the same order (the app opens files)."""
    d = catalog.dim
    table = pa.table(
        {
            "id": pa.array([str(i) for i in catalog.ids], pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(
                pa.array(catalog.vectors.reshape(-1), pa.float32()), d
            ),
            "geometry": pa.array(shapely.to_wkb(catalog.footprints)),
        }
    )
    geo = {
        "version": "1.1.0",
        "primary_column": "geometry",
        "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Polygon"]}},
    }
    pq.write_table(table.replace_schema_metadata({b"geo": json.dumps(geo).encode()}), str(path))
    return Path(path)
