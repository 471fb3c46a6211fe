"""Showing problems to people (vorta/glue: excepthook -> dialog; Orange: expected problems inline).

- A :class:`terrafind.core.errors.TerrafindError` is expected: its one sentence goes to the :class:`MessageBar` at the
  top of the window. No dialog, no traceback.
- Anything else is a bug: a dialog says so, with the traceback under "Show Details...".
- ``sys.excepthook`` and ``threading.excepthook`` route here; an exception in another thread is passed to
  the GUI thread through a queued signal first (widgets may only be touched from the GUI thread).

Tests (and the self test) call :func:`set_dialog_hook` so that no modal dialog ever blocks CI: the hook
receives ``(kind, title, text, detail)`` and returns the answer a person would have given.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QToolButton, QWidget

from terrafind.core.errors import TerrafindError

__all__ = ["MessageBar", "ErrorReporter", "set_dialog_hook", "ask", "choose", "inform", "install_hooks"]

log = logging.getLogger("terrafind.gui")

DialogHook = Callable[[str, str, str, str], bool]
_dialog_hook: DialogHook | None = None


def set_dialog_hook(hook: DialogHook | None) -> None:
    """Replace every modal dialog by ``hook(kind, title, text, detail) -> answer`` (None restores dialogs)."""
    global _dialog_hook
    _dialog_hook = hook


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    """A Yes/No question; the hook answers it in tests."""
    if _dialog_hook is not None:
        return bool(_dialog_hook("question", title, text, ""))
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.Yes | QMessageBox.No, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # questions quote file names and addresses: never HTML
    box.setDefaultButton(QMessageBox.Yes)
    return box.exec() == QMessageBox.Yes


def choose(parent: QWidget | None, title: str, text: str, buttons: list[str]) -> str | None:
    """A question with named answers (the first is the default); None when dismissed. In tests the hook
    answers with a button's text (True means the first button)."""
    if _dialog_hook is not None:
        answer = _dialog_hook("choice", title, text, "\n".join(buttons))
        if answer is True:
            return buttons[0]
        return answer if isinstance(answer, str) and answer in buttons else None
    box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    made = {}
    for i, name in enumerate(buttons):
        role = QMessageBox.ButtonRole.RejectRole if name == "Cancel" else QMessageBox.ButtonRole.AcceptRole
        if 0 < i and name != "Cancel":
            role = QMessageBox.ButtonRole.ActionRole
        made[box.addButton(name, role)] = name
    box.setDefaultButton(next(iter(made)))
    box.exec()
    return made.get(box.clickedButton())


def inform(parent: QWidget | None, title: str, text: str) -> None:
    if _dialog_hook is not None:
        _dialog_hook("information", title, text, "")
        return
    box = QMessageBox(QMessageBox.Icon.Information, title, text, QMessageBox.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()


def _show_bug(parent: QWidget | None, text: str, detail: str) -> None:
    if _dialog_hook is not None:
        _dialog_hook("critical", "Terrafind ran into a problem", text, detail)
        return
    box = QMessageBox(QMessageBox.Critical, "Terrafind ran into a problem", text, QMessageBox.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # an exception's text may quote data
    box.setInformativeText("Your examples and labels are saved. Please report this with the details below.")
    box.setDetailedText(detail)
    box.exec()


class MessageBar(QFrame):
    """A thin bar at the top of the window with one sentence and a close button; hidden when empty."""

    STYLES = {
        "error": "background:#fdecea; color:#611a15; border-bottom:1px solid #f5c2c0;",
        "warning": "background:#fff4e5; color:#663c00; border-bottom:1px solid #ffd8a8;",
        "info": "background:#e8f4fd; color:#0d3c61; border-bottom:1px solid #b6dcfb;",
    }

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextFormat(Qt.TextFormat.PlainText)  # sentences quote data: never rendered as HTML
        self._label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self._action = QPushButton(self)  # an optional button ("Show in folder") after the sentence
        self._action.hide()
        self._action_slot = None
        self._action.clicked.connect(self._on_action)
        close = QToolButton(self)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 6)
        lay.addWidget(self._label, 1)
        lay.addWidget(self._action)
        lay.addWidget(close)
        self.level = ""
        self.hide()

    def show_message(
        self, text: str, level: str = "error", action: tuple[str, Callable[[], None]] | None = None
    ) -> None:
        """One sentence; ``action`` (button text, slot) adds a button, e.g. "Show in folder"."""
        self.level = level
        self._action_slot = action[1] if action else None
        self._action.setText(action[0] if action else "")
        self._action.setVisible(action is not None)
        self._label.setText(text)
        self.setStyleSheet(f"#messageBar {{{self.STYLES.get(level, self.STYLES['info'])}}}")
        self.show()

    def text(self) -> str:
        return "" if self.isHidden() else self._label.text()

    def action_text(self) -> str:
        return self._action.text() if self._action.isVisible() else ""

    def _on_action(self) -> None:
        if self._action_slot is not None:
            self._action_slot()

    @Slot()
    def dismiss(self) -> None:
        self._action_slot = None
        self._action.hide()
        self._label.clear()
        self.hide()


class ErrorReporter(QObject):
    """Decides where an exception is shown. ``report`` may be called from any thread."""

    _raised = Signal(object, str)  # exception, traceback text (queued to the GUI thread)
    shown = Signal(str, str)  # "bar" | "dialog", text

    def __init__(self, bar: MessageBar, parent_widget: QWidget | None = None):
        super().__init__(bar)
        self.bar = bar
        self.parent_widget = parent_widget
        self._raised.connect(self._show, Qt.QueuedConnection)

    def report(self, exc: BaseException, tb: str = "") -> None:
        if not tb and exc.__traceback__ is not None:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        # Into the log file too (thread-safe), so Help > Report a problem can show what happened.
        if isinstance(exc, TerrafindError):
            log.warning("%s: %s", type(exc).__name__, exc.message)
        else:
            log.error("unexpected error: %s", tb.rstrip() or f"{type(exc).__name__}: {exc}")
        if threading.current_thread() is threading.main_thread():
            self._show(exc, tb)
        else:
            self._raised.emit(exc, tb)

    @Slot(object, str)
    def _show(self, exc: BaseException, tb: str) -> None:
        if isinstance(exc, TerrafindError):
            self.bar.show_message(exc.message, "error")
            self.shown.emit("bar", exc.message)
            return
        text = f"Something unexpected went wrong: {type(exc).__name__}: {exc}"
        self.shown.emit("dialog", text)
        _show_bug(self.parent_widget, text, tb or "".join(traceback.format_exception_only(type(exc), exc)))


def install_hooks(reporter: ErrorReporter) -> Callable[[], None]:
    """Route uncaught exceptions of every thread to ``reporter``; returns a function that restores the old hooks."""
    old_sys, old_thread = sys.excepthook, threading.excepthook

    def sys_hook(etype, value, tb):
        if issubclass(etype, KeyboardInterrupt):
            old_sys(etype, value, tb)
            return
        reporter.report(value, "".join(traceback.format_exception(etype, value, tb)))

    def thread_hook(args):
        if args.exc_type is SystemExit:
            return
        reporter.report(
            args.exc_value,
            "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback)),
        )

    sys.excepthook = sys_hook
    threading.excepthook = thread_hook

    def restore() -> None:
        sys.excepthook, threading.excepthook = old_sys, old_thread

    return restore
