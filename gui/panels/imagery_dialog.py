"""File > Imagery for thumbnails and basemap...: the dialog.

State and jobs live in :class:`terrafind.gui.flows.imagery_flow.ImageryFlow` (``window.c.imagery``); the
dialog only asks and shows. The choice is validated there; a refusal comes back as a sentence under the
field.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
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

__all__ = ["ImageryDialog"]


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
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)  # a refusal quotes the path or address
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
        why = self.flow.explanation  # the sentence the status bar and the Data panel show too
        self.current_label.setText(f"Now: {why.sentence}" if why is not None else "Now: no data is open.")
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
