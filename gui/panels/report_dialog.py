"""Help > Report a problem: a prefilled text to read, complete and send to whoever supports the user.

The text comes from :func:`terrafind.core.report.problem_report` (versions, system, the last log lines with
numbers, coordinates, file names and web addresses removed); this window adds what only Qt knows (its
version, the display platform, whether Chromium's sandbox is on) and offers Copy, Save as and the log
folder. Nothing is sent from here: Terrafind works offline and the person decides what leaves the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from terrafind.core.logs import log_file
from terrafind.core.report import problem_report

__all__ = ["ReportDialog", "qt_facts"]

INTRO = (
    "Send this text to the people who support your Terrafind (by e-mail or chat). It holds the versions, "
    "your system and the last lines of the log; numbers, coordinates, file names and web addresses are "
    "removed. Please add what you did and what you saw."
)


def qt_facts() -> dict[str, str]:
    """What the report needs to know about Qt and the display, in words."""
    facts = {"Qt": f"{qVersion()} (PySide6 {pyside_version})"}
    try:
        from PySide6.QtWebEngineCore import qWebEngineChromiumVersion

        facts["Chromium"] = qWebEngineChromiumVersion()
    except ImportError:
        pass
    app = QGuiApplication.instance()
    if isinstance(app, QGuiApplication):
        screen = app.primaryScreen()
        scale = f", scale {screen.devicePixelRatio():g}" if screen is not None else ""
        facts["Display"] = f"{app.platformName()}{scale}"
    off = os.environ.get("QTWEBENGINE_DISABLE_SANDBOX") == "1"
    facts["Chromium sandbox"] = "off" if off else "on"
    return facts


class ReportDialog(QDialog):
    """The report in an editable text box, with Copy to clipboard, Save as... and Open the log folder."""

    def __init__(self, parent: QWidget | None = None, start_dir: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Report a problem")
        self.resize(760, 560)
        self._start_dir = start_dir or str(Path.home())
        intro = QLabel(INTRO, self)
        intro.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setPlainText(problem_report("terrafind", qt_facts()))
        self._cursor_to_description()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton("Copy to clipboard", self)
        self.save_button = QPushButton("Save as...", self)
        self.folder_button = QPushButton("Open the log folder", self)
        self.folder_button.setToolTip("The full log files stay on this computer unless you send them")
        for button in (self.copy_button, self.save_button, self.folder_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy)
        self.save_button.clicked.connect(self._ask_save)
        self.folder_button.clicked.connect(self.open_log_folder)
        buttons.rejected.connect(self.reject)
        self.status = QLabel("", self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # it names the file and the system's reason
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.status)
        lay.addWidget(buttons)

    def _cursor_to_description(self) -> None:
        """Put the cursor on the empty line under "What happened", where the person starts typing."""
        found = self.text.document().find("What happened")
        if not found.isNull():
            found.movePosition(QTextCursor.MoveOperation.NextBlock)
            self.text.setTextCursor(found)
        self.text.setFocus()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())
        self.status.setText("Copied: paste it into an e-mail or a chat message.")

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the report", str(Path(self._start_dir) / "terrafind-report.txt"), "Text (*.txt)"
        )
        if path:
            self.save(path)

    def save(self, path: str) -> None:
        try:
            from terrafind.core.files import write_text_atomic

            if not Path(path).parent.is_dir():  # a folder is chosen, not made, by a save dialog
                raise FileNotFoundError(2, "No such folder")
            write_text_atomic(path, self.text.toPlainText())  # never through a symlink planted there
        except OSError as exc:
            self.status.setText(f"Could not save the report: {exc.strerror or exc}.")
            return
        self.status.setText(f"Saved as {Path(path).name}.")

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_file("terrafind").parent)))
