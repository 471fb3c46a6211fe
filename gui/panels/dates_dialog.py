"""File > Open several dates: files or folders of one region, each with the date it shows.

Each line is a file or a folder and its date, filled in with the date the file states (its date column, its
footer, its name) and editable: a year (2020), a month (2020-06) or a day (2020-06-15). Files that state
their dates can also simply be opened together (File > Open file...); this dialog is for those that do not,
or state them wrongly.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from terrafind.core.errors import InputError
from terrafind.gui.panels.panel_style import ERROR_COLOR, hint_label

__all__ = ["DatesDialog", "detected_date"]


def detected_date(path: str) -> str:
    """The date a file (or the files of a folder) states, or "" when it states none or several."""
    from terrafind.core.dates.detect import file_date
    from terrafind.core.read.sources import resolve_paths

    try:
        labels = {file_date(p).label for _, p in resolve_paths([path])}
    except InputError:
        return ""
    return str(labels.pop()) if len(labels) == 1 and None not in labels else ""


class DatesDialog(QDialog):
    """See the module docstring; :meth:`result_paths` after ``exec()``."""

    def __init__(self, parent=None, start: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Open several dates of one region")
        self.start = start
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["File or folder", "Date (2020, 2020-06 or 2020-06-15)"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()
        add_files = QPushButton("Add files...", self)
        add_folder = QPushButton("Add a folder...", self)
        remove = QPushButton("Remove", self)
        self.error = hint_label("", self, color=ERROR_COLOR)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        row = QHBoxLayout()
        row.addWidget(add_files)
        row.addWidget(add_folder)
        row.addWidget(remove)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(hint_label(
            "Add the embeddings of each date (a file, or a folder of files of one date) and check their dates. "
            "Chips are matched across dates by id, or by place when the ids differ."
        ))  # fmt: skip
        lay.addWidget(self.table, 1)
        lay.addLayout(row)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        add_files.clicked.connect(self._add_files)
        add_folder.clicked.connect(self._add_folder)
        remove.clicked.connect(lambda: self.table.removeRow(self.table.currentRow()))
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        self.resize(720, 360)
        self._paths: list[str] = []
        self._dates: dict[str, str] = {}

    def add(self, path: str, date: str | None = None) -> None:
        """A line for ``path``, its date as detected unless ``date`` is given."""
        n = self.table.rowCount()
        self.table.insertRow(n)
        name = QTableWidgetItem(path)
        name.setToolTip(path)
        self.table.setItem(n, 0, name)
        self.table.setItem(n, 1, QTableWidgetItem(detected_date(path) if date is None else date))

    def _add_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Embeddings of one or more dates", self.start, "GeoParquet (*.parquet *.gpq *.geoparquet)"
        )
        for f in files:
            self.add(f)
            self.start = str(Path(f).parent)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "A folder of one date's embeddings", self.start)
        if folder:
            self.add(folder)

    def _accept(self) -> None:
        from terrafind.core.dates.detect import check_label

        paths, dates = [], {}
        try:
            for n in range(self.table.rowCount()):
                path = self.table.item(n, 0).text().strip()
                text = (self.table.item(n, 1).text() if self.table.item(n, 1) else "").strip()
                if not text:
                    raise InputError(f"Give the date of {Path(path).name} (a year, a month or a day).")
                dates[path] = check_label(text)
                paths.append(path)
        except InputError as exc:
            self.error.setText(exc.message)
            return
        if len(set(dates.values())) < 2:
            self.error.setText(
                "Give at least two different dates: one date alone opens as usual (File > Open)."
            )
            return
        self._paths, self._dates = paths, dates
        self.accept()

    def result_paths(self) -> tuple[list[str], dict[str, str]]:
        """(paths to open, {path: date}) of an accepted dialog."""
        return list(self._paths), dict(self._dates)
