"""The int8 code of unit vectors in a region store: one scale and offset per dimension, two floats per row.

Why this code (measured in docs/performance.md, "Region store"; research notes of issue 12): of float16,
int8 with a per-row scale and int8 with a per-dimension scale and offset, the last keeps exact top-100
recall at 0.989 against float32 at a quarter of float32's bytes, for plain cosine and for cosine centred at
query time alike, *when each row also keeps the length of its decoded vector*. The per-dimension range
follows the features' own spread (a handful of dimensions of transformer features are large), and the
per-row length undoes the bias rounding puts into every decoded vector's norm.

A row ``u`` (unit length) is stored as ``c = round((u - lo) / scale) - 128`` (int8, clipped), and decoded as
``u_hat = c * scale + base`` with ``base = lo + 128 * scale``. Its score against a unit query ``q`` is
``<q, u_hat> / |u_hat|`` = ``(<c, q * scale> + <q, base>) * inv_norm``: a block of codes is cast to float32
once and multiplied by one folded vector (:meth:`Int8Codec.fold`), never decoded in full.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Int8Codec", "FIT_ROWS", "PAD"]

FIT_ROWS = 32_768  # rows the ranges are fitted on (the first rows read; the pad leaves room for the rest)
PAD = 0.10  # share of each dimension's fitted range added on both sides: later rows rarely fall outside
_MIN_SCALE = 1e-7  # a dimension that is constant in the fit sample still gets a usable step


@dataclass(frozen=True)
class Int8Codec:
    """Per-dimension ``lo`` and ``scale`` (float32, (d,)) of the int8 code."""

    lo: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, sample: np.ndarray, pad: float = PAD) -> Int8Codec:
        """Ranges of ``sample`` (unit rows) widened by ``pad`` of each range on both sides."""
        sample = np.asarray(sample, np.float32)
        lo, hi = sample.min(axis=0), sample.max(axis=0)
        span = np.maximum(hi - lo, 0.0)
        lo = lo - pad * span
        scale = np.maximum((span * (1.0 + 2.0 * pad)) / 255.0, _MIN_SCALE)
        return cls(lo.astype(np.float32), scale.astype(np.float32))

    @property
    def dim(self) -> int:
        return int(self.lo.shape[0])

    @property
    def base(self) -> np.ndarray:
        """What code 0 decodes to (lo + 128 * scale), per dimension."""
        return (self.lo + 128.0 * self.scale).astype(np.float32)

    def encode(
        self, rows: np.ndarray, row_factor: np.ndarray | None = None, *, count_clipped: bool = True
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """(codes (n, d) int8, 1 / |u_hat| (n,) float32, number of clipped values, 0 unless
        ``count_clipped``) of unit rows, or of any rows times ``row_factor`` (1 / their lengths: the unit
        rows are never made).

        In place on one float32 temporary, ~10 passes over it: the open of a region spends most of its
        own time here (docs/performance.md)."""
        if row_factor is None:
            t = np.array(rows, dtype=np.float32)
        else:
            t = np.empty(rows.shape, np.float32)
            np.multiply(rows, np.asarray(row_factor, np.float32)[:, None], out=t, casting="unsafe")
        t *= 1.0 / self.scale
        t -= self.lo / self.scale + 128.0
        np.rint(t, out=t)
        clipped = int(np.count_nonzero(t < -128) + np.count_nonzero(t > 127)) if count_clipped else 0
        np.clip(t, -128, 127, out=t)
        codes = t.astype(np.int8)
        t *= self.scale  # u_hat = code * scale + base, from the rounded values still in hand
        t += self.base
        norms = np.sqrt(np.einsum("ij,ij->i", t, t))
        with np.errstate(divide="ignore"):
            inv = np.where(norms > 0, 1.0 / norms, 0.0).astype(np.float32)
        return codes, inv, clipped

    def decode(self, codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """u_hat (not unit) of int8 ``codes`` as float32 (into ``out`` when given)."""
        if out is None:
            out = np.empty(codes.shape, np.float32)
        np.copyto(out, codes, casting="unsafe")
        out *= self.scale
        out += self.base
        return out

    def fold(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weights (d, q), constants (q,)) so that ``<u_hat, q> = codes @ weights + constants``."""
        q = np.atleast_2d(np.asarray(queries, np.float32))
        weights = np.ascontiguousarray((q * self.scale).T)
        return weights, (q @ self.base).astype(np.float32)

    def to_json(self) -> dict[str, list[float]]:
        return {"lo": self.lo.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, list[float]], dim: int) -> Int8Codec:
        lo = np.asarray(data["lo"], np.float32)
        scale = np.asarray(data["scale"], np.float32)
        if lo.shape != (dim,) or scale.shape != (dim,) or not (np.all(np.isfinite(lo)) and np.all(scale > 0)):
            raise ValueError("the stored int8 ranges do not fit the vectors")
        return cls(lo, scale)
