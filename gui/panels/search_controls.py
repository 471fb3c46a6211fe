"""Left bottom: how to search (mode, number of results, threshold), when (Search / Auto), and what a
map click adds (positive or negative example).

Setters (``set_params``, ``set_threshold``, ``set_negative_mode``) never emit: only a person changing a
control does, so the shell can mirror the plot's threshold line here without loops.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from terrafind.gui.panels.loss_filter import LossFilter
from terrafind.gui.panels.panel_style import NEGATIVE_COLOR, POSITIVE_COLOR, section_title

UNITS = [
    ("value", "score", "The line is a similarity (a probability after Refine)"),
    ("top", "top % of region", "The line keeps this share of the region's chips above it, in every search"),
]
# What scores are (terrafind.core.session_space): the tooltips say why a person would choose each.
SIMILARITIES = [
    (
        True,
        "centred on region",
        "Scores are cosines after the region's mean is taken away: what all chips share no longer counts, "
        "so scores spread over -1..1 and alike chips stand out (the default)",
    ),
    (
        False,
        "plain cosine",
        "Scores are plain cosines of the embeddings: in most models every chip scores near 1 against every "
        "other, so the line sits in a crowd",
    ),
]
MODES = [
    ("mean", "Mean of examples", "Find chips like the average of your positive examples"),
    ("max", "Best match", "Find chips close to any one of your positive examples"),
]


def _toggle_style(color: str) -> str:
    return (
        "QPushButton { padding: 3px 10px; }"
        f"QPushButton:checked {{ background: {color}; color: white; border: 1px solid {color};"
        " font-weight: bold; border-radius: 3px; }"
    )


class SearchControls(QWidget):
    """Search parameters as ``{"mode": "mean"|"max", "k": int, "threshold": float|None, "auto": bool}``."""

    params_changed = Signal(dict)
    search_requested = Signal()
    negative_mode_changed = Signal(bool)
    centred_changed = Signal(bool)  # a person chose what scores are: centred (True) or plain cosine

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode_combo = QComboBox(self)
        for i, (key, text, tip) in enumerate(MODES):
            self.mode_combo.addItem(text, key)
            self.mode_combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.k_spin = QSpinBox(self)
        self.k_spin.setRange(1, 10000)
        self.k_spin.setValue(200)
        self.k_spin.setSingleStep(50)
        self.k_spin.setKeyboardTracking(False)  # one change per edit, not one per digit typed
        self.threshold_check = QCheckBox(self)
        self.threshold_check.setToolTip("Use a minimum score")
        self.threshold_spin = QDoubleSpinBox(self)
        self.threshold_spin.setRange(-1.0, 1.0)
        self.threshold_spin.setDecimals(3)
        self.threshold_spin.setSingleStep(0.01)
        self.threshold_spin.setValue(0.5)
        self.threshold_spin.setKeyboardTracking(False)
        self.threshold_spin.setEnabled(False)
        self.threshold_spin.setToolTip("Hide results scoring below this (also: drag the line in the plot)")
        # The line as a value (similarity / probability) or as a share of the region ("top 1 %"): a share
        # means the same on any data and any model, and stays put from one search to the next.
        self.unit_combo = QComboBox(self)
        for key, text, tip in UNITS:
            self.unit_combo.addItem(text, key)
            self.unit_combo.setItemData(self.unit_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.unit_combo.setToolTip("Set the line as a score, or as the share of the region to keep")
        self._by = "score"
        self.similarity_combo = QComboBox(self)
        for i, (key, text, tip) in enumerate(SIMILARITIES):
            self.similarity_combo.addItem(text, key)
            self.similarity_combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.similarity_combo.setToolTip(SIMILARITIES[0][2])
        # The Clay v1 loss row, shown while the open data has a loss column (set_loss_scale).
        self.loss = LossFilter(self)
        self.positive_button = QPushButton("Positive", self)
        self.negative_button = QPushButton("Negative", self)
        self.click_group = QButtonGroup(self)
        for button, color in ((self.positive_button, POSITIVE_COLOR), (self.negative_button, NEGATIVE_COLOR)):
            button.setCheckable(True)
            button.setStyleSheet(_toggle_style(color.name()))
            self.click_group.addButton(button)
        self.positive_button.setChecked(True)
        self.negative_button.setToolTip("Map clicks add negative examples (or hold Shift while clicking)")
        self.auto_check = QCheckBox("Auto search", self)
        self.auto_check.setChecked(True)
        self.auto_check.setToolTip("Search again shortly after every change")
        # Unusual places, no examples needed: a menu of the window's two actions (set_unusual_actions)
        self.unusual_button = QToolButton(self)
        self.unusual_button.setText("Unusual places")
        self.unusual_button.setToolTip("Find unusual places, no examples needed (by loss or by novelty)")
        self.unusual_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.search_button = QPushButton("Search", self)
        self.search_button.setDefault(True)
        self.search_button.setMinimumWidth(96)
        self._build_layout()

        self.mode_combo.currentIndexChanged.connect(self._emit_params)
        self.k_spin.valueChanged.connect(self._emit_params)
        self.threshold_spin.valueChanged.connect(self._emit_params)
        self.threshold_check.toggled.connect(self._on_threshold_toggled)
        self.unit_combo.activated.connect(self._on_unit_chosen)
        self.similarity_combo.activated.connect(self._on_similarity_chosen)
        self.loss.changed.connect(self.params_changed)  # its own keys only: the rest stays as it is
        self.auto_check.toggled.connect(self._emit_params)
        self.search_button.clicked.connect(self.search_requested)
        self.negative_button.toggled.connect(self.negative_mode_changed)

    def _build_layout(self) -> None:
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        form.addRow("Mode", self.mode_combo)
        form.addRow("Results", self.k_spin)
        threshold = QHBoxLayout()
        threshold.addWidget(self.threshold_check)
        threshold.addWidget(self.threshold_spin, 1)
        threshold.addWidget(self.unit_combo)
        self.threshold_label = QLabel(
            "Min score", self
        )  # "Min probability" after Refine (terrafind.core.search.visible)
        form.addRow(self.threshold_label, threshold)
        form.addRow("Scores", self.similarity_combo)
        self.loss_label = QLabel("Loss", self)
        form.addRow(self.loss_label, self.loss)
        self._form, self._loss_row = form, form.rowCount() - 1
        form.setRowVisible(self._loss_row, False)
        clicks = QHBoxLayout()
        clicks.setSpacing(0)
        clicks.addWidget(self.positive_button)
        clicks.addWidget(self.negative_button)
        form.addRow("Click adds", clicks)
        actions = QHBoxLayout()
        actions.addWidget(self.auto_check)
        actions.addStretch(1)
        actions.addWidget(self.unusual_button)
        actions.addWidget(self.search_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(section_title("Search"))
        layout.addLayout(form)
        layout.addLayout(actions)
        layout.addStretch(1)

    # --- public API ---------------------------------------------------------------------------
    def params(self) -> dict:
        """What the controls say. The line is ``threshold`` (a value) or ``threshold_share`` (0..1 of
        the region, with the unit "top"), whichever unit is chosen."""
        on = self.threshold_check.isChecked()
        out = {
            "mode": self.mode_combo.currentData(),
            "k": int(self.k_spin.value()),
            "auto": self.auto_check.isChecked(),
            "threshold_unit": self.unit(),
        }
        if self.unit() == "top":
            out["threshold_share"] = float(self.threshold_spin.value()) / 100.0 if on else None
        else:
            out["threshold"] = float(self.threshold_spin.value()) if on else None
        return out

    def set_unusual_actions(self, menu) -> None:
        """The Search menu's Unusual places submenu, on the button beside Search."""
        self.unusual_button.setMenu(menu)

    def unit(self) -> str:
        return str(self.unit_combo.currentData())

    def set_loss_scale(self, low: float | None, high: float | None = None, metric: str = "loss") -> None:
        """The open data's loss spans [low, high] (``metric`` names it); None: it has none (row hidden)."""
        shown = low is not None and high is not None
        self._form.setRowVisible(self._loss_row, shown)
        if shown:
            self.loss.set_scale(float(low), float(high), metric)  # type: ignore[arg-type]
            self.loss_label.setText(f"Loss ({metric})" if metric and metric != "loss" else "Loss")

    def loss_shown(self) -> bool:
        return self._form.isRowVisible(self._loss_row)

    def set_params(self, params: dict) -> None:
        widgets = (
            self.mode_combo,
            self.k_spin,
            self.threshold_spin,
            self.threshold_check,
            self.auto_check,
            self.unit_combo,
        )
        for widget in widgets:
            widget.blockSignals(True)
        try:
            if "mode" in params:
                index = self.mode_combo.findData(params["mode"])
                if index < 0:
                    raise ValueError(f"unknown search mode {params['mode']!r}")
                self.mode_combo.setCurrentIndex(index)
            if "k" in params:
                self.k_spin.setValue(int(params["k"]))
            if "auto" in params:
                self.auto_check.setChecked(bool(params["auto"]))
            if "threshold_by" in params:
                by = params["threshold_by"]  # "change" for a comparison of dates (0..2)
                self._by = by if by in ("probability", "change") else "score"
                self.unit_combo.setItemText(0, self._by)
                if self.unit() != "top":
                    self._show_unit(self.unit())
            if "threshold_unit" in params:
                self._show_unit(str(params["threshold_unit"]))
            if "threshold_unit" in params or "threshold_by" in params:
                top = self.unit() == "top"
                self.threshold_label.setText("Keep" if top else f"Min {self._by}")
            if "threshold" in params or "threshold_share" in params:
                self._show_threshold(params.get("threshold"), params.get("threshold_share"))
            self.loss.set_params(params)
        finally:
            for widget in widgets:
                widget.blockSignals(False)

    def set_threshold(self, t: float | None, share: float | None = None) -> None:
        """Show the line: its value ``t`` and, for the unit "top", its ``share`` of the region."""
        self.set_params({"threshold": t, "threshold_share": share})

    def centred(self) -> bool:
        return bool(self.similarity_combo.currentData())

    def set_centred(self, on: bool) -> None:
        """Show what scores are (centred or plain cosine) without emitting."""
        self.similarity_combo.blockSignals(True)
        try:
            self.similarity_combo.setCurrentIndex(0 if on else 1)
            self.similarity_combo.setToolTip(SIMILARITIES[0 if on else 1][2])
        finally:
            self.similarity_combo.blockSignals(False)

    def negative_mode(self) -> bool:
        return self.negative_button.isChecked()

    def set_negative_mode(self, on: bool) -> None:
        """Reflect the click mode (e.g. a toolbar toggle) without emitting."""
        button = self.negative_button if on else self.positive_button
        self.negative_button.blockSignals(True)
        try:
            button.setChecked(True)
        finally:
            self.negative_button.blockSignals(False)

    # --- internals ----------------------------------------------------------------------------
    def _show_unit(self, unit: str) -> None:
        changed = unit != self.unit()
        self.unit_combo.setCurrentIndex(max(0, self.unit_combo.findData(unit)))
        spin = self.threshold_spin
        if unit == "top":
            spin.setRange(0.001, 100.0)
            spin.setDecimals(3)
            spin.setSingleStep(0.1)
            spin.setSuffix(" %")
            spin.setToolTip("Keep this share of the region's chips, the best first (also: drag the line)")
        else:
            spin.setSuffix("")
            spin.setRange(*{"probability": (0.0, 1.0), "change": (0.0, 2.0)}.get(self._by, (-1.0, 1.0)))
            spin.setDecimals(3)
            spin.setSingleStep(0.01)
            spin.setToolTip(f"Hide results below this {self._by} (also: drag the line in the plot)")
        if changed and not self.threshold_check.isChecked():  # a value that means something in the new unit
            spin.setValue(1.0 if unit == "top" else 0.5)

    def _show_threshold(self, t: float | None, share: float | None) -> None:
        on = (share if self.unit() == "top" else t) is not None
        self.threshold_check.setChecked(on)
        self.threshold_spin.setEnabled(on)
        if on and self.unit() == "top":
            self.threshold_spin.setValue(100.0 * float(share))  # type: ignore[arg-type]
        elif on:
            self.threshold_spin.setValue(float(t))  # type: ignore[arg-type]

    def _on_unit_chosen(self, _i: int) -> None:
        # Only the unit: the line stays where it is and the controller says what it is in the new unit.
        self.threshold_spin.blockSignals(True)
        try:
            self._show_unit(self.unit())
            self.threshold_label.setText("Keep" if self.unit() == "top" else f"Min {self._by}")
        finally:
            self.threshold_spin.blockSignals(False)
        self.params_changed.emit({"threshold_unit": self.unit()})

    def _on_similarity_chosen(self, _i: int) -> None:
        self.similarity_combo.setToolTip(SIMILARITIES[self.similarity_combo.currentIndex()][2])
        self.centred_changed.emit(self.centred())

    def _on_threshold_toggled(self, on: bool) -> None:
        self.threshold_spin.setEnabled(on)
        self._emit_params()

    def _emit_params(self, *_args: object) -> None:
        self.params_changed.emit(self.params())


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
