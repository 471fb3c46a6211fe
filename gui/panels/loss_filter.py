"""The loss row of the search controls: show hits in a range of loss, colour the map by loss.

The Clay v1 layout of the seeds gives every chip a ``loss`` (terrafind.core.read.v1): clouds and plain
water reconstruct with low loss, unusual places with high loss. The row is shown only while the open data
has one (:meth:`LossFilter.set_scale`). Setters never emit; a person changing a control does.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

__all__ = ["LossFilter"]


class LossFilter(QWidget):
    """``params()``: {"loss_min", "loss_max" (None: no filter), "colour_by": "auto" | "loss"}."""

    changed = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = QCheckBox(self)
        self.check.setToolTip("Show only hits whose loss lies in this range")
        self.min_spin = QDoubleSpinBox(self)
        self.max_spin = QDoubleSpinBox(self)
        for spin, tip in ((self.min_spin, "lowest loss shown"), (self.max_spin, "highest loss shown")):
            spin.setDecimals(4)
            spin.setKeyboardTracking(False)
            spin.setEnabled(False)
            spin.setToolTip(f"The {tip} (low: clouds and plain water; high: unusual places)")
        self.colour_check = QCheckBox("Colour map by loss", self)
        self.colour_check.setToolTip(
            "Colour the hits on the map by their loss instead of their share of the region"
        )
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.check)
        row.addWidget(self.min_spin, 1)
        row.addWidget(QLabel("to", self))
        row.addWidget(self.max_spin, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addLayout(row)
        lay.addWidget(self.colour_check)
        self.metric = "loss"
        self.check.toggled.connect(self._on_toggled)
        self.min_spin.valueChanged.connect(self._emit)
        self.max_spin.valueChanged.connect(self._emit)
        self.colour_check.toggled.connect(self._emit)

    def params(self) -> dict:
        on = self.check.isChecked()
        return {
            "loss_min": float(self.min_spin.value()) if on else None,
            "loss_max": float(self.max_spin.value()) if on else None,
            "colour_by": "loss" if self.colour_check.isChecked() else "auto",
        }

    def set_scale(self, low: float, high: float, metric: str = "loss") -> None:
        """The open data's losses span [low, high]; the range starts as all of it."""
        self.metric = metric or "loss"
        step = max(1e-4, (float(high) - float(low)) / 50.0)
        widgets = (self.min_spin, self.max_spin)
        for spin in widgets:
            spin.blockSignals(True)
        try:
            for spin in widgets:
                spin.setRange(float(low), float(high))
                spin.setSingleStep(step)
            self.min_spin.setValue(float(low))
            self.max_spin.setValue(float(high))
        finally:
            for spin in widgets:
                spin.blockSignals(False)

    def set_params(self, params: dict) -> None:
        """Reflect the session's loss range and colouring without emitting."""
        widgets = (self.check, self.min_spin, self.max_spin, self.colour_check)
        for w in widgets:
            w.blockSignals(True)
        try:
            if "loss_min" in params or "loss_max" in params:
                lo, hi = params.get("loss_min"), params.get("loss_max")
                on = lo is not None or hi is not None
                self.check.setChecked(on)
                self.min_spin.setEnabled(on)
                self.max_spin.setEnabled(on)
                if lo is not None:
                    self.min_spin.setValue(float(lo))
                if hi is not None:
                    self.max_spin.setValue(float(hi))
            if "colour_by" in params:
                self.colour_check.setChecked(params["colour_by"] == "loss")
        finally:
            for w in widgets:
                w.blockSignals(False)

    def _on_toggled(self, on: bool) -> None:
        self.min_spin.setEnabled(on)
        self.max_spin.setEnabled(on)
        self._emit()

    def _emit(self, *_args: object) -> None:
        self.changed.emit(self.params())
