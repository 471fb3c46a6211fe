"""Undo and redo of what the user showed and judged: examples (map clicks) and labels (Yes/No on results).

Each command records the state before and after for one chip, so undo puts back exactly what was there
(a label that replaced another label comes back, not "no label"). The commands only call the two setters of
the session they are given, which emit the signals, autosave and ask for a new search.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtGui import QUndoCommand

__all__ = ["ExampleCommand", "LabelCommand", "Session"]


class Session(Protocol):
    def set_example(self, row: int, kind: str | None) -> None: ...
    def set_label(self, row: int, label: str | None) -> None: ...
    def chip_name(self, row: int) -> str: ...


class ExampleCommand(QUndoCommand):
    """Add, change or remove one example chip (``new`` None = remove)."""

    def __init__(self, session: Session, row: int, old: str | None, new: str | None):
        verb = "Remove" if new is None else f"Add {new}"
        super().__init__(f"{verb} example {session.chip_name(row)}")
        self.session, self.row, self.old, self.new = session, row, old, new

    def redo(self) -> None:
        self.session.set_example(self.row, self.new)

    def undo(self) -> None:
        self.session.set_example(self.row, self.old)


class LabelCommand(QUndoCommand):
    """Label one result "positive" / "negative", or clear its label (``new`` None)."""

    def __init__(self, session: Session, row: int, old: str | None, new: str | None):
        what = "Clear label of" if new is None else ("Yes, this:" if new == "positive" else "Not this:")
        super().__init__(f"{what} {session.chip_name(row)}")
        self.session, self.row, self.old, self.new = session, row, old, new

    def redo(self) -> None:
        self.session.set_label(self.row, self.new)

    def undo(self) -> None:
        self.session.set_label(self.row, self.old)
