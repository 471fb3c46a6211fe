"""The main window: composes the panels around the map and wires them to the controller.

Layout: message bar and map in the centre; a left dock with the dataset panel, the examples list and the
search controls; the results gallery on the right; the score plot at the bottom; menus, a toolbar and a
status bar (job progress + Cancel, online/offline). This module only connects signals: state lives in
:class:`terrafind.gui.controller.AppController`, menus in :mod:`terrafind.gui.actions`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QImage
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QVBoxLayout, QWidget

from terrafind.core.present.features import examples_fc
from terrafind.core.search.visible import filter_values, threshold_by
from terrafind.gui import errors
from terrafind.gui.actions import Actions
from terrafind.gui.controller import AppController
from terrafind.gui.flows.pack_flow import is_pack
from terrafind.gui.learn import install_learning
from terrafind.gui.map.map_view import MapView
from terrafind.gui.panels.dataset_panel import DatasetPanel
from terrafind.gui.panels.examples_panel import ExamplesPanel
from terrafind.gui.panels.imagery_ui import install_imagery
from terrafind.gui.panels.search_controls import SearchControls
from terrafind.gui.panels.status import StatusBar
from terrafind.gui.results.results_panel import ResultsPanel
from terrafind.gui.results.score_plot import ScorePlot
from terrafind.gui.ui_settings import UiSettings
from terrafind.gui.workers import freeze_heap

__all__ = ["MainWindow"]


class MainWindow(QMainWindow):
    def __init__(
        self, controller: AppController | None = None, *, restore_geometry: bool = True, online: bool = True
    ):
        super().__init__()
        self.setWindowTitle("Terrafind")
        self.c = controller or AppController(parent=self)
        self.settings = UiSettings()
        self._remember_geometry = restore_geometry  # the self test and tests leave the user's layout alone
        self.demo = None  # terrafind.core.embed.demo.DemoRegion when the demo region is open
        self._page_ready = False
        self.view_bounds: tuple[float, float, float, float] | None = None  # what the map shows (w, s, e, n)

        self.message_bar = errors.MessageBar(self)
        self.reporter = errors.ErrorReporter(self.message_bar, self)
        self.map_view = MapView(self, online=online)
        centre = QWidget(self)
        lay = QVBoxLayout(centre)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.message_bar)
        lay.addWidget(self.map_view, 1)
        self.setCentralWidget(centre)

        self.dataset_panel = DatasetPanel(self)
        self.examples_panel = ExamplesPanel(self)
        self.controls = SearchControls(self)
        # Two docks on the left: the data panel (used mostly at the start, scrolls when short of room) and
        # the search controls above the examples list (which grows with every click and gets the room).
        data_scroll = QScrollArea(self)
        data_scroll.setWidgetResizable(True)
        data_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        data_scroll.setFrameShape(QScrollArea.NoFrame)
        data_scroll.setWidget(self.dataset_panel)
        search_side = QWidget(self)
        search_lay = QVBoxLayout(search_side)
        search_lay.setContentsMargins(0, 0, 0, 0)
        search_lay.setSpacing(0)
        search_lay.addWidget(self.controls)
        search_lay.addWidget(self.examples_panel, 1)
        self.results_panel = ResultsPanel(self)
        self.score_plot = ScorePlot(self)
        self.left_dock = self._dock("Data", data_scroll, Qt.LeftDockWidgetArea, "leftDock")
        self.search_dock = self._dock("Search and examples", search_side, Qt.LeftDockWidgetArea, "searchDock")
        self.right_dock = self._dock("Results", self.results_panel, Qt.RightDockWidgetArea, "rightDock")
        self.plot_dock = self._dock("Scores", self.score_plot, Qt.BottomDockWidgetArea, "plotDock")

        self.status = StatusBar(self.c.runner, self)
        self.status.set_online(online)
        self.c.thumbs.set_online(online)
        self.setStatusBar(self.status)
        self.actions = Actions(self)
        self._wire()
        self.learn = install_learning(self)  # issue 7: refine, review, groups, sites, import (gui/learn.py)
        self.imagery_ui = install_imagery(self)  # File > Imagery...; imagery basemap (gui/imagery_ui.py)
        self.dataset_panel.set_recent(self.settings.recent())
        self.resize(1400, 900)
        self.resizeDocks([self.left_dock, self.right_dock], [330, 380], Qt.Horizontal)
        self.resizeDocks([self.plot_dock], [170], Qt.Vertical)
        self.resizeDocks([self.left_dock, self.search_dock], [300, 420], Qt.Vertical)
        if restore_geometry and self.settings.geometry() is not None:
            self.restoreGeometry(self.settings.geometry())
            if self.settings.state() is not None:
                self.restoreState(self.settings.state())

    def _dock(self, title: str, widget: QWidget, area, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    # --- wiring -------------------------------------------------------------------------------------
    def _wire(self) -> None:
        c, m = self.c, self.map_view
        self.reporter_hook = None
        c.error.connect(self.reporter.report)
        c.message.connect(lambda text: self.status.showMessage(text, 15000))
        c.catalog_loaded.connect(self._on_catalog_loaded)
        c.index_ready.connect(lambda ix: self.status.showMessage("The search index is ready.", 5000))
        c.examples_changed.connect(self._on_examples_changed)
        c.labels_changed.connect(self._on_labels_changed)
        c.results_ready.connect(self._on_results_ready)
        c.results_cleared.connect(self._on_results_cleared)
        c.threshold_changed.connect(self._on_threshold_changed)
        c.params_changed.connect(self.controls.set_params)
        c.view_requested.connect(lambda v: m.set_view(v["lon"], v["lat"], v["zoom"]))
        c.region_changed.connect(self._on_region_changed)
        c.thumbs.thumbnail_ready.connect(self._on_thumbnail)
        c.data.opened.connect(self._on_opened)
        c.data.demo_ready.connect(self._on_demo_ready)
        c.packs.pack_opened.connect(self._on_pack_opened)
        c.packs.parent_widget = self

        m.page_ready.connect(self._on_page_ready)
        m.point_clicked.connect(self._on_map_clicked)
        m.result_clicked.connect(self.results_panel.select_row)
        m.label_requested.connect(c.label)
        m.region_drawn.connect(self._on_region_drawn)
        m.view_changed.connect(self._on_view_changed)

        r = self.results_panel
        r.row_selected.connect(lambda row: m.select(row))
        r.row_activated.connect(lambda row: m.select(row, zoom=True))
        r.label_requested.connect(c.label)
        r.thumbnails_wanted.connect(c.thumbs.want)
        r.sort_chosen.connect(self._on_sort_chosen)
        self.score_plot.threshold_changed.connect(c.set_threshold)
        self.controls.params_changed.connect(c.set_params)
        self.controls.search_requested.connect(c.search_now)
        self.controls.negative_mode_changed.connect(self.actions.negative.setChecked)
        self.examples_panel.remove_requested.connect(c.remove_example)
        self.examples_panel.kind_toggle_requested.connect(c.toggle_example_kind)
        d = self.dataset_panel
        d.open_file_requested.connect(self.actions.open_file)
        d.open_folder_requested.connect(self.actions.open_folder)
        d.recent_chosen.connect(lambda p: self.open_path(p))
        d.region_mode_chosen.connect(self._on_region_mode)
        d.bbox_entered.connect(self._on_bbox_entered)
        self.status.online_toggled.connect(self._on_online_toggled)

        self.actions.negative.toggled.connect(self.controls.set_negative_mode)
        m.set_thumbnail_provider(c.thumbs.provide_row, threaded=True)
        freeze_heap()  # the window's objects live as long as it does (see freeze_heap)

    # --- opening ------------------------------------------------------------------------------------
    def open_path(self, path: str) -> None:
        """A data file/folder, or a ``*.terrafind`` project."""
        try:
            if str(path).endswith(".terrafind"):
                self.c.open_project(path)
            elif is_pack(path):
                self.c.packs.open(path)
            else:
                self.c.pack = None
                self.c.data.open_paths([path])
        except Exception as exc:  # noqa: BLE001 - a bad project file is shown, not raised
            self.c.report_error(exc)

    def _on_opened(self, paths: list[str]) -> None:
        if self.c.pack is not None:
            self.dataset_panel.set_recent(self.settings.add_recent(str(self.c.pack.root)))
        elif self.demo is None or str(self.demo.embeddings) not in paths:
            self.demo = None
            for p in paths:
                recent = self.settings.add_recent(p)
            self.dataset_panel.set_recent(recent)
            self.map_view.set_imagery_basemap(None)
        self.setWindowTitle(f"Terrafind - {', '.join(p.rsplit('/', 1)[-1] for p in paths)}")

    def _on_catalog_loaded(self, catalog) -> None:
        self.dataset_panel.set_info(catalog.describe())
        self.examples_panel.set_examples([])
        self.score_plot.set_info("")
        if self.c.footprints_fc is not None:
            self.map_view.set_footprints(self.c.footprints_fc)
        if len(catalog):
            self.map_view.fit_bounds(*catalog.bounds)

    def _imagery_basemap(self, mbtiles, bounds=None, attribution: str = "") -> None:
        """Serve an MBTiles pyramid as the map's imagery layer (tiles read in the scheme handler)."""
        from terrafind.core.imagery.basemap import MBTiles

        try:
            tiles = MBTiles(mbtiles)
            meta = tiles.metadata() or {}
        except Exception as exc:  # noqa: BLE001 - no basemap is not a reason to stop
            self.c.report_error(exc)
            return
        self.map_view.set_imagery_basemap(
            tiles.tile,
            max_zoom=int(meta.get("maxzoom", 16)),
            bounds=tuple(bounds) if bounds else None,
            attribution=attribution or str(meta.get("attribution", "")),
        )

    def _on_pack_opened(self, info) -> None:
        self.demo = None
        if info.mbtiles_path is not None:
            self._imagery_basemap(info.mbtiles_path, info.region.bbox if info.region else None)
        else:
            self.map_view.set_imagery_basemap(None)
        if info.problems:
            self.message_bar.show_message(" ".join(info.problems), "warning")

    def _on_demo_ready(self, demo) -> None:
        self.demo = demo
        self.c.pack = None
        if getattr(demo, "basemap_mbtiles", None):
            self._imagery_basemap(demo.basemap_mbtiles, demo.bbox, demo.attribution)
        if getattr(demo, "hint", "") and not self.settings.hint_dismissed():
            self.message_bar.show_message(demo.hint, "info")
            self.settings.set_hint_dismissed()

    # --- controller -> views --------------------------------------------------------------------------
    def _on_examples_changed(self, items: list) -> None:
        self.examples_panel.set_examples(items)
        self.map_view.set_examples(examples_fc(self.c.catalog, items))

    def _on_labels_changed(self, labels: dict) -> None:
        if self.c.payload is None:
            return
        for item in self.c.payload.items:
            self.results_panel.set_label(item.row, labels.get(item.row))

    def _on_results_ready(self, payload) -> None:
        self.map_view.set_results(payload.fc_json or payload.fc)
        self.results_panel.set_results(payload.items)
        r = payload.result
        self.score_plot.set_scores(
            filter_values(r), by=threshold_by(r)
        )  # terrafind.core.search.visible: what the line filters
        self._on_threshold_changed(self.c.params.get("threshold"))
        self.score_plot.set_info(f"{len(r)} matches · {r.elapsed_ms:.0f} ms · {r.method} · by similarity")

    def _on_results_cleared(self) -> None:
        self.map_view.set_results({"type": "FeatureCollection", "features": []})
        self.results_panel.clear()
        self.score_plot.set_scores(_empty())

    def _on_threshold_changed(self, t) -> None:
        self.map_view.set_threshold(-1.0 if t is None else t)  # scores live in [-1, 1]: -1 shows them all
        self.results_panel.set_threshold(t)
        self.score_plot.set_threshold(t)
        self.controls.set_threshold(t)

    def _on_thumbnail(self, row: int, png: bytes, status: str) -> None:
        image = QImage.fromData(png)  # QImage, not QPixmap: the panels convert on the GUI thread
        if image.isNull():
            return
        self.results_panel.set_thumbnail(row, image)
        self.examples_panel.set_thumbnail(row, image)

    def _on_region_changed(self, region) -> None:
        if region is None:
            self.map_view.set_region(None)
            self.dataset_panel.set_region("all")
            return
        geom = region.geometry()
        import shapely.geometry

        self.map_view.set_region(shapely.geometry.mapping(geom))
        self.dataset_panel.set_region("polygon" if region.polygon_wkt else "rectangle", region.bbox)

    # --- views -> controller --------------------------------------------------------------------------
    def _on_page_ready(self) -> None:
        self._page_ready = True
        self.c.thumbs.set_online(self.status.is_online())

    def _on_map_clicked(self, lon: float, lat: float, modifier: str) -> None:
        negative = self.actions.negative.isChecked() or modifier == "shift"
        self.c.click_at(lon, lat, negative=negative)

    def _on_view_changed(self, w: float, s: float, e: float, n: float, zoom: float) -> None:
        self.view_bounds = (w, s, e, n)
        self.c.set_view((w + e) / 2, (s + n) / 2, zoom)

    def _on_sort_chosen(self, key: str) -> None:
        v = self.c.view
        self.results_panel.set_sort(key, (v["lon"], v["lat"]) if v else None)

    def _on_region_mode(self, mode: str) -> None:
        if mode == "all":
            self.map_view.set_draw_mode(None)
            if self.c.region is not None:
                self.c.data.set_region(None)
        elif mode in ("rectangle", "polygon"):
            self.map_view.set_draw_mode(mode)
            self.status.showMessage(f"Draw a {mode} on the map to limit the search to it.", 15000)

    def _on_region_drawn(self, geometry: dict) -> None:
        import shapely.geometry

        from terrafind.core.types import Region

        self.map_view.set_draw_mode(None)
        try:
            self.c.data.set_region(Region.from_wkt(shapely.geometry.shape(geometry).wkt))
        except Exception as exc:  # noqa: BLE001
            self.c.report_error(exc)

    def _on_bbox_entered(self, bbox: tuple) -> None:
        from terrafind.core.types import Region

        try:
            self.c.data.set_region(Region.from_bbox(*bbox))
        except Exception as exc:  # noqa: BLE001
            self.c.report_error(exc)

    def _on_online_toggled(self, online: bool) -> None:
        self.map_view.set_online(online)
        self.c.thumbs.set_online(online)
        self.status.showMessage("Working online." if online else "Working offline: nothing is fetched.", 5000)

    # --- closing --------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self._remember_geometry:
            self.settings.save_window(self.saveGeometry(), self.saveState())
        self.c.shutdown()
        super().closeEvent(event)


def _empty():
    import numpy as np

    return np.zeros(0, np.float32)
