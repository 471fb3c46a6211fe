"""File > Imagery for thumbnails and basemap...: the dialog, a line in the Data panel, and the imagery
basemap shown on the map for any dataset with local imagery. Installed by ``install_imagery(window)``.

State and jobs live in :class:`terrafind.gui.flows.imagery_flow.ImageryFlow` (``window.c.imagery``); this module only
asks and shows. The demo region and a field pack bring their own basemap, so none is made for them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terrafind.gui.panels.panel_style import ERROR_COLOR, hint_label

__all__ = ["ImageryDialog", "ImageryUi", "install_imagery", "short_name"]

MENU_TEXT = "&Imagery for thumbnails and basemap..."


def short_name(value: str | None) -> str:
    """A few words for a label: the file or folder name, or the host of a URL."""
    if not value:
        return "none configured"
    if "://" in value:
        host = value.split("://", 1)[1].split("/", 1)[0]
        return f"tiles from {host}" if "{z}" in value else f"{Path(value).name} on {host}"
    return Path(value).name or value


class ImageryDialog(QDialog):
    """Choose a COG/VRT file, a folder of COGs, or type an XYZ/URL template; Clear removes the choice."""

    def __init__(self, flow, parent: QWidget | None = None, start_dir: str = ""):
        super().__init__(parent)
        self.flow = flow
        self.start_dir = start_dir
        self.setWindowTitle("Imagery for thumbnails and basemap")
        self.current_label = QLabel(self)
        self.current_label.setWordWrap(True)
        self.current_label.setTextFormat(Qt.TextFormat.PlainText)  # a path is text, never HTML
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("A COG or VRT file, a folder of COGs, or https://.../{z}/{x}/{y}.png")
        self.edit.setMinimumWidth(460)
        self.file_button = QPushButton("File…", self)
        self.folder_button = QPushButton("Folder…", self)
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setToolTip("Use no imagery for this data")
        self.problem_label = hint_label("", color=ERROR_COLOR)
        self.problem_label.hide()
        hint = hint_label(
            "Thumbnails are cut from this imagery for chips without their own source. Local files also "
            "give an offline imagery basemap; a tile service (URL template) gives thumbnails only, as its "
            "tiles may not be downloaded in bulk."
        )
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)

        row = QHBoxLayout()
        row.addWidget(self.edit, 1)
        row.addWidget(self.file_button)
        row.addWidget(self.folder_button)
        row.addWidget(self.clear_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.current_label)
        lay.addLayout(row)
        lay.addWidget(self.problem_label)
        lay.addWidget(hint)
        lay.addWidget(self.buttons)

        self.file_button.clicked.connect(self._pick_file)
        self.folder_button.clicked.connect(self._pick_folder)
        self.clear_button.clicked.connect(self._clear)
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        self.edit.textEdited.connect(lambda _t: self.problem_label.hide())
        flow.refused.connect(self._on_refused)
        self.show_current()

    def show_current(self) -> None:
        value = self.flow.value
        self.current_label.setText(
            f"Now: {value}" if value else "Now: no imagery is configured for this data."
        )
        self.edit.setText(value or "")
        self.problem_label.hide()

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Imagery file", self.start_dir, "GeoTIFF / COG / VRT (*.tif *.tiff *.vrt);;All files (*)"
        )
        if path:
            self.edit.setText(path)

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A folder of COGs (a mosaic)", self.start_dir)
        if path:
            self.edit.setText(path)

    def _clear(self) -> None:
        self.edit.clear()
        self._ok()

    def _ok(self) -> None:
        if self.flow.choose(self.edit.text()):
            self.accept()

    def _on_refused(self, text: str) -> None:
        if self.isVisible():
            self.problem_label.setText(text)
            self.problem_label.show()
            self.adjustSize()  # wrapped labels need the room: the dialog grows instead of clipping them


class ImageryUi:
    """The menu action, the Data panel line and the basemap glue of one window."""

    def __init__(self, window):
        self.w = w = window
        self.flow = flow = w.c.imagery
        self.dialog: ImageryDialog | None = None
        self._shown_basemap = False  # whether the map's imagery layer is one this module made
        self._refusal = ""  # the last refusal sentence, taken off the message bar once a choice is taken
        self.action = QAction(MENU_TEXT, w)
        self.action.setToolTip("Imagery the thumbnails and the offline basemap are made from")
        self.action.triggered.connect(lambda checked=False: self.open_dialog())
        file_menu = next(
            (
                a.menu()
                for a in w.menuBar().actions()
                if a.menu() and a.menu().title().replace("&", "") == "File"
            ),
            None,
        )
        if file_menu is not None:
            before = w.actions.pack_action or w.actions.embed_action  # next to the other imagery actions
            if before is not None:
                file_menu.insertAction(before, self.action)
            else:
                file_menu.addAction(self.action)

        # A line in the Data panel, under what is loaded (inserted: dataset_panel.py needs no change).
        self.panel_label = hint_label("Imagery: none configured")
        self.panel_button = QPushButton("Imagery…", w.dataset_panel)
        self.panel_button.setToolTip(self.action.toolTip())
        self.panel_button.clicked.connect(self.open_dialog)
        line = QWidget(w.dataset_panel)
        row = QHBoxLayout(line)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.panel_label, 1)
        row.addWidget(self.panel_button)
        lay = w.dataset_panel.layout()
        lay.insertWidget(lay.indexOf(w.dataset_panel.problems_label) + 1, line)
        self.panel_line = line

        flow.imagery_changed.connect(self._on_imagery_changed)
        flow.refused.connect(lambda text: setattr(self, "_refusal", text))
        flow.basemap_ready.connect(self._on_basemap_ready)
        w.c.packs.pack_opened.connect(lambda info: setattr(self, "_shown_basemap", False))

    def open_dialog(self) -> None:
        c = self.w.c
        if c.catalog is None:
            c.message.emit("Open data first, then choose the imagery for it.")
            return
        if self.dialog is None:
            start = str(Path(c.sources[0]).parent) if c.sources else ""
            self.dialog = ImageryDialog(self.flow, self.w, start)
        self.dialog.show_current()
        self.dialog.open()  # window-modal, without a nested event loop

    def _on_imagery_changed(self, value) -> None:
        c = self.w.c
        own = c.catalog is not None and "source_url" in c.catalog.attributes.column_names
        text = short_name(value) if value or not own else "from the data (source_url)"
        self.panel_label.setText(f"Imagery: {text}")
        self.panel_label.setToolTip(value or "")
        if self._refusal and self.w.message_bar.text() == self._refusal:
            self.w.message_bar.dismiss()  # the refused choice was replaced by one that was taken
        self._refusal = ""
        # After the open finished (demo_ready and pack_opened come in the same call): then decide.
        QTimer.singleShot(0, self._maybe_basemap)

    def _maybe_basemap(self) -> None:
        w = self.w
        pack = w.c.pack
        if w.demo is not None or (pack is not None and pack.mbtiles_path is not None):
            w.c.runner.cancel("basemap")  # they bring their own basemap
            return
        self.flow.make_basemap()

    def _on_basemap_ready(self, path: str, bounds, attribution: str) -> None:
        if not path:
            if self._shown_basemap:
                self.w.map_view.set_imagery_basemap(None)
                self._shown_basemap = False
            return
        self.w._imagery_basemap(path, bounds, attribution)
        self._shown_basemap = True


def install_imagery(window) -> ImageryUi:
    return ImageryUi(window)
