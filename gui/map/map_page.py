"""The map page: built once per process with folium, fully offline, served as ``terrafind://app/index.html``.

folium gives the Leaflet map object and its options; everything dynamic (layers, results, popups,
drawing, the QWebChannel bridge) lives in ``resources/web/app.js`` and is driven from Python through
``TF.*`` calls, so the page is never re-rendered or reloaded.

folium's defaults point at five CDNs. Here the *instance's* ``default_js``/``default_css`` are replaced
by vendored copies (changing the class-level lists, as ``add_js_link`` does, would leak into every map of
the process), any CDN link that still appears is rewritten to the vendored file of the same name, and any
other outside URL raises: an offline page must not even try the network.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import folium
from branca.element import MacroElement
from jinja2 import Template
from PySide6.QtCore import QFile, QIODevice

from terrafind.core.errors import TerrafindError
from terrafind.core.paths import resources_dir, web_vendor_dir
from terrafind.gui.map.web_scheme import SchemeHandler

__all__ = ["MapAssetsMissing", "OfflinePageError", "page_html", "install_routes", "VENDOR_JS", "VENDOR_CSS"]

# (folium name, route). Order matters: Leaflet, then what needs L, then the app.
VENDOR_JS = [
    ("leaflet", "/vendor/leaflet/leaflet.js"),
    ("jquery", "/vendor/jquery/jquery.min.js"),  # folium's Popup and document-ready helpers use $(...)
    ("leaflet_draw", "/vendor/leaflet-draw/leaflet.draw.js"),
    ("qwebchannel", "/qwebchannel.js"),
    ("terrafind_chips", "/chips.js"),
    ("terrafind_app", "/app.js"),
]
VENDOR_CSS = [
    ("leaflet_css", "/vendor/leaflet/leaflet.css"),
    ("leaflet_draw_css", "/vendor/leaflet-draw/leaflet.draw.css"),
    ("terrafind_css", "/app.css"),
]
# A CDN file name folium (or a plugin) may still emit -> the vendored route with the same content.
_REWRITE = {
    "leaflet.js": "/vendor/leaflet/leaflet.js",
    "leaflet.css": "/vendor/leaflet/leaflet.css",
    "jquery-3.7.1.min.js": "/vendor/jquery/jquery.min.js",
    "jquery.min.js": "/vendor/jquery/jquery.min.js",
    "leaflet.draw.js": "/vendor/leaflet-draw/leaflet.draw.js",
    "leaflet.draw.css": "/vendor/leaflet-draw/leaflet.draw.css",
}
_TAG_URL = re.compile(r"""(<(?:script|link)\b[^>]*?\b(?:src|href)=["'])(https?://[^"']+)(["'])""", re.I)
_ANY_URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[/"'\s]""")

BASEMAP_FILES = ("land.geojson", "countries.geojson")


class MapAssetsMissing(TerrafindError):
    """The vendored web assets were never fetched (set-up not run)."""


class OfflinePageError(RuntimeError):
    """The rendered page still refers to the outside world: a programming error, caught by tests."""


class _Boot(MacroElement):
    """Runs ``TF.boot(map, options)`` after folium has made the map (a child of the map renders after it)."""

    _template = Template(
        """{% macro script(this, kwargs) %}
TF.boot({{ this._parent.get_name() }}, {{ this.options }});
{% endmacro %}"""
    )

    def __init__(self, options: dict):
        super().__init__()
        self._name = "TerrafindBoot"
        self.options = json.dumps(options)


def offline_html(html: str) -> str:
    """Rewrite CDN ``<script>``/``<link>`` URLs to vendored routes; raise on any other outside URL."""

    def swap(match: re.Match) -> str:
        name = match.group(2).rsplit("/", 1)[-1].split("?", 1)[0]
        if name not in _REWRITE:
            raise OfflinePageError(f"the map page links {match.group(2)}, which has no vendored copy")
        return match.group(1) + _REWRITE[name] + match.group(3)

    html = _TAG_URL.sub(swap, html)
    left = _ANY_URL.search(html)
    if left or "http://" in html or "https://" in html:
        where = left.group(0) if left else html[html.find("http") :][:80]
        raise OfflinePageError(f"the map page still refers to an outside address: {where!r}")
    return html


# The page's Content-Security-Policy: scripts only from the app's own scheme (no inline script, no eval),
# data and images only from it (online basemap tiles too: core.imagery.online_tiles fetches them through
# the network gate), no frames, forms, plugins or workers. Styles may be inline: Leaflet and folium
# position the map with them.
CSP = (
    "default-src 'none'; "
    "script-src terrafind:; "
    "style-src terrafind: 'unsafe-inline'; "
    "img-src terrafind: data: blob:; "
    "connect-src terrafind:; "
    "font-src terrafind: data:; "
    "base-uri 'none'; form-action 'none'; frame-src 'none'; object-src 'none'; worker-src 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


@functools.cache
def _page() -> tuple[str, dict[str, bytes]]:
    """(the page's HTML, {route: script}): folium's inline scripts moved to routes of their own, in order,
    so that the Content-Security-Policy can forbid inline script altogether."""
    m = folium.Map(
        location=[20, 0],
        zoom_start=2,
        min_zoom=2,
        max_zoom=19,
        tiles=None,
        prefer_canvas=True,  # thousands of results: one canvas beats thousands of SVG nodes
        control_scale=True,
        world_copy_jump=True,
    )
    m.default_js = list(VENDOR_JS)  # on the instance only: see the module docstring
    m.default_css = list(VENDOR_CSS)
    _Boot({"basemap": [f"/basemap/{name}" for name in BASEMAP_FILES]}).add_to(m)
    html = m.get_root().render()
    scripts: dict[str, bytes] = {}

    def move(match: re.Match) -> str:
        route = f"/page-{len(scripts)}.js"
        scripts[route] = match.group(1).encode("utf-8")
        return f'<script src="{route}"></script>'

    html = _INLINE_SCRIPT.sub(move, html)
    if "<script>" in html:
        raise OfflinePageError("the map page still has an inline script, which its CSP forbids")
    html = offline_html(html)
    html = html.replace(
        '<meta http-equiv="content-type"',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n    <title>Terrafind map</title>\n'
        '    <meta http-equiv="content-type"',
    )
    return html, scripts


def page_html() -> str:
    """The page's HTML (rendered once per process)."""
    return _page()[0]


@functools.cache
def qwebchannel_js() -> bytes:
    """Qt's own qwebchannel.js, read from Qt's resources (present in the venv and in the frozen app)."""
    f = QFile(":/qtwebchannel/qwebchannel.js")
    if not f.open(QIODevice.OpenModeFlag.ReadOnly):
        raise MapAssetsMissing(
            "Qt's qwebchannel.js is missing from this PySide6 installation; reinstall Terrafind."
        )
    try:
        return bytes(f.readAll().data())
    finally:
        f.close()


def web_dir() -> Path:
    return resources_dir() / "web"


def check_assets(vendor: Path | None = None) -> Path:
    vendor = vendor or web_vendor_dir()
    needed = [
        vendor / route.removeprefix("/vendor/")
        for _, route in VENDOR_JS + VENDOR_CSS
        if route.startswith("/vendor/")
    ]
    needed += [vendor / "basemap" / name for name in BASEMAP_FILES]
    missing = [p for p in needed if not p.is_file()]
    if missing:
        raise MapAssetsMissing(
            f"The map's web assets are missing ({missing[0].name} in {vendor}); run "
            "`python scripts/fetch_web_assets.py` once with internet access (scripts/dev.sh setup does it)."
        )
    return vendor


def install_routes(handler: SchemeHandler) -> None:
    """Put the page, Qt's qwebchannel.js, the app's own files and every vendored asset into ``handler``."""
    vendor = check_assets()
    html, scripts = _page()
    handler.add_bytes("/index.html", html.encode("utf-8"), "text/html")
    for route, script in scripts.items():
        handler.add_bytes(route, script, "text/javascript")
    handler.add_bytes("/qwebchannel.js", qwebchannel_js(), "text/javascript")
    handler.add_file("/chips.js", web_dir() / "chips.js")
    handler.add_file("/app.js", web_dir() / "app.js")
    handler.add_file("/app.css", web_dir() / "app.css")
    for package in sorted(p for p in vendor.iterdir() if p.is_dir() and p.name != "basemap"):
        handler.add_tree(f"/vendor/{package.name}", package)
    for name in BASEMAP_FILES:
        handler.add_file(f"/basemap/{name}", vendor / "basemap" / name)
