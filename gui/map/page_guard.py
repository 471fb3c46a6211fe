"""The map page's hardening: what its web content may do, and what happens to a link someone clicks.

The page shows strings from data files (ids, dates, attributions) and its own scripts are the only code
it runs (:data:`terrafind.gui.map.map_page.CSP`). Beyond that policy, the engine itself is told to deny
what a map never needs: local content reaching remote or file URLs, scripts opening windows, touching the
clipboard, going full screen, plugins, prefetching DNS. A link clicked on the page (an attribution) opens
in the browser only when it is ``https:``, only online, and only after the person said yes.
"""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineSettings

__all__ = ["harden", "open_link"]

_OFF = (
    "LocalContentCanAccessRemoteUrls",
    "LocalContentCanAccessFileUrls",
    "JavascriptCanOpenWindows",
    "JavascriptCanAccessClipboard",
    "JavascriptCanPaste",
    "AllowWindowActivationFromJavaScript",
    "AllowRunningInsecureContent",
    "AllowGeolocationOnInsecureOrigins",
    "PluginsEnabled",
    "PdfViewerEnabled",
    "FullScreenSupportEnabled",
    "ScreenCaptureEnabled",
    "DnsPrefetchEnabled",
    "HyperlinkAuditingEnabled",
    "NavigateOnDropEnabled",
    "LocalStorageEnabled",
    "WebRTCPublicInterfacesOnly",  # (on below: only public interfaces, never the LAN address)
)


def harden(page: QWebEnginePage) -> None:
    """Switch off every capability of :data:`_OFF` on ``page`` (those Qt knows in this version)."""
    settings = page.settings()
    attr = QWebEngineSettings.WebAttribute
    for name in _OFF:
        value = getattr(attr, name, None)
        if value is not None:
            settings.setAttribute(value, name == "WebRTCPublicInterfacesOnly")


def open_link(url: QUrl, *, online: bool, ask) -> bool:
    """A link clicked on the map: open it in the browser when it is https, the app is online and ``ask``
    (title, text) -> bool says yes. Returns True when it was opened."""
    if url.scheme() != "https" or not online:
        return False
    text = url.toDisplayString()[:300]
    if not ask("Open a web page", f"Open this page in your web browser?\n\n{text}"):
        return False
    return bool(QDesktopServices.openUrl(url))
