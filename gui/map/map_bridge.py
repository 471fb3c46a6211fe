"""The page's side of the conversation: a QObject whose slots app.js calls through QWebChannel.

Leaflet hands over (lat, lng); this is the one place where it becomes Python's (lon, lat).
"""

from __future__ import annotations

import json
import logging

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger(__name__)

MODIFIERS = {"", "shift", "ctrl", "alt"}
LABELS = {"positive", "negative"}


class MapBridge(QObject):
    page_ready = Signal()
    point_clicked = Signal(float, float, str)  # lon, lat, modifier
    result_clicked = Signal(int)
    popup_opened = Signal(int)  # row of the result whose popup just opened (it wants its thumbnail)
    label_requested = Signal(int, str)
    region_drawn = Signal(dict)
    view_changed = Signal(float, float, float, float, int)
    js_error = Signal(str)

    @Slot()
    def pageReady(self) -> None:  # noqa: N802 (called from JavaScript)
        self.page_ready.emit()

    @Slot(float, float, str)
    def mapClicked(self, lat: float, lng: float, modifier: str) -> None:  # noqa: N802
        self.point_clicked.emit(float(lng), float(lat), modifier if modifier in MODIFIERS else "")

    @Slot(int)
    def resultClicked(self, row: int) -> None:  # noqa: N802
        self.result_clicked.emit(int(row))

    @Slot(int)
    def popupOpened(self, row: int) -> None:  # noqa: N802
        self.popup_opened.emit(int(row))

    @Slot(int, str)
    def labelRequested(self, row: int, kind: str) -> None:  # noqa: N802
        if kind in LABELS:
            self.label_requested.emit(int(row), kind)

    @Slot(str)
    def regionDrawn(self, geometry_json: str) -> None:  # noqa: N802
        try:
            geometry = json.loads(geometry_json)
        except ValueError:
            log.warning("map: unreadable drawn region %r", geometry_json[:200])
            return
        if isinstance(geometry, dict) and geometry.get("type") in {"Polygon", "MultiPolygon"}:
            self.region_drawn.emit(geometry)

    @Slot(float, float, float, float, int)
    def viewChanged(self, west: float, south: float, east: float, north: float, zoom: int) -> None:  # noqa: N802
        self.view_changed.emit(west, south, east, north, int(zoom))

    @Slot(str)
    def jsError(self, message: str) -> None:  # noqa: N802
        log.error("map page: %s", message)
        self.js_error.emit(message)
