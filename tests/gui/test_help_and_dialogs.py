"""Issue 17 items 2, 8 and 11: what File > Open offers, where dialogs start, Help > About / How to search."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QFileDialog, QTextBrowser

from terrafind.core.paths import data_dir
from terrafind.gui import dialogs
from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow
from terrafind.gui.panels.help_page import help_dir, version

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.webengine


@pytest.fixture
def window(qapp, terrafind_home):
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    yield w
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _menu(w, title: str):
    for action in w.menuBar().actions():
        if action.text().replace("&", "") == title:
            return action.menu()
    raise AssertionError(title)


def test_item2_open_file_offers_gpq_and_all_files(window, monkeypatch, tmp_path):
    asked = {}

    def fake(parent, title, start, filters):
        asked.update(start=start, filters=filters)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake))
    window.actions.open_file_action.trigger()
    first = asked["filters"].split(";;")[0]
    for suffix in ("*.gpq", "*.parquet", "*.geoparquet"):
        assert suffix in first  # the README and the errors name .gpq: the first filter shows them
    assert "All files (*)" in asked["filters"].split(";;")


def test_item8_dialogs_never_start_in_the_apps_own_folder(window, monkeypatch, tmp_path):
    demo = data_dir() / "demo" / "demo_embeddings.parquet"
    demo.parent.mkdir(parents=True, exist_ok=True)
    demo.write_bytes(b"x")
    window.settings.add_recent(str(demo))  # the demo (in the app's data folder) is no recent file
    assert window.settings.recent() == []
    start = dialogs.start_dir(window)
    assert not start.startswith(str(data_dir())) and Path(start).is_dir()
    # a folder the user chose is where the next dialog opens, for exports too
    mine = tmp_path / "fieldwork"
    mine.mkdir()
    answers = iter([(str(mine / "hits.geojson"), "GeoJSON (*.geojson)"), ("", "")])
    seen = []
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        staticmethod(lambda p, t, start, f: seen.append(start) or next(answers)),
    )
    dialogs.ask_save_path(window, "Export hits", "hits.geojson", {"GeoJSON (*.geojson)": "geojson"})
    dialogs.ask_save_path(window, "Export hits", "hits.geojson", {"GeoJSON (*.geojson)": "geojson"})
    assert Path(seen[1]).parent == mine
    # a choice inside the app's folder is not remembered
    dialogs.remember_folder(window, str(demo))
    assert dialogs.start_dir(window) == str(mine)


def test_item11_about_names_the_version_and_links_the_help(window, qtbot):
    assert [a.text().replace("&", "") for a in _menu(window, "Help").actions()][:2] == [
        "How to search",
        "About Terrafind",
    ]
    window.actions.about_action.trigger()
    about = window.about_dialog
    qtbot.waitUntil(about.isVisible)
    text = about.label.text()
    assert version() in text and re.search(r"\d+\.\d+", version())
    assert 'href="help:how-to-search"' in text
    about.label.linkActivated.emit("help:how-to-search")  # the link opens the help page
    qtbot.waitUntil(lambda: getattr(window, "help_page", None) is not None and window.help_page.isVisible())


def test_item11_how_to_search_works_offline_with_real_pictures(window, qtbot):
    window.actions.help_action.trigger()
    page = window.help_page
    qtbot.waitUntil(page.isVisible)
    browser = page.findChild(QTextBrowser)
    text = browser.toPlainText()
    # the README's "Using it" steps, each one on the page
    readme = (ROOT / "README.md").read_text()
    using = readme.split("## Using it", 1)[1].split("\n## ", 1)[0]
    for step in re.findall(r"^\d+\. \*\*([^*]+)\*\*", using, re.M):
        assert step in text, step
    names = page.image_names()
    assert len(names) >= 4
    for name in names:
        png = help_dir() / name
        assert png.is_file() and png.stat().st_size < 200_000, name  # small, committed pictures
        shown = browser.loadResource(QTextDocument.ResourceType.ImageResource, QUrl(name))
        assert shown is not None and not QImage.fromData(shown).isNull(), name  # found in the page folder
    (ROOT / "tests" / "artifacts").mkdir(exist_ok=True)
    assert page.grab().save(str(ROOT / "tests" / "artifacts" / "help_page.png"))


def test_links_in_the_help_and_about_open_only_https_after_asking(qapp, qtbot, monkeypatch):
    """Issue 11: like a link on the map, a web link in the help or the About box opens in the browser only
    when it is https and the person said yes (never http, mailto, file or another scheme)."""
    from PySide6.QtGui import QDesktopServices

    from terrafind.gui import errors
    from terrafind.gui.panels.help_page import AboutDialog, HelpPage

    opened: list[str] = []
    monkeypatch.setattr(
        QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toString()) or True)
    )
    asked: list[str] = []
    answer = {"yes": False}
    errors.set_dialog_hook(lambda kind, title, text, detail: asked.append(text) or answer["yes"])
    try:
        page, about = HelpPage(), AboutDialog(credits="<a href='http://x.example'>x</a>")
        qtbot.addWidget(page)
        qtbot.addWidget(about)
        for url in ("http://example.org/", "mailto:a@example.org", "file:///etc/passwd", "smb://host/x"):
            if not url.startswith("file"):  # (a file link in the help is another help page)
                page._on_link(QUrl(url))
            about._on_link(url, None)
        page._on_link(QUrl("https://example.org/no"))  # asked, answered no
        assert opened == [] and len(asked) == 1 and "https://example.org/no" in asked[0]
        answer["yes"] = True
        about._on_link("https://example.org/yes", None)
        assert opened == ["https://example.org/yes"]
        assert "Data: &lt;a href=" in about.label.text()  # credits from a data file are text, not a link
    finally:
        errors.set_dialog_hook(None)
