"""Remote imagery hosts: GDAL's network settings, a per-host circuit breaker and GDAL's URL memory.

Why this exists (measured in ``shared/research/offline-maps.md``):

* GDAL has no HTTP timeout by default: a stalled link (captive portal, dead Wi-Fi) hangs a read for ever.
  :func:`configure_gdal` sets connect 3 s / total 10 s / one retry, process-wide (rasterio's ``Env`` is
  process-wide too, so options are set once rather than per read from several threads).
* Failures come in several shapes (``Could not resolve host``, ``Failed to connect``, ``Operation timed
  out``, or a bare TIFF read error when the link drops mid-file), so errors are not classified by text:
  after any remote failure a 1.5 s TCP probe decides whether the host is down, and a down host is
  skipped without touching the network for ``down_seconds``.
* GDAL remembers failed URLs (its vsicurl cache) even after the network is back; when a host comes back
  :func:`clear_gdal_url_cache` calls ``VSICurlClearCache`` through ctypes on rasterio's bundled GDAL.
"""

from __future__ import annotations

import ctypes
import glob
import os
import socket
import threading
import time

__all__ = [
    "GDAL_NETWORK_OPTIONS",
    "configure_gdal",
    "host_of",
    "is_remote",
    "tcp_probe",
    "HostBreaker",
    "clear_gdal_url_cache",
]

GDAL_NETWORK_OPTIONS: dict[str, str] = {
    "GDAL_HTTP_CONNECTTIMEOUT": "3",
    "GDAL_HTTP_TIMEOUT": "10",
    "GDAL_HTTP_MAX_RETRY": "1",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    # Don't list the "directory" of a remote COG looking for side-car files: one request per open.
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff,.TIFF,.vrt,.VRT,.jp2",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "VSI_CACHE": "TRUE",
    "VSI_CACHE_SIZE": str(32 * 2**20),
    # Public buckets (Sentinel-2 COGs on AWS): unsigned requests, and no search for credentials. A bucket
    # the person marked for their own credentials is signed by a path-specific option (sign_bucket).
    "AWS_NO_SIGN_REQUEST": "YES",
    "GS_NO_SIGN_REQUEST": "YES",
}

# Forced whatever the environment says: they close ways for a file to reach other files or hosts.
GDAL_SAFETY_OPTIONS: dict[str, str] = {
    "GDAL_VRT_ENABLE_RAWRASTERBAND": "NO",  # a VRT band that reads raw bytes of any file (e.g. /etc/...)
    "GDAL_VRT_ENABLE_PYTHON": "NO",  # Python code inside a VRT
    "GDAL_HTTP_NETRC": "NO",  # no passwords from ~/.netrc for hosts a file names
}

_config_lock = threading.Lock()


def configure_gdal() -> None:
    """Set :data:`GDAL_NETWORK_OPTIONS` and :data:`GDAL_SAFETY_OPTIONS` in GDAL (cheap to call again).

    A network value the user already set in the environment (e.g. ``AWS_REGION`` or a longer timeout for
    a slow satellite link) wins over ours; the safety options always hold. Checked on every call rather
    than once per process: rasterio keeps options of a thread's environment apart, so options set from a
    worker thread were found missing on the GUI thread (and timeouts and safety with them)."""
    from rasterio.env import get_gdal_config, set_gdal_config

    if get_gdal_config("GDAL_VRT_ENABLE_RAWRASTERBAND") == "NO" and get_gdal_config("GDAL_HTTP_TIMEOUT"):
        return
    with _config_lock:
        for key, value in GDAL_NETWORK_OPTIONS.items():
            set_gdal_config(key, os.environ.get(key, value))
        for key, value in GDAL_SAFETY_OPTIONS.items():
            set_gdal_config(key, value)


def is_remote(source: str) -> bool:
    """True for sources GDAL or pyarrow would read over the network (any scheme but file, /vsi paths,
    network shares), refused forms included: such a source is never treated as a local file."""
    from terrafind.core.net.locations import is_remote_text

    return is_remote_text(source)


def host_of(source: str) -> tuple[str, int] | None:
    """(host, port) a plain remote source is read from, or None for local files and refused forms."""
    from terrafind.core.net.locations import Refused, Remote, locate

    try:
        loc = locate(source.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
    except Refused:
        return None
    if not isinstance(loc, Remote):
        return None
    if loc.scheme == "s3":
        endpoint = os.environ.get("AWS_S3_ENDPOINT")
        if endpoint:
            return endpoint.split(":")[0], int(endpoint.split(":")[1]) if ":" in endpoint else 443
        return f"{loc.host}.s3.amazonaws.com", 443
    if loc.scheme == "gs":
        return "storage.googleapis.com", 443
    return loc.host_port


def tcp_probe(host: str, port: int, timeout: float = 1.5) -> bool:
    """True when a TCP connection to host:port opens within ``timeout`` seconds (DNS included)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class HostBreaker:
    """Remembers which imagery hosts are down, so an offline laptop never waits on them twice.

    ``failed(host)`` is called after a remote read failed; it probes the host (TCP, ``probe_timeout``)
    and, when the probe fails too, marks the host down for ``down_seconds``. A read that timed out is
    marked down without a probe (a stalled link accepts connections but never answers). When a down
    host answers a later probe it is marked up and GDAL's memory of failed URLs is cleared."""

    def __init__(self, *, down_seconds: float = 60.0, probe_timeout: float = 1.5) -> None:
        self.down_seconds = down_seconds
        self.probe_timeout = probe_timeout
        self._down_until: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def known_down(self, host: tuple[str, int] | None) -> bool:
        """True while ``host`` is marked down; never probes (safe on the GUI thread)."""
        if host is None:
            return False
        with self._lock:
            until = self._down_until.get(host)
        return until is not None and time.monotonic() < until

    def is_down(self, host: tuple[str, int] | None) -> bool:
        if host is None:
            return False
        with self._lock:
            until = self._down_until.get(host)
            if until is None:
                return False
            if time.monotonic() < until:
                return True
        # The down period is over: ask the host again (once per period), and forget GDAL's failures
        # when it answers so that the next read really goes out.
        if tcp_probe(*host, timeout=self.probe_timeout):
            self.mark_up(host)
            return False
        self.mark_down(host)
        return True

    def mark_down(self, host: tuple[str, int] | None) -> None:
        if host is None:
            return
        with self._lock:
            self._down_until[host] = time.monotonic() + self.down_seconds

    def mark_up(self, host: tuple[str, int] | None) -> None:
        if host is None:
            return
        with self._lock:
            was_down = self._down_until.pop(host, None) is not None
        if was_down:
            clear_gdal_url_cache()

    def failed(self, host: tuple[str, int] | None, *, timed_out: bool = False) -> bool:
        """Record a failed read; return True when the host is now considered down."""
        if host is None:
            return False
        if timed_out or not tcp_probe(*host, timeout=self.probe_timeout):
            self.mark_down(host)
            return True
        return False

    def reset(self) -> None:
        """Forget every down host (e.g. when the user switches back online) and GDAL's failures."""
        with self._lock:
            self._down_until.clear()
        clear_gdal_url_cache()

    def down_hosts(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            return [f"{h}:{p}" for (h, p), t in self._down_until.items() if t > now]


_gdal_lib: ctypes.CDLL | None = None
_gdal_lib_searched = False


def _gdal_library() -> ctypes.CDLL | None:
    """rasterio's bundled libgdal (wheels keep it in ``rasterio.libs``), or the system one."""
    global _gdal_lib, _gdal_lib_searched
    if _gdal_lib_searched:
        return _gdal_lib
    _gdal_lib_searched = True
    import rasterio

    base = os.path.dirname(os.path.dirname(rasterio.__file__))
    candidates = sorted(glob.glob(os.path.join(base, "rasterio.libs", "libgdal*")))
    candidates += sorted(glob.glob(os.path.join(os.path.dirname(rasterio.__file__), ".dylibs", "libgdal*")))
    candidates += sorted(glob.glob(os.path.join(base, "rasterio.libs", "gdal*.dll")))
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
            lib.VSICurlClearCache  # noqa: B018 - check the symbol exists
            _gdal_lib = lib
            return lib
        except (OSError, AttributeError):
            continue
    return None


def clear_gdal_url_cache() -> bool:
    """Make GDAL forget the remote files it failed to read (and its cached headers). True when done."""
    lib = _gdal_library()
    if lib is None:
        return False
    lib.VSICurlClearCache()
    return True


_signed: set[str] = set()


def sign_bucket(prefix: str, on: bool = True) -> bool:
    """Let GDAL sign requests under ``prefix`` ("/vsis3/bucket/", "/vsigs/bucket/") with the credentials
    of this computer (a bucket the person marked: terrafind.core.net.gate.NetGate.uses_credentials), or
    with ``on=False`` make them anonymous again (the person took the mark back); every other request stays
    unsigned. True when GDAL took it."""
    if (prefix in _signed) == on:
        return True
    lib = _gdal_library()
    setter = getattr(lib, "VSISetPathSpecificOption", None) if lib is not None else None
    if setter is None:
        return False
    key = b"AWS_NO_SIGN_REQUEST" if prefix.startswith("/vsis3/") else b"GS_NO_SIGN_REQUEST"
    setter.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
    setter(prefix.encode(), key, b"NO" if on else b"YES")
    if on:
        _signed.add(prefix)
    else:
        _signed.discard(prefix)
    return True
