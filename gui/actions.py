"""Menus, toolbar and the file dialogs behind them.

File > Open file / Open folder / Recent / Open project / Save project / Export hits / Export labels
(and Create embeddings / Prepare for offline use when those core modules exist); Edit > Undo / Redo;
Search > Search now / Negative examples / Region; View > docks; Help > About.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import shiboken6
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QToolBar

from terrafind.gui.file_dialogs import ask_save_path, start_dir
from terrafind.gui.flows.data_flow import EXPORT_FORMATS

__all__ = ["Actions", "has_module"]


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class Actions:
    """Builds the menu bar and toolbar of ``window`` and keeps the actions tests reach for."""

    def __init__(self, window):
        self.w = window
        c = window.c
        mb = window.menuBar()
        self.open_file_action = self._act("&Open file...", self.open_file, QKeySequence.Open)
        self.open_folder_action = self._act("Open &folder...", self.open_folder)
        self.open_project_action = self._act("Open &project...", self.open_project, "Ctrl+Shift+O")
        self.save_project_action = self._act("&Save project", self.save_project, QKeySequence.Save)
        self.save_project_as_action = self._act(
            "Save project &as...", self.save_project_as, QKeySequence.SaveAs
        )
        self.export_hits_action = self._act("&Export hits...", self.export_hits, "Ctrl+E")
        self.export_labels_action = self._act("Export &labels...", self.export_labels)
        # Own actions rather than createUndoAction: its text ("Undo Add positive example chip-...") would
        # make the toolbar jump; the full text goes in the tooltip instead.
        stack = c.undo_stack
        self.undo = self._act("&Undo", stack.undo, QKeySequence("Ctrl+Z"))
        self.redo = self._act("&Redo", stack.redo, QKeySequence("Ctrl+Shift+Z"))
        self.redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.undo.setEnabled(False)
        self.redo.setEnabled(False)
        stack.canUndoChanged.connect(self.undo.setEnabled)
        stack.canRedoChanged.connect(self.redo.setEnabled)
        stack.undoTextChanged.connect(lambda t: _set_tip(self.undo, "Undo", t))
        stack.redoTextChanged.connect(lambda t: _set_tip(self.redo, "Redo", t))
        self.search = self._act("&Search now", c.search_now, "Ctrl+Return")
        self.negative = self._act("&Negative examples", None, "Ctrl+N")
        self.negative.setCheckable(True)
        self.negative.setToolTip("Map clicks add negative examples (or hold Shift while clicking)")
        self.negative.toggled.connect(self._on_negative_toggled)
        self.region_all = self._act("Whole data", lambda: window._on_region_mode("all"))
        self.region_rect = self._act("Draw a rectangle", lambda: window._on_region_mode("rectangle"))
        self.region_poly = self._act("Draw a polygon", lambda: window._on_region_mode("polygon"))

        file_menu = mb.addMenu("&File")
        file_menu.addActions([self.open_file_action, self.open_folder_action])
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        file_menu.addActions(
            [self.open_project_action, self.save_project_action, self.save_project_as_action]
        )
        file_menu.addSeparator()
        file_menu.addActions([self.export_hits_action, self.export_labels_action])
        self.embed_action = self.pack_action = None
        if has_module("terrafind.core.embed.embedder"):
            self.embed_action = self._act("Create embeddings from imagery...", self.create_embeddings)
            file_menu.addAction(self.embed_action)
        if has_module("terrafind.core.pack.open"):
            self.pack_action = self._act("Prepare for &offline use...", self.prepare_pack)
            file_menu.addAction(self.pack_action)
        file_menu.addSeparator()
        file_menu.addAction(self._act("&Quit", window.close, QKeySequence.Quit))

        edit = mb.addMenu("&Edit")
        edit.addActions([self.undo, self.redo])
        search = mb.addMenu("&Search")
        search.addActions([self.search, self.negative])
        region = search.addMenu("&Region")
        region.addActions([self.region_all, self.region_rect, self.region_poly])
        view = mb.addMenu("&View")
        for dock in (window.left_dock, window.search_dock, window.right_dock, window.plot_dock):
            view.addAction(dock.toggleViewAction())
        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self._act("&About Terrafind", self.about))

        tb = QToolBar("Main", window)
        tb.setObjectName("mainToolbar")
        tb.setMovable(False)
        tb.addAction(self.open_file_action)
        tb.addSeparator()
        tb.addAction(self.search)
        tb.addAction(self.negative)
        tb.addSeparator()
        tb.addActions([self.undo, self.redo])
        tb.addSeparator()
        tb.addActions([self.region_rect, self.region_poly])
        tb.addSeparator()
        tb.addAction(self.export_hits_action)
        window.addToolBar(tb)
        self.toolbar = tb

    def _act(self, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self.w)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if slot is not None:
            action.triggered.connect(lambda checked=False: slot())
        return action

    def _on_negative_toggled(self, on: bool) -> None:
        self.w.status.showMessage(
            "Map clicks now add NEGATIVE examples." if on else "Map clicks add positive examples.", 5000
        )

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.w.settings.recent():
            self.recent_menu.addAction(path, lambda p=path: self.w.open_path(p))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none yet)").setEnabled(False)

    # --- dialogs ------------------------------------------------------------------------------------
    def _start_dir(self) -> str:
        return start_dir(self.w)

    def open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.w,
            "Open embeddings",
            self._start_dir(),
            "GeoParquet (*.parquet *.geoparquet);;Projects (*.terrafind)",
        )
        if path:
            self.w.open_path(path)

    def open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self.w, "Open a folder of GeoParquet files", self._start_dir()
        )
        if path:
            self.w.open_path(path)

    def open_project(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self.w, "Open project", self._start_dir(), "Projects (*.terrafind)"
        )
        if path:
            self.w.open_path(path)

    def save_project(self) -> None:
        if self.w.c.project_path:
            self._save(self.w.c.project_path)
        else:
            self.save_project_as()

    def save_project_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.w, "Save project", self._start_dir(), "Projects (*.terrafind)"
        )
        if path:
            self._save(path)

    def _save(self, path: str) -> None:
        try:
            self.w.c.save_project(path)
        except Exception as exc:  # noqa: BLE001
            self.w.c.report_error(exc)

    def export_hits(self) -> None:
        chosen = ask_save_path(self.w, "Export hits", "hits.geojson", EXPORT_FORMATS)
        if chosen:
            self.w.c.data.export_hits(*chosen)

    def export_labels(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self.w, "Export labels", str(Path(self._start_dir()) / "labels.geojson"), "GeoJSON (*.geojson)"
        )
        if path:
            self.w.c.data.export_labels(path)

    def create_embeddings(self) -> None:
        images, _ = QFileDialog.getOpenFileNames(
            self.w, "Imagery to embed", self._start_dir(), "GeoTIFF / COG (*.tif *.tiff *.vrt)"
        )
        if not images:
            return
        out, _ = QFileDialog.getSaveFileName(
            self.w,
            "Save the embeddings as",
            str(Path(images[0]).with_suffix(".parquet")),
            "GeoParquet (*.parquet)",
        )
        if out:
            self.w.c.data.embed(images, out)

    def prepare_pack(self) -> None:
        """A field pack of the chosen region, or of what the map shows when no region is chosen."""
        from terrafind.core.types import Region

        c = self.w.c
        region = c.region
        if region is None and self.w.view_bounds is not None and c.catalog is not None:
            vw, vs, ve, vn = self.w.view_bounds
            dw, ds, de, dn = c.catalog.bounds
            box = (max(vw, dw), max(vs, ds), min(ve, de), min(vn, dn))  # the view, clipped to the data
            if box[0] < box[2] and box[1] < box[3]:
                region = Region.from_bbox(*box)
        if region is None:
            c.message.emit("Open data and zoom the map to the area you need (or draw a region) first.")
            return
        folder = QFileDialog.getExistingDirectory(self.w, "Where to put the field pack", self._start_dir())
        if folder:
            name = Path(c.sources[0]).stem if c.sources else "terrafind"
            c.packs.prepare(str(Path(folder) / f"{name}-pack"), region)

    def about(self) -> None:
        text = (
            "<b>Terrafind</b> - search the Earth by example, offline.<br><br>"
            "Click a chip on the map, see every place like it, label the hits and export them."
        )
        demo = self.w.demo
        if demo is not None and getattr(demo, "attribution", ""):
            text += f"<br><br>Demo region: {demo.attribution}"
        QMessageBox.about(self.w, "About Terrafind", text)


def _set_tip(action: QAction, verb: str, text: str) -> None:
    # The undo stack outlives the window's actions at exit and still reports its text: skip dead ones.
    if shiboken6.isValid(action):
        action.setToolTip(f"{verb}: {text}" if text else verb)
