"""Left middle: the example chips the user showed, each with thumbnail, kind, id and a remove button.

Examples are few (tens), so one small widget per row is fine here, unlike the results gallery.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from terrafind.core.present.items import POSITIVE, ExampleItem
from terrafind.gui.panels.panel_style import (
    NEGATIVE_COLOR,
    PLACEHOLDER_COLOR,
    POSITIVE_COLOR,
    WARNING_COLOR,
    hint_label,
    kind_color,
    section_title,
)
from terrafind.gui.plain import plain_tip

THUMB = 40


class ElidedLabel(QLabel):
    """A label that elides its text in the middle, so both ends of long chip ids stay readable."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.full_text = text
        self.setMinimumWidth(40)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        text = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideMiddle, self.width())
        painter.drawText(self.rect(), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)


class ExampleRow(QWidget):
    """One example: [thumbnail] [kind toggle] [chip id] [remove]."""

    def __init__(self, item: ExampleItem, parent: QWidget | None = None, other_date: bool = False) -> None:
        super().__init__(parent)
        self.item = item
        self.thumb = QLabel(self)
        self.thumb.setFixedSize(THUMB, THUMB)
        self.thumb.setStyleSheet(f"background: {PLACEHOLDER_COLOR.name()};")
        color = kind_color(item.kind)
        other = "negative" if item.kind == POSITIVE else "positive"
        self.kind_button = QToolButton(self)
        self.kind_button.setText("Positive" if item.kind == POSITIVE else "Negative")
        self.kind_button.setToolTip(f"Click to make this example {other}")
        self.kind_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.kind_button.setStyleSheet(
            f"QToolButton {{ color: white; background: {color.name()}; border: none;"
            " border-radius: 8px; padding: 1px 8px; font-weight: bold; }"
        )
        self.id_label = ElidedLabel(item.chip_id, self)
        self.id_label.setTextFormat(Qt.TextFormat.PlainText)  # ids come from the data file
        self.id_label.setToolTip(plain_tip(f"Chip {item.chip_id} (row {item.row})"))
        # A positive unlike the user's other positives (core.search.looks_wrong.odd_positives).
        self.flag_label = QLabel("⚠", self)
        self.flag_label.setStyleSheet(f"color: {WARNING_COLOR}; font-weight: bold;")
        self.flag_label.setToolTip(item.flag or "")
        self.flag_label.setVisible(bool(item.flag))
        self.remove_button = QToolButton(self)
        self.remove_button.setText("✕")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setToolTip("Remove this example")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 3, 4, 3)
        layout.setSpacing(8)
        layout.addWidget(self.thumb)
        layout.addWidget(self.kind_button)
        layout.addWidget(self.id_label, 1)
        layout.addWidget(self.flag_label)
        layout.addWidget(self.remove_button)
        if other_date:  # shown on another date: it takes part in searches as that date's chip
            self.date_label = QLabel(str(item.date), self)  # a date a file stated: shown as text, in bold
            self.date_label.setTextFormat(Qt.TextFormat.PlainText)
            bold = self.date_label.font()
            bold.setBold(True)
            self.date_label.setFont(bold)
            layout.insertWidget(3, self.date_label)
            why = f"An example of {item.date}: searches learn from it (as it looks at {item.date}).\nShow {item.date} to change or remove it."
            for w in (self.kind_button, self.remove_button):
                w.setEnabled(False)
            for w in (self.id_label, self.date_label, self.thumb):
                w.setToolTip(plain_tip(why))

    def set_thumbnail(self, image: QImage) -> None:
        scaled = image.scaled(
            THUMB,
            THUMB,
            Qt.AspectRatioMode.KeepAspectRatioByExpanding,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.thumb.setPixmap(QPixmap.fromImage(scaled))


class ExamplesPanel(QWidget):
    """The example list. Rows in signals and methods are catalog rows (``ExampleItem.row``)."""

    remove_requested = Signal(int)
    kind_toggle_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: dict[int, ExampleRow] = {}
        self._dated: dict[tuple[str, str], ExampleRow] = {}  # (date, chip id) of other dates' examples
        self.count_label = hint_label("")
        self.count_label.setWordWrap(False)
        self.list = QListWidget(self)
        self.list.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.list.setMinimumHeight(3 * 44)  # three rows at least: it shrank to 1.5 under the other panels
        self.empty_label = hint_label("Click chips on the map to add examples. Shift+click adds a negative.")
        self.flag_hint = hint_label("", color=WARNING_COLOR)
        self.flag_hint.setWordWrap(True)
        self.flag_hint.hide()

        header = QHBoxLayout()
        header.addWidget(section_title("Examples"))
        header.addStretch(1)
        header.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(header)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.flag_hint)
        layout.addStretch(0)  # keeps the header at the top while the list is hidden
        self.set_examples([])

    def sizeHint(self) -> QSize:
        return QSize(300, 220)

    def set_examples(self, items: list[ExampleItem], date: str | None = None) -> None:
        """The examples; with several dates, those of other dates than ``date`` (row -1) are marked."""
        self.list.clear()
        self._rows.clear()
        self._dated.clear()
        for example in items:
            other = example.row < 0
            row = ExampleRow(example, self.list, other_date=other)
            row.kind_button.clicked.connect(
                lambda _c=False, r=example.row: self.kind_toggle_requested.emit(r)
            )
            row.remove_button.clicked.connect(lambda _c=False, r=example.row: self.remove_requested.emit(r))
            entry = QListWidgetItem(self.list)
            entry.setSizeHint(QSize(0, THUMB + 8))
            self.list.setItemWidget(entry, row)
            if other:
                self._dated[(str(example.date), example.chip_id)] = row
            else:
                self._rows[example.row] = row
        positives = sum(1 for e in items if e.kind == POSITIVE)
        negatives = len(items) - positives
        # Coloured dots keep the header narrow; the words are in the tooltip.
        self.count_label.setText(
            f'<span style="color:{POSITIVE_COLOR.name()}">●</span> {positives}&nbsp;&nbsp;'
            f'<span style="color:{NEGATIVE_COLOR.name()}">●</span> {negatives}'
            if items
            else ""
        )
        self.count_label.setToolTip(f"{positives} positive, {negatives} negative" if items else "")
        self.empty_label.setVisible(not items)
        self.list.setVisible(bool(items))
        flagged = [e for e in items if e.flag]
        self.flag_hint.setText(
            f"⚠ {len(flagged)} example{'s look' if len(flagged) > 1 else ' looks'} unlike your others: check "
            "it or group your examples (Group my examples)."
            if flagged
            else ""
        )
        self.flag_hint.setVisible(bool(flagged))

    def set_thumbnail(self, row: int, image: QImage) -> None:
        widget = self._rows.get(row)
        if widget is not None and not image.isNull():
            widget.set_thumbnail(image)

    def set_dated_thumbnail(self, date: str, chip_id: str, image: QImage) -> None:
        """The thumbnail of an example of another date (cut from that date's imagery)."""
        widget = self._dated.get((date, chip_id))
        if widget is not None and not image.isNull():
            widget.set_thumbnail(image)

    def dated_examples(self) -> list[tuple[str, str]]:
        """(date, chip id) of the examples of other dates than the one on the map."""
        return list(self._dated)

    def example_rows(self) -> list[int]:
        return list(self._rows)

    def row_widget(self, row: int) -> ExampleRow | None:
        return self._rows.get(row)
