"""The "Over time" panel: what changed, what is new, which dates a search learns from, and whether a
detector travels to another date. The timeline plot sits under it (:mod:`terrafind.gui.results.timeline`).

The panel only asks; the controller's dates flow runs the work and the one ResultsPresenter shows the
outcome (map, histogram with its line, gallery with before/after tiles, sites).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terrafind.gui.panels.panel_style import hint_label, section_title

__all__ = ["ChangePanel"]


class ChangePanel(QWidget):
    """See the module docstring. Signals carry date labels."""

    change_requested = Signal(str, str, str)  # before, after, kind ("change" | "history")
    new_requested = Signal(str)  # since
    learn_from_changed = Signal(object)  # list[str] | None (None: every date)
    check_requested = Signal(str)  # the date to hold out

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._labels: list[str] = []
        self._quiet = False
        self.before = QComboBox(self)
        self.after = QComboBox(self)
        self.history = QCheckBox("Unusual for its own history (against all other dates)", self)
        self.history.setToolTip(
            "Rank the chips of the date on the map by how far they are from their other dates,\n"
            "beyond how much they usually move (needs three or more dates)"
        )
        self.change_button = QPushButton("Show what changed", self)
        self.since = QComboBox(self)
        self.new_button = QPushButton("Show new", self)
        self.new_button.setToolTip(
            "Chips that look like your examples on the date on the map\nand did not on the chosen earlier date"
        )
        self.learn_list = QListWidget(self)
        self.learn_list.setMaximumHeight(96)
        self.learn_list.setToolTip(
            "Searches and Refine learn from the examples and labels of the checked dates"
        )
        self.hold_out = QComboBox(self)
        self.check_button = QPushButton("Check", self)
        self.check_button.setToolTip(
            "Train on the labels of the other checked dates and measure the detector\non the labels of this date"
        )
        self.check_result = hint_label("", self)
        self.empty = hint_label(
            "Open files of two or more dates of one region (or File > Open demo region > Pucallpa 1985-2020) "
            "to compare dates.",
            self,
        )
        for combo in (self.before, self.after, self.since, self.hold_out):
            # a date is short: the combos may shrink to it, so the panel fits a narrow dock
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(5)
        self.history.setText("Unusual for its own history")
        self._build()
        self.change_button.clicked.connect(self._ask_change)
        self.new_button.clicked.connect(lambda: self.new_requested.emit(self.since.currentData() or ""))
        self.check_button.clicked.connect(
            lambda: self.check_requested.emit(self.hold_out.currentData() or "")
        )
        self.learn_list.itemChanged.connect(self._on_learn_item)
        self.history.toggled.connect(self._sync_history)
        self.set_dates([], None)

    def _build(self) -> None:
        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.addWidget(QLabel("From", self), 0, 0)
        grid.addWidget(self.before, 0, 1)
        grid.addWidget(QLabel("to", self), 0, 2)
        grid.addWidget(self.after, 0, 3)
        new_row = QHBoxLayout()
        new_row.addWidget(QLabel("New since", self))
        new_row.addWidget(self.since, 1)
        new_row.addWidget(self.new_button)
        check_row = QHBoxLayout()
        check_row.addWidget(QLabel("Check on", self))
        check_row.addWidget(self.hold_out, 1)
        check_row.addWidget(self.check_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        lay.addWidget(self.empty)
        self.body = QWidget(self)
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(6)
        body.addWidget(section_title("What changed"))
        body.addLayout(grid)
        body.addWidget(self.history)
        body.addWidget(self.change_button)
        body.addWidget(section_title("What is new"))
        body.addLayout(new_row)
        body.addWidget(section_title("A detector across dates"))
        body.addWidget(hint_label("Learn from the examples and labels of:"))
        body.addWidget(self.learn_list)
        body.addLayout(check_row)
        body.addWidget(self.check_result)
        lay.addWidget(self.body)
        lay.addStretch(1)

    # --- state from the session ----------------------------------------------------------------------
    def set_dates(self, labels: list[str], current: str | None, learn_from: list[str] | None = None) -> None:
        """The region's dates, the one on the map and the dates searches learn from."""
        self._quiet = True
        try:
            if labels != self._labels:
                for combo in (self.before, self.after, self.since, self.hold_out):
                    combo.clear()
                    for lab in labels:
                        combo.addItem(lab, lab)
                self.learn_list.clear()
                for lab in labels:
                    item = QListWidgetItem(lab, self.learn_list)
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                self._labels = list(labels)
                if labels:
                    self.before.setCurrentIndex(0)
            if labels and current in labels:
                i = labels.index(current)
                self.after.setCurrentIndex(i if i > 0 else len(labels) - 1)
                self.since.setCurrentIndex(max(0, i - 1))
                self.hold_out.setCurrentIndex(i)
            for n in range(self.learn_list.count()):
                item = self.learn_list.item(n)
                on = learn_from is None or item.text() in learn_from
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
        finally:
            self._quiet = False
        dated = len(labels) >= 2
        self.empty.setVisible(not dated)
        self.body.setVisible(dated)
        self.history.setEnabled(len(labels) >= 3)
        self._sync_history(self.history.isChecked())

    def set_check_result(self, text: str) -> None:
        self.check_result.setText(text)

    # --- asking --------------------------------------------------------------------------------------
    def _sync_history(self, on: bool) -> None:
        self.before.setEnabled(not on)
        self.change_button.setText("Show what is unusual" if on else "Show what changed")

    def _ask_change(self) -> None:
        kind = "history" if self.history.isChecked() and self.history.isEnabled() else "change"
        self.change_requested.emit(self.before.currentData() or "", self.after.currentData() or "", kind)

    def _on_learn_item(self, _item: QListWidgetItem) -> None:
        if self._quiet:
            return
        checked = [
            self.learn_list.item(n).text()
            for n in range(self.learn_list.count())
            if self.learn_list.item(n).checkState() == Qt.CheckState.Checked
        ]
        self.learn_from_changed.emit(None if len(checked) == len(self._labels) else checked)
