"""Big regions in the window, on small data: coverage tiles instead of outlines, the Data panel's app cache
line and its Clear, and a first click that searches at once while quick follow-ups coalesce."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from terrafind.gui import errors
from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow
from terrafind.gui.selftest import page_value

pytestmark = pytest.mark.webengine


@pytest.fixture
def window(qapp, qtbot):
    asked: list[tuple] = []
    errors.set_dialog_hook(lambda kind, title, text, detail: asked.append((kind, text)) or True)
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    w.asked = asked
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(lambda: w.map_view.ready, timeout=30000)
    yield w
    errors.set_dialog_hook(None)
    w.c.runner.shutdown()
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _open(qtbot, w, path):
    w.open_path(str(path))
    qtbot.waitUntil(
        lambda: w.c.session.catalog is not None and str(path) in w.c.session.sources, timeout=30000
    )


def test_a_big_region_shows_coverage_tiles_not_outlines(qtbot, window, tmp_path, monkeypatch):
    from synth import write_earth_index

    import terrafind.core.present.coverage as coverage
    import terrafind.gui.flows.data_flow as data_flow

    monkeypatch.setattr(data_flow, "OUTLINES_MAX_CHIPS", 500)  # 2,000 chips count as "big" here
    monkeypatch.setattr(coverage, "OUTLINES_MAX_CHIPS", 500)
    truth = write_earth_index(tmp_path / "big.parquet", n=2000, d=16, overlap=2.0)
    w = window
    _open(qtbot, w, truth["path"])
    qtbot.waitUntil(
        lambda: (page_value(w.map_view, "TF.counts()") or {}).get("coverage_tiles", 0) > 0, timeout=20000
    )
    counts = page_value(w.map_view, "TF.counts()")
    assert counts["coverage"] == 1 and counts["footprints"] == 0  # no outline layer of every chip
    assert any(p.startswith("/tiles/coverage/") for p in w.map_view.scheme_handler.served)
    assert w.map_view.external_requests == []


def test_the_data_panel_shows_the_app_cache_and_clears_other_regions(qtbot, window, tmp_path):
    from synth import write_earth_index

    w = window
    a = write_earth_index(tmp_path / "a.parquet", n=400, d=8)
    b = write_earth_index(tmp_path / "b.parquet", n=300, d=8, seed=3)
    _open(qtbot, w, a["path"])
    _open(qtbot, w, b["path"])
    panel = w.dataset_panel
    qtbot.waitUntil(lambda: "for 2 regions" in panel.cache_label.text(), timeout=10000)
    assert "for this region" in panel.cache_label.text() and panel.clear_cache_button.isEnabled()
    assert panel.search_label.text().startswith("Search: exact")
    said: list[str] = []
    w.c.message.connect(said.append)  # the index job may finish later and speak over the status bar
    panel.clear_cache_button.click()  # asks first (answered Yes here), then clears in a job
    assert any("Delete the app cache of 1 region" in text for _, text in w.asked)
    qtbot.waitUntil(lambda: "for 2 regions" not in panel.cache_label.text(), timeout=10000)
    assert not panel.clear_cache_button.isEnabled()
    assert w.c.cache.info()["regions"] == 1  # the open region keeps its cache
    qtbot.waitUntil(lambda: any("Cleared" in text for text in said), timeout=10000)


def test_the_first_click_searches_at_once_and_quick_clicks_coalesce(qtbot, window, tmp_path):
    from synth import write_earth_index

    w = window
    truth = write_earth_index(tmp_path / "c.parquet", n=900, d=16)
    _open(qtbot, w, truth["path"])
    started: list[float] = []
    w.c.search.started.connect(lambda how: started.append(time.monotonic()))
    cat = w.c.session.catalog
    t0 = time.monotonic()
    w.c.click_at(*cat.centroids[100])
    assert len(started) == 1 and started[0] - t0 < 0.1  # no pause before the first search
    for row in (200, 300, 400):  # three more clicks in quick succession: one more search, after a pause
        w.c.click_at(*cat.centroids[row])
    assert len(started) == 1
    qtbot.waitUntil(lambda: len(started) == 2, timeout=5000)
    qtbot.wait(600)
    assert len(started) == 2
    qtbot.waitUntil(
        lambda: w.c.shown is not None and set(w.c.shown.result.positives) == {100, 200, 300, 400},
        timeout=15000,
    )


def test_a_big_regions_index_lives_in_its_own_process(qtbot, window, tmp_path, monkeypatch):
    from synth import write_earth_index

    import terrafind.core.search.query as query
    import terrafind.core.search.server as server
    from terrafind.gui.memory import peak_memory

    monkeypatch.setattr(server, "PROCESS_MIN_ROWS", 100)  # 1,200 chips count as "big" here
    monkeypatch.setattr(query, "EXACT_MAX_ROWS", 100)  # and are searched through the index
    truth = write_earth_index(tmp_path / "p.parquet", n=1200, d=16)
    w = window
    _open(qtbot, w, truth["path"])
    qtbot.waitUntil(lambda: w.c.session.index is not None, timeout=60000)
    index = w.c.session.index
    assert type(index).__name__ == "RemoteIndex" and index.alive
    assert (
        w.dataset_panel.search_label.text() == "Search: exact, every chip compared (fast at this size)"
        or ("index ready" in w.dataset_panel.search_label.text())
    )
    w.c.click_at(*w.c.session.catalog.centroids[600])
    qtbot.waitUntil(lambda: w.c.shown is not None, timeout=15000)
    assert w.c.shown.result.method == "index" and len(w.c.shown.items) == 200
    assert peak_memory()["index_peak_rss_gb"] > 0.01
    other = write_earth_index(tmp_path / "q.parquet", n=200, d=16)
    _open(qtbot, w, other["path"])  # other data: the old graph's process ends
    qtbot.waitUntil(lambda: not index.alive, timeout=10000)
