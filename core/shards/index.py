"""One search index over many shards: each shard's index answers for its rows, the answers are merged.

A shard's top k holds every chip of that shard that belongs in the region's top k, so the best k of the
shards' answers together are the region's top k, as exact as each shard's own index (their recall, which
for a shard is at least that of one index over all chips: a smaller graph searched with the same ``ef``).
Rows are the region catalog's: shard ``i``'s row ``r`` is ``offset_i + r``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["ShardedIndex"]


class ShardedIndex:
    """The :class:`terrafind.core.search.index.VectorIndex` interface over shards ``(offset, index)``."""

    def __init__(self, parts: Sequence[tuple[int, Any]], dim: int, *, fingerprint: str = "") -> None:
        self.parts = [(int(o), ix) for o, ix in parts]
        self.rows = sum(len(ix) for _, ix in self.parts)
        self.dim = int(dim)
        self.fingerprint = fingerprint
        self.from_cache = all(getattr(ix, "from_cache", False) for _, ix in self.parts)

    def __len__(self) -> int:
        return self.rows

    @property
    def shards(self) -> int:
        return len(self.parts)

    def query(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-``k`` by inner product over every shard: (rows (q, k'), sims (q, k')), best first;
        ties are broken by row, so the order does not depend on the order of the shards."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        k_eff = min(int(k), self.rows)
        if k_eff <= 0 or q.shape[0] == 0:
            return np.zeros((q.shape[0], 0), np.int64), np.zeros((q.shape[0], 0), np.float32)
        rows, sims = [], []
        for offset, ix in self.parts:
            r, s = ix.query(q, k_eff)
            rows.append(r + offset)
            sims.append(s)
        all_rows, all_sims = np.concatenate(rows, axis=1), np.concatenate(sims, axis=1)
        order = np.lexsort((all_rows, -all_sims), axis=1)[:, :k_eff]  # by score, then by row
        return np.take_along_axis(all_rows, order, 1), np.take_along_axis(all_sims, order, 1)

    def candidates(self, queries: np.ndarray, fetch: int) -> np.ndarray:
        """Every shard's graph's ``fetch`` nearest rows for each unit query, side by side in region rows
        ((q, shards x fetch) int64, -1 where a shard has fewer): what unusual places' novelty ranks exactly."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        out = []
        for offset, ix in self.parts:
            if getattr(ix, "candidates", None) is None:
                continue
            c = np.asarray(ix.candidates(q, fetch), np.int64)
            out.append(np.where(c >= 0, c + offset, -1))
        return np.concatenate(out, axis=1) if out else np.zeros((q.shape[0], 0), np.int64)
