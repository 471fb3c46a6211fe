"""Hostile corpus in the running app: each kind of crafted input gets a message in the window (the message
bar, one sentence), sends nothing (a recording server on 127.0.0.1 sees no request, the page makes no
outside request), writes nothing outside where the person asked, and leaves the window usable (an
ordinary file opens and searches afterwards). One window serves the module (starting Chromium takes
seconds); tests run in file order.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from corpus import chip_boxes, write_geoparquet, write_huge_claim
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QFileDialog
from recorder import recorder

from terrafind.core import project as projects
from terrafind.core.net.gate import gate
from terrafind.gui import errors, sensitive
from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
pytestmark = pytest.mark.webengine


@pytest.fixture(scope="module")
def answers():
    """What a person answers in dialogs: yes unless a test says otherwise; every question is kept."""
    said: list[tuple[str, str, str]] = []
    state = {"answer": True}
    errors.set_dialog_hook(
        lambda kind, title, text, detail: said.append((kind, title, text)) or state["answer"]
    )
    yield said, state
    errors.set_dialog_hook(None)


@pytest.fixture(scope="module")
def window(qapp, answers):
    w = MainWindow(AppController(autosave=True), restore_geometry=False, online=True)
    w.resize(1300, 850)
    w.show()
    yield w
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def good_data(folder: Path, source_url: str | None = None) -> Path:
    n = 64
    vectors = np.random.default_rng(3).standard_normal((n, 8)).astype(np.float32)
    extra = {"source_url": [source_url] * n} if source_url else {}
    return write_geoparquet(folder / "good.parquet", vectors, chip_boxes(n), **extra)


def open_and_wait(qtbot, w, path: Path) -> None:
    w.open_path(str(path))
    qtbot.waitUntil(
        lambda: w.c.session.catalog is not None and str(path) in w.c.session.sources, timeout=30000
    )
    qtbot.waitUntil(lambda: w.map_view.ready, timeout=30000)


def still_usable(qtbot, w, folder: Path) -> None:
    """After the hostile input: an ordinary file opens and a search runs."""
    folder.mkdir(parents=True, exist_ok=True)
    path = good_data(folder)
    open_and_wait(qtbot, w, path)
    w.c.add_example(3, "positive")
    qtbot.waitUntil(lambda: w.c.shown is not None and len(w.c.shown.items) > 0, timeout=20000)


def export_hits_as(qtbot, w, monkeypatch, path: Path, chosen_filter: str) -> list[str]:
    """File > Export hits..., the person naming ``path`` with ``chosen_filter``; the paths written."""
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(path), chosen_filter))
    )
    written: list[str] = []
    w.c.data.exported.connect(lambda p, n: written.append(p))
    w.actions.export_hits_action.trigger()
    qtbot.waitUntil(lambda: bool(written), timeout=20000)
    return written


def bar(w) -> str:
    return w.message_bar.text()


# --- kind 01 (app): a project whose data address carries query options -------------------------------
def test_app_kind01_project_with_endpoint_override(qtbot, window, tmp_path):
    w = window
    with recorder() as (port, seen):
        proj = projects.save_project(
            projects.Project(
                sources=[f"s3://bucket/x.parquet?endpoint_override=127.0.0.1:{port}&scheme=http"]
            ),
            tmp_path / "from-a-stranger.terrafind",
        )
        w.open_path(str(proj))
        qtbot.waitUntil(lambda: "options after" in bar(w), timeout=10000)
        assert seen == []
    still_usable(qtbot, w, tmp_path / "after")


# --- kinds 08, 13 and a damaged project (app): refused in the message bar, never a crash dialog -----------
@pytest.mark.parametrize("case", ["pack entry with ..", "pack manifest bomb", "project of nested brackets"])
def test_app_damaged_packs_and_projects_are_one_sentence(qtbot, window, answers, tmp_path, case):
    from kinds import KINDS

    w = window
    said, _ = answers
    folder = tmp_path / "in"
    folder.mkdir()
    kind = KINDS[case](folder, 9)
    target = kind.args[1]  # the pack folder or the project file the CLI was given
    bar_before = bar(w)
    w.open_path(target)
    qtbot.waitUntil(lambda: bar(w) != bar_before and bar(w) != "", timeout=20000)
    assert kind.words in bar(w) and bar(w).count(". ") == 0, bar(w)
    assert not [s for s in said if s[0] == "critical"]  # no "Terrafind ran into a problem"
    still_usable(qtbot, w, tmp_path / "after")


# --- kind 05 (app): a file-named imagery host waits for the person's Allow --------------------------------
def test_app_kind05_imagery_host_needs_an_allow(qtbot, window, tmp_path):
    w = window
    gate().set_allow_http(True)  # the test server speaks plain http; the site itself still needs an Allow
    with recorder() as (port, seen):
        open_and_wait(qtbot, w, good_data(tmp_path, f"http://127.0.0.1:{port}/scene.tif"))
        w.c.add_example(2, "positive")
        qtbot.waitUntil(
            lambda: w.message_bar.action_text().startswith("Allow http://127.0.0.1"), timeout=20000
        )
        assert seen == []  # nothing sent before the person said yes
        assert "not allowed" in bar(w)
        ARTIFACTS.mkdir(exist_ok=True)
        w.grab().save(str(ARTIFACTS / "hostile_allow_host.png"))
        w.message_bar._action.click()  # "Allow http://127.0.0.1:<port>"
        qtbot.waitUntil(lambda: len(seen) > 0, timeout=20000)
        assert all(r["auth"] is None for r in seen)  # anonymous: no credentials, ever
    assert gate().allowed(f"http://127.0.0.1:{port}", w.c.thumbs.service.data_of(w.c.session.catalog)[0])


# --- offline: zero packets, whatever the data names ------------------------------------------------------
def test_app_offline_means_no_packet(qtbot, window, tmp_path):
    w = window
    w.status.net.click()  # Offline
    assert not gate().online
    with recorder() as (port, seen):
        data = good_data(tmp_path, f"  HTTP://127.0.0.1:{port}/scene.tif")
        open_and_wait(qtbot, w, data)
        gate().allow(f"http://127.0.0.1:{port}", "*", remember=False)  # even allowed: offline wins
        w.c.add_example(4, "positive")
        qtbot.waitUntil(lambda: w.c.shown is not None and len(w.c.shown.items) > 0, timeout=20000)
        w.c.thumbs.want([int(r) for r in w.c.shown.result.rows[:8]])
        qtbot.wait(1500)
        assert seen == [] and w.map_view.interceptor.external_count == 0
    w.status.net.click()  # back Online
    assert gate().online


# --- kind 19 (app): a footer that promises more than the machine has -------------------------------------
def test_app_kind19_footer_promise(qtbot, window, tmp_path, monkeypatch):
    from terrafind.core.read import budget

    w = window
    path = write_huge_claim(tmp_path / "promise.parquet", rows=20_000, dim=1024)
    monkeypatch.setattr(budget, "available_bytes", lambda: 50_000_000)
    w.open_path(str(path))
    qtbot.waitUntil(lambda: "choose a smaller region" in bar(w), timeout=20000)
    monkeypatch.undo()
    still_usable(qtbot, w, tmp_path / "after")


# --- kind 22 (app): broken geometry is skipped, counted and never drawn --------------------------------------
def test_app_kind22_broken_geometry(qtbot, window, tmp_path):
    import warnings

    import shapely

    w = window
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        boxes = list(chip_boxes(10))
        nan = shapely.Polygon([(-75.9, 37.3), (float("nan"), 37.31), (-75.89, 37.31), (-75.9, 37.3)])
        bowtie = shapely.Polygon(
            [(-75.9, 37.3), (-75.89, 37.31), (-75.9, 37.31), (-75.89, 37.3), (-75.9, 37.3)]
        )
        geoms = np.array(boxes[:8] + [nan, bowtie])
    vectors = np.random.default_rng(5).standard_normal((10, 8)).astype(np.float32)
    open_and_wait(qtbot, w, write_geoparquet(tmp_path / "broken.parquet", vectors, geoms))
    assert len(w.c.session.catalog) == 8
    qtbot.waitUntil(lambda: "Skipped 2 chips" in w.dataset_panel.problems_label.text(), timeout=5000)
    errors_on_page = [m for level, m in w.map_view.console if level >= 2 and "Content Security" not in m]
    assert errors_on_page == []


# --- kind 25 (app): a places file with an entity bomb -----------------------------------------------------
def test_app_kind25_places_bomb(qtbot, window, tmp_path):
    w = window
    still_usable(qtbot, w, tmp_path / "data")
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    bomb = tmp_path / "field.kml"
    bomb.write_text(f'<?xml version="1.0"?><!DOCTYPE kml [{lol}]><kml><name>&l9;</name></kml>')
    w.c.importer.import_places(str(bomb), "positive")
    qtbot.waitUntil(lambda: "entities" in bar(w), timeout=10000)
    still_usable(qtbot, w, tmp_path / "after")


# --- kind 14 (app): Export with the GPX filter and the data's own name ----------------------------------
def test_app_kind14_export_never_replaces_the_data(qtbot, window, tmp_path, monkeypatch):
    w = window
    still_usable(qtbot, w, tmp_path)
    data = Path(w.c.session.sources[0])
    before = hashlib.sha256(data.read_bytes()).hexdigest()
    written = export_hits_as(qtbot, w, monkeypatch, data, "GPX waypoints for phones (*.gpx)")
    assert written[0].endswith("good.parquet.gpx") and Path(written[0]).read_bytes().startswith(b"<?xml")
    assert hashlib.sha256(data.read_bytes()).hexdigest() == before


# --- kind 15 (app): Prepare for offline use with a field pack open ------------------------------------------
def test_app_kind15_pack_folder_is_never_the_pack_in_use(qtbot, window, tmp_path, monkeypatch):
    from terrafind.core.pack.build import build_pack
    from terrafind.core.types import Region

    w = window
    data = good_data(tmp_path)
    pack = build_pack([data], Region.from_bbox(-75.95, 37.25, -75.55, 37.65), tmp_path / "good-pack")
    open_and_wait(qtbot, w, pack)
    asked = []
    monkeypatch.setattr(w.c.packs, "prepare", lambda out, region, credits=None: asked.append(out) or True)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(pack)))
    w.view_bounds = w.c.session.catalog.bounds
    w.actions.pack_action.trigger()
    assert asked == [] and "cannot hold a new field pack" in bar(w)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path)))
    w.actions.pack_action.trigger()
    assert asked and Path(asked[0]) != pack and not Path(asked[0]).exists()


# --- kind 30 (app): HTML in a data file's ids is shown as text ------------------------------------------------
def test_app_kind30_html_in_data_is_text(qtbot, window, tmp_path):
    import pyarrow.parquet as pq

    w = window
    data = good_data(tmp_path)
    table = pq.read_table(data)
    hostile = "<img src=x onerror=alert(1)><b>bold</b>"
    ids = [hostile + str(i) for i in range(table.num_rows)]
    import pyarrow as pa

    table = table.set_column(0, "id", pa.array(ids))
    pq.write_table(table, data)
    open_and_wait(qtbot, w, data)
    w.c.add_example(0, "positive")
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QLabel

    def hostile_labels():
        return [lab for lab in w.examples_panel.findChildren(QLabel) if hostile in lab.text()]

    qtbot.waitUntil(lambda: bool(hostile_labels()), timeout=5000)
    labels = hostile_labels()

    assert labels and all(lab.textFormat() == Qt.TextFormat.PlainText for lab in labels)
    qtbot.waitUntil(lambda: w.c.shown is not None, timeout=20000)
    # Anywhere in the window (panels, results, bars), a label quoting the data shows it as text.
    quoting = [lab for lab in w.findChildren(QLabel) if "<img src=x" in lab.text()]
    assert quoting and all(lab.textFormat() == Qt.TextFormat.PlainText for lab in quoting), [
        type(lab.parent()).__name__ for lab in quoting if lab.textFormat() != Qt.TextFormat.PlainText
    ]
    alerts = w.map_view.console
    assert not any("alert" in m for _, m in alerts)


# --- recovery: a session whose data cannot be opened is kept, never replaced ------------------------------
def test_app_recovery_whose_data_is_missing_is_kept(qtbot, window, tmp_path):
    from terrafind.gui.startup import offer_recovery

    w = window
    missing = tmp_path / "usb-stick" / "data.parquet"
    proj = projects.Project(sources=[str(missing)], examples=[{"id": "c1", "kind": "positive"}])
    projects.write_recovery(proj)
    assert offer_recovery(w)  # "yes, restore"
    qtbot.waitUntil(lambda: "kept in" in bar(w), timeout=20000)
    kept = list((projects.recovery_path().parent / "sessions").glob("recovery-unopened-*.terrafind"))
    assert len(kept) == 1 and projects.load_project(kept[0]).examples == proj.examples
    still_usable(qtbot, w, tmp_path / "after")  # autosaves a new recovery file for the new data...
    assert projects.load_project(kept[0]).examples == proj.examples  # ...never over the kept one


# --- sensitive places in the app -------------------------------------------------------------------------
def test_app_sensitive_project_asks_how_precisely(qtbot, window, tmp_path, monkeypatch):
    w = window
    still_usable(qtbot, w, tmp_path)
    w.actions.mark_sensitive.trigger()
    assert w.c.session.sensitive and w.windowTitle().endswith("[sensitive]")
    shown = {}

    def look(window_, what, locked, blurred):
        dialog = sensitive.PrecisionDialog(window_, what, locked=locked, blurred=blurred)
        dialog.show()
        qtbot.wait(100)
        ARTIFACTS.mkdir(exist_ok=True)
        dialog.grab().save(str(ARTIFACTS / f"hostile_precision_{'locked' if locked else 'open'}.png"))
        shown[locked] = (dialog.exact.isEnabled(), dialog.blur.isChecked())
        km = dialog.blur_km()
        dialog.close()
        return ("ok", km)

    monkeypatch.setattr(sensitive, "chooser", look)
    target = tmp_path / "hits.geojson"
    export_hits_as(qtbot, w, monkeypatch, target, "GeoJSON (*.geojson *.json)")
    assert shown[True] == (False, True)  # exact places locked, blurred chosen
    fc = json.loads(target.read_text())
    assert fc["terrafind"]["blurred_km"] == 5.0 and "id" not in fc["features"][0]["properties"]
    w.actions.unlock_action.trigger()  # the person confirms
    assert w.c.session.unlocked and w.windowTitle().endswith("[sensitive, unlocked]")
    label_set = tmp_path / "labels.parquet"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(label_set), "")))
    w.actions.share_labels.trigger()
    import pyarrow.parquet as pq

    assert pq.read_table(label_set).column_names == ["label", "embedding"]
    w.actions.mark_sensitive.trigger()  # unmarked
    assert not w.c.session.sensitive


# --- File > Network and permissions: the person's answers, seen and taken back -------------------------
def test_app_network_dialog_forgets_and_marks_buckets(qtbot, window, tmp_path):
    from terrafind.core.imagery.admit import catalog_key

    w = window
    open_and_wait(qtbot, w, good_data(tmp_path, "https://imagery.example.org/scene.tif"))
    key = catalog_key(w.c.session.catalog)
    gate().allow("https://imagery.example.org", key)
    w.actions.network_action.trigger()
    dialog = w.network_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    shown = [dialog.allowed.item(i).text() for i in range(dialog.allowed.count())]
    assert shown == ["https://imagery.example.org"]
    dialog.bucket_edit.setText("https://not-a-bucket.example.org")
    dialog.add_button.click()
    assert dialog.problem.isVisible() and "s3://" in dialog.problem.text()
    dialog.bucket_edit.setText("s3://my-own-bucket/")
    dialog.add_button.click()
    assert not dialog.problem.isVisible() and gate().uses_credentials("s3://my-own-bucket")
    ARTIFACTS.mkdir(exist_ok=True)
    dialog.grab().save(str(ARTIFACTS / "hostile_network_dialog.png"))
    dialog.allowed.setCurrentRow(0)
    dialog.forget_button.click()
    assert not gate().allowed("https://imagery.example.org", key) and dialog.allowed.count() == 0
    dialog.buckets.setCurrentRow(0)
    dialog.remove_button.click()
    assert not gate().uses_credentials("s3://my-own-bucket") and dialog.buckets.count() == 0
    dialog.http.setChecked(True)
    assert gate().allow_http
    dialog.http.setChecked(False)
    dialog.close()


# --- kind 36 (app): a page that tries to reach out (windows, local files, links) -------------------------
def test_app_kind36_map_page_cannot_reach_out(qtbot, window, monkeypatch):
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices
    from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineSettings

    from terrafind.gui.map import page_guard

    page = window.map_view.page
    attr = QWebEngineSettings.WebAttribute
    for name in (
        "LocalContentCanAccessRemoteUrls",
        "LocalContentCanAccessFileUrls",
        "JavascriptCanOpenWindows",
    ):
        assert not page.settings().testAttribute(getattr(attr, name)), name
    assert page.createWindow(QWebEnginePage.WebWindowType.WebBrowserTab) is None
    opened: list[str] = []
    monkeypatch.setattr(
        QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toString()) or True)
    )
    asked: list[str] = []

    def ask(answer):
        return lambda title, text: asked.append(text) or answer

    assert not page_guard.open_link(QUrl("http://example.org/"), online=True, ask=ask(True))
    assert not page_guard.open_link(QUrl("file:///etc/passwd"), online=True, ask=ask(True))
    assert not page_guard.open_link(QUrl("https://example.org/"), online=False, ask=ask(True))
    assert not page_guard.open_link(QUrl("https://example.org/"), online=True, ask=ask(False))
    assert opened == [] and len(asked) == 1  # only the https link, online, was even asked about
    assert page_guard.open_link(QUrl("https://example.org/a"), online=True, ask=ask(True))
    assert opened == ["https://example.org/a"]
    # a link clicked on the page never navigates the map away
    nav = QWebEnginePage.NavigationType.NavigationTypeLinkClicked
    assert not page.acceptNavigationRequest(QUrl("https://example.org/b"), nav, True)
    assert window.map_view.ready
    # The page's policy holds at run time: no eval, no Function(), no inline handler.
    got: list = []
    window.map_view.eval_json(
        "(function () {"
        " var r = {};"
        " try { r.evaluated = eval('1 + 1'); } catch (e) { r.evaluated = 'blocked'; }"
        " try { r.made = (new Function('return 2'))(); } catch (e) { r.made = 'blocked'; }"
        " var img = document.createElement('div');"
        " img.innerHTML = '<img src=\\'terrafind://x/none.png\\' onerror=\\'window.tfOwned = 1\\'>';"
        " document.body.appendChild(img);"
        " return r; })()",
        got.append,
    )
    qtbot.waitUntil(lambda: bool(got), timeout=10000)
    assert got[0] == {"evaluated": "blocked", "made": "blocked"}
    qtbot.wait(300)  # the image fails; its inline handler must not run
    owned: list = []
    window.map_view.eval_json("window.tfOwned === undefined", owned.append)
    qtbot.waitUntil(lambda: bool(owned), timeout=10000)
    assert owned == [True]
