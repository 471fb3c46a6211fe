"""Truth about change in the Pucallpa demo, from the pixels alone (no embedding involved), and its scoring.

Indices per pixel, averaged per chip (8 x 8 px, every 8 px, valid pixels only), from the shipped imagery
(resources/demo/pucallpa: display-stretched 8-bit SWIR1, NIR, Red, Green):

* NBR-like = (NIR - SWIR1) / (NIR + SWIR1): stable in intact forest (0.34-0.39 at every date, although the
  stretch drifts by 10-20 % between years), so it is the clearing signal;
* NDVI = (NIR - Red) / (NIR + Red), corrected by its median change per pair (Red falls ~20 % after 2010);
* water = share of pixels with NDWI = (Green - NIR) / (Green + NIR) > 0.

**Cleared (A -> B)**: chip NBR at A >= 0.30 (forest-like), water share < 0.10 at both dates (keeps river
bars out), and NBR dropped by more than 0.10 (2.5-6 robust sd of unchanged forest; a fully cleared pixel
drops ~0.35). **Any change**: cleared, or |water share change| >= 0.25, or |median-corrected NBR change|
> 0.10, or |median-corrected NDVI change| > 0.15. The thresholds and their sensitivity are from the
research notes summarised in docs/demo.md.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import rasterio

from terrafind.core.embed.pucallpa import YEARS, source_dir

CHIP = STRIDE = 8
FOREST_NBR, WATER_MAX, DROP = 0.30, 0.10, 0.10
WATER_CHANGE, INDEX_NBR, INDEX_NDVI = 0.25, 0.10, 0.15


def _chip_mean(img: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(rows, cols) mean of ``img`` over the valid pixels of each chip (summed-area tables)."""
    h, w = img.shape

    def sat(x: np.ndarray) -> np.ndarray:
        s = np.zeros((h + 1, w + 1))
        s[1:, 1:] = x.cumsum(0).cumsum(1)
        return s

    nr, nc = (h - CHIP) // STRIDE + 1, (w - CHIP) // STRIDE + 1
    y0, x0 = np.arange(nr)[:, None] * STRIDE, np.arange(nc)[None, :] * STRIDE
    y1, x1 = y0 + CHIP, x0 + CHIP

    def box(s: np.ndarray) -> np.ndarray:
        return s[y1, x1] - s[y0, x1] - s[y1, x0] + s[y0, x0]

    n = box(sat(valid.astype(np.float64)))
    return box(sat(np.where(valid, img, 0).astype(np.float64))) / np.maximum(n, 1)


@lru_cache(maxsize=1)
def chip_indices() -> dict[int, dict[str, np.ndarray]]:
    """Per year: chip-mean NBR, NDVI, water share and the mean of each band (flattened row-major)."""
    out = {}
    for y in YEARS:
        with rasterio.Env(CPL_LOG="/dev/null"), rasterio.open(source_dir() / f"{y}.tif") as src:
            a = src.read().astype(np.float64)
        valid = (a != 0).all(0)
        sw, nir, red, green = a
        nbr = (nir - sw) / np.maximum(nir + sw, 1)
        ndvi = (nir - red) / np.maximum(nir + red, 1)
        water = ((green - nir) / np.maximum(green + nir, 1) > 0) & valid
        out[y] = {
            "nbr": _chip_mean(nbr, valid).ravel(),
            "ndvi": _chip_mean(ndvi, valid).ravel(),
            "water": _chip_mean(water.astype(np.float64), np.ones_like(valid)).ravel(),
            "bands": np.stack([_chip_mean(a[b], valid).ravel() for b in range(4)], axis=1),
        }
    return out


def grid_cols() -> int:
    with rasterio.Env(CPL_LOG="/dev/null"), rasterio.open(source_dir() / f"{YEARS[0]}.tif") as src:
        return (src.width - CHIP) // STRIDE + 1


def cell_of(ids) -> np.ndarray:
    """The chip cell (row * cols + col) of each demo chip id ("landsat_1985_<row>_<col>")."""
    nc = grid_cols()
    rc = np.array([[int(p) for p in str(i).rsplit("_", 2)[-2:]] for i in ids])
    return rc[:, 0] * nc + rc[:, 1]


def pair_truth(a: int, b: int) -> dict[str, np.ndarray]:
    """Per chip cell: cleared and any change between years ``a`` and ``b``."""
    c = chip_indices()
    ca, cb = c[a], c[b]
    dn = ca["nbr"] - cb["nbr"]
    forest = (ca["nbr"] >= FOREST_NBR) & (ca["water"] < WATER_MAX) & (cb["water"] < WATER_MAX)
    cleared = forest & (dn > DROP)
    dndvi = ca["ndvi"] - cb["ndvi"]
    index = (np.abs(dn - np.median(dn)) > INDEX_NBR) | (np.abs(dndvi - np.median(dndvi)) > INDEX_NDVI)
    water = np.abs(cb["water"] - ca["water"]) >= WATER_CHANGE
    return {
        "cleared": cleared,
        "any": cleared | water | index,
        "land": (ca["water"] < WATER_MAX) & (cb["water"] < WATER_MAX),
    }


def history_truth() -> dict[int, np.ndarray]:
    """Per year and chip cell: unusual against the chip's other years (any index beyond its threshold from
    the median of the other years, each year's median offset removed)."""
    c = chip_indices()
    nbr = np.stack([c[y]["nbr"] for y in YEARS])
    ndvi = np.stack([c[y]["ndvi"] for y in YEARS])
    water = np.stack([c[y]["water"] for y in YEARS])
    nbr = nbr - np.median(nbr, 1, keepdims=True)
    ndvi = ndvi - np.median(ndvi, 1, keepdims=True)

    def loo(v: np.ndarray) -> np.ndarray:
        return np.stack([np.median(np.delete(v, t, 0), 0) for t in range(len(YEARS))])

    unusual = (np.abs(nbr - loo(nbr)) > INDEX_NBR) | (np.abs(ndvi - loo(ndvi)) > INDEX_NDVI)
    unusual |= np.abs(water - loo(water)) >= WATER_CHANGE
    return {y: unusual[t] for t, y in enumerate(YEARS)}


def precision_at(score: np.ndarray, truth: np.ndarray, n: int) -> float:
    order = np.argsort(-score, kind="stable")
    return float(truth[order[:n]].mean())


def recall_at_m(score: np.ndarray, truth: np.ndarray) -> float:
    m = int(truth.sum())
    order = np.argsort(-score, kind="stable")
    return float(truth[order[:m]].sum() / max(m, 1))


def auc(score: np.ndarray, truth: np.ndarray) -> float:
    y = truth.astype(bool)
    ranks = np.argsort(np.argsort(score, kind="stable"), kind="stable") + 1.0
    n1, n0 = y.sum(), (~y).sum()
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
