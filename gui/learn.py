"""Issue 7 in the window: Refine with my labels, Review, quality, Group my examples, sites, phone export
and Import places, wired into the main window from one call (``install_learning(window)``).

Menu paths: Search > Refine with my labels (Ctrl+R), Search > Group my examples, Search > Clear excluded
places; View > Show sites; File > Import places..., File > Export sites... (File > Export hits... offers
GPX and KML through terrafind.gui.flows.data_flow.EXPORT_FORMATS). The same controls sit in the "Learn from labels" box
under the search controls, and the Best matches / Review switch and the sites list in the results dock.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from terrafind.core.search.learn import LearnPayload
from terrafind.gui.file_dialogs import ask_save_path, start_dir
from terrafind.gui.flows.import_flow import PLACE_FILTER, ImportFlow
from terrafind.gui.flows.learn_flow import LearnFlow
from terrafind.gui.flows.sites_flow import SITE_FORMATS, SitesFlow
from terrafind.gui.learn_state import learn_state, restore_learn_state
from terrafind.gui.panels.learn_panel import GalleryModeBar, LearnPanel, SitesList

__all__ = ["LearnUi", "install_learning"]


def _menu(window, title: str):
    for action in window.menuBar().actions():
        menu = action.menu()
        if menu is not None and menu.title().replace("&", "") == title:
            return menu
    return None


class LearnUi:
    """Owns the flows and widgets of issue 7 for one window and keeps them in step."""

    def __init__(self, window):
        self.w = w = window
        c = w.c
        self.learn = LearnFlow(c, c.runner)
        self.sites = SitesFlow(c, c.runner, w.map_view)
        self.importer = ImportFlow(c, self.learn, w)
        self.importer.summary_shown = lambda text: w.message_bar.show_message(text, "info")
        self.gallery_mode = "best"
        self._warned_for: frozenset[int] | None = None
        # The examples and labels (positives, negatives) the latest refined search used: when they differ
        # from the session's, the labels changed since and the panel says "Search to refine again".
        self._refined_with: tuple[frozenset[int], frozenset[int]] | None = None
        c.extra_state = lambda: learn_state(self)  # projects and the recovery file keep masks and toggles

        self.refine_action = self._act("&Refine with my labels", None, "Ctrl+R", checkable=True)
        self.refine_action.setToolTip(
            "Train a small classifier on your Yes/No labels (plus random chips of the region)\n"
            "and rank the hits by its probability; every later search refines again"
        )
        self.refine_action.setEnabled(False)
        self.group_action = self._act("&Group my examples", None, checkable=True)
        self.sites_action = self._act("Show &sites", None, checkable=True)
        self.clear_masks_action = self._act("Clear e&xcluded places", self._clear_masks)
        self.clear_masks_action.setEnabled(False)
        self.import_action = self._act("&Import places...", self.ask_import)
        self.export_sites_action = self._act("Export s&ites...", self.ask_export_sites)

        self.panel = LearnPanel(self.refine_action, w)
        self.mode_bar = GalleryModeBar(w)
        self.sites_list = SitesList(w)
        self.sites_list.hide()
        self._place_widgets()
        self._add_menus()
        self._wire()
        self._update_hint()

    def _act(self, text: str, slot, shortcut=None, *, checkable: bool = False) -> QAction:
        action = QAction(text, self.w)
        action.setCheckable(checkable)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if slot is not None:
            action.triggered.connect(lambda checked=False: slot())
        return action

    def _place_widgets(self) -> None:
        w = self.w
        # Into the shell's layouts, so main_window.py needs no change: under the search controls, and
        # above / below the gallery.
        side = w.controls.parentWidget().layout()
        side.insertWidget(side.indexOf(w.controls) + 1, self.panel)
        results = w.results_panel.layout()
        results.insertWidget(1, self.mode_bar)
        results.insertWidget(results.indexOf(w.results_panel.view) + 1, self.sites_list)

    def _add_menus(self) -> None:
        a = self.w.actions
        file_menu = _menu(self.w, "File")
        if file_menu is not None:
            file_menu.insertAction(a.export_labels_action, self.export_sites_action)
            items = file_menu.actions()
            after = items.index(a.export_labels_action) + 1
            before = items[after] if after < len(items) else None
            file_menu.insertAction(before, self.import_action)
        search = _menu(self.w, "Search")
        if search is not None:
            search.addSeparator()
            search.addActions([self.refine_action, self.group_action, self.clear_masks_action])
        view = _menu(self.w, "View")
        if view is not None:
            view.addSeparator()
            view.addAction(self.sites_action)
        self.w.actions.toolbar.addAction(self.refine_action)

    def _wire(self) -> None:
        w, c = self.w, self.w.c
        self.refine_action.toggled.connect(self.learn.set_refining)
        self.refine_action.toggled.connect(lambda _on: self._update_hint())
        self.group_action.toggled.connect(self.learn.set_grouping)
        self.group_action.toggled.connect(self.panel.group_check.setChecked)
        self.panel.grouping_toggled.connect(self.group_action.setChecked)
        self.sites_action.toggled.connect(self._on_sites_toggled)
        self.sites_action.toggled.connect(self.panel.sites_check.setChecked)
        self.panel.sites_toggled.connect(self.sites_action.setChecked)
        self.learn.readiness_changed.connect(self._on_readiness)
        self.learn.masked_changed.connect(lambda n: self._update_hint())
        self.mode_bar.mode_chosen.connect(self.show_gallery)
        # Autosave every change of what the project keeps (terrafind.gui.learn_state), after the slots above.
        for action in (self.refine_action, self.group_action, self.sites_action):
            action.toggled.connect(lambda _on: c.save_recovery())
        self.mode_bar.mode_chosen.connect(lambda _m: c.save_recovery())
        self.learn.masked_changed.connect(lambda _n: c.save_recovery())
        c.project_applied.connect(lambda proj: restore_learn_state(self, proj))
        c.search.search_started.connect(self._on_search_started)
        c.examples_changed.connect(lambda _items: self._update_hint())
        self.sites.sites_ready.connect(self.sites_list.set_sites)
        self.sites.sites_cleared.connect(lambda: self.sites_list.set_sites([]))
        self.sites_list.site_chosen.connect(self._on_site_chosen)
        # After the window's own slots (connected in MainWindow._wire): this decorates what they drew.
        c.results_ready.connect(self._on_results_ready)
        c.results_cleared.connect(lambda: self.mode_bar.set_review_available(False))
        c.labels_changed.connect(self._on_labels_changed)
        w.score_plot.setToolTip(
            "After Refine: accuracy of the classifier on your own labels, each judged by a fit that did\n"
            "not see it, and the share of the region's chips it scores at p >= 0.5"
        )

    # --- results ------------------------------------------------------------------------------------
    def _on_results_ready(self, payload) -> None:
        w = self.w
        learned = isinstance(payload, LearnPayload)
        review = learned and payload.review is not None
        self.mode_bar.set_review_available(review)
        if review and self.gallery_mode == "review":
            self.show_gallery("review")
        elif not review:
            self.gallery_mode = "best"
        r = payload.result
        if learned and payload.how == "refine":
            self._refined_with = (frozenset(r.positives), frozenset(r.negatives))
            w.score_plot.set_info(
                f"{len(r)} hits · {r.elapsed_ms:.0f} ms · by probability\n{payload.quality}"
            )
            w.c.message.emit(
                f"Refined: {len(r)} hits ranked by probability in {r.elapsed_ms:.0f} ms; "
                "the threshold line now filters by probability."
            )
        elif learned and payload.how == "grouped":
            groups = len({int(m) for m in r.matched if m >= 0})
            w.score_plot.set_info(f"{len(r)} matches · {r.elapsed_ms:.0f} ms · grouped search")
            w.c.message.emit(
                f"{len(r)} matches from a search per group of examples ({groups} examples matched)."
            )
        self._warn_spread(payload)
        self._update_hint()

    def _warn_spread(self, payload) -> None:
        positives = frozenset(int(p) for p in payload.result.positives)
        if positives == self._warned_for or len(positives) < 2:
            return
        if isinstance(payload, LearnPayload):
            text = payload.warning
        else:
            from terrafind.core.search.groups import spread_warning  # a 256 x 256 sample product: ~1 ms

            text = spread_warning(self.w.c.catalog, sorted(positives))
        if text and not self.learn.grouping:
            self._warned_for = positives
            self.w.message_bar.show_message(text, "warning")
            self.w.status.showMessage(text, 15000)

    def show_gallery(self, mode: str) -> None:
        """ "best" (ranked hits) or "review" (least sure first) in the gallery and on the map."""
        w, payload = self.w, self.w.c.payload
        if mode == "review" and not (isinstance(payload, LearnPayload) and payload.review is not None):
            mode = "best"
        self.gallery_mode = mode
        self.mode_bar.set_mode(mode)
        if payload is None:
            return
        shown = payload.review if mode == "review" else payload
        w.results_panel.set_results(shown.items)
        w.map_view.set_results(shown.fc)  # the map keeps its threshold across new results

    def _on_labels_changed(self, labels: dict) -> None:
        payload = self.w.c.payload
        if self.gallery_mode != "review" or not isinstance(payload, LearnPayload) or payload.review is None:
            return
        for item in payload.review.items:
            item.label = labels.get(item.row)
            self.w.results_panel.set_label(item.row, item.label)

    # --- state and hints ------------------------------------------------------------------------------
    def _on_readiness(self, ready: bool) -> None:
        self.refine_action.setEnabled(ready)
        self._update_hint()

    def _on_search_started(self) -> None:
        if self.learn.how() == "refine":
            self._refined_with = self._examples_now()
        self._update_hint()

    def _examples_now(self) -> tuple[frozenset[int], frozenset[int]]:
        ex = self.w.c.search.examples()
        return frozenset(ex.positives), frozenset(ex.negatives)

    def labels_changed_since_refine(self) -> bool:
        """True when Refine is on and the labels differ from those of the latest refined search."""
        return (
            self.refine_action.isChecked()
            and self._refined_with is not None
            and self._refined_with != self._examples_now()
        )

    def _update_hint(self) -> None:
        parts = []
        stale = self.refine_action.isEnabled() and self.labels_changed_since_refine()
        if not self.refine_action.isEnabled():
            parts.append("Refine needs at least one chip marked right and one marked wrong.")
        elif stale:
            parts.append("Labels changed — Search to refine again.")
        elif self.refine_action.isChecked():
            parts.append("Label hits Y / N, then Search (Ctrl+Return) to refine again.")
        self.panel.set_stale(stale)
        set_prominent(self.w.controls.search_button, stale)
        if self.learn.masked:
            parts.append(f"{len(self.learn.masked)} chips excluded by imported places.")
        self.clear_masks_action.setEnabled(bool(self.learn.masked))
        self.panel.set_hint(" ".join(parts))

    def _clear_masks(self) -> None:
        from terrafind.gui.flows.import_flow import PlacesCommand

        self.w.c.undo_stack.push(PlacesCommand(self.importer, {}, set(), "Clear excluded places"))

    # --- sites ----------------------------------------------------------------------------------------
    def _on_sites_toggled(self, on: bool) -> None:
        self.sites_list.setVisible(on)
        self.sites.set_shown(on)

    def _on_site_chosen(self, i: int) -> None:
        if not 0 <= i < len(self.sites.features):
            return
        props = self.sites.features[i]["properties"]
        west, south, east, north = props["bbox"]
        pad_x, pad_y = (east - west) * 0.6 + 1e-4, (north - south) * 0.6 + 1e-4
        self.w.map_view.fit_bounds(west - pad_x, south - pad_y, east + pad_x, north + pad_y)
        self.w.results_panel.select_row(int(props["row"]))

    # --- dialogs --------------------------------------------------------------------------------------
    def _start_dir(self) -> str:
        return start_dir(self.w)

    def ask_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Import places", self._start_dir(), PLACE_FILTER)
        if path:
            self.importer.import_places(path)

    def ask_export_sites(self) -> None:
        chosen = ask_save_path(self.w, "Export sites", "sites.geojson", SITE_FORMATS)
        if chosen:
            path, fmt = chosen
            self.sites.export(path, None if Path(path).suffix else fmt)


# The Search button while labels wait to be learnt from: the app's accent, bold (cleared once pressed).
PROMINENT_STYLE = (
    "QPushButton { background: #2f6fb0; color: white; font-weight: bold; border: 1px solid #1f4f80;"
    " border-radius: 3px; padding: 3px 10px; }"
)


def set_prominent(button, on: bool) -> None:
    """Highlight ``button`` (or return it to its normal look); the "prominent" property lets tests see it."""
    if bool(button.property("prominent")) == on:
        return
    button.setProperty("prominent", on)
    button.setStyleSheet(PROMINENT_STYLE if on else "")


def install_learning(window) -> LearnUi:
    """Add issue 7's controls to ``window`` (a terrafind.gui.main_window.MainWindow after its own wiring)."""
    return LearnUi(window)
