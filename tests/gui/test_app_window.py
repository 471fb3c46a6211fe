"""The main window end to end with a real QtWebEngine page: mouse click -> results in map, gallery and plot.

One window serves the module (the first page load starts Chromium, ~2 s); tests run in file order and each
leaves the window in a known state. Counts on the map come from the page itself (JSON.stringify).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtTest import QTest

from terrafind.core import project as projects
from terrafind.gui import errors
from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow
from terrafind.gui.selftest import click_chip, page_value
from terrafind.gui.startup import offer_recovery

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
pytestmark = pytest.mark.webengine


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from synth import write_earth_index

    return write_earth_index(tmp_path_factory.mktemp("app") / "synthetic.parquet", n=900, d=32)


@pytest.fixture(scope="module")
def dialogs():
    seen: list[tuple] = []
    errors.set_dialog_hook(lambda kind, title, text, detail: seen.append((kind, text, detail)) or True)
    yield seen
    errors.set_dialog_hook(None)


@pytest.fixture(scope="module")
def window(qapp, data, dialogs, tmp_path_factory):
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    w.resize(1400, 900)
    w.show()
    yield w
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _counts(w) -> dict:
    return page_value(w.map_view, "TF.counts()")


def _open(qtbot, w, path):
    w.open_path(str(path))
    qtbot.waitUntil(
        lambda: w.c.session.catalog is not None and str(path) in w.c.session.sources, timeout=20000
    )
    qtbot.waitUntil(lambda: w.map_view.ready, timeout=30000)


def test_real_click_gives_results_in_map_gallery_and_plot(qtbot, window, data):
    from terrafind.core.search import percentiles

    w = window
    _open(qtbot, w, data["path"])
    # the region's sample is gathered on a worker as the region opens, before any click needs it
    qtbot.waitUntil(lambda: percentiles._SAMPLES.get(w.c.session.catalog) is not None, timeout=10000)
    row = w.c.session.catalog.nearest(-75.75, 37.45)
    click_chip(w, row)
    qtbot.waitUntil(lambda: w.c.session.examples == {row: "positive"}, timeout=10000)
    qtbot.waitUntil(lambda: w.c.shown is not None, timeout=15000)  # debounced auto search
    n = len(w.c.shown.items)
    assert n == 200
    qtbot.waitUntil(lambda: _counts(w).get("results") == n, timeout=10000)
    counts = _counts(w)
    assert counts["examples"] == 1
    assert w.results_panel.visible_count() == n
    assert w.score_plot.bin_count() > 0
    assert "200 matches in" in w.status.currentMessage()
    assert w.map_view.external_requests == []
    # gallery click selects on the map, map click on a result selects in the gallery
    top = int(w.c.shown.items[0].row)
    w.results_panel.select_row(top)
    w.results_panel.row_selected.emit(top)
    qtbot.waitUntil(lambda: _counts(w).get("selected") == top, timeout=5000)


def test_threshold_filters_map_gallery_and_plot(qtbot, window):
    w = window
    qtbot.waitUntil(lambda: w.c.shown is not None, timeout=15000)
    scores = w.c.shown.scores
    t = float(scores[59])
    expected = int((scores >= t).sum())
    w.score_plot.threshold_changed.emit(t)  # what dragging the line emits
    qtbot.waitUntil(lambda: _counts(w).get("results") == expected, timeout=5000)
    assert w.results_panel.visible_count() == expected
    assert w.score_plot.threshold() == pytest.approx(t, abs=1e-3)
    assert w.controls.params()["threshold"] == pytest.approx(t, abs=1e-3)
    ARTIFACTS.mkdir(exist_ok=True)
    qtbot.wait(300)  # let thumbnails and the page paint
    assert w.grab().save(str(ARTIFACTS / "main_window.png"))
    w.score_plot.threshold_changed.emit(-1.0)
    qtbot.waitUntil(lambda: _counts(w).get("results") == len(scores), timeout=5000)


def test_label_key_then_search_excludes_and_undo_restores(qtbot, window):
    w = window
    qtbot.waitUntil(lambda: w.c.shown is not None, timeout=15000)
    first = w.c.shown
    top = int(first.items[0].row)
    w.results_panel.select_row(top)
    w.results_panel.view.setFocus()
    QTest.keyClick(w.results_panel.view, Qt.Key_N)
    qtbot.waitUntil(lambda: w.c.session.labels.get(top) == "negative", timeout=3000)
    qtbot.waitUntil(lambda: _counts(w).get("examples") == 2, timeout=5000)
    w.actions.search.trigger()
    qtbot.waitUntil(lambda: w.c.shown is not first, timeout=15000)
    assert top not in {int(it.row) for it in w.c.shown.items}
    w.actions.undo.trigger()
    assert w.c.session.labels == {}
    qtbot.waitUntil(lambda: _counts(w).get("examples") == 1, timeout=5000)
    assert w.examples_panel.example_rows() == list(w.c.session.examples)
    w.actions.redo.trigger()
    assert w.c.session.labels == {top: "negative"}


def test_error_from_core_shows_in_message_bar(qtbot, window, tmp_path):
    w = window
    bad = tmp_path / "not-geoparquet.parquet"
    bad.write_text("hello")
    w.open_path(str(bad))
    qtbot.waitUntil(lambda: "not-geoparquet.parquet" in w.message_bar.text(), timeout=10000)
    assert w.c.session.catalog is not None  # the data already open stays open
    w.message_bar.dismiss()


def test_recovery_is_offered_and_restores_labels(qtbot, window, data, dialogs):
    w = window
    cat = w.c.session.catalog
    proj = projects.Project(
        sources=[str(data["path"])],
        examples=[{"id": str(cat.ids[3]), "kind": "positive"}],
        labels=[{"id": str(cat.ids[8]), "label": "negative"}],
        params={"mode": "max", "k": 40},
    )
    projects.write_recovery(proj)
    before = len(dialogs)
    assert offer_recovery(w)
    assert dialogs[before][0] == "question"
    qtbot.waitUntil(
        lambda: w.c.session.labels == {8: "negative"} and w.c.session.examples == {3: "positive"},
        timeout=20000,
    )
    assert w.controls.params()["mode"] == "max" and w.controls.params()["k"] == 40
    qtbot.waitUntil(lambda: _counts(w).get("examples") == 2, timeout=5000)
    json.dumps(w.c.projects.project().to_dict())  # the restored session serialises


def test_map_selection_reaches_gallery_and_thumbnails_arrive(qtbot, window):
    w = window
    assert w.c.search_now()  # the recovered session has examples but no results yet
    qtbot.waitUntil(lambda: w.c.shown is not None, timeout=15000)
    rows = [int(it.row) for it in w.c.shown.items]
    w.map_view.result_clicked.emit(rows[3])  # what a click on a result marker emits
    assert w.results_panel.current_row() == rows[3]
    # thumbnails: the gallery asked for its visible tiles (here placeholders: synthetic data has no imagery)
    qtbot.waitUntil(lambda: w.results_panel.model.has_pixmap(rows[0]), timeout=10000)
    png = w.c.thumbs.provide_row(rows[0])  # what the popup's terrafind://app/thumb/<row>.png gets
    assert png is not None and png.startswith(b"\x89PNG")
    assert w.c.thumbs.provide_row(10**9) is None


def test_drawn_region_reopens_the_data_and_keeps_examples(qtbot, window):
    w = window
    cat = w.c.session.catalog
    keep = next(iter(w.c.session.examples))
    lon, lat = cat.centroids[keep]
    ring = [
        [lon - 0.08, lat - 0.08],
        [lon + 0.08, lat - 0.08],
        [lon + 0.08, lat + 0.08],
        [lon - 0.08, lat - 0.08],
    ]
    w.map_view.region_drawn.emit({"type": "Polygon", "coordinates": [ring]})  # what finishing a drawing emits
    qtbot.waitUntil(lambda: w.c.session.catalog is not cat and w.c.session.region is not None, timeout=20000)
    assert 0 < len(w.c.session.catalog) < len(cat)
    assert w.c.session.region.polygon_wkt.startswith("POLYGON")
    kept_id = str(cat.ids[keep])
    qtbot.waitUntil(
        lambda: [str(w.c.session.catalog.ids[r]) for r in w.c.session.examples] == [kept_id], timeout=5000
    )
    assert w.dataset_panel.region_mode() == "polygon"
    w.dataset_panel.region_mode_chosen.emit("all")
    qtbot.waitUntil(
        lambda: w.c.session.region is None and len(w.c.session.catalog) == len(cat), timeout=20000
    )


def test_start_without_arguments_reopens_the_last_session(qtbot, window, data):
    from terrafind.gui.startup import start_session

    w = window
    cat = w.c.session.catalog
    projects.save_project(
        projects.Project(
            sources=[str(data["path"])], examples=[{"id": str(cat.ids[11]), "kind": "positive"}]
        ),
        projects.last_session_path(),
    )
    start_session(w, None)
    qtbot.waitUntil(lambda: w.c.session.examples == {11: "positive"}, timeout=20000)
    qtbot.waitUntil(
        lambda: w.c.session.index is not None, timeout=20000
    )  # the index is built in the background


def test_declined_recovery_is_kept_not_deleted(qtbot, window, data):
    projects.write_recovery(
        projects.Project(sources=[str(data["path"])], labels=[{"id": "x", "label": "positive"}])
    )
    before = errors._dialog_hook
    errors.set_dialog_hook(lambda kind, title, text, detail: False)  # "No, don't restore"
    try:
        assert not offer_recovery(window)
    finally:
        errors.set_dialog_hook(before)
    assert projects.recovery_pending() is None
    (kept,) = projects.recovery_path().parent.glob("recovery-declined-*.terrafind")
    assert projects.load_project(kept).labels == [{"id": "x", "label": "positive"}]
