"""Small raster helpers without Pillow or Qt: PNG encoding and the placeholder thumbnails.

Pillow is not a dependency of Terrafind and ``core`` must not import Qt, so PNGs are written here with
zlib + struct (a PNG is a signature plus length/type/data/CRC chunks). The "Up" filter on every row
compresses satellite images ~20 % better than no filter at the same cost.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = ["encode_png", "placeholder_png", "draw_polyline"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def encode_png(image: np.ndarray, *, level: int = 6) -> bytes:
    """PNG bytes of an (H, W, 3) RGB or (H, W, 4) RGBA uint8 array (or (H, W) grey)."""
    img = np.ascontiguousarray(image, dtype=np.uint8)
    if img.ndim == 2:
        img = img[:, :, None]
    h, w, c = img.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    rows = img.reshape(h, w * c)
    up = rows.copy()
    up[1:] = rows[1:] - rows[:-1]  # uint8 arithmetic wraps mod 256, exactly what the Up filter wants
    raw = np.empty((h, w * c + 1), dtype=np.uint8)
    raw[:, 0] = 2  # filter type "Up" (row 0 minus an implicit zero row is itself)
    raw[:, 1:] = up
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + _chunk(b"IEND", b"")
    )


def draw_polyline(img: np.ndarray, xy: np.ndarray, color: tuple[int, ...], width: int = 1) -> None:
    """Draw a closed or open polyline (pixel coordinates, (n, 2) x/y floats) onto ``img`` in place."""
    h, w = img.shape[:2]
    col = np.asarray(color, dtype=np.uint8)
    for (x0, y0), (x1, y1) in zip(xy[:-1], xy[1:], strict=True):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 2
        xs = np.rint(np.linspace(x0, x1, n)).astype(int)
        ys = np.rint(np.linspace(y0, y1, n)).astype(int)
        for d in range(width):
            # thicken towards the inside of the image so a border line is never cut off
            for px, py in ((xs + d, ys), (xs, ys + d)):
                ok = (px >= 0) & (px < w) & (py >= 0) & (py < h)
                img[py[ok], px[ok]] = col


# A 5 x 7 capital-letter font drawn for Terrafind's placeholders (only the letters the texts need).
_GLYPHS = {
    "A": ".###.#...##...#######...##...##...#",
    "D": "####.#...##...##...##...##...#####.",
    "E": "######....#....####.#....#....#####",
    "F": "######....#....####.#....#....#....",
    "G": ".#####....#....#.####...##...#.####",
    "H": "#...##...##...#######...##...##...#",
    "I": "#####..#....#....#....#....#..#####",
    "L": "#....#....#....#....#....#....#####",
    "M": "#...###.###.#.##...##...##...##...#",
    "N": "#...###..##.#.##..###...##...##...#",
    "O": ".###.#...##...##...##...##...#.###.",
    "R": "####.#...##...#####.#.#..#..#.#...#",
    "S": ".#####....#.....###.....#....#####.",
    "T": "#####..#....#....#....#....#....#..",
    "U": "#...##...##...##...##...##...#.###.",
    "W": "#...##...##...##.#.##.#.##.#.#.#.#.",
    "Y": "#...##...#.#.#...#....#....#....#..",
    " ": "." * 35,
}
_GLYPHS["C"] = ".####" + "#...." * 5 + ".####"


def _text_mask(text: str, scale: int) -> np.ndarray:
    cols = []
    for ch in text.upper():
        bits = _GLYPHS.get(ch, _GLYPHS[" "])
        g = np.array([c == "#" for c in bits], dtype=bool).reshape(7, 5)
        cols.append(g)
        cols.append(np.zeros((7, 1), dtype=bool))
    mask = np.hstack(cols[:-1]) if cols else np.zeros((7, 0), dtype=bool)
    return np.kron(mask, np.ones((scale, scale), dtype=bool))


def _paste(img: np.ndarray, mask: np.ndarray, cx: int, top: int, color: tuple[int, int, int]) -> None:
    h, w = img.shape[:2]
    mh, mw = mask.shape
    mw_fit = min(mw, w)
    left = max(0, cx - mw_fit // 2)
    region = img[top : min(h, top + mh), left : left + mw_fit]
    m = mask[: region.shape[0], : region.shape[1]]
    region[m] = color


def placeholder_png(size: int, lines: tuple[str, ...], mark: str) -> bytes:
    """A grey square with an icon-like ``mark`` ("offline", "none", "outside", "blocked", "error") and text.

    The GUI shows these PNGs as they are, so each status looks different at a glance."""
    s = int(size)
    img = np.full((s, s, 3), 200, dtype=np.uint8)
    img[[0, -1], :] = 150
    img[:, [0, -1]] = 150
    ink = (90, 90, 90)
    yy, xx = np.mgrid[0:s, 0:s]
    cx, cy, r = s / 2, s * 0.36, s * 0.17
    dist = np.hypot(xx - cx, yy - cy)
    lw = max(1.5, s / 48)
    if mark == "offline":  # a ring with a slash: "no connection"
        ring = np.abs(dist - r) < lw
        slash = (np.abs((xx - cx) - (yy - cy)) < lw * 1.2) & (dist < r)
        img[ring | slash] = (170, 60, 60)
    elif mark == "outside":  # a frame with a dot beside it: "the chip is off the image"
        frame = np.maximum(np.abs(xx - cx + r * 0.4), np.abs(yy - cy)) - r * 0.8
        img[np.abs(frame) < lw] = ink
        img[np.hypot(xx - (cx + r * 1.2), yy - (cy - r * 0.2)) < lw * 2.2] = (60, 110, 170)
    elif mark == "blocked":  # a padlock: "waiting for your permission"
        body = (np.abs(xx - cx) < r * 0.8) & (yy > cy - r * 0.1) & (yy < cy + r * 0.8)
        shackle = (np.abs(np.hypot(xx - cx, yy - (cy - r * 0.1)) - r * 0.5) < lw) & (yy < cy - r * 0.1)
        img[body | shackle] = (60, 90, 150)
    elif mark == "error":  # an exclamation mark in a ring
        img[np.abs(dist - r) < lw] = (170, 120, 40)
        bar = (np.abs(xx - cx) < lw) & (yy > cy - r * 0.6) & (yy < cy + r * 0.2)
        dot = np.hypot(xx - cx, yy - (cy + r * 0.5)) < lw * 1.2
        img[bar | dot] = (170, 120, 40)
    else:  # "none": an empty picture frame with a diagonal, i.e. no imagery configured
        frame = np.maximum(np.abs(xx - cx), np.abs(yy - cy)) - r
        img[np.abs(frame) < lw] = ink
        diag = (np.abs((xx - cx) + (yy - cy)) < lw) & (frame < 0)
        img[diag] = ink
    scale = max(1, s // 100)
    top = int(s * 0.62)
    for line in lines:
        mask = _text_mask(line, scale)
        _paste(img, mask, s // 2, top, ink)
        top += mask.shape[0] + 3 * scale
    return encode_png(img)
