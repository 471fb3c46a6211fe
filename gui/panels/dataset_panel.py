"""Left top: open data, recent files, what is loaded, the region to search in, how searches run (the
search index: ready, or building with the time left) and the app cache (its size, and Clear)."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from terrafind.core.units import human_bytes
from terrafind.gui.panels.loss_plot import LossPlot
from terrafind.gui.panels.panel_style import ERROR_COLOR, WARNING_COLOR, hint_label, section_title
from terrafind.gui.plain import plain_labels, plain_tip

REGION_MODES = [("all", "All data"), ("rectangle", "Rectangle"), ("polygon", "Polygon")]
REGION_TIPS = {
    "all": "Search all loaded chips",
    "rectangle": "Draw a rectangle on the map to search only inside it",
    "polygon": "Draw a polygon on the map to search only inside it",
}


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"W, S, E, N"`` (commas and/or spaces) as floats; ValueError with a sentence a user can act on."""
    parts = [p for p in text.replace(",", " ").replace(";", " ").split() if p]
    if len(parts) != 4:
        raise ValueError("Type four numbers: west, south, east, north (e.g. 10.1, 50.2, 10.6, 50.5).")
    try:
        w, s, e, n = (float(p) for p in parts)
    except ValueError:
        raise ValueError("Only numbers, please: west, south, east, north in degrees.") from None
    if not all(-180 <= v <= 180 for v in (w, e)) or not all(-90 <= v <= 90 for v in (s, n)):
        raise ValueError("Longitudes go from -180 to 180 and latitudes from -90 to 90.")
    if not w < e:
        raise ValueError("West must be less than east.")
    if not s < n:
        raise ValueError("South must be less than north.")
    return (w, s, e, n)


class DatasetPanel(QWidget):
    """Data sources and region. ``set_info`` takes ``Catalog.describe()``."""

    open_file_requested = Signal()
    open_folder_requested = Signal()
    recent_chosen = Signal(str)
    region_mode_chosen = Signal(str)
    bbox_entered = Signal(tuple)
    snap_changed = Signal(float)  # metres: clicks and imported places snap to a chip this near
    imagery_requested = Signal()  # the "Imagery…" button: File > Imagery for thumbnails and basemap...
    clear_cache_requested = Signal()  # the app cache's "Clear…" button (File > Clear app cache...)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.open_file_button = QPushButton("Open file…", self)
        self.open_folder_button = QPushButton("Open folder…", self)
        self.recent_list = QListWidget(self)
        self.recent_list.setMaximumHeight(76)
        self.recent_list.setToolTip("Double-click to open again")
        self.recent_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.recent_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.info_form = QFormLayout()
        self.info_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.info_form.setHorizontalSpacing(10)
        self.info_form.setVerticalSpacing(2)
        self.empty_label = hint_label("No data open. Open a GeoParquet file or a folder of them.")
        self.problems_label = hint_label("", color=WARNING_COLOR)
        # The Clay v1 fields (source model, creator, classes, loss): rows in the form, and the loss spread.
        self.loss_plot = LossPlot(self)
        self.loss_plot.hide()
        self.imagery_label = hint_label("Imagery: none configured")
        self.imagery_label.setTextFormat(Qt.TextFormat.PlainText)  # a path or a URL is text, never HTML
        self.imagery_button = QPushButton("Imagery…", self)
        self.imagery_button.setToolTip("Imagery the thumbnails and the offline basemap are made from")
        self.region_group = QButtonGroup(self)
        self.region_buttons: dict[str, QRadioButton] = {}
        for i, (mode, text) in enumerate(REGION_MODES):
            button = QRadioButton(text, self)
            button.setToolTip(REGION_TIPS[mode])
            self.region_buttons[mode] = button
            self.region_group.addButton(button, i)
        self.region_buttons["all"].setChecked(True)
        self.bbox_edit = QLineEdit(self)
        self.bbox_edit.setPlaceholderText("W, S, E, N  (degrees)")
        self.bbox_edit.setToolTip("A box in degrees: west, south, east, north")
        self.bbox_button = QPushButton("Apply", self)
        self.bbox_message = hint_label("", color=ERROR_COLOR)
        plain_labels(self.problems_label, self.bbox_message)  # problems quote file names and values
        self.bbox_message.hide()
        self.search_label = hint_label("")
        self.search_label.setToolTip(
            "Searches are exact until the search index is built, then answered by the index in milliseconds"
        )
        self.cache_label = hint_label("")
        self.cache_label.setToolTip(
            "What opened regions keep on disk (vectors, chips, search index) so they open again at once"
        )
        self.clear_cache_button = QPushButton("Clear…", self)
        self.clear_cache_button.setToolTip("Delete the app cache of the regions that are not open")
        # Clicks beside the data (a gap, the edge) and imported places snap to the nearest chip this near.
        self.snap_spin = QSpinBox(self)
        self.snap_spin.setRange(0, 100_000)
        self.snap_spin.setSingleStep(50)
        self.snap_spin.setSuffix(" m")
        self.snap_spin.setKeyboardTracking(False)
        self.snap_spin.setToolTip(
            "A click or an imported place on no chip takes the nearest chip within this distance (0: never)"
        )
        self.snap_spin.valueChanged.connect(lambda v: self.snap_changed.emit(float(v)))
        self._build_layout()

        self.open_file_button.clicked.connect(self.open_file_requested)
        self.open_folder_button.clicked.connect(self.open_folder_requested)
        self.imagery_button.clicked.connect(self.imagery_requested)
        self.clear_cache_button.clicked.connect(self.clear_cache_requested)
        self.recent_list.itemActivated.connect(self._on_recent_activated)
        self.region_group.idClicked.connect(self._on_region_clicked)
        self.bbox_edit.returnPressed.connect(self._on_bbox_applied)
        self.bbox_button.clicked.connect(self._on_bbox_applied)
        self.bbox_edit.textEdited.connect(lambda _t: self.bbox_message.hide())
        self.set_info(None)
        self.set_recent([])
        self.set_search_state("")
        self.set_cache({"region": None, "total": 0, "regions": 0})

    def _build_layout(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(section_title("Data"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_file_button)
        buttons.addWidget(self.open_folder_button)
        layout.addLayout(buttons)
        self.recent_title = hint_label("Recent")
        layout.addWidget(self.recent_title)
        layout.addWidget(self.recent_list)
        layout.addWidget(self.empty_label)
        # What is used all the time (imagery, region) above what is read once (the file's details):
        # below them, the region controls scrolled out of view as soon as data was open.
        imagery = QHBoxLayout()
        imagery.addWidget(self.imagery_label, 1)
        imagery.addWidget(self.imagery_button)
        layout.addLayout(imagery)
        layout.addSpacing(4)
        layout.addWidget(section_title("Region"))
        modes = QHBoxLayout()
        modes.setSpacing(10)
        for button in self.region_buttons.values():
            modes.addWidget(button)
        modes.addStretch(1)
        layout.addLayout(modes)
        bbox = QHBoxLayout()
        bbox.addWidget(self.bbox_edit, 1)
        bbox.addWidget(self.bbox_button)
        layout.addLayout(bbox)
        layout.addWidget(self.bbox_message)
        snap = QHBoxLayout()
        snap.addWidget(hint_label("Clicks and places snap to a chip within"), 1)
        snap.addWidget(self.snap_spin)
        layout.addLayout(snap)
        layout.addSpacing(4)
        layout.addLayout(self.info_form)
        layout.addWidget(self.loss_plot)
        layout.addWidget(self.search_label)
        cache = QHBoxLayout()
        cache.addWidget(self.cache_label, 1)
        cache.addWidget(self.clear_cache_button)
        layout.addLayout(cache)
        layout.addWidget(self.problems_label)
        layout.addStretch(1)

    # --- public API ---------------------------------------------------------------------------
    def set_info(self, info: dict | None) -> None:
        while self.info_form.rowCount():
            self.info_form.removeRow(0)
        self.empty_label.setVisible(not info)
        problems = list((info or {}).get("problems") or [])
        self.problems_label.setText("\n".join(f"⚠ {p}" for p in problems))
        self.problems_label.setVisible(bool(problems))
        self._data_open = bool(info)
        self._show_recent()  # File > Open recent keeps them while data is open
        if not info:
            self.loss_plot.hide()
            return
        files = info.get("files") or []
        rows = [
            ("File", _files_text(files)),
            ("Chips", f"{int(info.get('rows') or 0):,}"),
            ("Model", str(info.get("model") or "unknown")),
            ("Embedding", f"{info['dim']} numbers" if info.get("dim") else "—"),
            ("Layout", str(info.get("adapter") or "—")),
            ("Area", _bbox_text(info.get("bbox"))),
        ]
        if info.get("chip_size_m"):
            rows.append(("Chip size", f"{float(info['chip_size_m']):,.0f} m"))
        if info.get("similarity"):  # what scores are (Search > Scores switches it)
            centred = info["similarity"] == "centred cosine"
            rows.append(("Scores", "cosine centred on the region's mean" if centred else "plain cosine"))
        v1 = info.get("v1") or {}
        model = str(info.get("model") or "")
        rows.extend(
            (str(name), str(text))
            for name, text in v1.get("lines", [])
            if not (name == "Made with" and text == model)  # the Model row says it already
        )
        hist = v1.get("loss_hist")
        if hist:
            self.loss_plot.set_histogram(hist[0], hist[1], str(v1.get("metric") or "loss"))
        self.loss_plot.setVisible(bool(hist))
        for name, value in rows:
            label = QLabel(value, self)
            label.setTextFormat(Qt.TextFormat.PlainText)  # file names and model names come from files
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            label.setToolTip("\n".join(files) if name == "File" else value)
            self.info_form.addRow(hint_label(name), label)

    def set_search_state(self, text: str) -> None:
        """How searches run now: "Search index ready", "building … about 12 min left; exact meanwhile"."""
        self.search_label.setText(f"Search: {text}" if text else "")
        self.search_label.setVisible(bool(text))

    def set_cache(self, info: dict) -> None:
        """The app cache line: this region's size and all regions' (``AppController.cache_info``)."""
        region, total, count = info.get("region"), int(info.get("total") or 0), int(info.get("regions") or 0)
        if region is not None:
            text = f"App cache: {human_bytes(region)} for this region"
            if count > 1:
                text += f", {human_bytes(total)} for {count} regions"
        else:
            text = f"App cache: {human_bytes(total)} for {count} region{'s' if count != 1 else ''}"
        self.cache_label.setText(text)
        others = count - (1 if region is not None else 0)
        self.clear_cache_button.setEnabled(others > 0)
        self.clear_cache_button.setToolTip(
            f"Delete the app cache of the {others} region{'s' if others != 1 else ''} that {'are' if others != 1 else 'is'} not open"
            if others
            else "Only the open region is cached: nothing to clear"
        )

    def set_snap(self, metres: float) -> None:
        """Show the snap distance without emitting."""
        self.snap_spin.blockSignals(True)
        self.snap_spin.setValue(int(round(metres)))
        self.snap_spin.blockSignals(False)

    def set_imagery(self, text: str, tooltip: str = "") -> None:
        """The line saying where thumbnails come from."""
        self.imagery_label.setText(f"Imagery: {text}")
        self.imagery_label.setToolTip(plain_tip(tooltip))

    def set_recent(self, paths: list[str]) -> None:
        self.recent_list.clear()
        for path in paths:
            item = QListWidgetItem(os.path.basename(path.rstrip("/\\")) or path)
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(plain_tip(path))
            self.recent_list.addItem(item)
        self._show_recent()

    def _show_recent(self) -> None:
        shown = self.recent_list.count() > 0 and not getattr(self, "_data_open", False)
        self.recent_list.setVisible(shown)
        self.recent_title.setVisible(shown)

    def set_region(self, mode: str, bbox: tuple[float, float, float, float] | None = None) -> None:
        """Show the current region (e.g. after a drawing or a project load) without emitting."""
        if mode in self.region_buttons:
            self.region_buttons[mode].setChecked(True)
        self.bbox_edit.setText(", ".join(f"{v:.5g}" for v in bbox) if bbox else "")
        self.bbox_message.hide()

    def region_mode(self) -> str:
        return next(m for m, b in self.region_buttons.items() if b.isChecked())

    # --- internals ----------------------------------------------------------------------------
    def _on_recent_activated(self, item: QListWidgetItem) -> None:
        self.recent_chosen.emit(item.data(Qt.ItemDataRole.UserRole))

    def _on_region_clicked(self, button_id: int) -> None:
        self.region_mode_chosen.emit(REGION_MODES[button_id][0])

    def _on_bbox_applied(self) -> None:
        try:
            bbox = parse_bbox(self.bbox_edit.text())
        except ValueError as exc:
            self.bbox_message.setText(str(exc))
            self.bbox_message.show()
            return
        self.bbox_message.hide()
        self.bbox_entered.emit(bbox)


def _files_text(files: list[str]) -> str:
    if not files:
        return "—"
    name = os.path.basename(str(files[0]).rstrip("/\\"))
    return name if len(files) == 1 else f"{name} + {len(files) - 1} more"


def _bbox_text(bbox: list[float] | None) -> str:
    if not bbox:
        return "—"
    w, s, e, n = bbox
    return f"{w:.3f}, {s:.3f} → {e:.3f}, {n:.3f}"
