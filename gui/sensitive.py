"""File > Sensitive places: mark a project sensitive, unlock precise coordinates for a session, export
hits, sites or labels blurred to a grid, and share labels without coordinates (core.session_sensitive,
core.export.blur). What each entry asks before it acts; the work goes to the controller and its flows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QRadioButton,
    QVBoxLayout,
)

from terrafind.core.export.blur import BLUR_CHOICES_KM
from terrafind.gui import errors

__all__ = ["PrecisionDialog", "ask_precision", "export", "share_labels", "mark", "unlock"]

LOCKED_NOTE = (
    "Locked: this project is marked sensitive. Unlock precise coordinates first (File > Sensitive places)."
)


class PrecisionDialog(QDialog):
    """How precisely places leave the app: exact, or snapped to a grid of 1, 5 or 10 km."""

    def __init__(self, parent, what: str, *, locked: bool, blurred: bool = False):
        super().__init__(parent)
        self.setWindowTitle(f"Export {what}")
        lay = QVBoxLayout(self)
        head = QLabel(f"How precisely should the places of the {what} be written?", self)
        lay.addWidget(head)
        self.exact = QRadioButton("Exact places (chip outlines, ids, dates, thumbnails' sources)", self)
        self.blur = QRadioButton("Blurred to a grid: places snapped to cells of", self)
        self.km = QComboBox(self)
        for km in BLUR_CHOICES_KM:
            self.km.addItem(f"{km:g} km", km)
        self.km.setCurrentIndex(1)
        note = QLabel(
            "Blurred files leave out ids, dates, image files and examples; each cell says how many hits it holds.",
            self,
        )
        note.setWordWrap(True)
        group = QButtonGroup(self)
        group.addButton(self.exact)
        group.addButton(self.blur)
        lay.addWidget(self.exact)
        lay.addWidget(self.blur)
        lay.addWidget(self.km)
        lay.addWidget(note)
        self.locked_label = QLabel(LOCKED_NOTE, self)
        self.locked_label.setWordWrap(True)
        self.locked_label.setStyleSheet("color: #8a6d3b;")
        self.locked_label.setVisible(locked)
        lay.addWidget(self.locked_label)
        self.exact.setEnabled(not locked)
        (self.blur if locked or blurred else self.exact).setChecked(True)
        self.blur.toggled.connect(self.km.setEnabled)
        self.km.setEnabled(self.blur.isChecked())
        for label in (head, note, self.locked_label):
            label.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def blur_km(self) -> float | None:
        return float(self.km.currentData()) if self.blur.isChecked() else None


# Tests (and the self test) replace this: (window, what, locked, blurred) -> ("ok", km) or None
chooser = None


def ask_precision(window, what: str, *, blurred: bool = False) -> tuple[bool, float | None]:
    """(go on, blur_km): asked when blurring was chosen or the project is sensitive and locked."""
    locked = not window.c.session.precise_allowed()
    if not (blurred or locked):
        return True, None
    if chooser is not None:
        answer = chooser(window, what, locked, blurred)
        return (answer is not None, answer[1] if answer else None)
    dialog = PrecisionDialog(window, what, locked=locked, blurred=blurred)
    window.precision_dialog = dialog  # tests and screenshots reach it
    if dialog.exec() != QDialog.Accepted:
        return False, None
    return True, dialog.blur_km()


def export(window, what: str, *, blurred: bool = False) -> None:
    """Export hits / sites / labels: precision first when it matters, then where and in which format."""
    from terrafind.core.export.formats import file_filters
    from terrafind.gui.dialogs import DEFAULT_NAMES, ask_save_path

    go, km = ask_precision(window, what, blurred=blurred)
    if not go:
        return
    title = {"hits": "Export hits", "sites": "Export sites", "labels": "Export labels"}[what]
    name = DEFAULT_NAMES[what].replace(".geojson", f"-{km:g}km.geojson" if km else ".geojson")
    chosen = ask_save_path(window, title, name, file_filters())
    if chosen:
        window.c.data.export(what, *chosen, blur_km=km)


def share_labels(window) -> None:
    """File > Sensitive places > Share labels without coordinates: labels and embeddings only (.parquet)."""
    from pathlib import Path

    from terrafind.gui.dialogs import remember_folder, start_dir

    c = window.c
    if not (c.session.examples or c.session.labels):
        c.say("There are no examples or labels to share yet.")
        return
    path, _ = QFileDialog.getSaveFileName(
        window, "Share labels without coordinates", str(Path(start_dir(window)) / "labels-no-places.parquet"),
        "Label set (*.parquet)",
    )  # fmt: skip
    if not path:
        return
    remember_folder(window, path)
    if not path.lower().endswith(".parquet"):
        path += ".parquet"
    try:
        written, count = c.session.export_label_set(path)
    except Exception as exc:  # noqa: BLE001 - one sentence in the message bar
        c.report_error(exc)
        return
    c.say(f"Wrote {count} labels without coordinates (labels and embeddings only) to {written}.")


def mark(window, on: bool) -> None:
    """Mark the project sensitive (or not)."""
    window.c.mark_sensitive(on)


def unlock(window) -> None:
    """Unlock precise coordinates for this session, after the person confirmed it."""
    c = window.c
    if c.session.precise_allowed():
        return
    if errors.ask(
        window,
        "Unlock precise coordinates",
        "This project is marked sensitive. Unlocking lets exact places leave Terrafind (exports, field packs) "
        "until you close it. People can be hurt when sensitive places leak. Unlock for this session?",
    ):
        c.unlock_precise()
