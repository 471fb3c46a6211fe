"""File dialogs that every menu shares: where they start, and saving with a chosen format."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

__all__ = ["start_dir", "ask_save_path"]


def start_dir(window) -> str:
    """The folder of the most recent file, else the home folder."""
    recent = window.settings.recent()
    return str(Path(recent[0]).parent) if recent else str(Path.home())


def ask_save_path(
    window: QWidget, title: str, default_name: str, formats: dict[str, str]
) -> tuple[str, str | None] | None:
    """Ask where to save; ``formats`` maps dialog filters to extensions. Returns (path, format) or None.

    A name typed without an extension gets the chosen filter's one.
    """
    path, chosen = QFileDialog.getSaveFileName(
        window, title, str(Path(start_dir(window)) / default_name), ";;".join(formats)
    )
    if not path:
        return None
    fmt = formats.get(chosen)
    if fmt and not Path(path).suffix:
        path += "." + fmt
    return path, fmt
