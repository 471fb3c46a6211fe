"""Synthetic Earth Index regions of any size, written streaming, with queries and their exact answers.

Used by bench/scale.py (run by hand). Nothing here builds an (N, 384) array: chunk k (65,536 rows) comes
from ``rng([SEED, k])`` and hashed spatial states only, so any chunk can be made again alone, 1 M and 10 M
share their first rows, and memory stays at a few chunks.

The data (the research notes of issue 12 describe and measure it): chips on 686 x 686-chip MGRS-like tiles
at a 160 m stride (470,596 chips a tile, as Earth Index); each 24 x 24-chip patch is one of 300 land covers
(each tile favours 60 of them), 15 % of chips take a neighbour's; a land cover has 6 sub-types in a 48-d
latent space mapped into 384-d, plus power-law fine structure in all 384 dims, a small isotropic floor, a
common mean with 4 large dimensions (like transformer features), a per-chip gain (not unit length), 2 %
outliers, and chips of the same 2 x 2 and 6 x 6 blocks share part of their state (overlapping chips look
alike). Values are rounded to float16 precision before they are stored as float32, which is how the
published files compress to ~700 B a chip. The file: ``id`` string, ``embedding``
fixed_size_list<float32>[384], WKB polygons 320 m wide, ``geo`` and ``emb`` metadata, 65,536-row groups.

Queries, as a person makes them: "coherent" = 1-3 chips of one 3 x 3-chip patch (examples of one thing);
"random" = the mean of 1-3 unrelated chips (a hard case for graphs). Their exact float32 top-100 is found
while the file is written (one pass), from the same float32 values the file stores.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

DIM, LATENT, N_CLUSTERS, N_SUB = 384, 48, 300, 6
CHUNK = 65_536
SEED = 20_261_122
SPATIAL = ((2, 0.65), (6, 0.6))  # (block side in chips, weight) of spatially shared variation
TILE_SIDE = 686
TILE_ROWS = TILE_SIDE * TILE_SIDE
CELL = 24
STRIDE_M, CHIP_M = 160.0, 320.0
K = 100
QUERY_CHUNKS = 8  # queries are made of rows of this many chunks spread over the region

_params: dict | None = None


def params() -> dict:
    """The model shared by all chunks, from SEED."""
    global _params
    if _params is not None:
        return _params
    rng = np.random.default_rng(SEED)
    centres = rng.standard_normal((N_CLUSTERS, LATENT)).astype(np.float32) * 1.6
    subs = centres[:, None, :] + rng.standard_normal((N_CLUSTERS, N_SUB, LATENT)).astype(np.float32) * 0.6
    spread = rng.uniform(0.15, 0.55, size=(N_CLUSTERS, LATENT)).astype(np.float32)
    spectrum = (1.0 / (1.0 + np.arange(LATENT)) ** 0.6).astype(np.float32)
    mix = (rng.standard_normal((LATENT, DIM)) * spectrum[:, None] / np.sqrt(DIM / 8)).astype(np.float32)
    mean = rng.standard_normal(DIM).astype(np.float32) * 0.6
    big = rng.choice(DIM, 4, replace=False)
    mean[big] = np.sign(mean[big]) * rng.uniform(3.0, 5.0, 4).astype(np.float32)
    basis, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    fine_sd = (1.5 / (1.0 + np.arange(DIM)) ** 0.5).astype(np.float32)
    fine = (basis.T * fine_sd[:, None]).astype(np.float32)
    _params = dict(subs=subs, spread=spread, mix=mix, mean=mean, fine=fine)
    return _params


def _hash(*xs: np.ndarray) -> np.ndarray:
    h = np.uint64(1469598103934665603)
    for x in xs:
        h = (h ^ x.astype(np.uint64)) * np.uint64(1099511628211)
        h ^= h >> np.uint64(29)
    return h


def grid_pos(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return rows // TILE_ROWS, (rows % TILE_ROWS) // TILE_SIDE, rows % TILE_SIDE


def _tile_clusters(tile: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([SEED, 7, tile])
    cl = rng.choice(N_CLUSTERS, 60, replace=False)
    w = 1.0 / (1.0 + np.arange(60)) ** 0.9
    return cl, np.cumsum(w / w.sum())


def _labels(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    tile, r, c = grid_pos(rows)
    cr, cc = r // CELL, c // CELL
    mix = rng.random(len(rows)) < 0.15
    cr = np.where(mix, cr + rng.integers(-1, 2, len(rows)), cr)
    cc = np.where(mix, cc + rng.integers(-1, 2, len(rows)), cc)
    u = (_hash(tile, cr + 1000, cc + 1000) % np.uint64(1 << 30)).astype(np.float64) / (1 << 30)
    out = np.empty(len(rows), np.int64)
    for t in np.unique(tile):
        cl, cdf = _tile_clusters(int(t))
        m = tile == t
        out[m] = cl[np.minimum(np.searchsorted(cdf, u[m]), 59)]
    return out


def _hashed_normals(keys: np.ndarray, d: int, salt: int) -> np.ndarray:
    j = np.arange(d, dtype=np.uint64)[None, :]
    h = _hash(keys.astype(np.uint64)[:, None] + np.uint64(0), j + np.uint64(salt << 20))
    h = _hash(h, j)
    u1 = ((h >> np.uint64(38)).astype(np.float64) + 0.5) / float(1 << 26)
    u2 = (((h >> np.uint64(12)) & np.uint64((1 << 26) - 1)).astype(np.float64) + 0.5) / float(1 << 26)
    return (np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)).astype(np.float32)


def _shared(rows: np.ndarray, d: int, salt: int) -> np.ndarray:
    tile, r, c = grid_pos(rows)
    out = np.zeros((len(rows), d), np.float32)
    for side, w in SPATIAL:
        key = (tile * 100_000 + r // side) * 100_000 + c // side
        uk, inv = np.unique(key, return_inverse=True)
        out += np.float32(w) * _hashed_normals(uk * 7 + side, d, salt)[inv]
    return out


def chunk(k: int, n_total: int) -> np.ndarray:
    """Rows [k*CHUNK, min((k+1)*CHUNK, n_total)) as stored: float32 rounded to float16 precision."""
    p = params()
    start = k * CHUNK
    stop = min(n_total, start + CHUNK)
    n = stop - start
    rng = np.random.default_rng([SEED, k])
    rows = np.arange(start, stop, dtype=np.int64)
    lab = _labels(rows, rng)
    own = np.float32(np.sqrt(max(0.0, 1.0 - sum(w * w for _, w in SPATIAL))))
    tile, r, c = grid_pos(rows)
    sub = (_hash(tile, r // 6 + 7, c // 6 + 11) % np.uint64(N_SUB)).astype(np.int64)
    z = p["subs"][lab, sub]
    lat = rng.standard_normal((n, LATENT), dtype=np.float32) * own + _shared(rows, LATENT, 1)
    z += lat * p["spread"][lab]
    x = z @ p["mix"]
    fine = rng.standard_normal((n, DIM), dtype=np.float32) * own + _shared(rows, DIM, 2)
    x += fine @ p["fine"]
    x += rng.standard_normal((n, DIM), dtype=np.float32) * np.float32(0.03)
    out = rng.random(n) < 0.02
    if out.any():
        x[out] = rng.standard_normal((int(out.sum()), DIM), dtype=np.float32) * np.float32(0.35)
    x += p["mean"]
    x *= rng.lognormal(0.0, 0.12, n).astype(np.float32)[:, None]
    return x.astype(np.float16).astype(np.float32)


def centroids(rows: np.ndarray) -> np.ndarray:
    """lon/lat of chip centres (tiles side by side west to east)."""
    tile, r, c = grid_pos(rows)
    lat0, lon0 = -6.3, -59.7
    dlat = STRIDE_M / 111_320.0
    dlon = dlat / np.cos(np.radians(lat0))
    return np.column_stack([lon0 + (tile * TILE_SIDE + c + 0.5) * dlon, lat0 - (r + 0.5) * dlat])


def _wkb(cent: np.ndarray) -> list[bytes]:
    import shapely

    hy = CHIP_M / 2 / 111_320.0
    hx = hy / np.cos(np.radians(cent[:, 1]))
    return list(
        shapely.to_wkb(shapely.box(cent[:, 0] - hx, cent[:, 1] - hy, cent[:, 0] + hx, cent[:, 1] + hy))
    )


def _bbox(n: int) -> list[float]:
    """The region's lon/lat bounds (with a margin of a chip): tiles west to east, rows north to south."""
    last_tile = (n - 1) // TILE_ROWS
    r_max = TILE_SIDE - 1 if n > TILE_ROWS else (n - 1) // TILE_SIDE
    c_max = TILE_SIDE - 1 if n > TILE_SIDE else n - 1
    corners = centroids(np.array([0, last_tile * TILE_ROWS + r_max * TILE_SIDE + c_max]))
    pad = 2 * CHIP_M / 111_320.0
    return [
        float(corners[0, 0] - pad),
        float(corners[1, 1] - pad),
        float(corners[1, 0] + pad),
        float(corners[0, 1] + pad),
    ]


def query_groups(n: int, per_kind: int = 100, seed: int = 11) -> dict[str, list[np.ndarray]]:
    """Example rows of the two query kinds, all within QUERY_CHUNKS chunks spread over the region."""
    rng = np.random.default_rng(seed)
    chunks = np.unique(np.linspace(0, (n - 1) // CHUNK, QUERY_CHUNKS).astype(int))
    out: dict[str, list[np.ndarray]] = {"coherent": [], "random": []}
    for _ in range(per_kind):
        m = int(rng.integers(1, 4))
        picks = rng.choice(chunks, m)
        out["random"].append(
            np.array([int(c) * CHUNK + int(rng.integers(0, min(CHUNK, n - int(c) * CHUNK))) for c in picks])
        )
        c = int(rng.choice(chunks))
        span = min(CHUNK, n - c * CHUNK) - 3 * TILE_SIDE
        r0 = c * CHUNK + int(rng.integers(0, max(1, span)))
        out["coherent"].append(r0 + rng.integers(0, 3, m) * TILE_SIDE + rng.integers(0, 3, m))
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def write_region(n: int, path: Path, truth_path: Path, *, log=print) -> None:
    """Write the GeoParquet file of ``n`` chips and the queries' exact top-100 (``truth_path``, npz)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    groups = query_groups(n)
    need = sorted({int(r) // CHUNK for g in groups.values() for rows in g for r in rows})
    vecs = {k: _unit(chunk(k, n)) for k in need}
    kinds = list(groups)
    q = np.stack(
        [
            _unit(np.stack([vecs[int(r) // CHUNK][int(r) % CHUNK] for r in rows]).mean(0)[None])[0]
            for kind in kinds
            for rows in groups[kind]
        ]
    ).astype(np.float32)
    best_s = np.full((len(q), K), -np.inf, np.float32)
    best_i = np.full((len(q), K), -1, np.int64)
    schema = pa.schema(
        [("id", pa.string()), ("embedding", pa.list_(pa.float32(), DIM)), ("geometry", pa.binary())]
    )
    geo = {
        "version": "1.0.0",
        "primary_column": "geometry",
        "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Polygon"], "bbox": _bbox(n)}},
    }
    emb = {
        "version": "0.0.1",
        "model": {
            "id": "dinov2_vits14_softcon",
            "name": "SoftCon",
            "source": "synthetic (bench/scale_data.py)",
        },
        "license": "CC0-1.0",
        "embedding": {"dim": DIM, "quantization": "None"},
    }
    schema = schema.with_metadata({b"geo": json.dumps(geo).encode(), b"emb": json.dumps(emb).encode()})
    t0 = time.perf_counter()
    tmp = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(str(tmp), schema, compression="zstd") as w:
        for k in range((n + CHUNK - 1) // CHUNK):
            x = chunk(k, n)
            start = k * CHUNK
            rows = np.arange(start, start + len(x))
            s = _unit(x) @ q.T  # (b, queries): the exact answer, as the file stores the values
            part = np.argpartition(-s, K - 1, axis=0)[:K].T
            cand_s = np.concatenate([best_s, np.take_along_axis(s.T, part, 1)], axis=1)
            cand_i = np.concatenate([best_i, part + start], axis=1)
            order = np.argsort(-cand_s, axis=1, kind="stable")[:, :K]
            best_s, best_i = np.take_along_axis(cand_s, order, 1), np.take_along_axis(cand_i, order, 1)
            ids = pa.array([f"T{i:09d}" for i in rows], pa.string())
            arr = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), DIM)
            geom = pa.array(_wkb(centroids(rows)), pa.binary())
            w.write_table(pa.Table.from_arrays([ids, arr, geom], schema=schema), row_group_size=CHUNK)
            if k % 16 == 0:
                log(f"  generated {start + len(x):,} / {n:,} chips ({time.perf_counter() - t0:.0f} s)")
    tmp.replace(path)
    sizes = [len(groups[kind]) for kind in kinds]
    np.savez(
        truth_path,
        queries=q,
        top_rows=best_i,
        top_scores=best_s,
        kinds=np.repeat(kinds, sizes),
        groups=np.array([json.dumps(rows.tolist()) for kind in kinds for rows in groups[kind]]),
    )
