"""The list of sites (touching hits merged into places) under the gallery."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from terrafind.gui.plain import plain_tip

__all__ = ["SitesList", "site_text"]


def site_text(rank: int, props: dict) -> str:
    """ "S1 · 6 chips · 3.9 ha · best sim 0.912" for the list; after Refine "... · best prob 0.97,
    sim 0.588" (the figures of the site's best chip, as its hit shows them)."""
    n = int(props["chip_count"])
    text = f"S{rank} · {n} chip{'' if n == 1 else 's'} · {props['area_ha']:.1f} ha · best "
    if props.get("best_change") is not None:  # sites of a change between dates
        return text + f"change {props['best_change']:.3f}"
    if props.get("best_probability") is not None:
        return text + f"prob {props['best_probability']:.2f}, sim {props['best_score']:.3f}"
    return text + f"sim {props['best_score']:.3f}"


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
            item.setToolTip(
                plain_tip(f"Best chip {p.get('best_id')}\n{p.get('lon')}, {p.get('lat')} (lon, lat)")
            )
            self.list.addItem(item)
        total = sum(int(p["chip_count"]) for p in props)
        self.title.setText(f"Sites: {len(props)} from {total} hits" if props else "Sites: none")

    def count(self) -> int:
        return self.list.count()
