"""MapView: the offline Leaflet map in a QWebEngineView, driven from Python.

The page (gui/map_page.py) is loaded once through the ``terrafind://`` scheme; every later change is a
``TF.*`` call via ``runJavaScript``, queued until the page reports ready. Events come back through
QWebChannel (gui/map_bridge.py). Python speaks (lon, lat) everywhere in this class.

Two QtWebEngine facts (research/gui-stack.md): a script whose value is a Leaflet object stalls every
later ``runJavaScript`` callback, so ``run_js`` always ends with ``null;``; and JS objects come back as
``''``, so values travel as ``JSON.stringify`` text (``eval_json``).

Layers (footprints, examples, results) never travel inside a script: 14k footprints are ~3 MB of JSON, and
``runJavaScript`` copies a script on the GUI thread (10-40 ms measured, plus Chromium's own IPC work there).
Their JSON is registered in the scheme handler under a fresh path and the page fetches it
(``TF.load``); the handler answers with a QBuffer. Only the latest payload of each layer stays registered
(the renderer-crash replay loads it again). ``TF.call`` keeps Python's call order: a call made while a
load is pending runs after it.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Callable

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QVBoxLayout, QWidget

from terrafind.core.imagery.online_tiles import ONLINE_BASEMAPS, online_tile
from terrafind.core.present.features import RawJSON, encode
from terrafind.gui.map import map_page, page_guard
from terrafind.gui.map.interceptor import Interceptor
from terrafind.gui.map.map_bridge import MapBridge
from terrafind.gui.map.web_scheme import SCHEME, scheme_handler, url_for

__all__ = ["MapView", "ONLINE_LAYERS"]

log = logging.getLogger(__name__)

# The online basemaps (core.imagery.online_tiles): the page gets our own tile routes, never their hosts.
ONLINE_LAYERS = [
    {
        "name": layer["name"],
        "url": url_for(f"/tiles/online/{key}/{{z}}/{{x}}/{{y}}"),
        "attribution": layer["attribution"],
        "maxZoom": layer["maxZoom"],
    }
    for key, layer in ONLINE_BASEMAPS.items()
]
_ONLINE_TILE = re.compile(r"^([a-z]{1,16})/(\d{1,2})/(\d{1,7})/(\d{1,7})$")


# Calls whose latest value is the page's state (see _on_render_process_terminated); order = replay order.
_STATE_CALLS = {
    "setOnline": "online",
    "setImagery": "imagery",
    "setFootprints": "footprints",
    "setCoverage": "coverage",
    "setExamples": "examples",
    "setResults": "results",
    "setSites": "sites",
    "setThreshold": "threshold",
    "setRegion": "region",
    "setView": "view",
    "fitBounds": "view",
}
# What a reload keeps after the renderer died twice: the page itself, never the layers that may kill it.
_LIGHT_STATE = {"online", "imagery", "region", "view", "threshold"}
# Layers loaded by URL (see module doc): JS function -> route name. Versions are global because the one
# scheme handler is shared by every MapView of a profile.
_LOADED = {"setFootprints": "footprints", "setExamples": "examples", "setResults": "results"}
_PAYLOAD_VERSIONS = itertools.count(1)
_TILE = re.compile(r"^(\d{1,2})/(\d{1,7})/(\d{1,7})\.webp$")
_THUMB = re.compile(r"^(\d{1,9})\.png$")
_COVERAGE = re.compile(r"^(\d{1,2})/(\d{1,7})/(\d{1,7})\.png$")


def _online_tile(rest: str) -> tuple[bytes, str] | None:
    """``terrafind://app/tiles/online/<key>/<z>/<x>/<y>``: fetched through the network gate (core)."""
    m = _ONLINE_TILE.match(rest)
    data = online_tile(m[1], int(m[2]), int(m[3]), int(m[4])) if m else None
    if not data:
        return None
    mime = (
        "image/png" if data.startswith(b"\x89PNG") else "image/jpeg" if data.startswith(b"\xff\xd8") else None
    )
    return (data, mime) if mime else None


class _Page(QWebEnginePage):
    """Keeps the console for tests/logs and never lets the map navigate away from itself."""

    def __init__(self, profile: QWebEngineProfile, parent=None):
        super().__init__(profile, parent)
        self.console: list[tuple[int, str]] = []
        self.allow_external_links = False

    def javaScriptConsoleMessage(self, level, message, line, source):  # noqa: N802 (Qt override)
        self.console.append((int(level.value), message))
        if level == QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel:
            log.warning("map page: %s (%s:%s)", message, source, line)

    def acceptNavigationRequest(self, url, nav_type, is_main_frame):  # noqa: N802 (Qt override)
        if url.scheme() == SCHEME:
            return True
        # A link clicked (an attribution): the map stays; https only, online only, after a yes.
        if nav_type == QWebEnginePage.NavigationType.NavigationTypeLinkClicked:
            from terrafind.gui import errors

            page_guard.open_link(
                url, online=self.allow_external_links, ask=lambda title, text: errors.ask(None, title, text)
            )
        return False

    def createWindow(self, kind):  # noqa: N802 (Qt override)
        return None  # the map never opens windows (and the engine is told scripts may not either)


class MapView(QWidget):
    page_ready = Signal()
    point_clicked = Signal(float, float, str)  # lon, lat, modifier "" | "shift" | "ctrl" | "alt"
    result_clicked = Signal(int)
    popup_opened = Signal(int)  # a result's popup opened: its thumbnail is wanted (see thumbnail_ready)
    label_requested = Signal(int, str)  # row, "positive" | "negative"
    region_drawn = Signal(dict)  # GeoJSON geometry, lon/lat
    view_changed = Signal(float, float, float, float, int)  # west, south, east, north, zoom
    renderer_failed = Signal(str)  # the renderer died again on the same layers: what the person is told

    def __init__(
        self, parent: QWidget | None = None, *, online: bool = False, profile: QWebEngineProfile | None = None
    ):
        super().__init__(parent)
        profile = profile or QWebEngineProfile.defaultProfile()
        self.scheme_handler = scheme_handler(profile)  # shared by every MapView of this profile
        map_page.install_routes(self.scheme_handler)
        self.view = QWebEngineView(self)
        self.page = _Page(profile, self.view)
        page_guard.harden(self.page)
        self.view.setPage(self.page)
        self.interceptor = Interceptor(self, block=not online)
        self.page.setUrlRequestInterceptor(self.interceptor)
        self.bridge = MapBridge(self)
        self._channel = QWebChannel(self.page)
        self._channel.registerObject("bridge", self.bridge)
        self.page.setWebChannel(self._channel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self.ready = False
        self.online = online
        self.popup_row: int | None = None  # the result whose popup was opened last
        self._queue: list[tuple[str, Callable | None]] = []
        self._imagery_version = 0
        self._state: dict[str, str] = {}
        self._announced = False
        self._payloads: dict[str, str] = {}  # layer -> route of its latest JSON in the scheme handler
        self._replays_left = 1  # renderer crashes answered by a replay, until new layers arrive
        handler, payloads = self.scheme_handler, self._payloads
        # The handler outlives this view: drop its payloads with it (no reference to self in the slot).
        self.destroyed.connect(lambda *_a: [handler.remove(p) for p in list(payloads.values())])
        self.page.renderProcessTerminated.connect(self._on_render_process_terminated)
        self.bridge.page_ready.connect(self._on_bridge_ready)
        self.bridge.point_clicked.connect(self.point_clicked)
        self.bridge.result_clicked.connect(self.result_clicked)
        self.bridge.popup_opened.connect(self._on_popup_opened)
        self.bridge.label_requested.connect(self.label_requested)
        self.bridge.region_drawn.connect(self.region_drawn)
        self.bridge.view_changed.connect(self.view_changed)
        self.page.load(QUrl(url_for("/index.html")))
        if online:
            self.set_online(True)

    @property
    def external_requests(self) -> list[str]:
        """Outside URLs the page tried (blocked while offline)."""
        return self.interceptor.external_requests

    @property
    def console(self) -> list[tuple[int, str]]:
        return self.page.console

    def _on_bridge_ready(self) -> None:
        if self.ready:
            return
        self.ready = True
        queue, self._queue = self._queue, []
        for script, callback in queue:
            self._run(script, callback)
        if not self._announced:  # once: after a renderer restart the replayed state is already there
            self._announced = True
            self.page_ready.emit()

    # --- JavaScript plumbing ---------------------------------------------------------------------------
    def _run(self, script: str, callback: Callable | None) -> None:
        if not self.ready:
            self._queue.append((script, callback))
        elif callback is None:
            self.page.runJavaScript(script)
        else:
            self.page.runJavaScript(script, 0, callback)

    def run_js(self, script: str, callback: Callable | None = None) -> None:
        """Run ``script`` in the page (after it is ready); its value is always ``null`` (see module doc)."""
        self._run(script + "\n;null;", callback)

    def eval_json(self, expr: str, callback: Callable[[object], None]) -> None:
        """Evaluate ``expr`` and hand its value to ``callback`` as Python data (via JSON.stringify).

        Like every call, it sees the effect of the calls made before it: while a layer load is pending
        (``TF.load``) the page answers ``~pending`` (never JSON) and the question is asked again shortly.
        """
        script = (
            f"(window.TF && TF.pendingLoads && TF.pendingLoads()) ? '~pending' : JSON.stringify(({expr}))"
        )

        def parse(text):
            if text == "~pending":
                QTimer.singleShot(5, self, lambda: self._run(script, parse))
                return
            callback(json.loads(text) if isinstance(text, str) and text else None)

        self._run(script, parse)

    def _call(self, fn: str, *args) -> None:
        # json.dumps output is a valid JS literal (NaN/Infinity included); strings are quoted, never spliced
        literal = ", ".join(a if isinstance(a, RawJSON) else json.dumps(a) for a in args)
        self._remember(fn, f"TF.call({json.dumps(fn)}, [{literal}])")

    def _load(self, fn: str, fc: dict | str) -> None:
        """Hand a layer's FeatureCollection to the page by URL (see module doc); same order as ``_call``."""
        text = fc if isinstance(fc, RawJSON) else encode(fc)  # strict JSON: the page never evaluates it
        layer = _LOADED[fn]
        self._replays_left = 1  # new layers: a crash may be answered by one replay again
        route = f"/data/{layer}-{next(_PAYLOAD_VERSIONS)}.json"
        self.scheme_handler.add_bytes(route, text.encode("utf-8"), "application/json")
        old = self._payloads.get(layer)
        self._payloads[layer] = route
        if old is not None:
            self.scheme_handler.remove(old)  # its fetch, if still pending, fails quietly: this one wins
        self._remember(fn, f"TF.load({json.dumps(fn)}, {json.dumps(url_for(route))})")

    def _remember(self, fn: str, script: str) -> None:
        key = _STATE_CALLS.get(fn)
        if key is not None:
            self._state[key] = script  # the latest of each, replayed if the renderer has to be restarted
        self.run_js(script)

    def _on_render_process_terminated(self, status, code) -> None:
        """The page's renderer died (out of memory, a GPU driver, a layer too heavy to draw): load the page
        again and replay its state, once. If it dies again before new layers arrive, the same state would
        kill it again, for ever: the page is reloaded without its layers and ``renderer_failed`` says so."""
        self.ready = False
        order = list(dict.fromkeys(_STATE_CALLS.values()))
        if self._replays_left > 0:
            self._replays_left -= 1
            log.warning("map page renderer ended (%s, %s); reloading the map", status, code)
            keep = self._state
        else:
            log.warning(
                "map page renderer ended again (%s, %s); reloading it without its layers", status, code
            )
            keep = {k: v for k, v in self._state.items() if k in _LIGHT_STATE}
            self._state = dict(keep)
            for route in list(self._payloads.values()):
                self.scheme_handler.remove(route)
            self._payloads.clear()
            self.renderer_failed.emit(
                "The map stopped twice while drawing these chips, so it now shows the map without them; "
                "choose a smaller region (or fewer results) to see them again."
            )
        replay = sorted(keep.items(), key=lambda item: order.index(item[0]))
        self._queue = [(script + "\n;null;", None) for _, script in replay]
        self.page.load(QUrl(url_for("/index.html")))

    # --- layers ----------------------------------------------------------------------------------------
    def set_footprints(self, fc: dict | str) -> None:
        """All chips' outlines (a FeatureCollection, or RawJSON of one encoded in a worker)."""
        self._load("setFootprints", fc)

    def set_coverage(
        self, tile_fn: Callable[[int, int, int], bytes | None] | None, bounds: tuple[float, ...] | None = None
    ) -> None:
        """Where a big region's chips are, as PNG tiles from ``tile_fn(z, x, y)`` (rendered off the GUI
        thread; terrafind.core.present.coverage) in the "Chip footprints" layer; None removes them."""
        if tile_fn is None:
            self.scheme_handler.remove("/tiles/coverage/")
            self._call("setCoverage", None)
            return

        def provide(rest: str):
            m = _COVERAGE.match(rest)
            data = tile_fn(int(m[1]), int(m[2]), int(m[3])) if m else None
            return (data, "image/png") if data else None

        self.scheme_handler.add_provider("/tiles/coverage/", provide, threaded=True)
        self._imagery_version += 1  # a new URL per region: Chromium's cache never shows the last one's
        url = url_for(f"/tiles/coverage/{{z}}/{{x}}/{{y}}.png?v={self._imagery_version}")
        self._call("setCoverage", {"url": url, "bounds": list(bounds) if bounds else None})

    def set_examples(self, fc: dict | str) -> None:
        self._load("setExamples", fc)

    def set_results(self, fc: dict | str) -> None:
        """Result chips (properties row, rank, score, ...); a dict or RawJSON made in a worker."""
        self._load("setResults", fc)

    def set_threshold(self, t: float) -> None:
        self._call("setThreshold", float(t))

    def set_loss_range(self, low: float | None, high: float | None) -> None:
        """Hide hits whose loss (Clay v1) lies outside [low, high]; None bounds are open."""
        self._call("setLossRange", low, high)

    def set_colour_by(self, by: str) -> None:
        """Colour hits by "loss" (when the data has it) or "auto" (share of region, probability after Refine)."""
        self._call("setColourBy", by)

    def set_sites(self, fc: dict | None) -> None:
        """Merged sites (terrafind.core.search.sites.sites_feature_collection, plus ``row``) as outlines with rank labels; None clears."""
        self._call("setSites", fc)

    def select(self, row: int | None, *, zoom: bool = False) -> None:
        self._call("select", None if row is None else int(row), {"zoom": bool(zoom)})

    def open_popup(self, row: int) -> None:
        self._call("openPopup", int(row))

    def _on_popup_opened(self, row: int) -> None:
        self.popup_row = int(row)
        self.popup_opened.emit(int(row))

    def thumbnail_ready(self, row: int) -> None:
        """A thumbnail of ``row`` was made: the open popup, if it shows that row, loads it again."""
        if row == self.popup_row:
            self._call("thumbnailReady", int(row))

    def fit_bounds(self, w: float, s: float, e: float, n: float) -> None:
        self._call("fitBounds", float(w), float(s), float(e), float(n))

    def set_view(self, lon: float, lat: float, zoom: float) -> None:
        self._call("setView", float(lon), float(lat), zoom)

    def set_outline(self, geometry: dict | None) -> None:
        """A dashed outline of an area being asked about (a field pack's); None removes it."""
        self._call("setOutline", geometry)

    def set_region(self, geometry: dict | None) -> None:
        self._call("setRegion", geometry)

    def set_draw_mode(self, mode: str | None) -> None:
        if mode not in (None, "rectangle", "polygon"):
            raise ValueError(f"draw mode {mode!r}")
        self._call("setDrawMode", mode)

    # --- basemaps and data routes ----------------------------------------------------------------------
    def set_imagery_basemap(
        self,
        tile_fn: Callable[[int, int, int], bytes | None] | None,
        *,
        max_zoom: int = 14,
        bounds: tuple[float, float, float, float] | None = None,
        attribution: str = "",
    ) -> None:
        """Show XYZ WEBP tiles from ``tile_fn(z, x, y)`` (e.g. an MBTiles lookup) as a base layer; None removes."""
        if tile_fn is None:
            self.scheme_handler.remove("/tiles/imagery/")
            self._call("setImagery", None)
            return

        def provide(rest: str):
            m = _TILE.match(rest)
            if not m:
                return None
            data = tile_fn(int(m[1]), int(m[2]), int(m[3]))
            return (data, "image/webp") if data else None

        self.scheme_handler.add_provider("/tiles/imagery/", provide)
        self._imagery_version += 1  # a new URL per basemap, so Chromium's cache never mixes two of them
        options = {
            "url": url_for(f"/tiles/imagery/{{z}}/{{x}}/{{y}}.webp?v={self._imagery_version}"),
            "maxNativeZoom": int(max_zoom),
            "bounds": list(bounds) if bounds else None,
            "attribution": attribution,
        }
        self._call("setImagery", options)

    def set_thumbnail_provider(self, fn: Callable[[int], bytes | None], *, threaded: bool = True) -> None:
        """Serve ``terrafind://app/thumb/<row>.png`` from ``fn(row)`` (PNG bytes or None)."""

        def provide(rest: str):
            m = _THUMB.match(rest)
            data = fn(int(m[1])) if m else None
            return (data, "image/png") if data else None

        self.scheme_handler.add_provider("/thumb/", provide, threaded=threaded)

    def set_online(self, online: bool) -> None:
        """Online XYZ layers appear in the switcher only when online; offline, outside requests are blocked."""
        self.online = bool(online)
        self.interceptor.block = True  # the page never reaches out: online tiles come through our route
        self.page.allow_external_links = self.online
        if self.online:
            self.scheme_handler.add_provider("/tiles/online/", _online_tile, threaded=True)
        else:
            self.scheme_handler.remove("/tiles/online/")
        self._call("setOnline", ONLINE_LAYERS if self.online else [])

    # --- questions -------------------------------------------------------------------------------------
    def counts(self, callback: Callable[[dict], None]) -> None:
        """``{"results": visible, "examples": n, "footprints": n, "selected": row, ...}`` to ``callback``."""
        self.eval_json("TF.counts()", callback)
