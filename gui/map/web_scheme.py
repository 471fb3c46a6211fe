"""The ``terrafind://app/...`` URL scheme: the only way web content reaches the map page.

Everything the page loads (the page itself, vendored Leaflet, outlines, basemap tiles, thumbnails) is
served from routes registered explicitly in Python. A URL path is only ever a *key* into those routes:
no path from a URL reaches the file system, so ``..``, absolute paths and encoded tricks simply 404.

Two Qt facts shape this module (both measured, see research/gui-stack.md):

* the scheme must be registered before the ``QApplication`` exists (``register_scheme``);
* a profile accepts one handler per scheme for the life of the process, and a handler owned by a window
  breaks the next window. So there is ONE handler per profile, parented to the profile
  (``scheme_handler(profile)``); windows only put content into it.
"""

from __future__ import annotations

import collections
import itertools
import mimetypes
import re
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWebEngineCore import (
    QWebEngineProfile,
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
)

__all__ = ["SCHEME", "HOST", "BASE_URL", "register_scheme", "SchemeHandler", "scheme_handler", "url_for"]

SCHEME = "terrafind"
HOST = "app"
BASE_URL = f"{SCHEME}://{HOST}"

Provider = Callable[[str], "tuple[bytes, str] | None"]

_MIME = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".geojson": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".txt": "text/plain",
}
# A safe route path: "/" then segments of plain characters; no empty, "." or ".." segment.
_SEGMENT = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$")


def register_scheme() -> None:
    """Declare the ``terrafind`` scheme to QtWebEngine. Call before the QApplication; safe to call twice."""
    if QWebEngineUrlScheme.schemeByName(SCHEME.encode()).name():
        return
    scheme = QWebEngineUrlScheme(SCHEME.encode())
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)  # hierarchical URLs: "/vendor/x.js" resolves
    scheme.setFlags(
        QWebEngineUrlScheme.Flag.SecureScheme  # a secure context, like https (fetch, canvas work as usual)
        | QWebEngineUrlScheme.Flag.LocalAccessAllowed
        | QWebEngineUrlScheme.Flag.CorsEnabled
        | QWebEngineUrlScheme.Flag.FetchApiAllowed
    )
    QWebEngineUrlScheme.registerScheme(scheme)


def url_for(path: str) -> str:
    """The full URL of a route path, e.g. ``url_for("/index.html")``."""
    return BASE_URL + path


def safe_path(path: str) -> bool:
    """True when ``path`` is a plain route path: absolute, no empty/``.``/``..`` segment, no backslash."""
    if not path.startswith("/") or path == "/":
        return False
    return all(_SEGMENT.match(seg) for seg in path[1:].split("/"))


def mime_for(name: str) -> str:
    ext = Path(name).suffix.lower()
    return _MIME.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


class _Task(QRunnable):
    """Runs a slow provider (a thumbnail cut from a COG) off the GUI thread."""

    def __init__(self, handler: SchemeHandler, key: int, fn: Provider, rest: str):
        super().__init__()
        self._handler, self._key, self._fn, self._rest = handler, key, fn, rest

    def run(self) -> None:
        try:
            result = self._fn(self._rest)
        except Exception:  # a provider failure is a missing resource for the page, never a crash
            result = None
        self._handler._finished.emit(self._key, result)


class SchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves registered routes of ``terrafind://app``; anything else is 404.

    Routes: exact paths (``add_file``, ``add_bytes``, ``add_tree``) and prefixes (``add_provider``):
    a provider gets the rest of the path after its prefix (already checked to be a safe path) and returns
    ``(data, mime)`` or ``None`` for 404. ``threaded=True`` runs it in the handler's small thread pool and
    replies on the GUI thread when done, so a slow thumbnail never blocks the window.
    """

    _finished = Signal(int, object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._files: dict[str, Path] = {}
        self._bytes: dict[str, tuple[bytes, str]] = {}
        self._providers: dict[str, tuple[Provider, bool]] = {}
        self._pending: dict[int, QWebEngineUrlRequestJob] = {}
        self._keys = itertools.count()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(2)
        self._finished.connect(self._on_task_finished)  # queued: emitted from pool threads
        # The latest paths answered / refused, newest last (tests, debugging); bounded for long sessions.
        self.served: collections.deque[str] = collections.deque(maxlen=2000)
        self.refused: collections.deque[str] = collections.deque(maxlen=500)

    # -- registration -------------------------------------------------------------------------------
    def add_file(self, url_path: str, file_path: str | Path) -> None:
        self._check(url_path)
        self._files[url_path] = Path(file_path)

    def add_bytes(self, url_path: str, data: bytes, mime: str | None = None) -> None:
        self._check(url_path)
        self._bytes[url_path] = (bytes(data), mime or mime_for(url_path))

    def add_tree(self, url_prefix: str, directory: str | Path) -> int:
        """Register every file now under ``directory`` as ``url_prefix/<relative path>``; returns the count.

        The listing is taken once, here: later requests are looked up in it, never on disk.
        """
        directory = Path(directory)
        count = 0
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                route = url_prefix.rstrip("/") + "/" + path.relative_to(directory).as_posix()
                if safe_path(route):
                    self._files[route] = path
                    count += 1
        return count

    def add_provider(self, prefix: str, fn: Provider, *, threaded: bool = False) -> None:
        if not (prefix.startswith("/") and prefix.endswith("/") and safe_path(prefix.rstrip("/"))):
            raise ValueError(f"bad provider prefix {prefix!r}")
        self._providers[prefix] = (fn, threaded)

    def remove(self, url_path_or_prefix: str) -> None:
        for table in (self._files, self._bytes, self._providers):
            table.pop(url_path_or_prefix, None)

    @staticmethod
    def _check(url_path: str) -> None:
        if not safe_path(url_path):
            raise ValueError(f"bad route path {url_path!r}")

    # -- serving ------------------------------------------------------------------------------------
    def resolve(self, host: str, path: str) -> tuple[bytes, str] | None | tuple[Provider, str]:
        """What a request for ``path`` gets: ``(data, mime)``, ``None`` (404), or a threaded provider."""
        if host != HOST or not safe_path(path):
            return None
        if path in self._bytes:
            return self._bytes[path]
        if path in self._files:
            file = self._files[path]
            try:
                return file.read_bytes(), mime_for(file.name)
            except OSError:
                return None
        for prefix, (fn, threaded) in self._providers.items():
            if path.startswith(prefix) and len(path) > len(prefix):
                rest = path[len(prefix) :]
                if threaded:
                    return fn, rest
                try:
                    return fn(rest)
                except Exception:
                    return None
        return None

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:  # noqa: N802 (Qt override)
        url = job.requestUrl()
        # FullyDecoded: "%2e%2e" becomes ".." here and is refused by safe_path like a literal "..".
        path = url.path()
        found = self.resolve(url.host(), path)
        if found is None:
            self.refused.append(path)
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        if callable(found[0]):
            key = next(self._keys)
            self._pending[key] = job
            # The page may go away before the provider is done; then the job is deleted and we drop it.
            job.destroyed.connect(lambda *_a, k=key: self._pending.pop(k, None))
            self._pool.start(_Task(self, key, found[0], found[1]))
            return
        self._reply(job, path, found)

    def _on_task_finished(self, key: int, result: object) -> None:
        job = self._pending.pop(key, None)
        if job is None:
            return
        if result is None:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        self._reply(job, job.requestUrl().path(), result)  # type: ignore[arg-type]

    def _reply(self, job: QWebEngineUrlRequestJob, path: str, found: tuple[bytes, str]) -> None:
        data, mime = found
        buffer = QBuffer(job)  # parented to the job so it lives exactly as long as the reply
        buffer.setData(QByteArray(data))
        self.served.append(path)
        job.reply(mime.encode(), buffer)

    def wait_idle(self, msecs: int = 5000) -> bool:
        """Wait for threaded providers to finish (tests and shutdown)."""
        return self._pool.waitForDone(msecs)


def scheme_handler(profile: QWebEngineProfile | None = None) -> SchemeHandler:
    """The one handler of ``profile`` (default profile when None), made and installed on first use."""
    profile = profile or QWebEngineProfile.defaultProfile()
    handler = profile.findChild(SchemeHandler, "terrafind-scheme")
    if handler is None:
        handler = SchemeHandler(profile)
        handler.setObjectName("terrafind-scheme")
        profile.installUrlSchemeHandler(SCHEME.encode(), handler)
    return handler
