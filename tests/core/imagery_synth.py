"""Small imagery for thumbnail, basemap and pack tests: COGs written in tmp_path, a Range-capable HTTP
server on 127.0.0.1, and a socket guard that refuses every non-loopback connection."""

from __future__ import annotations

import http.server
import io
import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds


def write_cog(
    path: Path,
    lonlat_bbox: tuple[float, float, float, float],
    *,
    res: float = 40.0,
    crs: str = "EPSG:32618",
    dtype: str = "uint16",
    descriptions: tuple[str, ...] | None = ("B02 blue", "B03 green", "B04 red", "B08 nir"),
    nodata: float | None = None,
    seed: int = 0,
) -> Path:
    """A tiled, overviewed COG covering ``lonlat_bbox`` with smooth random texture per band.

    The default band order is blue, green, red, NIR on purpose: picking the first three would be wrong."""
    w, s, e, n = transform_bounds("EPSG:4326", crs, *lonlat_bbox, densify_pts=21)
    width, height = int((e - w) / res) + 1, int((n - s) / res) + 1
    count = len(descriptions) if descriptions else 3
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    bands = []
    for b in range(count):
        base = 1000 + 600 * np.sin(xx / (37 + 11 * b)) * np.cos(yy / (29 + 7 * b))
        bands.append(base + rng.normal(0, 80, (height, width)) + 400 * b)
    data = np.stack(bands)
    if dtype == "uint8":
        data = np.clip((data - 200) / 12, 1, 255)
    data = data.astype(dtype)
    tmp = path.with_suffix(".tmp.tif")
    profile = dict(
        driver="GTiff",
        width=width,
        height=height,
        count=count,
        dtype=dtype,
        crs=crs,
        transform=from_origin(w, n, res, res),
        tiled=True,
        blockxsize=256,
        blockysize=256,
        nodata=nodata,
    )
    with rasterio.open(tmp, "w", **profile) as ds:
        ds.write(data)
        if descriptions:
            for i, d in enumerate(descriptions, 1):
                ds.set_band_description(i, d)
    rasterio.shutil.copy(tmp, path, driver="COG", compress="deflate", overview_resampling="average")
    os.remove(tmp)
    return path


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support, as GDAL's /vsicurl/ needs; counts requests."""

    requests: list[str] = []

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def send_head(self):  # noqa: D401
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        type(self).requests.append(self.path)
        size = os.path.getsize(path)
        start, end = 0, size - 1
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].split(",")[0].partition("-")
            start = int(a) if a else max(0, size - int(b))
            end = min(int(b), size - 1) if (a and b) else end
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", "image/tiff")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if self.command == "HEAD":
            return io.BytesIO(b"")
        with open(path, "rb") as f:
            f.seek(start)
            return io.BytesIO(f.read(end - start + 1))


class _ServerProcess:
    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc

    def shutdown(self) -> None:
        self.proc.kill()
        self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class TileHandler(http.server.BaseHTTPRequestHandler):
    """An XYZ tile service: /z/x/y.png gives a 256 px tile whose colour encodes x and y; z > 16 is 404."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        from terrafind.core.imagery.png import encode_png

        try:
            z, x, y = (int(v) for v in self.path.strip("/").removesuffix(".png").split("/")[-3:])
        except ValueError:
            z = x = y = -1
        if not 0 <= z <= 16:
            self.send_error(404)
            return
        tile = np.zeros((256, 256, 3), np.uint8)
        tile[..., 0] = (x * 37) % 256
        tile[..., 1] = (y * 53) % 256
        tile[..., 2] = np.arange(256, dtype=np.uint8)[None, :]  # a ramp: a stitched view is not flat
        body = encode_png(tile)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve_dir(folder: Path | None, port: int = 0):
    """Start a Range HTTP server for ``folder`` (None: an XYZ tile service) on 127.0.0.1 in a child
    process; return (base_url, server).

    A child process, not a thread: GDAL calls back into Python (its error handler) while it reads, and an
    in-process Python server then competes with the reader for the GIL, which made reads stall."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "serve", str(folder or "-tiles-"), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(proc.stdout.readline().strip())  # type: ignore[union-attr]
    return f"http://127.0.0.1:{port}", _ServerProcess(proc)


def _serve_forever(folder: str, port: int) -> None:
    if folder == "-tiles-":
        handler = TileHandler
    else:
        handler = lambda *a, **k: RangeHandler(*a, directory=folder, **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def block_outside_network(monkeypatch) -> list:
    """Make every socket connection to a non-loopback address fail (and record the attempts)."""
    attempts: list = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def allowed(address) -> bool:
        if isinstance(address, tuple) and address:
            try:
                return ipaddress.ip_address(address[0]).is_loopback
            except ValueError:
                return address[0] == "localhost"
        return True  # unix sockets

    def connect(self, address):
        if not allowed(address):
            attempts.append(address)
            raise OSError(101, "Network is unreachable (blocked by test)")
        return real_connect(self, address)

    def connect_ex(self, address):
        if not allowed(address):
            attempts.append(address)
            return 101
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return attempts


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "serve":
    _serve_forever(sys.argv[2], int(sys.argv[3]))
