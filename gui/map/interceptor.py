"""Watches every request the map page makes; outside ones are recorded and, unless the network gate allows
them, blocked.

Inside means the app's own scheme, Qt resources, data/blob URLs and loopback. Anything else (a CDN, a
tile server) is "outside": offline the page makes none (tests assert exactly that), and online only the
fixed online basemaps pass (:meth:`terrafind.core.net.gate.NetGate.check_page`), never an address that
came from a file.
"""

from __future__ import annotations

from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo, QWebEngineUrlRequestInterceptor

from terrafind.core.net.gate import gate
from terrafind.gui.map.web_scheme import SCHEME

INSIDE_SCHEMES = {SCHEME, "qrc", "data", "blob", "about"}
MAX_KEPT = 1000
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def is_outside(scheme: str, host: str) -> bool:
    if scheme in INSIDE_SCHEMES:
        return False
    return host not in LOOPBACK


class Interceptor(QWebEngineUrlRequestInterceptor):
    def __init__(self, parent=None, *, block: bool = True):
        super().__init__(parent)
        self.block = block  # offline: every outside request is blocked
        self.external_requests: list[str] = []  # the first MAX_KEPT; external_count counts them all
        self.external_count = 0

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 (Qt override)
        url = info.requestUrl()
        if is_outside(url.scheme(), url.host()):
            self.external_count += 1
            if len(self.external_requests) < MAX_KEPT:  # online, tile servers would fill it without end
                self.external_requests.append(url.toString())
            if self.block or not gate().check_page(url.toString()):
                info.block(True)
