"""Issue 14 in the running window: scores in words, thresholds in either unit, the random-sample check,
automatic rounds, warnings, example quality, unusual places, the Clay v1 fields and the scores raster.

One window serves the module; tests run in file order and build on each other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt

from terrafind.gui import errors
from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow
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
    seen: list = []
    errors.set_dialog_hook(lambda kind, title, text, detail: seen.append((kind, text, detail)) or True)
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    w.resize(1400, 900)
    w.show()
    w.dialogs = seen
    yield w
    w.c.undo_stack.clear()
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    errors.set_dialog_hook(None)


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
        ).widget().text()
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
    assert s.params["loss_min"] == pytest.approx(lo, abs=1e-4) and s.params["loss_max"] == pytest.approx(hi, abs=1e-4)
    expected = len(s.visible())
    assert 0 < expected < len(shown.items)
    assert len(w.results_panel.visible_rows()) == expected
    qtbot.waitUntil(lambda: page_value(w.map_view, "TF.counts()").get("results") == expected, timeout=5000)
    # colour by loss: the legend names the metric; off again: the share of the region
    controls.loss.colour_check.setChecked(True)
    assert s.params["colour_by"] == "loss"
    qtbot.waitUntil(lambda: "Loss (MSE)" in page_value(w.map_view, "TF.counts()").get("legend", ""), timeout=5000)
    assert page_value(w.map_view, "TF.counts()").get("results") == expected  # the filter stays
    _shot(qtbot, w, "trust_clay_v1_loss.png")
    controls.loss.colour_check.setChecked(False)
    qtbot.waitUntil(lambda: "Share of this region" in page_value(w.map_view, "TF.counts()").get("legend", ""), timeout=5000)
    controls.loss.check.setChecked(False)
    assert s.params["loss_min"] is None and len(w.results_panel.visible_rows()) == len(s.visible()) > expected
    assert w.dialogs == []
