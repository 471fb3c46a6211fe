"""Issue 14 in the running window: scores in words, thresholds in either unit, the random-sample check,
automatic rounds, warnings, example quality, unusual places, the Clay v1 fields and the scores raster.

One window serves the module; tests run in file order and build on each other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from windowkit import app_window

from terrafind.gui.results.results_model import ItemRole
from terrafind.gui.selftest import page_value

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
pytestmark = pytest.mark.webengine


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from synth import write_earth_index

    return write_earth_index(tmp_path_factory.mktemp("trust") / "synthetic.parquet", n=900, d=32)


@pytest.fixture(scope="module")
def window(qapp, data):
    with app_window() as w:
        yield w


def _new_payload(qtbot, w, old, how=None, timeout=15000):
    def ready():
        p = w.c.shown
        return p is not None and p is not old and (how is None or p.how == how)

    qtbot.waitUntil(ready, timeout=timeout)
    return w.c.shown


def _gallery_items(w):
    model = w.results_panel.model
    return [model.index(i).data(ItemRole) for i in range(model.rowCount())]


def _shot(qtbot, w, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    qtbot.wait(300)
    assert w.grab().save(str(ARTIFACTS / name))


def test_scores_in_words_and_a_threshold_as_a_share_of_the_region(qtbot, window, data):
    w = window
    w.open_path(str(data["path"]))
    qtbot.waitUntil(lambda: w.c.session.catalog is not None and w.map_view.ready, timeout=30000)
    row = w.c.session.catalog.nearest(-75.75, 37.45)
    w.c.add_example(row, "positive")
    first = _new_payload(qtbot, w, None)
    # the histogram shows the whole region behind the hits
    plot = w.score_plot
    assert plot.log_counts and plot.key.isVisible()
    assert plot.region_counts().sum() > plot.hits_counts().sum() > 0
    # every tile and tooltip says where the hit stands in its region
    tip = w.results_panel.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert "of region" in tip and "similarity" in tip
    # the threshold as "top 2 %": the controls' own unit box, then the spin box
    controls = w.controls
    combo = controls.unit_combo
    combo.setCurrentIndex(combo.findData("top"))
    combo.activated.emit(combo.currentIndex())
    assert w.c.session.params["threshold_unit"] == "top" and controls.threshold_label.text() == "Keep"
    controls.threshold_check.setChecked(True)
    controls.threshold_spin.setValue(2.0)
    s = w.c.session
    assert s.params["threshold_share"] == pytest.approx(0.02)
    t = s.params["threshold"]
    assert t == pytest.approx(first.outcome.value_at(0.02))
    assert plot.threshold() == pytest.approx(t) and plot.line.label.format.endswith("top 2 %")
    shown = len(w.results_panel.visible_rows())
    assert 0 < shown <= int(0.02 * len(s.catalog)) + 1
    qtbot.waitUntil(lambda: page_value(w.map_view, "TF.counts()").get("results") == shown, timeout=5000)
    # a new search: the line moves to the top 2 % of the new region scores, the spin box still says 2 %
    before = w.c.shown
    w.c.add_example(int(first.items[-1].row), "positive")
    second = _new_payload(qtbot, w, before)
    t2 = s.params["threshold"]
    assert t2 == pytest.approx(second.outcome.value_at(0.02)) and t2 != pytest.approx(t)
    assert controls.threshold_spin.value() == pytest.approx(2.0)
    assert plot.threshold() == pytest.approx(t2)
    # dragging the line in this unit shows the new share in the box
    line_at = float(second.result.scores[5])
    plot.threshold_changed.emit(line_at)
    share = second.outcome.share_of(line_at)
    assert controls.threshold_spin.value() == pytest.approx(100 * share, abs=1e-3)
    _shot(qtbot, w, "trust_threshold_top_share.png")
    # back to a plain score: the line stays where it is
    combo.setCurrentIndex(combo.findData("value"))
    combo.activated.emit(combo.currentIndex())
    assert s.params["threshold_unit"] == "value" and s.params["threshold"] == pytest.approx(line_at)
    assert controls.threshold_spin.value() == pytest.approx(line_at, abs=1e-3)
    assert w.dialogs == []


def test_clay_v1_fields_in_the_data_panel_and_hits_by_loss(qtbot, window, tmp_path_factory):
    from synth import write_clay_v1

    w = window
    v1 = write_clay_v1(tmp_path_factory.mktemp("v1") / "clay_v1.parquet", n=600, d=24)
    old = w.c.session.catalog
    w.open_path(str(v1["path"]))
    qtbot.waitUntil(lambda: w.c.session.catalog is not None and w.c.session.catalog is not old, timeout=30000)
    panel = w.dataset_panel
    texts = {
        panel.info_form.itemAt(i, panel.info_form.ItemRole.LabelRole).widget().text(): panel.info_form.itemAt(
            i, panel.info_form.ItemRole.FieldRole
        )
        .widget()
        .text()
        for i in range(panel.info_form.rowCount())
    }
    assert texts["Model"] == "clay-v1.5" and "Made with" not in texts  # the model row says it
    assert texts["Made by"] == "Clay Foundation" and texts["Loss"].startswith("MSE: median")
    assert "Universally Class Identifier" in texts["Classes"]
    assert panel.loss_plot.isVisible() and panel.loss_plot.total() == 600 and panel.loss_plot.metric == "MSE"
    ARTIFACTS.mkdir(exist_ok=True)
    qtbot.wait(200)  # the form's new rows are laid out
    assert panel.grab().save(str(ARTIFACTS / "trust_data_panel_v1.png"))
    # the loss row of the search controls, on the data's own scale
    controls = w.controls
    assert controls.loss_shown() and controls.loss_label.text() == "Loss (MSE)"
    assert controls.loss.max_spin.maximum() == pytest.approx(float(v1["loss"].max()), rel=1e-4)
    w.c.add_example(int(np.flatnonzero(v1["labels"] == 2)[0]), "positive")
    shown = _new_payload(qtbot, w, w.c.shown)
    assert shown.fc["loss_legend"]["metric"] == "MSE"
    assert all(it.loss is not None for it in shown.items)
    # a range of loss: the gallery, the map and the session's visible hits agree
    loss = v1["loss"]
    lo, hi = float(np.percentile(loss, 30)), float(np.percentile(loss, 70))
    controls.loss.check.setChecked(True)
    controls.loss.min_spin.setValue(lo)
    controls.loss.max_spin.setValue(hi)
    s = w.c.session
    assert s.params["loss_min"] == pytest.approx(lo, abs=1e-4) and s.params["loss_max"] == pytest.approx(
        hi, abs=1e-4
    )
    expected = len(s.visible())
    assert 0 < expected < len(shown.items)
    assert len(w.results_panel.visible_rows()) == expected
    qtbot.waitUntil(lambda: page_value(w.map_view, "TF.counts()").get("results") == expected, timeout=5000)
    # colour by loss: the legend names the metric; off again: the share of the region
    controls.loss.colour_check.setChecked(True)
    assert s.params["colour_by"] == "loss"
    qtbot.waitUntil(
        lambda: "Loss (MSE)" in page_value(w.map_view, "TF.counts()").get("legend", ""), timeout=5000
    )
    assert page_value(w.map_view, "TF.counts()").get("results") == expected  # the filter stays
    _shot(qtbot, w, "trust_clay_v1_loss.png")
    controls.loss.colour_check.setChecked(False)
    qtbot.waitUntil(
        lambda: "Share of this region" in page_value(w.map_view, "TF.counts()").get("legend", ""),
        timeout=5000,
    )
    controls.loss.check.setChecked(False)
    assert s.params["loss_min"] is None and len(w.results_panel.visible_rows()) == len(s.visible()) > expected
    assert w.dialogs == []


@pytest.fixture(scope="module")
def confusers(tmp_path_factory):
    from synth import confuser_catalog, write_catalog

    cat, truth = confuser_catalog(
        2500, d=32, seed=3, target_spots=((0.2, 0.3),), closeness=0.9, n_confuser=600
    )
    return write_catalog(cat, tmp_path_factory.mktemp("confusers") / "confusers.parquet"), truth


def _open(qtbot, w, path):
    old = w.c.session.catalog
    w.open_path(str(path))
    qtbot.waitUntil(lambda: w.c.session.catalog is not None and w.c.session.catalog is not old, timeout=30000)


def _choose_mode(w, key):
    combo = w.results_panel.mode_bar.combo
    combo.setCurrentIndex(combo.findData(key))
    combo.activated.emit(combo.currentIndex())  # what picking it with the mouse emits


def test_check_a_random_sample_gives_precision_in_the_window_and_the_export(
    qtbot, window, confusers, tmp_path
):
    import json

    w = window
    path, truth = confusers
    _open(qtbot, w, path)
    s = w.c.session
    s.params["threshold"] = None
    w.c.set_params({"threshold_unit": "value", "threshold": None, "k": 300})
    w.c.add_example(int(np.flatnonzero(truth == 1)[0]), "positive")
    shown = _new_payload(qtbot, w, w.c.shown)
    assert w.results_panel.mode_bar.is_available("check")
    _choose_mode(w, "check")
    bar = w.results_panel.check_bar
    assert bar.isVisible() and "mark each Yes" in bar.text.text()
    sample = [it.row for it in _gallery_items(w)]
    assert len(sample) == s.active_check().size == 20 and set(sample) <= {it.row for it in shown.items}
    qtbot.waitUntil(lambda: page_value(w.map_view, "TF.counts()").get("results") == 20, timeout=5000)
    # the person marks each sampled tile with the keys, as in any gallery
    view = w.results_panel.view
    view.setFocus()
    view.setCurrentIndex(w.results_panel.model.index(0))
    for row in sample:
        key = Qt.Key.Key_Y if truth[row] == 1 else Qt.Key.Key_N
        qtbot.keyClick(view, key)
    est = s.check_estimate()
    assert est.checked == 20 and est.right == int(np.sum(truth[sample] == 1))
    assert bar.text.text() == est.sentence() and "Wilson 95 %" in bar.text.text()
    # the interval is Wilson's for these marks (whether a 95 % interval holds the truth is a matter of
    # chance for one random sample: tests/core/test_sample_check.py measures its coverage over hundreds)
    from terrafind.core.search.check import wilson

    assert est.interval == wilson(est.right, est.checked)
    assert est.interval[0] <= est.right / est.checked <= est.interval[1]
    _shot(qtbot, w, "trust_check_sample.png")
    out = tmp_path / "checked.geojson"
    done: list = []
    assert w.c.data.export_hits(str(out), then=lambda p, n: done.append(n))
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    quoted = json.loads(out.read_text())["terrafind"]["precision_check"]
    assert quoted["checked"] == 20 and quoted["text"] == est.sentence()
    # a new sample of another size
    bar.size_spin.setValue(10)
    qtbot.mouseClick(bar.new_button, Qt.LeftButton)
    assert s.active_check().size == 10 and w.results_panel.model.rowCount() == 10
    _choose_mode(w, "best")
    assert not bar.isVisible()
    assert w.dialogs == []


def test_improve_automatically_reviewed_rounds_then_taken_without_asking(qtbot, window, confusers):
    from terrafind.gui import dialogs

    w = window
    path, truth = confusers
    _open(qtbot, w, path)
    s = w.c.session
    w.c.set_params({"threshold_unit": "value", "threshold": None, "k": 300})
    for r in np.flatnonzero(truth == 1)[:3]:
        w.c.add_example(int(r), "positive")
    _new_payload(qtbot, w, w.c.shown)
    assert w.actions.improve.isEnabled() and w.learn_panel.improve_button.isVisible()
    asked: list = []

    def answer(dialog):  # what a person sets in the dialog before pressing Start
        asked.append(dialog)
        dialog.rounds_spin.setValue(4)
        dialog.per_round_spin.setValue(8)
        return True

    dialogs.DIALOG_HOOK["exec"] = answer
    try:
        qtbot.mouseClick(w.learn_panel.improve_button, Qt.LeftButton)
    finally:
        dialogs.DIALOG_HOOK.clear()
    assert asked and asked[0].far_spin.value() == round(3 * s.catalog.chip_width_m())
    flow = w.c.rounds
    panel = w.results_panel.rounds
    qtbot.waitUntil(lambda: flow.reviewing, timeout=20000)
    assert w.results_panel.mode_bar.mode() == "round" and panel.isVisible()
    offered = [it.row for it in _gallery_items(w)]
    assert offered == list(flow.offered) and len(offered) == 8
    assert panel.next_button.isVisible() and "Round 0" in panel.line_texts()[0]
    _shot(qtbot, w, "trust_rounds_review.png")
    for _round in range(4):
        if not flow.reviewing:
            break
        for row in flow.offered:  # the person answers from what the chips are
            w.c.label(int(row), "positive" if truth[int(row)] == 1 else "negative")
        before = len(flow.figures)
        qtbot.mouseClick(panel.next_button, Qt.LeftButton)
        qtbot.waitUntil(lambda n=before: len(flow.figures) > n and not flow.running, timeout=20000)
    assert len(flow.figures) >= 2 and not flow.reviewing
    assert flow.status.startswith("Stopped") and panel.status.text() == flow.status
    assert len(panel.line_texts()) == len(flow.figures) and "hard negatives taken" in panel.line_texts()[1]
    assert w.results_panel.mode_bar.mode() == "best" and not w.results_panel.mode_bar.is_available("round")
    assert s.learn["refine"] and w.c.shown.how == "refine"
    _shot(qtbot, w, "trust_rounds_done.png")
    qtbot.mouseClick(panel.close_button, Qt.LeftButton)
    assert not panel.isVisible()
    # taken without asking: one job, its negatives one undoable step
    labels_before = dict(s.labels)
    dialogs.DIALOG_HOOK["exec"] = lambda d: d.auto_check.setChecked(True) or True
    try:
        w.actions.improve.trigger()
    finally:
        dialogs.DIALOG_HOOK.clear()
    qtbot.waitUntil(lambda: not flow.running and bool(flow.status), timeout=30000)
    assert panel.isVisible() and panel.close_button.isVisible() and flow.figures
    taken = [r for r in s.labels if r not in labels_before]
    if taken:
        assert all(s.labels[r] == "negative" for r in taken)
        assert w.c.undo_stack.undoText().startswith("Improve automatically")
        w.c.undo_stack.undo()
        assert dict(s.labels) == labels_before
    assert w.dialogs == []


def test_warnings_odd_examples_and_clicks_beside_the_data(qtbot, window, data, monkeypatch):
    import threading

    from terrafind.core.search import looks_wrong

    w = window
    worked_on = []  # the threads the warnings were worked out on: never the window's (it would freeze)
    real = looks_wrong.warnings_for
    monkeypatch.setattr(
        looks_wrong, "warnings_for", lambda facts: worked_on.append(threading.current_thread()) or real(facts)
    )
    _open(qtbot, w, data["path"])
    s = w.c.session
    cat = s.catalog
    labels = data["labels"]
    w.c.set_params({"threshold_unit": "value", "threshold": None, "k": 200})
    # a click just beside the data's east edge takes the nearest chip (snap distance: one chip)
    assert w.dataset_panel.snap_spin.value() == round(cat.chip_width_m())
    _w, south, east, north = cat.bounds
    lon = east + 0.3 * cat.chip_width_m() / (111_320 * np.cos(np.radians(north)))
    row = w.c.click_at(lon, (south + north) / 2)
    assert row is not None and s.examples[row] == "positive"
    _new_payload(qtbot, w, w.c.shown)
    # a line that keeps 30 % of the region: the run looks wrong, and the message bar says so
    w.c.set_params({"threshold_unit": "top", "threshold_share": 0.3})
    qtbot.waitUntil(lambda: "% of this region" in w.message_bar.text(), timeout=5000)
    assert worked_on and threading.main_thread() not in worked_on
    _shot(qtbot, w, "trust_run_looks_wrong.png")
    w.c.set_params({"threshold_unit": "value", "threshold": None})
    # positives of one kind, then one of another kind: flagged in the examples list
    same = [int(r) for r in np.flatnonzero(labels == labels[row])[:3] if int(r) != row]
    for r in same:
        w.c.add_example(r, "positive")
    odd = int(np.flatnonzero(labels != labels[row])[0])
    w.c.add_example(odd, "positive")
    panel = w.examples_panel
    qtbot.waitUntil(
        lambda: panel.row_widget(odd) is not None and panel.row_widget(odd).flag_label.isVisibleTo(panel),
        timeout=5000,
    )
    assert "unlike your others" in panel.row_widget(odd).flag_label.toolTip()
    assert panel.flag_hint.isVisibleTo(panel) and "1 example looks unlike" in panel.flag_hint.text()
    assert not panel.row_widget(same[0]).flag_label.isVisibleTo(panel)
    _shot(qtbot, w, "trust_odd_example.png")
    # a snap distance of 0: a click beside the data finds nothing
    w.dataset_panel.snap_spin.setValue(0)
    assert s.params["snap_m"] == 0
    assert w.c.click_at(lon, (south + north) / 2) is None
    w.dataset_panel.snap_spin.setValue(int(round(cat.chip_width_m())))
    assert w.dialogs == []


def test_unusual_places_then_label_refine_and_the_scores_raster(qtbot, window, tmp_path, monkeypatch):
    import rasterio
    from PySide6.QtWidgets import QFileDialog
    from synth import write_clay_v1

    w = window
    v1 = write_clay_v1(tmp_path / "unusual_v1.parquet", n=500, d=24, high_loss=8)
    _open(qtbot, w, v1["path"])
    s = w.c.session
    w.c.set_params({"threshold_unit": "value", "threshold": None, "k": 100})
    a = w.actions
    assert a.unusual_loss.isEnabled() and a.unusual_novelty.isEnabled()
    assert w.controls.unusual_button.menu() is a.unusual_menu
    before = w.c.shown
    a.unusual_loss.trigger()
    shown = _new_payload(qtbot, w, before, "unusual")
    assert {it.row for it in shown.items[:8]} == set(v1["planted"].tolist())
    assert shown.items[0].kind == "loss" and w.score_plot.by == "loss"
    assert (
        "unusual places" in w.score_plot.info_text()
        and w.results_panel.sort_combo.currentText() == "Best first (loss)"
    )
    _shot(qtbot, w, "trust_unusual_loss.png")
    # by novelty: no examples needed either
    before = w.c.shown
    w.controls.unusual_button.menu().actions()[1].trigger()
    novel = _new_payload(qtbot, w, before, "unusual")
    assert novel.result.mode == "unusual-novelty" and novel.items[0].kind == "novelty"
    # like any search: mark two, then Search searches from them
    w.c.label(int(novel.items[0].row), "positive")
    w.c.label(int(novel.items[-1].row), "negative")
    before = w.c.shown
    qtbot.mouseClick(w.controls.search_button, Qt.LeftButton)
    plain = _new_payload(qtbot, w, before)
    assert plain.how in ("plain", "refine") and int(novel.items[0].row) in plain.result.positives
    # File > Export scores as raster...
    out = tmp_path / "scores.tif"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *args: (str(out), args[3].split(";;")[0]))
    )
    done: list = []
    w.c.data.exported.connect(lambda p, n: done.append(p))
    a.export_raster_action.trigger()
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    with rasterio.open(out) as ds:
        img = ds.read(1)
        assert ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert (img != ds.nodata).sum() == len(s.catalog)
    assert "every chip" in w.status.currentMessage()
    assert w.dialogs == []
