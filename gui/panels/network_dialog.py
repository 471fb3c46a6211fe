"""File > Network and permissions...: what the open data may reach, and with which credentials.

The rules live in :mod:`terrafind.core.net.gate`; this dialog shows and changes the person's answers:
the sites and folders allowed for the open data (Forget takes one back), whether plain http may be used,
and the buckets to read with this computer's own cloud credentials (every other request is anonymous).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terrafind.core.errors import TerrafindError
from terrafind.core.net.gate import gate

__all__ = ["NetworkDialog"]


def _label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


class NetworkDialog(QDialog):
    """See the module docstring. ``dataset`` is the permission key of the open data ("" when none)."""

    def __init__(self, parent: QWidget | None, dataset: str):
        super().__init__(parent)
        self.dataset = dataset
        self.setWindowTitle("Network and permissions")
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        lay.addWidget(_label("Sites and folders the open data may read from (you allowed them):", self))
        self.allowed = QListWidget(self)
        self.allowed.setMaximumHeight(120)
        lay.addWidget(self.allowed)
        self.forget_button = QPushButton("Forget", self)
        self.forget_button.setToolTip("Take back the permission: the data asks again before reading there")
        forget_row = QHBoxLayout()
        forget_row.addStretch(1)
        forget_row.addWidget(self.forget_button)
        lay.addLayout(forget_row)
        self.http = QCheckBox("Allow plain, unencrypted http:// addresses", self)
        lay.addWidget(self.http)
        lay.addWidget(
            _label(
                "Buckets read with this computer's own cloud credentials (AWS or Google settings); every "
                "other request is anonymous:",
                self,
            )
        )
        self.buckets = QListWidget(self)
        self.buckets.setMaximumHeight(120)
        lay.addWidget(self.buckets)
        row = QHBoxLayout()
        self.bucket_edit = QLineEdit(self)
        self.bucket_edit.setPlaceholderText("s3://my-bucket or gs://my-bucket")
        self.add_button = QPushButton("Add", self)
        self.remove_button = QPushButton("Remove", self)
        row.addWidget(self.bucket_edit, 1)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        lay.addLayout(row)
        self.problem = _label("", self)
        self.problem.setStyleSheet("color: #a33;")
        self.problem.hide()
        lay.addWidget(self.problem)
        close = QDialogButtonBox(QDialogButtonBox.Close, self)
        close.rejected.connect(self.reject)
        lay.addWidget(close)
        self.forget_button.clicked.connect(self._forget)
        self.http.toggled.connect(gate().set_allow_http)
        self.add_button.clicked.connect(self._add_bucket)
        self.remove_button.clicked.connect(self._remove_bucket)
        self.refresh()

    def refresh(self) -> None:
        g = gate()
        self.allowed.clear()
        self.allowed.addItems(g.sites(self.dataset))
        self.http.blockSignals(True)
        self.http.setChecked(g.allow_http)
        self.http.blockSignals(False)
        self.buckets.clear()
        self.buckets.addItems(g.credential_sites())

    def _forget(self) -> None:
        item = self.allowed.currentItem()
        if item is not None:
            gate().forget(item.text(), self.dataset)
            self.refresh()

    def _add_bucket(self) -> None:
        from terrafind.core.net.locations import Remote, locate

        text = self.bucket_edit.text().strip().rstrip("/") + "/x"  # a bucket, named like a file in it
        try:
            loc = locate(text)
            if not isinstance(loc, Remote) or loc.scheme not in ("s3", "gs"):
                raise TerrafindError("Give an s3:// or gs:// bucket, e.g. s3://my-bucket.")
            gate().set_credentials(loc.site, True)
        except TerrafindError as exc:
            self.problem.setText(exc.message)
            self.problem.show()
            return
        self.problem.hide()
        self.bucket_edit.clear()
        self.refresh()

    def _remove_bucket(self) -> None:
        item = self.buckets.currentItem()
        if item is not None:
            gate().set_credentials(item.text(), False)
            self.refresh()
