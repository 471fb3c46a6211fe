"""Terrafind's own HTTP requests (XYZ tiles, GeoParquet over https): through the gate, bounded, no surprises.

* Every request goes to an address :meth:`terrafind.core.net.gate.NetGate.check` allowed; a redirect to
  another site is refused (it would reach a host nobody allowed), one to the same site is followed.
* No credentials: urllib sends no Authorization header and reads no ``.netrc``.
* Time and size are bounded: connect/read ``timeout`` seconds, at most ``max_bytes`` per answer.

:class:`HttpFileSystem` gives the reader (:mod:`terrafind.core.read.sources`) a remote GeoParquet file as a
seekable file made of Range requests.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from typing import Any

from terrafind.core.net.locations import Refused, Remote, locate

__all__ = ["fetch", "FetchError", "HttpFileSystem", "USER_AGENT"]

USER_AGENT = "Terrafind/0.1 (offline-first imagery search)"
BLOCK = 256 * 1024  # a Range request reads at least this much (Parquet asks for many small pieces)


class FetchError(OSError):
    """A request failed because of the network or the server (not a plain 404)."""


class _SameSite(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only within the site the gate allowed."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: N802 (urllib's name)
        try:
            target = locate(newurl)
        except Refused:
            target = None
        origin = locate(req.full_url)
        if not isinstance(target, Remote) or not isinstance(origin, Remote) or target.site != origin.site:
            raise FetchError(
                f"{origin.site if isinstance(origin, Remote) else req.full_url} redirected "
                "to another site, which was not allowed"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# No ProxyHandler change: a proxy the user configured is theirs. No cookie, auth or netrc handlers.
_OPENER = urllib.request.build_opener(_SameSite)


def _request(url: str, headers: dict[str, str] | None, method: str = "GET") -> urllib.request.Request:
    return urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})}, method=method)


def fetch(
    remote: Remote, *, timeout: float = 10.0, max_bytes: int = 8 << 20, headers: dict[str, str] | None = None
) -> bytes | None:
    """The body of ``remote`` (already allowed by the gate), None for 204/404; raises :class:`FetchError`
    for network failures, other HTTP errors and answers longer than ``max_bytes``."""
    try:
        with _OPENER.open(_request(remote.url, headers), timeout=timeout) as resp:
            data = resp.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (204, 404):
            return None
        raise FetchError(f"{remote.site}: HTTP {exc.code}") from None
    except FetchError:
        raise
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{remote.site}: {reason}") from None
    if len(data) > max_bytes:
        raise FetchError(f"{remote.site} sent more than {max_bytes} bytes for one request")
    return data


class _RangeReader(io.RawIOBase):
    """A remote file read by HTTP Range requests, with one cached block (sequential reads are cheap)."""

    def __init__(self, remote: Remote, size: int, timeout: float) -> None:
        super().__init__()
        self.remote, self.size, self.timeout = remote, size, timeout
        self.pos = 0
        self._block: tuple[int, bytes] = (0, b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def _get(self, start: int, length: int) -> bytes:
        end = min(self.size, start + max(length, BLOCK)) - 1
        data = fetch(
            self.remote,
            timeout=self.timeout,
            max_bytes=end - start + 1,
            headers={"Range": f"bytes={start}-{end}"},
        )
        if data is None or len(data) != end - start + 1:
            raise FetchError(f"{self.remote.site} did not answer a range request properly")
        return data

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self.pos)
        if want <= 0:
            return 0
        start, block = self._block
        if not (start <= self.pos and self.pos + want <= start + len(block)):
            block = self._get(self.pos, want)
            self._block = (self.pos, block)
            start = self.pos
        piece = block[self.pos - start : self.pos - start + want]
        buffer[: len(piece)] = piece
        self.pos += len(piece)
        return len(piece)


class HttpFileSystem:
    """The two calls the reader makes (``get_file_info``, ``open_input_file``) for one allowed site."""

    def __init__(self, remote: Remote, *, timeout: float = 10.0) -> None:
        self.remote = remote
        self.timeout = timeout

    def _size(self, url: str) -> int:
        remote = locate(url)
        assert isinstance(remote, Remote) and remote.site == self.remote.site
        try:
            with _OPENER.open(_request(remote.url, {"Range": "bytes=0-0"}), timeout=self.timeout) as resp:
                total = (resp.headers.get("Content-Range") or "").rpartition("/")[2]
                if resp.status == 206 and total.isdigit():
                    return int(total)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return -1
            raise FetchError(f"{remote.site}: HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise FetchError(f"{remote.site}: {getattr(exc, 'reason', exc)}") from None
        raise FetchError(f"{remote.site} does not serve parts of files (HTTP Range), so it cannot be read")

    def get_file_info(self, url: Any) -> Any:
        import pyarrow.fs as pafs

        if isinstance(url, pafs.FileSelector):
            raise Refused("Folders cannot be listed over http(s); name the GeoParquet files themselves.")
        size = self._size(url)
        if size < 0:
            return pafs.FileInfo(url, pafs.FileType.NotFound)
        return pafs.FileInfo(url, pafs.FileType.File, size=size)

    def open_input_file(self, url: str) -> Any:
        import pyarrow as pa

        remote = locate(url)
        assert isinstance(remote, Remote)
        return pa.PythonFile(_RangeReader(remote, self._size(url), self.timeout), mode="r")
