"""What the window says after the user did something: where an export went (with "Show in folder"), what a
field pack holds, and a first-use hint that goes once it has been followed.

The window creates one :class:`Feedback` and hands it its message bar; the flows' signals arrive here, so
the main window stays a place that composes panels.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

__all__ = ["Feedback", "open_folder"]


def open_folder(path: str) -> None:
    """Show ``path``'s folder in the system's file manager (a folder is shown itself)."""
    p = Path(path)
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(p if p.is_dir() else p.parent)))


class Feedback:
    def __init__(self, window):
        self.w = window
        self.bar = window.message_bar
        self.hint = ""  # the first-use hint on show, if any
        self.opener = open_folder  # tests replace it
        c = window.c
        c.data.exported.connect(self.exported)
        c.examples_changed.connect(lambda items: items and self.hint_followed())
        c.data.opened.connect(lambda _paths: self.hint_followed())
        c.packs.pack_built.connect(self.pack_built)
        c.packs.outline_requested.connect(window.map_view.set_outline)
        c.packs.imagery_wanted.connect(window.actions.imagery_action.trigger)

    def pack_built(self, path: str) -> None:
        """What the pack holds and lacks (its manifest), with "Show in folder"; a warning when it lacks
        something, so "ready" never hides a pack without thumbnails or basemap."""
        import json

        from terrafind.core.pack.field import describe_pack
        from terrafind.core.pack.layout import MANIFEST

        try:
            manifest = json.loads((Path(path) / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            self.w.c.report_error(exc)
            return
        held, lacks = describe_pack(manifest)
        text = f"{held} Open it in the field with File > Open folder ({path})."
        if lacks:
            text += " It lacks: " + " ".join(lacks)
        self.bar.show_message(
            text, "warning" if lacks else "info", ("Show in folder", lambda: self.opener(path))
        )
        self.w.c.say(f"The field pack is ready in {path}.")

    def exported(self, path: str, count: int) -> None:
        """Where the file went, with a button that opens its folder (a status line alone was missed)."""
        self.hint_followed()
        self.bar.show_message(
            f"Exported {count:,} to {path}.", "info", ("Show in folder", lambda: self.opener(path))
        )

    def show_hint(self, text: str) -> None:
        """A first-use hint ("Click on open water..."), taken away once the user clicks a chip."""
        self.hint = text
        self.bar.show_message(text, "info")

    def hint_followed(self) -> None:
        if self.hint and self.bar.text() == self.hint:
            self.bar.dismiss()
        self.hint = ""
