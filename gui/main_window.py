"""The main window: composes the panels around the map and wires them to the controller.

Layout: message bar and map in the centre; a left dock with the dataset panel, and one with the search
controls, the "Learn from labels" box and the examples list; the results gallery on the right; the score
plot at the bottom; menus and toolbar (:mod:`terrafind.gui.actions`), a status bar (job progress + Cancel,
online/offline). State lives in the controller's session; results are shown by
:class:`terrafind.gui.results.presenter.ResultsPresenter`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QImage
from PySide6.QtWidgets import QDockWidget, QMainWindow, QScrollArea, QVBoxLayout, QWidget

from terrafind.core.present.features import examples_fc
from terrafind.gui import dialogs, errors
from terrafind.gui.actions import Actions
from terrafind.gui.basemap_ui import BasemapUi
from terrafind.gui.controller import AppController
from terrafind.gui.dates_ui import DatesUi
from terrafind.gui.feedback import Feedback
from terrafind.gui.map.map_view import MapView
from terrafind.gui.panels.dataset_panel import DatasetPanel
from terrafind.gui.panels.examples_panel import ExamplesPanel
from terrafind.gui.panels.learn_panel import LearnPanel
from terrafind.gui.panels.search_controls import SearchControls, set_prominent
from terrafind.gui.panels.status import StatusBar
from terrafind.gui.results.presenter import ResultsPresenter
from terrafind.gui.results.results_panel import ResultsPanel
from terrafind.gui.results.score_plot import ScorePlot
from terrafind.gui.ui_settings import UiSettings
from terrafind.gui.workers import freeze_heap

__all__ = ["MainWindow"]


class MainWindow(QMainWindow):
    def __init__(
        self,
        controller: AppController | None = None,
        *,
        restore_geometry: bool = True,
        online: bool | None = None,
    ):
        super().__init__()
        self.setWindowTitle("Terrafind")
        self.c = controller or AppController(parent=self)
        self.settings = UiSettings()
        if online is None:  # the switch as the person left it (sites a file names still need an "Allow")
            online = self.settings.online()
        self._remember_geometry = restore_geometry  # the self test and tests leave the user's layout alone
        self.demo = None  # terrafind.core.embed.demo.DemoRegion when the demo region is open
        self.imagery_dialog = None
        self._refusal = ""  # the last refused imagery's sentence, taken off the message bar once one is taken
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
        self._centre_layout = lay

        self.dataset_panel = DatasetPanel(self)
        self.examples_panel = ExamplesPanel(self)
        self.controls = SearchControls(self)
        self.results_panel = ResultsPanel(self)
        self.score_plot = ScorePlot(self)
        self.left_dock = self._dock("Data", _scrolling(self.dataset_panel), Qt.LeftDockWidgetArea, "leftDock")
        self.search_side = QWidget(self)
        self.search_dock = self._dock(
            "Search and examples", self.search_side, Qt.LeftDockWidgetArea, "searchDock"
        )
        self.right_dock = self._dock("Results", self.results_panel, Qt.RightDockWidgetArea, "rightDock")
        self.plot_dock = self._dock("Scores", self.score_plot, Qt.BottomDockWidgetArea, "plotDock")
        self.status = StatusBar(self.c.runner, self)
        self.status.set_online(online)
        self.c.set_online(online)
        self.setStatusBar(self.status)
        self.actions = Actions(self)
        a = self.actions
        self.learn_panel = LearnPanel(a.refine, a.group, a.sites, self, improve=a.improve)
        self.improve_dialog = None  # the open "Improve automatically" dialog (tests reach it)
        self.controls.set_unusual_actions(a.unusual_menu)
        # The search controls, the learn box, then the examples list (which grows with every click).
        side = QVBoxLayout(self.search_side)
        side.setContentsMargins(0, 0, 0, 0)
        side.setSpacing(0)
        side.addWidget(self.controls)
        side.addWidget(self.learn_panel)
        side.addWidget(self.examples_panel, 1)
        self.presenter = ResultsPresenter(self)
        self.dates_ui = DatesUi(self, self._centre_layout)  # date bar, "Over time" dock, timeline
        self.basemaps = BasemapUi(self)  # the map's imagery layer: a pack's, the demo's, a date's, or made
        self.feedback = Feedback(self)  # after-the-fact words: exports, packs, first-use hints
        self.c.packs.parent_widget = self.c.importer.parent_widget = self
        self._wire()
        self.c.cache.refresh()
        self._show_learn_state()
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
        c, m, p = self.c, self.map_view, self.presenter
        c.error.connect(self.reporter.report)
        c.message.connect(lambda text: self.status.showMessage(text, 15000))
        c.permission_needed.connect(self._on_permission_needed)
        c.data_opened.connect(self._on_data_opened)
        c.index_ready.connect(self._on_index_ready)
        c.cache.changed.connect(self.dataset_panel.set_cache)
        c.runner.job_progress.connect(self._on_job_progress)
        c.runner.job_ended.connect(self._on_job_ended)
        self.dataset_panel.clear_cache_requested.connect(lambda: dialogs.clear_cache(self))
        c.examples_changed.connect(self._on_examples_changed)
        c.labels_changed.connect(p.show_labels)
        c.masked_changed.connect(lambda n: self._show_learn_state())
        c.learn_changed.connect(self._on_learn_changed)
        c.results_ready.connect(p.show)
        c.results_ready.connect(lambda _shown: self._show_learn_state())
        c.results_cleared.connect(p.clear)
        c.threshold_changed.connect(self.show_threshold)
        c.params_changed.connect(self._on_params_changed)
        c.view_requested.connect(lambda v: m.set_view(v["lon"], v["lat"], v["zoom"]))
        c.region_changed.connect(self._on_region_changed)
        c.imagery_changed.connect(self._on_imagery_changed)
        c.thumbs.thumbnail_ready.connect(self._on_thumbnail)
        c.data.opened.connect(self._on_opened)
        c.data.demo_ready.connect(self._on_demo_ready)
        c.imagery.refused.connect(lambda text: setattr(self, "_refusal", text))
        c.imagery.explained.connect(self._on_imagery_explained)
        c.sites.sites_ready.connect(self._on_sites_ready)
        c.search.started.connect(lambda how: set_prominent(self.controls.search_button, False))
        c.importer.imported.connect(lambda text: self.message_bar.show_message(text, "info"))

        m.page_ready.connect(lambda: self._on_online_toggled(self.status.is_online(), quiet=True))
        m.point_clicked.connect(self._on_map_clicked)
        m.renderer_failed.connect(lambda text: self.message_bar.show_message(text, "warning"))
        m.result_clicked.connect(self.results_panel.select_row)
        m.popup_opened.connect(lambda row: c.thumbs.want([row]))
        m.label_requested.connect(c.label)
        m.region_drawn.connect(self._on_region_drawn)
        m.view_changed.connect(self._on_view_changed)

        r = self.results_panel
        r.row_selected.connect(lambda row: m.select(row))
        r.row_activated.connect(lambda row: m.select(row, zoom=True))
        r.label_requested.connect(c.label)
        r.thumbnails_wanted.connect(c.thumbs.want)
        r.sort_chosen.connect(self._on_sort_chosen)
        r.more.more_requested.connect(lambda k: c.set_params({"k": k}))
        r.mode_bar.mode_chosen.connect(lambda mode: c.set_learn(gallery=mode))
        r.sites_list.site_chosen.connect(self._on_site_chosen)
        r.check_bar.new_sample_requested.connect(c.start_check)
        c.check_changed.connect(p.show_check)
        r.rounds.next_requested.connect(c.rounds.next_round)
        r.rounds.stop_requested.connect(c.rounds.stop)
        r.rounds.close_requested.connect(c.rounds.close)
        c.rounds.changed.connect(self._on_rounds_changed)
        self.dataset_panel.snap_changed.connect(lambda m: c.set_params({"snap_m": m}))
        # a moved line changes the sample to check and may make the run look wrong: said once it rests
        self._line_timer = QTimer(self, singleShot=True, interval=400)
        self._line_timer.timeout.connect(self._on_line_rested)
        self.score_plot.threshold_changed.connect(c.set_threshold)
        self.controls.params_changed.connect(c.set_params)
        self.controls.search_requested.connect(c.search_now)
        self.controls.negative_mode_changed.connect(self.actions.negative.setChecked)
        self.controls.centred_changed.connect(c.set_centred)
        self.controls.set_centred(c.session.centred)
        c.data_space_changed.connect(self._on_space_changed)
        self.actions.negative.toggled.connect(self._on_negative_toggled)
        self.examples_panel.remove_requested.connect(c.remove_example)
        self.examples_panel.kind_toggle_requested.connect(c.toggle_example_kind)
        d = self.dataset_panel
        d.open_file_requested.connect(self.actions.open_file_action.trigger)
        d.open_folder_requested.connect(self.actions.open_folder_action.trigger)
        d.imagery_requested.connect(self.actions.imagery_action.trigger)
        d.recent_chosen.connect(lambda path: self.open_path(path))
        d.region_mode_chosen.connect(self.choose_region_mode)
        d.bbox_entered.connect(self._on_bbox_entered)
        self.status.online_toggled.connect(self._on_online_toggled)
        m.set_thumbnail_provider(c.thumbs.provide_row, threaded=True)
        freeze_heap()  # the window's objects live as long as it does (see freeze_heap)

    # --- opening ------------------------------------------------------------------------------------
    def open_path(self, path: str) -> None:
        """A data file, a folder of them, a field pack folder, or a ``*.terrafind`` project."""
        try:
            if str(path).endswith(".terrafind"):
                self.c.projects.open(path)
            else:
                self.c.data.open_paths([path])
        except Exception as exc:  # noqa: BLE001 - a bad project file is shown, not raised
            self.c.report_error(exc)

    def _on_opened(self, paths: list[str]) -> None:
        if self.demo is not None and str(self.demo.embeddings) not in paths:
            self.demo = None
        if self.demo is None:
            recent: list[str] = []
            for path in paths:
                recent = self.settings.add_recent(path)
            self.dataset_panel.set_recent(recent)
        self.setWindowTitle(f"Terrafind - {', '.join(p.rstrip('/').rsplit('/', 1)[-1] for p in paths)}")

    def _on_data_opened(self, session) -> None:
        catalog = session.catalog
        info = catalog.describe()
        self.dataset_panel.set_info(info)
        self.controls.set_centred(catalog.is_centred)
        loss = (info.get("v1") or {}).get("loss")  # the Clay v1 loss: its row in the search controls
        metric = (info.get("v1") or {}).get("metric") or "loss"
        self.controls.set_loss_scale(loss["min"] if loss else None, loss["max"] if loss else None, metric)
        self.actions.unusual_loss.setEnabled(bool(loss))  # unusual places by the data's own loss
        self.actions.unusual_novelty.setEnabled(len(catalog) > 1)
        self._show_search_state()
        self.examples_panel.set_examples([])
        if self.c.footprints_fc is not None:
            self.map_view.set_coverage(None)
            self.map_view.set_footprints(self.c.footprints_fc)
        else:  # a big region: where its chips are, as tiles (terrafind.core.present.coverage)
            from terrafind.core.present.coverage import CoverageTiles

            self.map_view.set_footprints({"type": "FeatureCollection", "features": []})
            self.map_view.set_coverage(CoverageTiles(catalog).tile, catalog.bounds)
        if len(catalog):
            self.map_view.fit_bounds(*catalog.bounds)
        pack = session.pack
        self.basemaps.data_opened(session)
        if pack is not None and pack.problems:
            self.message_bar.show_message(" ".join(pack.problems), "warning")

    def _on_space_changed(self, centred: bool) -> None:
        """Scores became centred or plain cosines: the controls and the Data panel say which."""
        self.controls.set_centred(centred)
        self.dataset_panel.set_info(self.c.session.catalog.describe())
        self._show_search_state()

    def _on_index_ready(self, index) -> None:
        self.status.showMessage("The search index is ready.", 5000)
        self._show_search_state()

    def _on_job_progress(self, job) -> None:
        if job.kind == "index" and job.text:
            # e.g. "Building the search index: 34 %, about 12 min left"
            text = job.text.replace("Building the search index", "building the index").lstrip(": ")
            self.dataset_panel.set_search_state(f"exact while {text}")

    def _on_job_ended(self, job, how: str) -> None:
        if job.kind == "index" and how in ("failed", "cancelled"):
            self._show_search_state()

    def _show_search_state(self) -> None:
        """The Data panel's line on how searches run (index ready, being built, or not needed)."""
        from terrafind.core.search.exact import EXACT_MAX_ROWS

        s = self.c.session
        if s.catalog is None:
            text = ""
        elif len(s.catalog) <= EXACT_MAX_ROWS:
            text = "exact, every chip compared (fast at this size)"
        elif s.index is not None:
            text = "search index ready (answers in milliseconds, ranked exactly)"
        elif self.c.runner.running("index"):
            text = "exact while the search index builds"
        else:
            text = "exact (no search index)"
        self.dataset_panel.set_search_state(text)

    def _on_demo_ready(self, demo) -> None:
        self.demo = demo
        if demo.basemap_mbtiles:
            self.basemaps.show_mbtiles(demo.basemap_mbtiles, demo.bbox, demo.attribution)
        if demo.hint and not self.settings.hint_dismissed():
            self.feedback.show_hint(demo.hint)
            self.settings.set_hint_dismissed()

    # --- imagery --------------------------------------------------------------------------------------
    def _on_imagery_explained(self, why) -> None:
        """One sentence about the thumbnails' imagery, the same everywhere (core.imagery.explain)."""
        self.dataset_panel.set_imagery(why.short, why.sentence)
        self.status.set_imagery(why.short, why.sentence, why.available)
        if self.imagery_dialog is not None:
            self.imagery_dialog.show_current()

    def _on_imagery_changed(self, value) -> None:
        if self._refusal and self.message_bar.text() == self._refusal:
            self.message_bar.dismiss()  # the refused choice was replaced by one that was taken
        self._refusal = ""
        # After the open finished (demo_ready comes in the same call): then decide about a basemap.
        QTimer.singleShot(0, self.basemaps.decide)

    # --- controller -> views --------------------------------------------------------------------------
    def _on_examples_changed(self, items: list) -> None:
        self.examples_panel.set_examples(items, self.c.session.date)
        self.map_view.set_examples(examples_fc(self.c.session.catalog, items))
        self._show_learn_state()

    def _on_learn_changed(self, learn: dict) -> None:
        self.actions.show_learn(learn)
        self.results_panel.sites_list.setVisible(bool(learn.get("sites")))
        self.presenter.show_gallery()
        self._show_learn_state()

    def _show_learn_state(self) -> None:
        """Refine's availability, the learn hint, the Search button's emphasis, Clear excluded places."""
        s = self.c.session
        self.actions.refine.setEnabled(s.can_refine())
        self.actions.improve.setEnabled(self.c.shown is not None and bool(s.search_examples().positives))
        self.actions.clear_masks.setEnabled(bool(s.masked))
        stale = self.learn_panel.show_state(s)
        set_prominent(self.controls.search_button, stale)

    def _on_rounds_changed(self) -> None:
        rounds = self.c.rounds
        self.results_panel.mode_bar.set_round_available(rounds.reviewing)
        if rounds.figures or rounds.running or rounds.status:
            self.results_panel.rounds.show_rounds(
                rounds.figures, rounds.status, reviewing=rounds.reviewing, running=rounds.running
            )
        else:
            self.results_panel.rounds.hide()

    def _on_line_rested(self) -> None:
        self.presenter.show_check()
        self.presenter.show_warnings()

    def _on_params_changed(self, params: dict) -> None:
        """The session's parameters: the controls show them; the loss range and colouring reach the map
        and the gallery (the threshold has its own signal: it moves while dragged)."""
        self.controls.set_params(params)
        lo, hi = params.get("loss_min"), params.get("loss_max")
        self.map_view.set_loss_range(lo, hi)
        self.results_panel.set_loss_range(lo, hi)
        self.dataset_panel.set_snap(self.c.session.snap_m())
        self._line_timer.start()  # the loss range also changes what is visible
        self.map_view.set_colour_by(str(params.get("colour_by") or "auto"))

    def show_threshold(self, t) -> None:
        self.map_view.set_threshold(-1.0 if t is None else t)  # scores live in [-1, 1]: -1 shows them all
        self.results_panel.set_threshold(t)
        self.score_plot.set_threshold(t)
        p = self.c.session.params
        self.controls.set_threshold(t, p.get("threshold_share") if p.get("threshold_unit") == "top" else None)
        self.presenter.show_more()
        self._line_timer.start()

    def _on_thumbnail(self, row: int, png: bytes, status: str) -> None:
        self.map_view.thumbnail_ready(row)
        image = QImage.fromData(png)  # QImage, not QPixmap: the panels convert on the GUI thread
        if image.isNull():
            return
        self.results_panel.set_thumbnail(row, image)
        self.examples_panel.set_thumbnail(row, image)

    def _on_sites_ready(self, fc) -> None:
        self.map_view.set_sites(fc)
        self.results_panel.sites_list.set_sites([f["properties"] for f in (fc or {}).get("features", [])])

    def _on_site_chosen(self, i: int) -> None:
        features = self.c.sites.features
        if not 0 <= i < len(features):
            return
        props = features[i]["properties"]
        west, south, east, north = props["bbox"]
        pad_x, pad_y = (east - west) * 0.6 + 1e-4, (north - south) * 0.6 + 1e-4
        self.map_view.fit_bounds(west - pad_x, south - pad_y, east + pad_x, north + pad_y)
        self.results_panel.select_row(int(props["row"]))

    def _on_region_changed(self, region) -> None:
        if region is None:
            self.map_view.set_region(None)
            self.dataset_panel.set_region("all")
            return
        import shapely.geometry

        self.map_view.set_region(shapely.geometry.mapping(region.geometry()))
        self.dataset_panel.set_region("polygon" if region.polygon_wkt else "rectangle", region.bbox)

    # --- views -> controller --------------------------------------------------------------------------
    def _on_map_clicked(self, lon: float, lat: float, modifier: str) -> None:
        negative = self.actions.negative.isChecked() or modifier == "shift"
        self.c.click_at(lon, lat, negative=negative)

    def _on_negative_toggled(self, on: bool) -> None:
        self.controls.set_negative_mode(on)
        self.status.showMessage(
            "Map clicks now add NEGATIVE examples." if on else "Map clicks add positive examples.", 5000
        )

    def _on_view_changed(self, w: float, s: float, e: float, n: float, zoom: float) -> None:
        self.view_bounds = (w, s, e, n)
        self.c.set_view((w + e) / 2, (s + n) / 2, zoom)

    def _on_sort_chosen(self, key: str) -> None:
        v = self.c.session.view
        self.results_panel.set_sort(key, (v["lon"], v["lat"]) if v else None)

    def choose_region_mode(self, mode: str) -> None:
        if mode == "all":
            self.map_view.set_draw_mode(None)
            if self.c.session.region is not None:
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

    def _on_online_toggled(self, online: bool, quiet: bool = False) -> None:
        if not quiet:
            self.map_view.set_online(online)
            self.settings.set_online(online)
        self.c.set_online(online)
        self.c.imagery.explain()
        if not quiet:
            self.status.showMessage(
                "Working online." if online else "Working offline: nothing is fetched.", 5000
            )

    def _on_permission_needed(self, asked) -> None:
        """A file named a site or folder the person has not allowed: ask in the message bar (no dialog:
        the map and the gallery stay usable; placeholders say "not allowed" meanwhile)."""
        refusal, retry = asked
        site, dataset = refusal.site, refusal.dataset
        label = f"Allow {site if len(site) <= 48 else '...' + site[-45:]}"

        def allow() -> None:
            self.message_bar.dismiss()
            self.c.allow(site, dataset, retry)

        self.message_bar.show_message(refusal.message, "warning", action=(label, allow))

    # --- closing --------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self._remember_geometry:
            self.settings.save_window(self.saveGeometry(), self.saveState())
        self.c.shutdown()
        super().closeEvent(event)


def _scrolling(widget: QWidget) -> QScrollArea:
    """The data panel, scrolling when the dock is short of room (it is used mostly at the start)."""
    area = QScrollArea(widget.parentWidget())
    area.setWidgetResizable(True)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    area.setFrameShape(QScrollArea.NoFrame)
    area.setWidget(widget)
    return area
