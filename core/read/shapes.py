"""What the reader keeps of a file's text and geometry, with the limits of :mod:`terrafind.core.limits`.

Text: a string column may be stored once in a dictionary and repeated a million times; decoded, one
megabyte becomes a terabyte. :func:`bounded_text` cuts values to a length before they are repeated (on
the dictionary when there is one) and returns plain strings.

Geometry: a footprint is skipped (counted among the data's problems, never shown or exported) when it
is empty, has a NaN or infinite vertex anywhere (bounds skip NaN, so a NaN inside a polygon passes a
bounds check), has more vertices than a chip can have, or crosses itself (which breaks overlays and site
merging). Plain four-cornered chips, nearly all of them, are checked with numpy; GEOS only sees the rest.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from terrafind.core.limits import MAX_CHIP_VERTICES, MAX_WKB_BYTES

__all__ = ["bounded_text", "is_text", "decode_wkb", "unusable"]


def is_text(t: pa.DataType) -> bool:
    """String or binary, plain or dictionary-encoded."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
    )


def _cut(values: pa.Array, max_chars: int) -> pa.Array:
    t = values.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        if len(values) and (pc.max(pc.utf8_length(values)).as_py() or 0) > max_chars:
            return pc.utf8_slice_codeunits(values, 0, max_chars)
        return values
    if len(values) and (pc.max(pc.binary_length(values)).as_py() or 0) > max_chars:
        return pc.binary_slice(values, 0, max_chars)
    return values


def bounded_text(arr: pa.Array | pa.ChunkedArray, max_chars: int) -> pa.Array:
    """``arr`` (string/binary, maybe dictionary-encoded) as plain values of at most ``max_chars`` each."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        dictionary = _cut(arr.dictionary, max_chars)  # cut once, before the values are repeated
        return pc.take(dictionary, arr.indices)
    return _cut(arr, max_chars)


def decode_wkb(arr: pa.Array) -> np.ndarray:
    """Shapely geometries of a WKB column (plain or dictionary-encoded); None where the encoded geometry
    is longer than :data:`MAX_WKB_BYTES` (never parsed) or unreadable."""
    if pa.types.is_dictionary(arr.type):
        unique = decode_wkb(arr.dictionary)  # each distinct geometry parsed once
        idx = arr.indices.to_numpy(zero_copy_only=False)
        out = np.full(len(arr), None, dtype=object)
        ok = arr.indices.is_valid().to_numpy(zero_copy_only=False) if arr.indices.null_count else slice(None)
        out[ok] = unique[idx[ok].astype(np.int64)]
        return out
    lengths = pc.binary_length(arr).to_numpy(zero_copy_only=False)
    values = arr.to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        long = np.asarray(lengths, dtype=float) > MAX_WKB_BYTES
    if long.any():
        values = values.copy()
        values[long] = None
    return shapely.from_wkb(values, on_invalid="ignore")


def _quad_ok(coords: np.ndarray) -> np.ndarray:
    """For (n, 5, 2) closed four-cornered rings: True where the ring is simple and not degenerate (all
    turns the same way, i.e. a convex quadrilateral: every chip the known products make)."""
    edges = coords[:, 1:] - coords[:, :-1]  # (n, 4, 2)
    nxt = np.concatenate([edges[:, 1:], edges[:, :1]], axis=1)
    cross = edges[:, :, 0] * nxt[:, :, 1] - edges[:, :, 1] * nxt[:, :, 0]
    return (cross > 0).all(axis=1) | (cross < 0).all(axis=1)


def unusable(geoms: np.ndarray) -> np.ndarray:
    """(n,) True where a footprint cannot be used (see the module docstring); None counts as unusable."""
    counts = shapely.get_num_coordinates(geoms)
    bad = (counts == 0) | (counts > MAX_CHIP_VERTICES)  # None and empty geometries have no coordinates
    ok = np.flatnonzero(~bad)
    if len(ok) == 0:
        return bad
    coords = shapely.get_coordinates(geoms[ok])  # one pass over every vertex, in order
    starts = np.zeros(len(ok), np.int64)
    np.cumsum(counts[ok][:-1], out=starts[1:])
    # A NaN or an infinity anywhere makes the sum of a geometry's coordinates non-finite: one pass.
    broken = ~np.isfinite(np.add.reduceat(coords[:, 0] + coords[:, 1], starts))
    bad[ok[broken]] = True
    kinds = shapely.get_type_id(geoms[ok])
    polygon = (kinds == 3) & ~broken
    quad = polygon & (counts[ok] == 5)
    if quad.any():
        quad &= shapely.get_num_interior_rings(geoms[ok]) == 0
        first = starts[quad]
        xy = coords[first[:, None] + np.arange(5)[None, :]]  # (q, 5, 2): the ring of each quad
        bad[ok[quad][~_quad_ok(xy)]] = True
    rest = ok[((polygon & ~quad) | (kinds == 6)) & ~broken]  # other polygons, multipolygons: GEOS decides
    if len(rest):
        bad[rest[~shapely.is_valid(geoms[rest])]] = True
    return bad
