"""The app's main window for tests: made as the app makes it (no autosave, offline) and torn down so that
offscreen pytest does not crash at exit (a window left to the garbage collector outlives its page)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import QCoreApplication, QEvent

from terrafind.gui import errors
from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow


@contextmanager
def app_window(size: tuple[int, int] = (1400, 900), *, answer_dialogs: bool = True) -> Iterator[MainWindow]:
    """A shown main window. With ``answer_dialogs`` every question and message box is answered Yes/OK
    and kept as (kind, text, detail) in ``window.dialogs``."""
    seen: list = []
    if answer_dialogs:
        errors.set_dialog_hook(lambda kind, title, text, detail: seen.append((kind, text, detail)) or True)
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    w.dialogs = seen  # type: ignore[attr-defined]
    w.resize(*size)
    w.show()
    try:
        yield w
    finally:
        w.c.undo_stack.clear()  # the controller outlives the window's actions: no undo-text signal after this
        if w.imagery_dialog is not None:
            w.imagery_dialog.close()
        w.close()
        w.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        if answer_dialogs:
            errors.set_dialog_hook(None)
