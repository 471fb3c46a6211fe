"""Memory budgets, checked before anything big is allocated: what an open will cost, and whether it fits.

A Parquet footer is a promise made by whoever wrote the file: a few-MB file can claim a billion rows of
384 floats (run-length and dictionary encodings make that cheap to write), and the reader would size its
vector matrix from that claim. So the cost of an open is estimated from the footer first
(:func:`open_cost`: the embedding column's value count x value size, attribute and geometry sizes, the
per-chip overhead of footprints and ids) and compared with the memory this machine has available
(:func:`check_memory`), with a sentence that suggests a smaller region. While reading, decoded text is
counted against the same budget (:class:`Budget`), because a footer can also lie about its encodings.

Kept small and in one place: other readers (caches, indexes) call :func:`check_memory` with their own
estimate.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from terrafind.core.errors import InputError
from terrafind.core.units import human_bytes

__all__ = [
    "available_bytes",
    "check_memory",
    "open_cost",
    "store_open_cost",
    "Budget",
    "HEADROOM",
    "PER_CHIP_BYTES",
    "STORE_PER_CHIP_BYTES",
]

HEADROOM = 0.85  # of the available memory an open may use: the window, the index and the OS need the rest
PER_CHIP_BYTES = 400  # a footprint polygon (shapely object + coordinates), an id string, a centroid
# What an open into a region store (terrafind.core.store) holds per chip at its end: the ids' hash set
# (checking they are unique) and the spatial grid's keys and sort; the rows themselves go to disk.
STORE_PER_CHIP_BYTES = 96
_VALUE_BYTES = {"FLOAT": 4, "DOUBLE": 8, "INT32": 4, "INT64": 8, "BOOLEAN": 1, "INT96": 12}


def _limit() -> int | None:
    """``TERRAFIND_MAX_MEMORY`` ("2GB", "500MB", bytes): a cap a person sets on a shared machine."""
    text = os.environ.get("TERRAFIND_MAX_MEMORY", "").strip().upper().replace(" ", "")
    if not text:
        return None
    for unit, factor in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3), ("B", 1)):
        if text.endswith(unit):
            text, scale = text[: -len(unit)], factor
            break
    else:
        scale = 1
    try:
        return int(float(text) * scale)
    except ValueError:
        return None


def available_bytes() -> int:
    """Memory this machine can give now without swapping (psutil's "available"; a fallback elsewhere),
    at most ``TERRAFIND_MAX_MEMORY`` when that is set."""
    try:
        import psutil

        free = int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil is a dependency; this keeps odd installs working
        try:
            free = int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            free = 4 << 30
    cap = _limit()
    return free if cap is None else min(free, cap)


def check_memory(needed: int, what: str, *, hint: str, available: int | None = None) -> None:
    """Raise :class:`InputError` when ``needed`` bytes for ``what`` do not fit in the memory available
    (times :data:`HEADROOM`); ``hint`` says what to do instead ("choose a smaller region...")."""
    free = available_bytes() if available is None else available
    if needed > free * HEADROOM:
        raise InputError(
            f"{what} would need about {human_bytes(needed)} of memory, but this computer has "
            f"{human_bytes(free)} available: {hint}"
        )


def _leaves(meta: Any, name: str) -> list[int]:
    """Indexes of the footer's leaf columns under the top-level column ``name``."""
    return [
        i
        for i in range(meta.num_columns)
        if meta.schema.column(i).path == name or meta.schema.column(i).path.startswith(name + ".")
    ]


def _column_cost(meta: Any, leaves: list[int], groups: Sequence[int]) -> int:
    """Decoded bytes of some leaf columns over some row groups, as the footer states them: value count x
    value size for fixed-width values, the uncompressed size for text and bytes (never less than 8 bytes
    a value: offsets and validity)."""
    total = 0
    for i in leaves:
        physical = meta.schema.column(i).physical_type
        width = _VALUE_BYTES.get(physical)
        for g in groups:
            col = meta.row_group(g).column(i)
            values = max(0, int(col.num_values))
            if width is not None:
                total += values * width
            else:
                total += max(int(col.total_uncompressed_size or 0), values * 8)
    return total


def open_cost(sources: Sequence[Any], groups: Sequence[Sequence[int]]) -> tuple[int, int]:
    """(bytes, chips) an open of ``groups`` of each source will hold, from the footers alone: the float32
    matrix (embedding values x 4, whatever type they are stored in), the attributes, the geometry and
    :data:`PER_CHIP_BYTES` per chip."""
    total = chips = 0
    for src, chosen in zip(sources, groups, strict=True):
        meta, lay = src.metadata, src.layout
        rows = sum(int(meta.row_group(g).num_rows) for g in chosen)
        chips += rows
        values = sum(
            max(0, int(meta.row_group(g).column(i).num_values))
            for i in _leaves(meta, lay.embedding)
            for g in chosen
        )
        total += values * 4 + rows * PER_CHIP_BYTES
        for name in [*lay.attributes, lay.id_column, lay.geometry]:
            if name:
                total += _column_cost(meta, _leaves(meta, name), chosen)
    return total, chips


def store_open_cost(
    sources: Sequence[Any], groups: Sequence[Sequence[int]], in_flight: int
) -> tuple[int, int]:
    """(bytes, chips) an open into a region store will hold at most, from the footers alone: the
    ``in_flight`` largest row groups decoded at once (float32 vectors, attributes, geometry, ids) and
    :data:`STORE_PER_CHIP_BYTES` per chip; everything else is written to disk as it is read."""
    per_group: list[int] = []
    chips = 0
    for src, chosen in zip(sources, groups, strict=True):
        meta, lay = src.metadata, src.layout
        leaves = _leaves(meta, lay.embedding)
        for g in chosen:
            rows = int(meta.row_group(g).num_rows)
            chips += rows
            cost = sum(max(0, int(meta.row_group(g).column(i).num_values)) for i in leaves) * 4
            for name in [*lay.attributes, lay.id_column, lay.geometry]:
                if name:
                    cost += _column_cost(meta, _leaves(meta, name), [g])
            per_group.append(cost)
    return sum(sorted(per_group)[-max(1, in_flight) :]) + chips * STORE_PER_CHIP_BYTES, chips


class Budget:
    """Bytes an open may still use while reading (decoded text is counted as it comes)."""

    def __init__(self, limit: int, what: str, hint: str) -> None:
        self.limit, self.what, self.hint = int(limit), what, hint
        self.used = 0

    def release(self, nbytes: int) -> None:
        """Bytes no longer held (written out to the region's store)."""
        self.used = max(0, self.used - int(nbytes))

    def use(self, nbytes: int) -> None:
        self.used += int(nbytes)
        if self.used > self.limit:
            raise InputError(
                f"{self.what} holds far more data than its footer says (over {human_bytes(self.limit)} "
                f"so far): {self.hint}"
            )
