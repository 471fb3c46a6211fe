"""An honest check that searching the demo region by example finds what it should.

Ground truth comes from the imagery itself, not from the embeddings: per chip, the share of pixels that
are open water (NDWI = (green - NIR) / (green + NIR) > 0, McFeeters 1996) and dense vegetation
(NDVI = (NIR - red) / (NIR + red) > 0.5), on the 10 m multiband COG. A search starts from a few chips
that are almost wholly one class; a hit counts as right when at least half of its pixels are that class.
Used by ``tests/core/test_demo.py`` (which asserts the figures) and ``bench/embedder.py`` (which prints them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio

from terrafind.core.catalog import Catalog
from terrafind.core.search.query import search
from terrafind.core.types import Examples

__all__ = ["CLASSES", "chip_class_shares", "QualityFigure", "precision_at_k"]

# name -> (index, band a, band b, threshold): the class is (a - b) / (a + b) > threshold
CLASSES = {"open water": ("B03", "B08", 0.0), "dense vegetation": ("B08", "B04", 0.5)}


def chip_class_shares(
    multiband: str | Path, ids: np.ndarray, *, chip: int = 32, stride: int = 16
) -> dict[str, np.ndarray]:
    """For each chip id ``<stem>_<row>_<col>``, the share of its pixels in each of :data:`CLASSES`."""
    with rasterio.open(multiband) as src:
        names = list(src.descriptions)
        bands = {b: src.read(names.index(b) + 1).astype(np.float32) for b in ("B03", "B04", "B08")}
    rc = np.array([[int(v) for v in str(i).rsplit("_", 2)[1:]] for i in ids], dtype=np.int64).reshape(-1, 2)
    out = {}
    for name, (a, b, threshold) in CLASSES.items():
        index = (bands[a] - bands[b]) / np.maximum(bands[a] + bands[b], 1.0)
        mask = (index > threshold).astype(np.float64)
        # Summed-area table: any chip's pixel count in four look-ups.
        sat = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1))
        sat[1:, 1:] = mask.cumsum(0).cumsum(1)
        y0, x0 = rc[:, 0] * stride, rc[:, 1] * stride
        y1, x1 = y0 + chip, x0 + chip
        out[name] = (sat[y1, x1] - sat[y0, x1] - sat[y1, x0] + sat[y0, x0]) / (chip * chip)
    return out


@dataclass
class QualityFigure:
    """Precision of the top ``k`` for several random sets of example chips of one class."""

    name: str
    k: int
    n_examples: int
    precisions: list[float]
    prevalence: float  # share of all chips that count as the class: what a random pick would score
    candidates: int  # chips pure enough to be examples

    @property
    def worst(self) -> float:
        return min(self.precisions)

    @property
    def mean(self) -> float:
        return float(np.mean(self.precisions))


def precision_at_k(
    catalog: Catalog,
    share: np.ndarray,
    name: str,
    *,
    k: int = 50,
    n_examples: int = 3,
    trials: int = 5,
    seed: int = 0,
    pure: float = 0.95,
    hit: float = 0.5,
) -> QualityFigure:
    """Search from ``n_examples`` random chips with ``share >= pure``; score the top ``k`` (``share >= hit``)."""
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(share >= pure)
    precisions = []
    for _ in range(trials):
        rows = [int(r) for r in rng.choice(candidates, size=n_examples, replace=False)]
        result = search(catalog, Examples(positives=rows), k=k)
        precisions.append(float((share[result.rows] >= hit).mean()))
    return QualityFigure(name, k, n_examples, precisions, float((share >= hit).mean()), len(candidates))
