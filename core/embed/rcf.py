"""Random convolutional features (the numbers behind :mod:`terrafind.core.embed.embedder`), plain numpy.

The idea follows MOSAIKS (Rolf et al., Nature Communications 2021): small patches cut at random from the
imagery itself become convolution filters after whitening, so each filter "looks for" a kind of local
spectrum-and-texture that really occurs in the scene. A chip's vector is how strongly, on average over the
chip, each filter fires positively and negatively. Nothing is trained; the same seed and imagery give the
same filters.

The work is arranged so that memory stays bounded and results do not depend on how a raster is cut into
windows: filter responses are summed per *block* (``g x g`` pixels, ``g = gcd(chip, stride)``), one block
row at a time, and a chip is the sum of its ``a x a`` blocks. A block row only needs its own pixel rows plus
``patch - 1`` rows of overlap, which is what the windowed reader in :mod:`terrafind.core.embed.embedder` supplies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["RCFModel", "BlockGrid", "fit_model", "block_row_sums", "chips_from_block_rows", "valid_positions"]

# Regularisation of the whitening, as a share of the mean eigenvalue: without it, the near-zero directions
# of the patch covariance (sensor noise) would be blown up into the strongest filter responses.
ZCA_EPS = 0.05


@dataclass(frozen=True)
class BlockGrid:
    """The pixel arithmetic of chips and blocks for a raster of ``height x width`` pixels."""

    chip: int
    stride: int
    step: int  # filter responses are evaluated every ``step`` pixels in x and y (a regular subsample)
    patch: int

    @property
    def block(self) -> int:
        return math.gcd(self.chip, self.stride)

    @property
    def per_chip(self) -> int:  # blocks along one side of a chip
        return self.chip // self.block

    @property
    def per_stride(self) -> int:  # blocks between the corners of neighbouring chips
        return self.stride // self.block

    @property
    def sample_step(self) -> int:
        # The sampling lattice must tile every block the same way, so the step divides the block.
        return math.gcd(self.step, self.block)

    @property
    def offset(self) -> int:
        # A patch is anchored so that it covers rows y - offset .. y - offset + patch - 1.
        return (self.patch - 1) // 2

    def chip_counts(self, height: int, width: int) -> tuple[int, int]:
        """Chips that fit wholly inside the raster, as (rows, cols)."""
        rows = (height - self.chip) // self.stride + 1 if height >= self.chip else 0
        cols = (width - self.chip) // self.stride + 1 if width >= self.chip else 0
        return rows, cols

    def block_cols(self, width: int) -> int:
        _, cols = self.chip_counts(0, width)
        return (cols - 1) * self.per_stride + self.per_chip if cols else 0

    def block_rows(self, height: int) -> int:
        return self.block_cols(height)

    def pixel_rows_for(self, first_block_row: int, last_block_row: int) -> tuple[int, int]:
        """Pixel rows [start, stop) needed to compute block rows first..last (stop exclusive), with overlap."""
        start = first_block_row * self.block - self.offset
        stop = last_block_row * self.block - self.offset + self.patch - 1
        return start, stop


@dataclass(frozen=True)
class RCFModel:
    """Fitted filters. ``weights`` act on standardised, flattened patches (band-major, then row, col)."""

    band_mean: np.ndarray  # (C,) float64
    band_std: np.ndarray  # (C,) float64
    weights: np.ndarray  # (K, C*p*p) float32: whitening folded into the filters
    bias: np.ndarray  # (K,) float32
    threshold: float
    patch: int

    @property
    def k(self) -> int:
        return int(self.weights.shape[0])

    @property
    def dim(self) -> int:
        return 2 * self.k

    @cached_property
    def weights_yxc(self) -> np.ndarray:
        """The weights with columns reordered (row, col, band), the order block_row_sums lays patches in."""
        c = len(self.band_mean)
        w = self.weights.reshape(self.k, c, self.patch, self.patch).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(w.reshape(self.k, -1))


def _patches(
    data: np.ndarray, valid: np.ndarray, patch: int, count: int, rng: np.random.Generator
) -> np.ndarray:
    """Up to ``count`` random fully valid patches of one standardised window, flattened (n, C*p*p)."""
    c, h, w = data.shape
    if h < patch or w < patch:
        return np.zeros((0, c * patch * patch), np.float32)
    anchors = np.flatnonzero(valid_positions(valid, patch))
    if len(anchors) == 0:
        return np.zeros((0, c * patch * patch), np.float32)
    pick = rng.choice(anchors, size=min(count, len(anchors)), replace=False)
    ys, xs = np.divmod(pick, w - patch + 1)
    dy, dx = np.meshgrid(np.arange(patch), np.arange(patch), indexing="ij")
    rows = ys[:, None, None] + dy  # (n, p, p)
    cols = xs[:, None, None] + dx
    out = data[:, rows, cols]  # (C, n, p, p)
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3).reshape(len(pick), -1), dtype=np.float32)


def fit_model(
    windows: list[tuple[np.ndarray, np.ndarray]], *, k: int, patch: int, seed: int, n_patches: int = 10000
) -> RCFModel:
    """Fit band statistics and ``k`` whitened random-patch filters from sample windows of the imagery.

    ``windows`` are (data (C, h, w), valid (h, w) bool) pairs read at full resolution from across the
    scene; the band mean and spread come from all their valid pixels."""
    rng = np.random.default_rng(seed)
    # Every 4th row and column is plenty for a mean and a spread, and 16x cheaper.
    values = [d[:, ::4, ::4][:, v[::4, ::4]] for d, v in windows if v[::4, ::4].any()]
    if not values:
        raise ValueError("no valid pixels in the sample windows")
    pix = np.concatenate(values, axis=1).astype(np.float64)
    mean = pix.mean(axis=1)
    std = pix.std(axis=1)
    std[std == 0] = 1.0  # a constant band carries no information but must not divide by zero
    per_window = max(1, n_patches // len(windows))
    parts = []
    for data, valid in windows:
        z = ((data - mean[:, None, None]) / std[:, None, None]).astype(np.float32)
        parts.append(_patches(z, valid, patch, per_window, rng))
    patches = np.concatenate(parts)
    if len(patches) < k:
        raise ValueError(f"only {len(patches)} valid patches for {k} filters")
    centre = patches.mean(axis=0)
    centred = (patches - centre).astype(np.float64)
    cov = centred.T @ centred / max(1, len(centred) - 1)
    evals, evecs = np.linalg.eigh(cov)
    evals = np.clip(evals, 0, None)
    eps = ZCA_EPS * float(evals.mean())
    zca = (evecs * (1.0 / np.sqrt(evals + eps))) @ evecs.T  # symmetric whitening matrix
    chosen = patches[rng.choice(len(patches), size=k, replace=False)]
    filters = (chosen - centre) @ zca
    filters /= np.linalg.norm(filters, axis=1, keepdims=True) + 1e-12
    # response(x) = filter . zca (x - centre) = (filter @ zca) . x - (filter @ zca) . centre
    weights = filters @ zca
    bias = -weights @ centre
    return RCFModel(
        band_mean=mean,
        band_std=std,
        weights=np.ascontiguousarray(weights, dtype=np.float32),
        bias=bias.astype(np.float32),
        threshold=1.0,
        patch=patch,
    )


def valid_positions(valid: np.ndarray, patch: int) -> np.ndarray:
    """(h - p + 1, w - p + 1) bool: True where the whole patch anchored there is valid (a 2-D erosion)."""
    h, w = valid.shape
    out = np.ones((h - patch + 1, w - patch + 1), bool)
    for dy in range(patch):
        for dx in range(patch):
            out &= valid[dy : dy + h - patch + 1, dx : dx + w - patch + 1]
    return out


def block_row_sums(
    model: RCFModel, grid: BlockGrid, z: np.ndarray, valid: np.ndarray, n_block_cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled sums of one block row.

    ``z`` (C, block + patch - 1, >= n_block_cols*block + patch - 1) is standardised imagery covering the
    block row plus its overlap (invalid pixels may hold anything); ``valid`` is its (rows, cols) mask.
    Returns (sums (n_block_cols, 2K) float32, counts (n_block_cols,) int64 of valid sample positions)."""
    g, s, p = grid.block, grid.sample_step, grid.patch
    gs, nb = g // s, n_block_cols
    c = z.shape[0]
    width = nb * g
    n = gs * gs
    # im2col, transposed: one row per (dy, dx, band), one column per sample position ordered (block col,
    # sample row, sample col), so that BLAS sees a wide matrix and pooling is a sum over contiguous runs.
    cols = np.empty((p, p, c, nb, gs, gs), np.float32)
    for dy in range(p):
        for dx in range(p):
            tile = z[:, dy : dy + g : s, dx : dx + width : s]  # (C, gs, nb*gs)
            cols[dy, dx] = tile.reshape(c, gs, nb, gs).transpose(0, 2, 1, 3)
    resp = model.weights_yxc @ cols.reshape(p * p * c, nb * n)  # (K, positions)
    resp += model.bias[:, None]
    t = model.threshold
    window = valid[:, : width + p - 1]
    if window.all():  # the usual case: skip the erosion
        mask = np.ones(nb * n, bool)
    else:
        ok = valid_positions(window, p)[::s, ::s]  # (gs, nb*gs)
        mask = ok.reshape(gs, nb, gs).transpose(1, 0, 2).reshape(-1)
    if not mask.all():
        # relu(r - t) = max(r, t) - t and relu(-r - t) = -min(r, -t) - t: a position set to t adds exactly
        # 0 to both after the "- t * n" below, which is how invalid positions drop out of the pooling.
        resp[:, ~mask] = t
    resp = resp.reshape(model.k, nb, n)
    pos = np.maximum(resp, t).sum(axis=2) - t * n
    neg = -np.minimum(resp, -t).sum(axis=2) - t * n
    counts = mask.reshape(nb, n).sum(axis=1)
    return np.concatenate([pos, neg], axis=0).T.astype(np.float32), counts.astype(np.int64)


def chips_from_block_rows(
    grid: BlockGrid, rows: list[tuple[np.ndarray, np.ndarray]], n_chip_cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """One chip row from its ``per_chip`` block rows: (mean features (cols, 2K), valid share (cols,))."""
    a, b = grid.per_chip, grid.per_stride
    sums = np.sum([r[0] for r in rows], axis=0)
    counts = np.sum([r[1] for r in rows], axis=0)
    span = b * (n_chip_cols - 1) + 1
    chip_sums = np.sum([sums[j : j + span : b] for j in range(a)], axis=0)
    chip_counts = np.sum([counts[j : j + span : b] for j in range(a)], axis=0)
    total = (grid.chip // grid.sample_step) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        feats = chip_sums / np.maximum(chip_counts, 1)[:, None]
    return feats.astype(np.float32), chip_counts / total
