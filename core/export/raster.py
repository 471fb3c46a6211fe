"""Scores as a raster: the whole region's scores as a Cloud-Optimized GeoTIFF, one pixel per chip.

What a search says about *every* chip of the region (the similarity, the classifier's probability after
Refine, the loss or novelty of unusual places), laid out on the chips' own grid so that GIS software
(QGIS, GDAL) can style, threshold and combine it. Pixels without a chip are nodata.

The grid. Chips are made on a regular grid in some projection (a UTM zone for MGRS-tiled products, the
imagery's CRS for the built-in embedder), but the catalog only keeps their lon/lat footprints. Two
candidate grids are fitted to the chip centres: lon/lat (EPSG:4326) and the UTM zone of the region's
centre; the one whose lattice the centres sit on more exactly wins (its spacing fitted by least squares
on the centres themselves). A pixel is the chip's centre cell (its size the grid's spacing: half a chip
for chips made at half stride), which is also what the map draws. Where two chips land in one pixel
(tiles that overlap, an irregular grid) the higher value is kept and the count is reported.

The file: float32, nodata -9999, 512 x 512 tiles, DEFLATE, overviews by GDAL's COG driver (so a viewer
reads only what it shows), the provenance as a ``terrafind`` metadata item, written atomically.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, ProgressFn, check, report

__all__ = ["NODATA", "ChipGrid", "chip_grid", "write_cog", "region_values"]

NODATA = -9999.0
_BLOCK = 65_536


@dataclass
class ChipGrid:
    """Where each chip's pixel is: the raster's CRS, transform and size, and each chip's column and row."""

    crs: str  # "EPSG:4326" or "EPSG:326NN" / "EPSG:327NN"
    transform: Any  # affine.Affine
    width: int
    height: int
    col: np.ndarray  # (n,) int64
    row: np.ndarray  # (n,) int64
    misfit: float  # mean distance of the centres from the lattice, in pixels (0 = exactly on it)


def _utm(lon: float, lat: float) -> str:
    zone = int(min(60, max(1, math.floor((lon + 180.0) / 6.0) + 1)))
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def _fit_axis(v: np.ndarray, step: float) -> tuple[float, float, np.ndarray, float]:
    """(origin, spacing, index per value, misfit in steps) of a 1-d lattice through ``v``."""
    v0 = float(v[np.argmin(v)])
    idx = np.round((v - v0) / step)
    if np.any(idx):  # refine the spacing on the centres themselves (least squares through the origin)
        step = float(np.sum((v - v0) * idx) / np.sum(idx * idx))
        idx = np.round((v - v0) / step)
    misfit = float(np.mean(np.abs((v - v0) / step - idx)))
    return v0, step, idx.astype(np.int64), misfit


def _fit(x: np.ndarray, y: np.ndarray, sx: float, sy: float, crs: str) -> ChipGrid:
    from affine import Affine

    x0, sx, cx, mx = _fit_axis(x, sx)
    y1, sy, cy, my = _fit_axis(-y, sy)  # rows count down from the north
    width, height = int(cx.max()) + 1, int(cy.max()) + 1
    transform = Affine(sx, 0.0, x0 - sx / 2, 0.0, -sy, -y1 + sy / 2)
    return ChipGrid(crs, transform, width, height, cx, cy, (mx + my) / 2)


def chip_grid(catalog: Any, *, max_pixels: int = 400_000_000) -> ChipGrid:
    """The grid the chips lie on (see the module docstring)."""
    n = len(catalog)
    if n == 0:
        raise InputError("The open data holds no chips: there is nothing to write.")
    boxes = np.asarray(catalog.boxes, np.float64)
    lon, lat = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    sx, sy = catalog.stride
    if sx <= 0 or sy <= 0:
        sx = sy = float(np.median(boxes[:, 2] - boxes[:, 0])) or 1e-3
    grids = [_fit(lon, lat, sx, sy, "EPSG:4326")]
    from pyproj import Transformer

    crs = _utm(float(np.median(lon)), float(np.median(lat)))
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    lat0 = math.radians(float(np.median(lat)))
    grids.append(_fit(np.asarray(x), np.asarray(y), sx * 111_320.0 * math.cos(lat0), sy * 110_574.0, crs))
    best = min(grids, key=lambda g: g.misfit)
    if best.width * best.height > max_pixels:
        raise InputError(
            f"The chips do not lie on one grid small enough for a raster ({best.width:,} x {best.height:,} "
            "pixels): limit the region first."
        )
    return best


def _scored(values: np.ndarray, grid: ChipGrid) -> tuple[np.ndarray, int]:
    """The raster (height, width) float32 with each chip's value (the higher where two share a pixel)."""
    img = np.full((grid.height, grid.width), -np.inf, np.float32)
    ok = np.isfinite(values)
    flat = grid.row[ok] * grid.width + grid.col[ok]
    np.maximum.at(img.reshape(-1), flat, values[ok].astype(np.float32))
    shared = int(len(flat) - len(np.unique(flat)))
    img[~np.isfinite(img)] = NODATA
    return img, shared


def write_cog(
    values: np.ndarray,
    grid: ChipGrid,
    path: str | Path,
    *,
    what: str,
    provenance: dict[str, Any] | None = None,
) -> tuple[Path, int]:
    """Write one value per chip (NaN: none) as a Cloud-Optimized GeoTIFF; return (path, pixels shared)."""
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.shutil import copy as rio_copy

    from terrafind.core.files import write_atomic

    img, shared = _scored(np.asarray(values, np.float64), grid)
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": "float32",
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": NODATA,
    }

    def write(tmp: Path) -> None:
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), MemoryFile() as mem:
            with mem.open(**profile) as ds:
                ds.write(img, 1)
                ds.set_band_description(1, what)
                ds.update_tags(terrafind=json.dumps(provenance or {}, default=str), values=what)
            with mem.open() as src:
                rio_copy(
                    src,
                    str(tmp),
                    driver="COG",
                    COMPRESS="DEFLATE",
                    PREDICTOR="YES",  # floating-point predictor: smooth scores compress far better
                    BLOCKSIZE=512,
                    OVERVIEWS="AUTO",
                    RESAMPLING="NEAREST",
                )

    return write_atomic(write, path), shared


def region_values(
    session: Any, *, progress: ProgressFn | None = None, cancel: CancelToken | None = None
) -> tuple[np.ndarray, str]:
    """Every chip's value in the session's last search, and what it is ("similarity", "probability",
    "loss", "novelty"): scored exactly, block by block, the way the search scored its hits."""
    outcome, catalog = session.outcome, session.catalog
    if outcome is None or catalog is None:
        raise InputError("Search first: the raster holds the scores of a search.")
    n = len(catalog)
    if outcome.values is not None:  # unusual places computed every chip's value already
        return np.asarray(
            outcome.values, np.float32
        ), "loss" if outcome.result.mode == "unusual-loss" else "novelty"
    if outcome.how not in ("plain", "grouped", "refine"):
        raise InputError("A comparison of dates has no score per chip of one region to write as a raster.")
    out = np.empty(n, np.float32)
    if outcome.refine is not None and outcome.refine.model is not None:
        model, what = outcome.refine.model, "probability"
        score = lambda rows: model.proba(np.asarray(catalog.vectors[rows], np.float32))  # noqa: E731
    else:
        from terrafind.core.search.percentiles import score_rows

        query = session.query(outcome.how)
        what = "similarity"
        score = lambda rows: score_rows(catalog, query, rows)  # noqa: E731
    for start in range(0, n, _BLOCK):
        check(cancel)
        stop = min(n, start + _BLOCK)
        out[start:stop] = score(np.arange(start, stop, dtype=np.int64))
        report(progress, stop, n, f"Scoring every chip ({what})")
    return out, what
