"""Footprint boxes straight from WKB bytes, for the common chip: a simple 2-D polygon of one closed ring.

Decoding a million WKB polygons into shapely objects to take their bounds costs ~3 s on the reference
machine; Earth Index and most grids store every chip as the same 93-byte little-endian polygon (1 ring,
5 points), whose bounds numpy reads from the buffer in ~0.03 s per 65k chips. Anything else (other
sizes, big-endian, holes, multipolygons, nulls) returns None and the reader decodes it with shapely.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["simple_polygon_bounds"]

_HEADER = 1 + 4 + 4 + 4  # byte order, type, ring count, point count
_POINTS = 5


def simple_polygon_bounds(arr: pa.Array) -> np.ndarray | None:
    """(n, 4) xmin, ymin, xmax, ymax of WKB polygons that are all one little-endian ring of 5 points, else
    None (the caller falls back to shapely)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if isinstance(arr, pa.ExtensionArray):
        arr = arr.storage
    t = arr.type
    if arr.null_count or not (pa.types.is_binary(t) or pa.types.is_large_binary(t)) or len(arr) == 0:
        return None
    n = len(arr)
    width = _HEADER + _POINTS * 16
    off_type = np.int64 if pa.types.is_large_binary(t) else np.int32
    offsets = np.frombuffer(arr.buffers()[1], off_type)[arr.offset : arr.offset + n + 1]
    if offsets[-1] - offsets[0] != n * width or not np.all(np.diff(offsets) == width):
        return None
    data = np.frombuffer(arr.buffers()[2], np.uint8)[int(offsets[0]) : int(offsets[-1])].reshape(n, width)
    head = data[:, :_HEADER]
    # byte order 1 (little endian), geometry type 3 (Polygon, 2-D), 1 ring, 5 points
    if not (
        np.all(head[:, 0] == 1)
        and np.all(head[:, 1:5].view("<u4")[:, 0] == 3)
        and np.all(head[:, 5:9].view("<u4")[:, 0] == 1)
        and np.all(head[:, 9:13].view("<u4")[:, 0] == _POINTS)
    ):
        return None
    xy = np.ascontiguousarray(data[:, _HEADER:]).view("<f8").reshape(n, _POINTS, 2)
    out = np.empty((n, 4), np.float64)
    out[:, 0] = xy[:, :, 0].min(axis=1)
    out[:, 1] = xy[:, :, 1].min(axis=1)
    out[:, 2] = xy[:, :, 0].max(axis=1)
    out[:, 3] = xy[:, :, 1].max(axis=1)
    return out
