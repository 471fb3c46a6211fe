"""The "Improve automatically" box above the gallery: each hard-negative round's figures, why the rounds
stopped, and, in reviewed rounds, Next round / Stop (terrafind.core.search.rounds).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from terrafind.gui.panels.panel_style import hint_label

__all__ = ["RoundsPanel"]


class RoundsPanel(QFrame):
    next_requested = Signal()
    stop_requested = Signal()
    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel("<b>Improve automatically</b>", self)
        self.lines = QLabel("", self)
        self.lines.setWordWrap(True)
        self.status = hint_label("")
        self.status.setWordWrap(True)
        self.next_button = QPushButton("Next round", self)
        self.next_button.setToolTip("Learn from your marks on the offered chips and search again")
        self.stop_button = QPushButton("Stop", self)
        self.close_button = QPushButton("Close", self)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addStretch(1)
        for b in (self.next_button, self.stop_button, self.close_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(4)
        lay.addWidget(self.title)
        lay.addWidget(self.lines)
        lay.addWidget(self.status)
        lay.addLayout(buttons)
        self.next_button.clicked.connect(self.next_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        self.close_button.clicked.connect(self.close_requested)
        self.hide()

    def show_rounds(self, figures: list, status: str, *, reviewing: bool, running: bool) -> None:
        """Each round's line (RoundFigures.line), a status sentence, and the buttons that apply now."""
        self.show()
        self.lines.setText("\n".join(f.line() for f in figures))
        self.status.setText(status)
        self.next_button.setVisible(reviewing and not running)
        self.stop_button.setVisible(running or reviewing)
        self.close_button.setVisible(not running and not reviewing)

    def line_texts(self) -> list[str]:
        return [t for t in self.lines.text().split("\n") if t]
