"""Help > How to search (a page in the app, offline) and Help > About Terrafind (version, links, credits).

The page is ``resources/help/how-to-search.md`` (the README's "Using it", with pictures made from the real
app by ``scripts/help_pictures.py``), shown in a QTextBrowser: no network, no browser, no web page. Links
between its sections stay in the page; a web link opens in the system browser.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout, QWidget

from terrafind.core.paths import resources_dir

__all__ = ["HelpPage", "AboutDialog", "help_dir", "version"]

PAGE = "how-to-search.md"


def help_dir() -> Path:
    return resources_dir() / "help"


def version() -> str:
    """Terrafind's version ("0.1.0"): the package's own, the same in a checkout, a wheel and the frozen app
    (which carries no distribution metadata for Terrafind)."""
    import terrafind

    return terrafind.__version__


class HelpPage(QDialog):
    """A window with the "How to search" page; it stays open beside the main window while the user works."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("How to search - Terrafind")
        self.setModal(False)
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(False)
        self.browser.setSearchPaths([str(help_dir())])
        self.browser.anchorClicked.connect(self._on_link)
        self.browser.setMarkdown((help_dir() / PAGE).read_text(encoding="utf-8"))
        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        buttons.rejected.connect(self.close)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser, 1)
        lay.addWidget(buttons)
        self.resize(820, 820)

    def _on_link(self, url: QUrl) -> None:
        if url.scheme() in ("", "file", "qrc", "help"):
            self.browser.setSource(url)  # another part of the help, read from the app's own files
        else:
            _open_outside(self, url)  # the user's browser, https only and after asking; never the page

    def image_names(self) -> list[str]:
        """The pictures the page shows (tests check each one exists)."""
        import re

        return re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (help_dir() / PAGE).read_text(encoding="utf-8"))


class AboutDialog(QDialog):
    """Version, what the app is, a link to the help page and the data credits."""

    def __init__(self, parent: QWidget | None = None, *, credits: str = "", on_help=None):
        super().__init__(parent)
        self.setWindowTitle("About Terrafind")
        text = (
            f"<h3>Terrafind {version()}</h3>"
            "<p>Search the Earth by example, offline: click a chip on the map, see every place like it, "
            "label the hits and export them.</p>"
            '<p><a href="help:how-to-search">How to search</a> (Help &gt; How to search, works offline)</p>'
            "<p>Map outlines: Natural Earth (public domain). Map library: Leaflet and Leaflet.draw "
            "(BSD-2-Clause, MIT).</p>"
        )
        if credits:
            from html import escape

            text += f"<p>Data: {escape(credits)}</p>"
        self.label = QLabel(text, self)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.label.linkActivated.connect(lambda link: self._on_link(link, on_help))
        buttons = QDialogButtonBox(QDialogButtonBox.Ok, self)
        buttons.accepted.connect(self.accept)
        lay = QVBoxLayout(self)
        lay.addWidget(self.label)
        lay.addWidget(buttons)
        self.setMinimumWidth(440)

    def _on_link(self, link: str, on_help) -> None:
        if link.startswith("help:") and on_help is not None:
            self.accept()
            on_help()
        else:
            _open_outside(self, QUrl(link))


def _open_outside(parent: QWidget, url: QUrl) -> bool:
    """A web link in the help or the About box: opened in the browser like a link on the map (only https,
    only after the person said yes: terrafind.gui.map.page_guard.open_link)."""
    from terrafind.gui import errors
    from terrafind.gui.map.page_guard import open_link

    return open_link(url, online=True, ask=lambda title, text: errors.ask(parent, title, text))
