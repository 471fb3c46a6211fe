"""Data shown as text, never as HTML: Qt renders a label's or a tooltip's text as rich text whenever it
looks like HTML, and data strings (ids, dates, file names, addresses) come from files made by others."""

from __future__ import annotations

import html

from PySide6.QtGui import Qt  # (QtGui: mightBeRichText lives with QTextDocument)

__all__ = ["plain_tip", "plain_labels"]


def plain_tip(text: str) -> str:
    """``text`` for a tooltip: as it is when Qt would show it as text anyway, else escaped and kept on its
    lines (a tooltip has no text-format switch)."""
    text = str(text)
    if not Qt.mightBeRichText(text):
        return text
    return "<p style='white-space:pre-wrap'>" + html.escape(text) + "</p>"


def plain_labels(*labels) -> None:
    """Make labels show their text as plain text, whatever it looks like."""
    for label in labels:
        label.setTextFormat(Qt.TextFormat.PlainText)
