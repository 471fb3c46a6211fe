"""What "Improve automatically..." asks first: how many rounds, how many chips a round, how far from your
sites, and whether to take the chips as negatives without asking (terrafind.core.search.rounds)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

__all__ = ["ImproveOptions", "ImproveDialog"]


@dataclass
class ImproveOptions:
    max_rounds: int = 5
    per_round: int = 10
    far_m: float = 0.0
    auto: bool = False


class ImproveDialog(QDialog):
    def __init__(self, chip_m: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Improve automatically")
        intro = QLabel(
            "Each round offers the hits the detector is surest about far from your confirmed sites. "
            "Mark them Yes or Not this, and the detector learns from them. The rounds stop when its "
            "estimate stops improving.",
            self,
        )
        intro.setWordWrap(True)
        self.rounds_spin = QSpinBox(self)
        self.rounds_spin.setRange(1, 20)
        self.rounds_spin.setValue(5)
        self.per_round_spin = QSpinBox(self)
        self.per_round_spin.setRange(1, 200)
        self.per_round_spin.setValue(10)
        self.far_spin = QSpinBox(self)
        self.far_spin.setRange(0, 1_000_000)
        self.far_spin.setSingleStep(100)
        self.far_spin.setSuffix(" m")
        self.far_spin.setValue(int(round(3 * chip_m)))
        self.far_spin.setToolTip("Hits nearer a confirmed site than this are left alone (default: 3 chips)")
        self.auto_check = QCheckBox("Take them as negatives without asking me", self)
        self.auto_check.setToolTip(
            "Only when your target does not occur far from your sites: the rounds stop, and put the "
            "negatives back, if they make the detector less sure of your own sites"
        )
        form = QFormLayout()
        form.addRow("Rounds at most", self.rounds_spin)
        form.addRow("Chips a round", self.per_round_spin)
        form.addRow("Far from your sites", self.far_spin)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(self.auto_check)
        lay.addWidget(buttons)

    def options(self) -> ImproveOptions:
        return ImproveOptions(
            max_rounds=int(self.rounds_spin.value()),
            per_round=int(self.per_round_spin.value()),
            far_m=float(self.far_spin.value()),
            auto=self.auto_check.isChecked(),
        )
