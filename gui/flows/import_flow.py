"""File > Import places...: a CSV, GeoJSON, KML, GPX or shapefile of places as examples or masks.

Reading the file and finding the chips under its places run in workers (a shapefile goes through GDAL; a
polygon mask may touch thousands of chips). The person chooses what the places are: positives,
negatives, chips to exclude from every search, or whatever the file's status column says (a field
verification file: confirmed / rejected / not visited). The outcome lands as ONE undoable step.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QButtonGroup, QDialog, QDialogButtonBox, QLabel, QRadioButton, QVBoxLayout

__all__ = ["ImportFlow", "ImportDialog", "PlacesCommand", "summary", "CHOICES", "PLACE_FILTER"]

PLACE_FILTER = (
    "Places (*.csv *.txt *.tsv *.geojson *.json *.kml *.kmz *.gpx *.shp *.zip *.gpkg *.fgb);;All files (*)"
)
CHOICES = [
    ("status", "Use the file's status column (confirmed / rejected / not visited)"),
    ("positive", "As positives: places like the ones I look for"),
    ("negative", "As negatives: places that are NOT what I look for"),
    ("exclude", "Exclude: never show chips under these places (towns, known sites)"),
]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary(n_places: int, imported) -> str:
    """ "12 places → 9 positives, 2 negatives; 1 not on any chip" (terrafind.core.read.places.ImportedLabels)."""
    parts = []
    if imported.positives:
        parts.append(_plural(len(imported.positives), "positive"))
    if imported.negatives:
        parts.append(_plural(len(imported.negatives), "negative"))
    if imported.exclude:
        parts.append(f"{_plural(len(imported.exclude), 'chip')} excluded")
    text = f"{_plural(n_places, 'place')} → {', '.join(parts) if parts else 'no chips'}"
    if imported.unmatched:
        text += f"; {imported.unmatched} not on any chip"
    if imported.skipped:
        text += f"; {imported.skipped} skipped (not visited or no status)"
    if imported.unknown_words:
        text += f" (unknown status words: {', '.join(imported.unknown_words[:3])})"
    return text


class PlacesCommand(QUndoCommand):
    """Examples and masked chips from one imported file, undone and redone as one step."""

    def __init__(self, controller, example_changes: dict[int, tuple], new_masked: set[int], text: str):
        super().__init__(text)
        self.c = controller
        self.changes = example_changes  # row -> (old kind | None, new kind)
        self.old_masked = set(controller.session.masked)
        self.new_masked = set(new_masked)

    def redo(self) -> None:
        self.c.set_places({r: new for r, (_old, new) in self.changes.items()}, self.new_masked)

    def undo(self) -> None:
        self.c.set_places({r: old for r, (old, _new) in self.changes.items()}, self.old_masked)


class ImportDialog(QDialog):
    """Asks what the places of a file are; ``choice()`` is a key of CHOICES."""

    def __init__(self, parent, name: str, n_places: int, has_status: bool):
        super().__init__(parent)
        self.setWindowTitle("Import places")
        lay = QVBoxLayout(self)
        title = QLabel(f"{name}: {_plural(n_places, 'place')}. Import them as:", self)
        title.setTextFormat(Qt.TextFormat.PlainText)  # the file's name is the sender's choice
        lay.addWidget(title)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, text in CHOICES:
            button = QRadioButton(text, self)
            if key == "status" and not has_status:
                button.setEnabled(False)
                button.setToolTip("This file has no status words such as confirmed or rejected.")
            self.group.addButton(button)
            self.buttons[key] = button
            lay.addWidget(button)
        self.buttons["status" if has_status else "positive"].setChecked(True)
        box = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        box.accepted.connect(self.accept)
        box.rejected.connect(self.reject)
        lay.addWidget(box)

    def choice(self) -> str:
        return next(k for k, b in self.buttons.items() if b.isChecked())


def _ask(parent, path: str, places) -> str | None:
    has_status = any(p.status is not None for p in places)
    dialog = ImportDialog(parent, Path(path).name, len(places), has_status)
    return dialog.choice() if dialog.exec() == QDialog.Accepted else None


class ImportFlow(QObject):
    """Import places into the controller's session: examples and masked chips."""

    imported = Signal(str)  # the summary sentence of a finished import

    def __init__(self, controller, runner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.parent_widget = None  # the window, for the dialog
        # (parent, path, places) -> a CHOICES key or None; tests replace it so no dialog blocks
        self.chooser: Callable[..., str | None] = _ask
        self.last_summary = ""

    def import_places(self, path: str, how: str | None = None) -> bool:
        """Read ``path`` (a job), ask what its places are unless ``how`` says, then label in a second job."""
        c = self.c
        if c.session.catalog is None:
            c.say("Open a file first, then import places onto its chips.")
            return False

        def read(progress, cancel):
            from terrafind.core.read.places import read_places

            return read_places(path)

        self.runner.start(
            "import",
            read,
            label=f"Reading {Path(path).name}",
            on_done=lambda places: self._read(path, places, how),
            on_error=c.report_error,
        )
        return True

    def _read(self, path: str, places, how: str | None) -> None:
        c = self.c
        if not places:
            c.say(f"{Path(path).name} holds no places.")
            return
        how = how or self.chooser(self.parent_widget, path, places)
        if how is None:
            return
        if how == "status" and not any(p.status is not None for p in places):
            c.say(
                f"{Path(path).name} has no status words such as confirmed or rejected; "
                "import it as positives, negatives or exclude."
            )
            return
        catalog = c.session.catalog
        snap_m = c.session.snap_m()  # a place on no chip takes the nearest chip this near

        def label(progress, cancel):
            from dataclasses import replace

            from terrafind.core.read.places import places_to_labels

            chosen = places
            if how != "status":  # the person's choice beats any status column the file has
                chosen = [replace(p, status=None, raw_status=None) for p in places]
            return places_to_labels(
                catalog, chosen, default="positive" if how == "status" else how, snap_m=snap_m
            )

        self.runner.start(
            "import",
            label,
            label=f"Finding the chips under {Path(path).name}",
            on_done=lambda imported: self._apply(path, len(places), imported, catalog),
            on_error=c.report_error,
        )

    def _apply(self, path: str, n_places: int, imported, catalog) -> None:
        c, session = self.c, self.c.session
        if catalog is not session.catalog:  # another file was opened meanwhile: these rows mean nothing now
            return
        changes: dict[int, tuple] = {}
        for kind, rows in (("positive", imported.positives), ("negative", imported.negatives)):
            for row in rows:
                if session.examples.get(row) != kind:
                    changes[row] = (session.examples.get(row), kind)
        masked = set(session.masked) | set(imported.exclude)
        text = summary(n_places, imported)
        if changes or masked != set(session.masked):
            c.undo_stack.push(PlacesCommand(c, changes, masked, f"Import {Path(path).name}"))
        self.last_summary = text
        c.say(text)
        self.imported.emit(text)  # the window shows it in the message bar: the status line soon changes
