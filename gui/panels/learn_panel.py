"""Widgets for learning from labels: the "Learn from labels" box, the gallery's Best matches / Review
switch and the list of sites.

They hold no state of their own beyond what they show: :mod:`terrafind.gui.learn` connects them to the flows and
to the menu actions (a QToolButton shows the Refine action itself, so button and menu never disagree).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from terrafind.gui.panels.panel_style import hint_label, section_title

__all__ = ["LearnPanel", "GalleryModeBar", "SitesList", "GALLERY_MODES", "site_text"]

GALLERY_MODES = [
    ("best", "Best matches", "The hits in ranked order"),
    (
        "review",
        "Review: least sure first",
        "Hits the classifier is least sure about: each label teaches most",
    ),
]


class LearnPanel(QWidget):
    """Refine (the QAction on a button), Group my examples, Show sites, and a line of hints."""

    grouping_toggled = Signal(bool)
    sites_toggled = Signal(bool)

    def __init__(self, refine_action, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.refine_button = QToolButton(self)
        self.refine_button.setDefaultAction(refine_action)
        self.refine_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.group_check = QCheckBox("Group my examples", self)
        self.group_check.setToolTip(
            "Search each group of alike examples on its own and merge the hits;\n"
            "each hit then tells which example it matched"
        )
        self.sites_check = QCheckBox("Show sites", self)
        self.sites_check.setToolTip("Merge touching hits into sites: outlines on the map and a list")
        self.hint = hint_label("")
        self.hint.setWordWrap(True)
        self._hint_style = self.hint.styleSheet()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(4)
        lay.addWidget(section_title("Learn from labels"))
        row = QHBoxLayout()
        row.addWidget(self.refine_button)
        row.addStretch(1)
        lay.addLayout(row)
        checks = QHBoxLayout()
        checks.addWidget(self.group_check)
        checks.addWidget(self.sites_check)
        checks.addStretch(1)
        lay.addLayout(checks)
        lay.addWidget(self.hint)
        self.group_check.toggled.connect(self.grouping_toggled)
        self.sites_check.toggled.connect(self.sites_toggled)

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def set_stale(self, on: bool) -> None:
        """Labels changed since the last Refine: the hint turns into a call to action (bold, accent)."""
        self.hint.setStyleSheet("color: #1f4f80; font-weight: bold;" if on else self._hint_style)


class GalleryModeBar(QWidget):
    """ "Show: Best matches | Review" above the gallery; Review is enabled once a refined search exists."""

    mode_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox(self)
        for i, (key, text, tip) in enumerate(GALLERY_MODES):
            self.combo.addItem(text, key)
            self.combo.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip(
            "Review appears after Refine: it lists the hits the classifier is least sure about"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 0, 8, 0)
        lay.addWidget(QLabel("Show:", self))
        lay.addWidget(self.combo, 1)
        self.combo.activated.connect(lambda _i: self.mode_chosen.emit(self.mode()))
        self.set_review_available(False)

    def mode(self) -> str:
        return str(self.combo.currentData())

    def set_mode(self, key: str) -> None:
        """Reflect a mode without emitting."""
        self.combo.setCurrentIndex(self.combo.findData(key))

    def set_review_available(self, on: bool) -> None:
        item = self.combo.model().item(1)
        item.setEnabled(on)
        if not on and self.mode() == "review":
            self.set_mode("best")


def site_text(rank: int, props: dict) -> str:
    """ "S1 · 6 chips · 3.9 ha · best 0.912 (p 0.97)" for the list."""
    n = int(props["chip_count"])
    text = f"S{rank} · {n} chip{'' if n == 1 else 's'} · {props['area_ha']:.1f} ha · best {props['best_score']:.3f}"
    if props.get("best_probability") is not None:
        text += f" (p {props['best_probability']:.2f})"
    return text


class SitesList(QWidget):
    """The merged sites, best first; a click asks to show that site."""

    site_chosen = Signal(int)  # position in the list (0 = best site)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Sites", self)
        self.list = QListWidget(self)
        self.list.setMaximumHeight(150)
        self.list.setToolTip("Touching hits merged into one place; click to show it on the map")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 0, 8, 0)
        lay.setSpacing(2)
        lay.addWidget(self.title)
        lay.addWidget(self.list)
        self.list.itemClicked.connect(lambda item: self.site_chosen.emit(self.list.row(item)))
        self.list.itemActivated.connect(lambda item: self.site_chosen.emit(self.list.row(item)))

    def set_sites(self, props: list[dict]) -> None:
        self.list.clear()
        for rank, p in enumerate(props, start=1):
            item = QListWidgetItem(site_text(rank, p))
            item.setToolTip(f"Best chip {p.get('best_id')}\n{p.get('lon')}, {p.get('lat')} (lon, lat)")
            self.list.addItem(item)
        total = sum(int(p["chip_count"]) for p in props)
        self.title.setText(f"Sites: {len(props)} from {total} hits" if props else "Sites: none")

    def count(self) -> int:
        return self.list.count()
