"""Checking an hnswlib index file's structure before hnswlib reads it.

hnswlib trusts the bytes it loads: a neighbour id past the end of the graph, a link count larger than the
list, or a level block of the wrong size sends it reading and writing outside its buffers. Our own cache
is safe (we wrote it, and a checksum says it is unchanged), but a field pack's index comes from another
machine, and its checksums were written by whoever made the pack. So a foreign index file is parsed here
first, the way hnswlib's ``saveIndex`` writes it, and loaded only when every field and every link is
within bounds:

    header (96 bytes): offsetLevel0, max_elements, cur_element_count, size_data_per_element,
        label_offset, offsetData (size_t); maxlevel (int); enterpoint (uint32); maxM, maxM0, M (size_t);
        mult (double); ef_construction (size_t)
    level 0: cur_element_count records of [count (uint16, in a uint32), maxM0 ids (uint32), the vector
        (dim float32), the label (uint64)]
    lengths (chroma-hnswlib only): cur_element_count float32, each vector's length before normalising
    upper levels: per element a uint32 byte size, then that many bytes of [count, maxM ids] blocks

Both builds' files are understood (chroma-hnswlib, which Terrafind installs, and upstream hnswlib): the
layout whose upper levels end exactly at the end of the file is the one checked.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from terrafind.core.errors import CacheError

__all__ = ["check_hnsw_file"]

_HEADER = struct.Struct("<6QiI3QdQ")  # see the module docstring
_CHUNK = 65_536  # level-0 records checked at a time (a few MB of temporaries)


def _bad(path: Path, why: str) -> CacheError:
    return CacheError(f"The search index {path.name} is damaged ({why}); it will be built again.")


def check_hnsw_file(path: str | Path, *, rows: int, dim: int) -> None:
    """Raise :class:`CacheError` unless ``path`` is a well-formed hnswlib index of ``rows`` vectors of
    ``dim`` float32 values whose links and labels all stay inside the graph."""
    path = Path(path)
    size = path.stat().st_size
    if size < _HEADER.size:
        raise _bad(path, "too short")
    with open(path, "rb") as fh:
        head = _HEADER.unpack(fh.read(_HEADER.size))
    off0, max_el, count, per, label_off, data_off, maxlevel, enter, max_m, max_m0, m, _mult, _efc = head
    if count != rows or max_el < count:
        raise _bad(path, f"{count} vectors where {rows} were expected")
    if not (2 <= m <= 4096 and max_m == m and max_m0 == 2 * m and off0 == 0):
        raise _bad(path, "impossible graph parameters")
    links0 = 4 + 4 * max_m0
    if data_off != links0 or label_off != links0 + 4 * dim or per != label_off + 8:
        raise _bad(path, "records of the wrong size")
    if not (0 <= maxlevel < 64) or (count and enter >= count):
        raise _bad(path, "an impossible entry point")
    start = _HEADER.size
    if size < start + count * per:
        raise _bad(path, "truncated")
    level0 = np.memmap(path, dtype=np.uint8, mode="r", offset=start, shape=(count, per)) if count else None
    for lo in range(0, count, _CHUNK):
        assert level0 is not None
        block = np.asarray(level0[lo : lo + _CHUNK])
        n = len(block)
        counts = block[:, 0:2].copy().view("<u2").reshape(n)
        if (counts > max_m0).any():
            raise _bad(path, "a node with more links than allowed")
        ids = block[:, 4:links0].copy().view("<u4").reshape(n, max_m0)
        used = np.arange(max_m0)[None, :] < counts[:, None]
        if (ids[used] >= count).any():
            raise _bad(path, "a link to a node that does not exist")
        labels = block[:, label_off : label_off + 8].copy().view("<u8").reshape(n)
        if (labels >= rows).any():
            raise _bad(path, "a label outside the data")
    del level0
    errors = []
    for lengths in (4 * count, 0):  # chroma-hnswlib keeps a float per vector before the upper levels
        try:
            _check_upper(path, start + count * per + lengths, size, count, max_m, maxlevel)
            return
        except CacheError as exc:
            errors.append(exc)
    raise errors[0]


def _check_upper(path: Path, pos: int, size: int, count: int, max_m: int, maxlevel: int) -> None:
    """The upper-level link lists: one sequential pass over their sizes (most nodes have none)."""
    per_level = 4 + 4 * max_m
    with open(path, "rb") as fh:
        fh.seek(pos)
        tail = fh.read()
    if pos > size or len(tail) % 4:
        raise _bad(path, "upper levels of the wrong size")
    words = np.frombuffer(tail, dtype="<u4")
    w = 0
    blocks: list[tuple[int, int]] = []  # (first word, levels) of nodes that have upper levels
    for _ in range(count):
        if w >= len(words):
            raise _bad(path, "truncated upper levels")
        nbytes = int(words[w])
        if nbytes % per_level or nbytes // per_level > maxlevel:
            raise _bad(path, "an upper level list of the wrong size")
        if nbytes:
            blocks.append((w + 1, nbytes // per_level))
        w += 1 + nbytes // 4
    if w != len(words) or pos + 4 * w != size:
        raise _bad(path, "bytes after the last node")
    for first, levels in blocks:
        lists = words[first : first + levels * (1 + max_m)].reshape(levels, 1 + max_m)
        counts = lists[:, 0] & 0xFFFF
        if (counts > max_m).any():
            raise _bad(path, "a node with more links than allowed")
        used = np.arange(max_m)[None, :] < counts[:, None]
        if (lists[:, 1:][used] >= count).any():
            raise _bad(path, "a link to a node that does not exist")
