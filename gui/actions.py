"""Every menu and toolbar entry of the window, in one place.

File: Open file / Open folder / Open several dates / Open demo region / Recent / Open project / Save project / Import places / Export hits /
Export sites / Export labels / Imagery / Create embeddings / Prepare for offline use / Quit;
Edit: Undo / Redo; Search: Search now / Negative examples / Region / Refine / Group / Clear excluded;
View: the docks, Show sites; Help: How to search / About / Report a problem. What an entry does when it needs a dialog is in
:mod:`terrafind.gui.dialogs`; switches (Refine, Group, Show sites) go to the controller, which keeps them
in the session.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QToolBar

from terrafind.gui import dialogs

__all__ = ["Actions"]


class Actions:
    """Builds the menu bar and toolbar of ``window`` and keeps the actions tests reach for."""

    def __init__(self, window):
        self.w = w = window
        c = window.c
        act = self._act
        self.open_file_action = act("&Open file...", lambda: dialogs.open_file(w), QKeySequence.Open)
        self.open_folder_action = act("Open &folder...", lambda: dialogs.open_folder(w))
        self.open_project_action = act("Open &project...", lambda: dialogs.open_project(w), "Ctrl+Shift+O")
        self.save_project_action = act("&Save project", lambda: dialogs.save_project(w), QKeySequence.Save)
        self.save_project_as_action = act(
            "Save project &as...", lambda: dialogs.save_project_as(w), QKeySequence.SaveAs
        )
        self.import_action = act("&Import places...", lambda: dialogs.import_places(w))
        self.export_hits_action = act("&Export hits...", lambda: dialogs.export(w, "hits"), "Ctrl+E")
        self.export_sites_action = act("Export s&ites...", lambda: dialogs.export(w, "sites"))
        self.export_labels_action = act("Export &labels...", lambda: dialogs.export(w, "labels"))
        self.export_raster_action = act("Export scores as &raster...", lambda: dialogs.export_raster(w))
        self.export_raster_action.setToolTip(
            "Every chip's score of the last search as a GeoTIFF, one pixel per chip (opens in QGIS)"
        )
        self.imagery_action = act("&Imagery for thumbnails and basemap...", lambda: dialogs.imagery(w))
        self.imagery_action.setToolTip("Imagery the thumbnails and the offline basemap are made from")
        self.embed_action = act("Create embeddings from imagery...", lambda: dialogs.create_embeddings(w))
        self.pack_action = act("Prepare for &offline use...", lambda: dialogs.prepare_pack(w))
        self.open_dates_action = act("Open several &dates...", lambda: dialogs.open_dates(w))
        self.open_dates_action.setToolTip("Open files of one region at several dates, giving each its date")
        self.demo_virginia = act("Virginia coast (Sentinel-2, one date)", lambda: _open_demo(w))
        self.demo_pucallpa = act(
            "Pucallpa, Peru 1985-2020 (Landsat, 8 dates)", lambda: c.data.open_pucallpa()
        )
        # Dates: the date bar's steps, and the questions across dates (the "Over time" panel asks them too).
        self.prev_date = act("&Previous date", lambda: w.dates_ui.bar.step(-1), "Alt+Left")
        self.next_date = act("&Next date", lambda: w.dates_ui.bar.step(1), "Alt+Right")
        self.what_changed = act("What &changed", lambda: w.dates_ui.panel._ask_change(), "Ctrl+Shift+C")
        self.what_is_new = act(
            "What is &new since the date before",
            lambda: c.dates.new_since(w.dates_ui.panel.since.currentData() or ""),
        )
        self.clear_cache_action = act("Clear app &cache...", lambda: dialogs.clear_cache(w))
        self.clear_cache_action.setToolTip(
            "Delete what regions you opened before keep on disk (they are read anew when opened again)"
        )
        # Own actions rather than createUndoAction: its text ("Undo Add positive example chip-...") would
        # make the toolbar jump; the full text goes in the tooltip instead.
        stack = c.undo_stack
        self.undo = act("&Undo", stack.undo, QKeySequence("Ctrl+Z"))
        self.redo = act("&Redo", stack.redo, QKeySequence("Ctrl+Shift+Z"))
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.undo.setEnabled(False)
        self.redo.setEnabled(False)
        stack.canUndoChanged.connect(self.undo.setEnabled)
        stack.canRedoChanged.connect(self.redo.setEnabled)
        stack.undoTextChanged.connect(lambda t: _set_tip(self.undo, "Undo", t))
        stack.redoTextChanged.connect(lambda t: _set_tip(self.redo, "Redo", t))
        self.search = act("&Search now", c.search_now, "Ctrl+Return")
        self.negative = act("&Negative examples", None, "Ctrl+N", checkable=True)
        self.negative.setToolTip("Map clicks add negative examples (or hold Shift while clicking)")
        self.region_all = act("Whole data", lambda: w.choose_region_mode("all"))
        self.region_rect = act("Draw a rectangle", lambda: w.choose_region_mode("rectangle"))
        self.region_poly = act("Draw a polygon", lambda: w.choose_region_mode("polygon"))
        self.refine = act("&Refine with my labels", None, "Ctrl+R", checkable=True)
        self.refine.setToolTip(
            "Train a small classifier on your Yes/No labels (plus random chips of the region)\n"
            "and rank the hits by its probability; every later search refines again"
        )
        self.refine.setEnabled(False)
        self.group = act("&Group my examples", None, checkable=True)
        self.group.setToolTip(
            "Search each group of alike examples on its own and merge the hits;\n"
            "each hit then tells which example it matched"
        )
        self.sites = act("Show &sites", None, checkable=True)
        self.sites.setToolTip("Merge touching hits into sites: outlines on the map and a list")
        # Unusual places, no examples needed (core.search.unusual): by the data's loss, or by novelty
        self.unusual_loss = act("Unusual places by &loss", lambda: c.find_unusual("loss"))
        self.unusual_loss.setToolTip("The chips the model reconstructs worst (the data's own loss column)")
        self.unusual_loss.setEnabled(False)
        self.unusual_novelty = act("Unusual places by &novelty", lambda: c.find_unusual("novelty"))
        self.unusual_novelty.setToolTip("The chips with the fewest look-alikes in this region")
        self.unusual_novelty.setEnabled(False)
        self.improve = act("&Improve automatically...", lambda: dialogs.improve(w))
        self.improve.setToolTip(
            "Rounds of hard negatives: the hits the detector is surest about far from your sites,\n"
            "marked by you (or taken as negatives), until its estimate stops improving"
        )
        self.improve.setEnabled(False)
        self.clear_masks = act("Clear e&xcluded places", lambda: dialogs.clear_masks(w))
        self.clear_masks.setEnabled(False)
        # The switches live in the session: the controller changes them, the window reflects them back.
        self.refine.toggled.connect(lambda on: c.set_learn(refine=on))
        self.group.toggled.connect(lambda on: c.set_learn(group=on))
        self.sites.toggled.connect(lambda on: c.set_learn(sites=on))
        from terrafind.gui import sensitive

        self.mark_sensitive = act("&Mark this project sensitive", None, checkable=True)
        self.mark_sensitive.setToolTip("Precise coordinates leave only after you unlock them")
        self.mark_sensitive.toggled.connect(
            lambda on: sensitive.mark(w, on) if on != c.session.sensitive else None
        )
        self.unlock_action = act("&Unlock precise coordinates...", lambda: sensitive.unlock(w))
        self.unlock_action.setEnabled(False)
        self.blurred_hits = act("Export hits, &blurred...", lambda: sensitive.export(w, "hits", blurred=True))
        self.blurred_sites = act(
            "Export sites, b&lurred...", lambda: sensitive.export(w, "sites", blurred=True)
        )
        self.share_labels = act("Share labels &without coordinates...", lambda: sensitive.share_labels(w))
        self.network_action = act("&Network and permissions...", lambda: dialogs.network(w))
        self.network_action.setToolTip("What the open data may reach, plain http, your cloud credentials")
        c.sensitivity_changed.connect(self.show_sensitivity)
        self._build_menus()
        self._build_toolbar()

    def _act(self, text: str, slot, shortcut=None, *, checkable: bool = False) -> QAction:
        action = QAction(text, self.w)
        action.setCheckable(checkable)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if slot is not None:
            action.triggered.connect(lambda checked=False: slot())
        return action

    def _build_menus(self) -> None:
        w, mb = self.w, self.w.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.addActions([self.open_file_action, self.open_folder_action, self.open_dates_action])
        demos = file_menu.addMenu("Open &demo region")
        demos.addActions([self.demo_virginia, self.demo_pucallpa])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        file_menu.addActions(
            [self.open_project_action, self.save_project_action, self.save_project_as_action]
        )
        file_menu.addSeparator()
        file_menu.addActions(
            [
                self.import_action,
                self.export_hits_action,
                self.export_sites_action,
                self.export_labels_action,
                self.export_raster_action,
            ]
        )
        self.sensitive_menu = file_menu.addMenu("Sensitive p&laces")
        self.sensitive_menu.addActions(
            [
                self.mark_sensitive,
                self.unlock_action,
                self.blurred_hits,
                self.blurred_sites,
                self.share_labels,
            ]
        )
        file_menu.addSeparator()
        file_menu.addActions([self.imagery_action, self.network_action, self.embed_action, self.pack_action])
        file_menu.addSeparator()
        file_menu.addAction(self.clear_cache_action)
        file_menu.addSeparator()
        file_menu.addAction(self._act("&Quit", w.close, QKeySequence.Quit))

        mb.addMenu("&Edit").addActions([self.undo, self.redo])
        search = mb.addMenu("&Search")
        search.addActions([self.search, self.negative])
        search.addMenu("&Region").addActions([self.region_all, self.region_rect, self.region_poly])
        search.addSeparator()
        search.addActions([self.refine, self.group, self.improve, self.clear_masks])
        search.addSeparator()
        self.unusual_menu = search.addMenu("&Unusual places")
        self.unusual_menu.addActions([self.unusual_loss, self.unusual_novelty])
        dates = mb.addMenu("&Dates")
        dates.addActions([self.prev_date, self.next_date])
        dates.addSeparator()
        dates.addActions([self.what_changed, self.what_is_new])
        self.dates_menu = dates
        view = mb.addMenu("&View")
        for dock in (w.left_dock, w.search_dock, w.right_dock, w.plot_dock):
            view.addAction(dock.toggleViewAction())
        self.view_menu = view
        view.addSeparator()
        view.addAction(self.sites)
        help_menu = mb.addMenu("&Help")
        self.help_action = self._act(
            "&How to search", lambda: dialogs.how_to_search(w), QKeySequence.HelpContents
        )
        self.about_action = self._act("&About Terrafind", lambda: dialogs.about(w))
        self.report_action = self._act("&Report a problem...", lambda: dialogs.report_problem(w))
        help_menu.addActions([self.help_action, self.about_action, self.report_action])

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main", self.w)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        for group in (
            [self.open_file_action],
            [self.search, self.negative],
            [self.undo, self.redo],
            [self.region_rect, self.region_poly],
            [self.export_hits_action, self.refine],
        ):
            tb.addActions(group)
            tb.addSeparator()
        self.w.addToolBar(tb)
        self.toolbar = tb

    def show_learn(self, learn: dict) -> None:
        """Reflect the session's switches. Their toggled signals reach the controller, which finds no
        change (the session has them already) and starts nothing; the panel's check boxes follow."""
        for action, key in ((self.refine, "refine"), (self.group, "group"), (self.sites, "sites")):
            action.setChecked(bool(learn.get(key)))

    def show_sensitivity(self, sensitive: bool, unlocked: bool) -> None:
        """Reflect the session's sensitivity (its toggled signal then finds no change and does nothing)."""
        self.mark_sensitive.setChecked(sensitive)
        self.unlock_action.setEnabled(sensitive and not unlocked)
        title = self.w.windowTitle().removesuffix(" [sensitive]").removesuffix(" [sensitive, unlocked]")
        if sensitive:
            title += " [sensitive, unlocked]" if unlocked else " [sensitive]"
        self.w.setWindowTitle(title)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.w.settings.recent():
            self.recent_menu.addAction(path, lambda p=path: self.w.open_path(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)


def _open_demo(window) -> None:
    from terrafind.gui.startup import open_demo

    open_demo(window)


def _set_tip(action: QAction, verb: str, text: str) -> None:
    # The undo stack outlives the window's actions at exit and still reports its text: skip dead ones.
    if shiboken6.isValid(action):
        action.setToolTip(f"{verb}: {text}" if text else verb)
