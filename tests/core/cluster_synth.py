"""Small tiles of a made-up region for the cluster tests: adjacent GeoTIFFs with water, fields and towns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

WEST, NORTH = 440_000.0, 4_170_000.0  # UTM 18N
PX = 10.0


def scene(height: int, width: int, seed: int) -> np.ndarray:
    """4 bands of uint16: smooth water, striped fields and bright speckled 'towns', noise everywhere."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.where(x < width // 3, 300.0, 1500.0 + 400.0 * np.sin(x / 2.0 + seed) * np.cos(y / 5.0))
    towns = (rng.random((height // 8 + 1, width // 8 + 1)) > 0.85).repeat(8, 0).repeat(8, 1)[:height, :width]
    base = np.where(towns, 4000.0 + rng.normal(0, 600, (height, width)), base)
    bands = [base * f + rng.normal(0, 40, (height, width)) for f in (1.0, 0.8, 1.3, 0.6)]
    return np.clip(np.stack(bands), 1, 10000).astype(np.uint16)


def write_tile(path: Path, data: np.ndarray, col: int = 0, row: int = 0, tags: dict | None = None) -> Path:
    """A GeoTIFF at tile position (col, row) of the grid (tiles of the data's size, side by side)."""
    c, h, w = data.shape
    west, north = WEST + col * w * PX, NORTH - row * h * PX
    with rasterio.open(
        path, "w", driver="GTiff", width=w, height=h, count=c, dtype=data.dtype.name, crs="EPSG:32618",
        transform=from_origin(west, north, PX, PX), tiled=True, blockxsize=64, blockysize=64,
    ) as dst:  # fmt: skip
        dst.write(data)
        if tags:
            dst.update_tags(**tags)
    return path


def tiles(folder: Path, n: int = 3, size: int = 96, year: int | None = None) -> list[Path]:
    """``n`` adjacent tiles in a row (T0.tif, T1.tif, ...), one scene each; ``year`` tags their date."""
    folder.mkdir(parents=True, exist_ok=True)
    tags = {"ACQUISITION_DATE": f"{year}-07-01"} if year else None
    suffix = f"_{year}" if year else ""
    return [
        write_tile(folder / f"T{i}{suffix}.tif", scene(size, size, seed=i + (year or 0)), col=i, tags=tags)
        for i in range(n)
    ]
