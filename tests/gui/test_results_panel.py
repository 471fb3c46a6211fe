"""The results gallery: counts, threshold, sorting, labelling keys/buttons, visible-only thumbnail requests."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from terrafind.core.present.items import ResultItem
from terrafind.gui.results.results_panel import ResultsPanel

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def make_items(n: int, seed: int = 0) -> list[ResultItem]:
    rng = np.random.default_rng(seed)
    scores = np.sort(rng.uniform(0.4, 0.99, n))[::-1]
    return [
        ResultItem(
            row=1000 + 3 * i,  # catalog rows differ from positions, as in real results
            rank=i + 1,
            score=float(s),
            chip_id=f"chip_{i:05d}",
            date=f"2024-06-{i % 28 + 1:02d}",
            lon=float(rng.uniform(10.0, 11.0)),
            lat=float(rng.uniform(50.0, 51.0)),
            probability=float(rng.uniform()) if i % 3 == 0 else None,
        )
        for i, s in enumerate(scores)
    ]


@pytest.fixture
def panel(qtbot):
    widget = ResultsPanel()
    widget.resize(420, 640)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    # Delete ourselves (not qtbot.addWidget): offscreen Qt segfaults at exit on leftover widgets.
    widget.close()
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def on_screen_rows(panel: ResultsPanel) -> list[int]:
    """Brute force: every model row whose tile touches the viewport."""
    area = panel.view.viewport().rect()
    model = panel.model
    return [
        panel.visible_rows()[i]
        for i in range(model.rowCount())
        if panel.view.visualRect(model.index(i)).intersects(area)
    ]


def test_set_results_shows_every_item_in_rank_order(panel):
    items = make_items(50)
    panel.set_results(items)
    assert panel.visible_count() == 50
    assert panel.visible_rows() == [it.row for it in items]
    panel.clear()
    assert panel.visible_count() == 0 and panel.visible_rows() == []


def test_threshold_hides_low_scores_live_and_survives_new_results(panel):
    items = make_items(300)
    scores = np.array([it.score for it in items])
    panel.set_results(items)
    for t in (0.9, 0.7, 0.95, 0.5):  # up and down: tail removed and re-inserted
        panel.set_threshold(t)
        assert panel.visible_count() == int((scores >= t).sum())
        assert all(panel.model.item_for_row(r).score >= t for r in panel.visible_rows())
    panel.set_threshold(0.8)
    panel.set_results(make_items(300, seed=1))  # the threshold stays in force for the next search
    assert panel.visible_count() == sum(it.score >= 0.8 for it in make_items(300, seed=1))
    panel.set_threshold(None)
    assert panel.visible_count() == 300


def test_sort_by_distance_orders_nearest_first_then_back_to_score(panel):
    items = make_items(120)
    panel.set_results(items)
    center = (10.2, 50.7)
    panel.set_sort("distance", center)
    rows = panel.visible_rows()
    by_row = {it.row: it for it in items}
    kx = np.cos(np.radians(center[1]))
    dist = [np.hypot((by_row[r].lon - center[0]) * kx, by_row[r].lat - center[1]) for r in rows]
    assert dist == sorted(dist)
    assert rows != [it.row for it in items]  # the test data really is reordered
    panel.set_threshold(0.7)  # filtering a distance-sorted list keeps the distance order
    kept = panel.visible_rows()
    assert kept == [r for r in rows if by_row[r].score >= 0.7]
    panel.set_sort("score")
    assert panel.visible_rows() == [it.row for it in items if it.score >= 0.7]
    with pytest.raises(ValueError):
        panel.set_sort("colour")


def test_label_keys_and_buttons_emit_label_requested_and_mark(qtbot, panel):
    items = make_items(20)
    panel.set_results(items)
    with qtbot.assertNotEmitted(panel.label_requested):
        QTest.keyClick(panel.view, Qt.Key.Key_Y)  # nothing selected yet: nothing to label
    assert not panel.yes_button.isEnabled()
    panel.select_row(items[2].row)
    assert panel.yes_button.isEnabled()
    with qtbot.waitSignal(panel.label_requested) as blocker:
        QTest.keyClick(panel.view, Qt.Key.Key_Y)
    assert blocker.args == [items[2].row, "positive"]
    assert panel.model.item_for_row(items[2].row).label == "positive"
    assert panel.current_row() == items[3].row  # moved on to the next tile for fast review
    with qtbot.waitSignal(panel.label_requested) as blocker:
        QTest.keyClick(panel.view, Qt.Key.Key_N)
    assert blocker.args == [items[3].row, "negative"]
    with qtbot.waitSignal(panel.label_requested) as blocker:
        panel.yes_button.click()
    assert blocker.args == [items[4].row, "positive"]
    with qtbot.waitSignal(panel.label_requested) as blocker:
        panel.no_button.click()
    assert blocker.args == [items[5].row, "negative"]
    panel.set_label(items[5].row, None)  # an undo from the shell clears the mark
    assert panel.model.item_for_row(items[5].row).label is None


def test_click_selects_double_click_activates_and_select_row_is_quiet(qtbot, panel):
    items = make_items(30)
    panel.set_results(items)
    with qtbot.assertNotEmitted(panel.row_selected):
        panel.select_row(items[7].row)  # comes from a map click: must not pan the map back
    assert panel.current_row() == items[7].row
    rect = panel.view.visualRect(panel.model.index(1))
    with qtbot.waitSignal(panel.row_selected) as blocker:
        QTest.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [items[1].row]
    with qtbot.waitSignal(panel.row_activated) as blocker:
        QTest.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [items[1].row]
    panel.select_row(123456)  # not in the results: selection cleared, no error
    assert not panel.view.selectionModel().hasSelection()


def test_thumbnails_wanted_asks_only_for_visible_rows_without_thumbnail(qtbot, panel):
    items = make_items(500)
    with qtbot.waitSignal(panel.thumbnails_wanted, timeout=3000) as blocker:
        panel.set_results(items)
    first = blocker.args[0]
    assert first == on_screen_rows(panel)
    assert 0 < len(first) < 60
    image = QImage(128, 128, QImage.Format.Format_RGB32)
    for k, row in enumerate(first):
        image.fill(QColor.fromHsv(k * 29 % 360, 110, 210))
        panel.set_thumbnail(row, image)
    assert all(panel.model.has_pixmap(r) for r in first)
    others = [replace(it, row=it.row + 100_000) for it in make_items(40, seed=9)[5:]]
    panel.set_results(items[:5] + others)  # the next search keeps 5 of these hits
    assert [panel.model.has_pixmap(it.row) for it in items[:6]] == [True] * 5 + [False]
    with qtbot.waitSignal(panel.thumbnails_wanted, timeout=3000) as blocker:
        panel.set_results(items)
    assert blocker.args[0] == [r for r in first if not panel.model.has_pixmap(r)]
    for row in blocker.args[0]:
        panel.set_thumbnail(row, image)
    with qtbot.assertNotEmitted(panel.thumbnails_wanted, wait=150):
        panel.resize(430, 640)  # same tiles on screen, all with thumbnails: nothing to ask
    with qtbot.waitSignal(panel.thumbnails_wanted, timeout=3000) as blocker:
        panel.view.verticalScrollBar().setValue(panel.view.verticalScrollBar().maximum())
    last = blocker.args[0]
    assert last == on_screen_rows(panel)
    assert items[-1].row in last and not set(last) & set(first)
    panel.view.verticalScrollBar().setValue(0)
    qtbot.wait(60)
    ARTIFACTS.mkdir(exist_ok=True)
    panel.select_row(first[1])
    panel.set_label(first[1], "positive")
    panel.set_label(first[3], "negative")
    panel.grab().save(str(ARTIFACTS / "results_panel.png"))


def test_five_thousand_results_stay_fast(qtbot, panel):
    items = make_items(5000)
    start = time.perf_counter()
    panel.set_results(items)
    QCoreApplication.processEvents()
    loaded = time.perf_counter() - start
    start = time.perf_counter()
    for t in np.linspace(0.5, 0.95, 20):  # a threshold drag
        panel.set_threshold(float(t))
        QCoreApplication.processEvents()
    per_step = (time.perf_counter() - start) / 20
    panel.set_sort("distance", (10.5, 50.5))
    assert panel.visible_count() == sum(it.score >= 0.95 for it in items)
    start = time.perf_counter()
    for item in items:  # the shell re-marks every hit after an undo
        panel.set_label(item.row, "negative")
    relabel = time.perf_counter() - start
    assert sum(panel.model.item_for_row(it.row).label == "negative" for it in items) == 5000
    assert loaded < 1.0 and per_step < 0.1 and relabel < 1.0, (loaded, per_step, relabel)
