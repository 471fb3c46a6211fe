"""Dataset panel, examples list and search controls: what each emits when a person uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QColor, QImage

from terrafind.core.present.items import ExampleItem
from terrafind.gui.panels.dataset_panel import DatasetPanel, parse_bbox
from terrafind.gui.panels.examples_panel import ExamplesPanel
from terrafind.gui.panels.search_controls import SearchControls

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

INFO = {
    "adapter": "earth_index",
    "rows": 48213,
    "dim": 384,
    "bbox": [36.71, -1.42, 37.12, -1.05],
    "model": "SoftCon ViT-S/14",
    "files": ["/data/earth_index/kenya_2024.parquet"],
    "chip_size_m": 320.0,
    "problems": ["312 rows had no embedding and were skipped."],
}


@pytest.fixture
def make(qtbot):
    made = []

    def _make(cls, width, height):
        widget = cls()
        widget.resize(width, height)
        widget.show()
        qtbot.waitExposed(widget)
        made.append(widget)
        return widget

    yield _make
    for widget in made:  # deleted here, not by qtbot: offscreen Qt segfaults at exit otherwise
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def save(widget, name: str) -> None:
    QCoreApplication.processEvents()  # let new child widgets be laid out and shown before the grab
    ARTIFACTS.mkdir(exist_ok=True)
    widget.grab().save(str(ARTIFACTS / f"{name}.png"))


@pytest.mark.parametrize(
    "text, expected",
    [("10, 50, 11, 51", (10.0, 50.0, 11.0, 51.0)), (" -1.5 -2  3e0;4 ", (-1.5, -2.0, 3.0, 4.0))],
)
def test_parse_bbox_accepts(text, expected):
    assert parse_bbox(text) == expected


@pytest.mark.parametrize(
    "text, words",
    [
        ("10, 50, 11", "four numbers"),
        ("a, b, c, d", "numbers"),
        ("10, 50, 9, 51", "West must be less than east"),
        ("10, 51, 11, 50", "South must be less than north"),
        ("10, 50, 11, 95", "latitudes"),
    ],
)
def test_parse_bbox_rejects_with_a_sentence(text, words):
    with pytest.raises(ValueError, match=words):
        parse_bbox(text)


def test_dataset_panel_bbox_entry_validates_inline(qtbot, make):
    panel = make(DatasetPanel, 340, 420)
    panel.bbox_edit.setText("10, 50, 9, 51")
    with qtbot.assertNotEmitted(panel.bbox_entered):
        panel.bbox_button.click()
    assert panel.bbox_message.isVisible() and "West" in panel.bbox_message.text()
    panel.bbox_edit.setText("10, 50, 11, 51")
    with qtbot.waitSignal(panel.bbox_entered) as blocker:
        panel.bbox_edit.returnPressed.emit()
    assert blocker.args == [(10.0, 50.0, 11.0, 51.0)]
    assert not panel.bbox_message.isVisible()


def test_dataset_panel_buttons_recent_region_and_info(qtbot, make):
    panel = make(DatasetPanel, 340, 420)
    assert panel.empty_label.isVisible() and not panel.recent_list.isVisible()
    with qtbot.waitSignal(panel.open_file_requested):
        panel.open_file_button.click()
    with qtbot.waitSignal(panel.open_folder_requested):
        panel.open_folder_button.click()
    paths = ["/data/earth_index/kenya_2024.parquet", "/data/clay/amazon_v1/"]
    panel.set_recent(paths)
    assert [panel.recent_list.item(i).text() for i in range(2)] == ["kenya_2024.parquet", "amazon_v1"]
    with qtbot.waitSignal(panel.recent_chosen) as blocker:
        panel.recent_list.itemActivated.emit(panel.recent_list.item(1))
    assert blocker.args == [paths[1]]
    with qtbot.waitSignal(panel.region_mode_chosen) as blocker:
        panel.region_buttons["polygon"].click()
    assert blocker.args == ["polygon"] and panel.region_mode() == "polygon"
    with qtbot.assertNotEmitted(panel.region_mode_chosen):
        panel.set_region("rectangle", (1.0, 2.0, 3.0, 4.0))
    assert panel.region_mode() == "rectangle" and parse_bbox(panel.bbox_edit.text()) == (1.0, 2.0, 3.0, 4.0)
    panel.set_info(INFO)
    shown = [panel.info_form.itemAt(i).widget().text() for i in range(panel.info_form.count())]
    assert "48,213" in shown and "SoftCon ViT-S/14" in shown and "kenya_2024.parquet" in shown
    assert panel.problems_label.isVisible() and "312 rows" in panel.problems_label.text()
    assert not panel.empty_label.isVisible()
    save(panel, "dataset_panel")
    panel.set_info(None)
    assert panel.info_form.rowCount() == 0 and panel.empty_label.isVisible()


def test_examples_panel_rows_remove_and_toggle(qtbot, make):
    panel = make(ExamplesPanel, 320, 240)
    assert panel.empty_label.isVisible()
    examples = [
        ExampleItem(5, "positive", "36MZE_2024_000123"),
        ExampleItem(9, "positive", "36MZE_2024_004567"),
        ExampleItem(77, "negative", "36MZE_2024_a_rather_long_identifier_0099"),
    ]
    panel.set_examples(examples)
    assert panel.example_rows() == [5, 9, 77] and not panel.empty_label.isVisible()
    assert panel.count_label.toolTip() == "2 positive, 1 negative"
    assert panel.row_widget(77).kind_button.text() == "Negative"
    with qtbot.waitSignal(panel.remove_requested) as blocker:
        panel.row_widget(9).remove_button.click()
    assert blocker.args == [9]
    with qtbot.waitSignal(panel.kind_toggle_requested) as blocker:
        panel.row_widget(77).kind_button.click()
    assert blocker.args == [77]
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    image.fill(QColor("#7a9a5a"))
    panel.set_thumbnail(5, image)
    panel.set_thumbnail(4242, image)  # not an example (any more): ignored
    assert not panel.row_widget(5).thumb.pixmap().isNull()
    save(panel, "examples_panel")
    panel.set_examples([])
    assert panel.example_rows() == [] and panel.count_label.text() == "" and panel.empty_label.isVisible()


def test_search_controls_emit_params_and_setters_stay_quiet(qtbot, make):
    controls = make(SearchControls, 320, 230)
    base = {"mode": "mean", "k": 200, "threshold": None, "auto": True, "threshold_unit": "value"}
    assert controls.params() == base
    with qtbot.waitSignal(controls.params_changed) as blocker:
        controls.k_spin.setValue(500)
    assert blocker.args[0]["k"] == 500
    with qtbot.waitSignal(controls.params_changed) as blocker:
        controls.mode_combo.setCurrentIndex(controls.mode_combo.findData("max"))
    assert blocker.args[0]["mode"] == "max"
    with qtbot.waitSignal(controls.params_changed) as blocker:
        controls.threshold_check.setChecked(True)
    assert blocker.args[0]["threshold"] == pytest.approx(0.5)
    with qtbot.waitSignal(controls.params_changed) as blocker:
        controls.auto_check.setChecked(False)
    assert blocker.args[0]["auto"] is False
    with qtbot.assertNotEmitted(controls.params_changed):
        controls.set_threshold(0.83)
        controls.set_params({"mode": "mean", "k": 50, "auto": True})
    assert controls.params() == {**base, "k": 50, "threshold": pytest.approx(0.83)}
    with qtbot.assertNotEmitted(controls.params_changed):
        controls.set_threshold(None)
    assert controls.params()["threshold"] is None and not controls.threshold_spin.isEnabled()
    with pytest.raises(ValueError):
        controls.set_params({"mode": "median"})
    with qtbot.waitSignal(controls.search_requested):
        controls.search_button.click()
    with qtbot.waitSignal(controls.negative_mode_changed) as blocker:
        controls.negative_button.click()
    assert blocker.args == [True] and controls.negative_mode()
    with qtbot.assertNotEmitted(controls.negative_mode_changed):
        controls.set_negative_mode(False)
    assert not controls.negative_mode()
    controls.set_threshold(0.82)
    save(controls, "search_controls")


def test_threshold_unit_top_share_of_region(qtbot, make):
    """The line in either unit: a share of the region ("top 1 %") goes out as threshold_share (0..1)."""
    controls = make(SearchControls, 360, 230)
    with qtbot.waitSignal(controls.params_changed) as blocker:
        controls.unit_combo.setCurrentIndex(controls.unit_combo.findData("top"))
        controls.unit_combo.activated.emit(1)  # what choosing it with the mouse emits
    assert blocker.args[0] == {"threshold_unit": "top"}  # only the unit: the line stays where it is
    assert controls.threshold_spin.suffix() == " %" and controls.threshold_spin.maximum() == 100.0
    with qtbot.waitSignal(controls.params_changed) as blocker:
        controls.threshold_check.setChecked(True)
    with qtbot.waitSignal(controls.params_changed) as blocker:
        controls.threshold_spin.setValue(2.5)
    assert blocker.args[0]["threshold_share"] == pytest.approx(0.025) and "threshold" not in blocker.args[0]
    with qtbot.assertNotEmitted(controls.params_changed):
        controls.set_params({"threshold_unit": "top", "threshold": 0.7, "threshold_share": 0.004})
    assert controls.threshold_spin.value() == pytest.approx(0.4)
    with qtbot.assertNotEmitted(controls.params_changed):
        controls.set_params({"threshold_unit": "value", "threshold": 0.7, "threshold_share": None})
    assert controls.threshold_spin.value() == pytest.approx(0.7) and controls.threshold_spin.suffix() == ""
    controls.set_params({"threshold_unit": "top", "threshold": 0.7, "threshold_share": 0.004})
    save(controls, "search_controls_top")
