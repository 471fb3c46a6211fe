"""Issue 7 in the running window: Refine, Review, quality, grouped search, sites, import and phone export.

One window serves the module (as in test_app_window.py); tests run in file order and build on each other:
a search, labels, Refine, Review, sites, groups, imports, exports. Counts on the map come from the page.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import gpxpy
import numpy as np
import pytest
from PySide6.QtCore import Qt
from windowkit import app_window

from terrafind.core.export.formats import file_filters
from terrafind.core.present.features import ShownResults
from terrafind.gui.flows.import_flow import ImportDialog
from terrafind.gui.results.results_model import ItemRole
from terrafind.gui.selftest import page_value

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
pytestmark = pytest.mark.webengine


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from synth import write_earth_index

    return write_earth_index(tmp_path_factory.mktemp("learn") / "synthetic.parquet", n=900, d=32)


@pytest.fixture(scope="module")
def window(qapp, data):
    with app_window() as w:
        yield w


def _counts(w) -> dict:
    return page_value(w.map_view, "TF.counts()")


def _gallery_items(w):
    model = w.results_panel.model
    return [model.index(i).data(ItemRole) for i in range(model.rowCount())]


def _new_payload(qtbot, w, old, how=None, timeout=15000):
    def ready():
        p = w.c.shown
        return p is not None and p is not old and (how is None or getattr(p, "how", "plain") == how)

    qtbot.waitUntil(ready, timeout=timeout)
    return w.c.shown


def test_refine_after_labels_shows_probabilities_and_quality(qtbot, window, data):
    w = window
    w.open_path(str(data["path"]))
    qtbot.waitUntil(lambda: w.c.session.catalog is not None and w.map_view.ready, timeout=30000)
    assert not w.actions.refine.isEnabled()
    row = w.c.session.catalog.nearest(-75.75, 37.45)
    w.c.add_example(row, "positive")
    first = _new_payload(qtbot, w, None)
    items = first.items
    w.c.label(items[0].row, "positive")
    w.c.label(items[-1].row, "negative")
    w.c.label(items[-2].row, "negative")
    qtbot.waitUntil(w.actions.refine.isEnabled, timeout=3000)
    # the gallery keeps the marks (controller.labels_changed once dropped int keys: Signal(dict))
    assert w.results_panel.model.item_for_row(items[-1].row).label == "negative"
    assert w.learn_panel.refine_button.isEnabled()
    before = w.c.shown
    qtbot.mouseClick(w.learn_panel.refine_button, Qt.LeftButton)  # the button shows the Search menu's action
    assert w.actions.refine.isChecked()
    assert "refine again" in w.learn_panel.hint.text()
    payload = _new_payload(qtbot, w, before, "refine")
    assert isinstance(payload, ShownResults) and payload.result.probabilities is not None
    shown = _gallery_items(w)
    assert len(shown) == len(payload.items) > 0
    assert all(it.probability is not None for it in shown)
    probs = [it.probability for it in shown]
    assert probs == sorted(probs, reverse=True)  # ranked by the classifier's probability
    tip = w.results_panel.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert "Probability" in tip
    top = int(payload.items[0].row)
    p_map = page_value(w.map_view, f"TF.findChip({top}).props.probability")
    assert p_map == pytest.approx(payload.items[0].probability, abs=1e-6)
    # the quality in plain words in the learn box (not over the histogram), the method in its tooltip
    assert "\n" not in w.score_plot.info_text() and "by probability" in w.score_plot.info_text()
    info = w.learn_panel.quality.text()
    assert w.learn_panel.quality.isVisible() and "Checked on your" in info and "this region" in info
    assert payload.outcome.refine.cv_method in w.learn_panel.quality.toolTip()
    if payload.outcome.refine.cv_accuracy is not None:
        assert f"{100 * payload.outcome.refine.cv_accuracy:.0f} % right" in info
    assert w.results_panel.sort_combo.currentText() == "Best first (probability)"
    assert w.dialogs == []


def test_review_mode_orders_by_uncertainty_and_survives_a_label(qtbot, window):
    w = window
    payload = w.c.shown
    assert w.results_panel.mode_bar.combo.model().item(1).isEnabled()
    w.results_panel.mode_bar.combo.setCurrentIndex(1)
    w.results_panel.mode_bar.combo.activated.emit(1)  # what picking "Review" with the mouse emits
    review_rows = [it.row for it in payload.review.items]
    assert w.results_panel.visible_rows() == review_rows
    doubt = [abs(it.probability - 0.5) for it in _gallery_items(w)]
    assert doubt == sorted(doubt)
    qtbot.waitUntil(lambda: _counts(w).get("results_total") == len(review_rows), timeout=5000)
    # Label the most uncertain chip, search again: it refines again and the gallery stays in Review.
    search_button = w.controls.search_button
    assert not search_button.property("prominent")
    w.c.label(review_rows[0], "negative")
    assert w.results_panel.model.item_for_row(review_rows[0]).label == "negative"
    # A label does not search by itself (the gallery stays put), but the next step is plain to see.
    assert w.c.session.labels_changed_since_refine()
    assert "Labels changed — Search to refine again" in w.learn_panel.hint.text()
    assert search_button.property("prominent") and "font-weight: bold" in search_button.styleSheet()
    ARTIFACTS.mkdir(exist_ok=True)
    assert w.grab().save(str(ARTIFACTS / "learn_labels_changed.png"))
    w.actions.search.trigger()
    assert not search_button.property("prominent")  # pressed: back to normal at once
    new = _new_payload(qtbot, w, payload, "refine")
    assert "Labels changed" not in w.learn_panel.hint.text() and not search_button.property("prominent")
    assert w.c.session.learn["gallery"] == "review"
    assert w.results_panel.visible_rows() == [it.row for it in new.review.items]
    assert review_rows[0] not in w.results_panel.visible_rows()
    w.results_panel.mode_bar.combo.setCurrentIndex(0)
    w.results_panel.mode_bar.combo.activated.emit(0)
    assert w.results_panel.visible_rows() == [it.row for it in new.items]


def test_sites_toggle_draws_and_lists_sites(qtbot, window):
    w = window
    qtbot.mouseClick(w.learn_panel.sites_check, Qt.LeftButton)
    assert w.actions.sites.isChecked()
    qtbot.waitUntil(lambda: len(w.c.sites.sites) > 0, timeout=10000)
    n = len(w.c.sites.sites)
    assert n < len(w.c.shown.items)  # touching hits merged
    qtbot.waitUntil(lambda: _counts(w).get("sites") == n, timeout=5000)
    assert w.results_panel.sites_list.isVisible() and w.results_panel.sites_list.count() == n
    assert sum(s.chip_count for s in w.c.sites.sites) == len(w.c.shown.items)
    assert "ha" in w.results_panel.sites_list.list.item(0).text()
    ARTIFACTS.mkdir(exist_ok=True)
    qtbot.wait(400)
    assert w.grab().save(str(ARTIFACTS / "learn_refine_sites.png"))
    # A threshold keeps fewer hits: the sites follow.
    probs = np.asarray(w.c.shown.result.probabilities)  # refined hits: the line filters probability
    t = float(np.sort(probs)[-20])
    kept = int((probs >= t).sum())
    w.score_plot.threshold_changed.emit(t)
    qtbot.waitUntil(lambda: sum(s.chip_count for s in w.c.sites.sites) == kept, timeout=5000)
    qtbot.waitUntil(lambda: _counts(w).get("sites") == len(w.c.sites.sites), timeout=5000)
    w.score_plot.threshold_changed.emit(-1.0)
    qtbot.waitUntil(lambda: sum(s.chip_count for s in w.c.sites.sites) == len(w.c.shown.items), timeout=5000)
    w.results_panel.sites_list.site_chosen.emit(0)
    assert w.results_panel.current_row() == w.c.sites.sites[0].best_row


def test_export_hits_gpx_and_sites_kml_parse(qtbot, window, tmp_path):
    w = window
    assert {"gpx", "kml"} <= set(file_filters().values())
    done: list = []
    gpx_path = tmp_path / "hits.gpx"
    assert w.c.data.export_hits(str(gpx_path), then=lambda p, n: done.append(n))
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    gpx = gpxpy.parse(gpx_path.read_text())
    assert len(gpx.waypoints) == done[0] == len(w.c.shown.items)
    assert "p=" in gpx.waypoints[0].name or "probability" in (gpx.waypoints[0].description or "")
    kml_path = tmp_path / "sites.kml"
    assert w.c.data.export("sites", str(kml_path), then=lambda p, n: done.append(n))
    qtbot.waitUntil(lambda: len(done) == 2, timeout=10000)
    marks = [el for el in ET.parse(kml_path).iter() if el.tag.endswith("Placemark")]
    assert len(marks) == done[1] == len(w.c.sites.sites)


def test_threshold_filters_by_probability_after_refine_and_by_similarity_after(qtbot, window, tmp_path):
    import json

    w = window
    payload = w.c.shown
    assert payload.how == "refine"
    plot = w.score_plot
    assert plot.by == "probability" and w.c.session.params["threshold_by"] == "probability"
    assert plot.getPlotItem().getAxis("bottom").labelText == "probability"
    assert plot.getPlotItem().viewRange()[0][0] <= 0.0 and plot.getPlotItem().viewRange()[0][1] >= 1.0
    assert "by probability" in plot.info_text()
    assert w.controls.threshold_label.text() == "Min probability"
    probs = np.asarray(payload.result.probabilities)
    scores = np.asarray(payload.result.scores)
    t = float(np.median(probs))
    expected = int((probs >= t).sum())
    assert expected != int((scores >= t).sum())  # the two rules differ here, so the test can tell
    plot.threshold_changed.emit(t)  # what dragging the line emits
    assert len(w.results_panel.visible_rows()) == expected
    assert "probability of at least" in w.results_panel.count_label.toolTip()
    qtbot.waitUntil(lambda: _counts(w).get("results") == expected, timeout=5000)
    assert len(w.c.session.visible() or ()) == expected
    done: list = []
    path = tmp_path / "visible.geojson"
    assert w.c.data.export_hits(str(path), then=lambda p, n: done.append(n))
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    fc = json.loads(path.read_text())
    assert done[0] == len(fc["features"]) == expected
    assert all(f["properties"]["probability"] >= t - 1e-6 for f in fc["features"])
    visible_info = fc["terrafind"]["visible"]
    assert visible_info["threshold"] == t and visible_info["by"] == "probability"
    # the share of the region the classifier puts at or above the line (its pool is the whole region)
    pool = np.asarray(payload.outcome.refine.pool_probabilities)
    assert visible_info["top_share"] == pytest.approx(np.sum(pool >= t) / len(w.c.session.catalog))
    ARTIFACTS.mkdir(exist_ok=True)
    qtbot.wait(300)
    assert w.grab().save(str(ARTIFACTS / "learn_refine_probability_plot.png"))
    # Back to a plain search: similarity again, and the probability cut-off (meaningless there) is gone.
    w.actions.refine.setChecked(False)
    plain = _new_payload(qtbot, w, payload)
    assert plain.how != "refine"
    assert plain.result.probabilities is None
    assert plot.by == "score" and w.c.session.params["threshold_by"] == "score"
    assert plot.getPlotItem().getAxis("bottom").labelText == "score (centred cosine)"  # what a score is, said
    assert w.c.session.params["threshold"] is None and plot.threshold() is None
    assert "by centred cosine" in plot.info_text()
    assert w.controls.threshold_label.text() == "Min score"
    assert len(w.results_panel.visible_rows()) == len(plain.items)


def test_grouped_search_tells_matched_example_and_far_examples_warn(qtbot, window, data):
    w = window
    w.actions.refine.setChecked(False)
    cat = w.c.session.catalog
    vecs = cat.vectors / np.linalg.norm(cat.vectors, axis=1, keepdims=True)
    first = next(r for r, k in w.c.session.examples.items() if k == "positive")
    far = int(np.argmin(vecs @ vecs[first]))  # the chip least like the first example
    old = w.c.shown
    w.c.add_example(far, "positive")
    _new_payload(qtbot, w, old)
    qtbot.waitUntil(lambda: "Group my examples" in w.message_bar.text(), timeout=5000)
    old = w.c.shown
    qtbot.mouseClick(w.learn_panel.group_check, Qt.LeftButton)
    assert w.actions.group.isChecked()
    payload = _new_payload(qtbot, w, old, "grouped")
    assert payload.result.mode == "grouped"
    names = {str(cat.ids[r]) for r in payload.result.positives}
    matched = {it.matched for it in payload.items}
    assert matched <= names and len(matched) >= 2  # hits of both kinds of example
    tip = w.results_panel.model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert f"Matched example {payload.items[0].matched}" in tip
    top = int(payload.items[0].row)
    assert page_value(w.map_view, f"TF.findChip({top}).props.matched") == payload.items[0].matched
    w.actions.group.setChecked(False)
    _new_payload(qtbot, w, payload)


def test_import_csv_with_status_column_adds_labels_and_undo(qtbot, window, tmp_path):
    w = window
    cat = w.c.session.catalog
    taken = set(w.c.session.examples) | set(w.c.session.labels)
    free = [r for r in range(0, len(cat), 37) if r not in taken][:3]
    rows = [("confirmed", free[0]), ("rejected", free[1]), ("not visited", free[2])]
    lines = ["name,lat,lon,status"]
    for i, (status, r) in enumerate(rows):
        lon, lat = cat.centroids[r]
        lines.append(f"p{i},{lat:.7f},{lon:.7f},{status}")
    lines.append("nowhere,0.5,0.5,confirmed")
    path = tmp_path / "field.csv"
    path.write_text("\n".join(lines) + "\n")
    before = dict(w.c.session.examples)
    assert w.c.importer.import_places(str(path), how="status")
    qtbot.waitUntil(lambda: w.c.importer.last_summary != "", timeout=10000)
    assert w.c.importer.last_summary == (
        "4 places → 1 positive, 1 negative; 1 not on any chip; 1 skipped (not visited or no status)"
    )
    assert w.c.session.examples[free[0]] == "positive" and w.c.session.examples[free[1]] == "negative"
    assert free[2] not in w.c.session.examples
    assert "4 places" in w.message_bar.text()
    w.actions.undo.trigger()  # one step for the whole file
    assert w.c.session.examples == before
    w.actions.redo.trigger()
    assert w.c.session.examples[free[0]] == "positive"


def test_import_as_exclude_keeps_chips_out_of_results(qtbot, window, tmp_path):
    w = window
    payload = _new_payload(qtbot, w, None) if w.c.shown is None else w.c.shown
    target = int(payload.items[0].row)
    lon, lat = w.c.session.catalog.centroids[target]
    path = tmp_path / "towns.csv"
    path.write_text(f"name,lat,lon\ntown,{lat:.7f},{lon:.7f}\n")
    asked: list = []
    w.c.importer.chooser = lambda parent, p, places: asked.append(len(places)) or "exclude"
    w.c.importer.last_summary = ""
    w.c.importer.import_places(str(path))
    qtbot.waitUntil(lambda: w.c.importer.last_summary != "", timeout=10000)
    assert asked == [1]
    assert target in w.c.session.masked
    assert "1 chip excluded" in w.c.importer.last_summary
    new = _new_payload(qtbot, w, payload)  # auto search after the import
    assert target not in {int(it.row) for it in new.items}
    assert w.actions.clear_masks.isEnabled()
    w.actions.clear_masks.trigger()
    assert w.c.session.masked == {}


def test_import_dialog_choices(qtbot):
    d = ImportDialog(None, "places.csv", 3, has_status=False)
    qtbot.addWidget(d)
    assert not d.buttons["status"].isEnabled()
    assert d.choice() == "positive"
    d.buttons["exclude"].setChecked(True)
    assert d.choice() == "exclude"
    d2 = ImportDialog(None, "field.gpx", 5, has_status=True)
    qtbot.addWidget(d2)
    assert d2.choice() == "status"


def test_menu_paths(window):
    texts = {}
    for action in window.menuBar().actions():
        menu = action.menu()
        texts[menu.title().replace("&", "")] = [a.text().replace("&", "") for a in menu.actions()]
    assert "Import places..." in texts["File"] and "Export sites..." in texts["File"]
    assert "Refine with my labels" in texts["Search"] and "Group my examples" in texts["Search"]
    assert "Show sites" in texts["View"]


def test_site_text_and_import_summary_words():
    from terrafind.core.read.places import ImportedLabels
    from terrafind.gui.flows.import_flow import summary
    from terrafind.gui.results.sites_list import site_text

    assert (
        site_text(1, {"chip_count": 1, "area_ha": 2.04, "best_score": 0.5})
        == "S1 · 1 chip · 2.0 ha · best sim 0.500"
    )
    assert site_text(
        2, {"chip_count": 3, "area_ha": 9, "best_score": 0.9, "best_probability": 0.97}
    ).endswith("3 chips · 9.0 ha · best prob 0.97, sim 0.900")
    imported = ImportedLabels([1, 2, 3], [4], [], unmatched=2, skipped=0)
    assert summary(6, imported) == "6 places → 3 positives, 1 negative; 2 not on any chip"
    assert summary(1, ImportedLabels([], [], [], unmatched=1)) == "1 place → no chips; 1 not on any chip"


def _learn_state_shown(w) -> dict:
    return {
        "masked": sorted(w.c.session.masked),
        "refine": w.actions.refine.isChecked(),
        "group": w.actions.group.isChecked(),
        "sites": w.actions.sites.isChecked() and w.learn_panel.sites_check.isChecked(),
        "gallery": w.c.session.learn["gallery"],
    }


def _wait_restored(qtbot, w, before, want: dict) -> None:
    payload = _new_payload(qtbot, w, before, "refine")  # Refine was on: it refines again on restore
    qtbot.waitUntil(lambda: _learn_state_shown(w) == want, timeout=10000)
    assert w.results_panel.visible_rows() == [it.row for it in payload.review.items]  # Review mode
    assert w.results_panel.mode_bar.mode() == "review"
    qtbot.waitUntil(lambda: len(w.c.sites.sites) > 0, timeout=10000)


def test_project_and_recovery_keep_masks_toggles_and_review(qtbot, window, tmp_path):
    import json

    from terrafind.core import project as projects
    from terrafind.gui.flows.import_flow import PlacesCommand

    w = window
    c = w.c
    cat = c.session.catalog
    c.projects.autosave = True  # the app's controller autosaves; this module's window was made without
    try:
        taken = set(c.session.examples) | set(c.session.labels)
        masked = [r for r in range(5, len(cat), 53) if r not in taken][:3]
        # The step an import of "exclude" places pushes (terrafind.gui.flows.import_flow), then the toggles.
        c.undo_stack.push(PlacesCommand(c, {}, set(masked), "Import towns.csv"))
        assert sorted(projects.load_project(projects.recovery_path()).masked) == sorted(
            str(cat.ids[r]) for r in masked
        )
        old = c.shown
        w.actions.refine.setChecked(True)
        refined = _new_payload(qtbot, w, old, "refine")
        assert not {int(it.row) for it in refined.items} & set(masked)
        w.actions.sites.setChecked(True)
        w.results_panel.mode_bar.combo.setCurrentIndex(1)
        w.results_panel.mode_bar.combo.activated.emit(1)
        want = {"masked": sorted(masked), "refine": True, "group": False, "sites": True, "gallery": "review"}
        assert _learn_state_shown(w) == want
        saved = projects.load_project(projects.recovery_path())  # autosaved on each change
        assert saved.learn == {"refine": True, "group": False, "sites": True, "gallery": "review"}
        crash = tmp_path / "crashed.terrafind"  # the recovery file as a crash right now would leave it
        crash.write_text(projects.recovery_path().read_text())
        path = c.projects.save(str(tmp_path / "kept"))

        def forget_all() -> None:
            w.actions.refine.setChecked(False)
            w.actions.sites.setChecked(False)
            w.actions.clear_masks.trigger()
            w.results_panel.mode_bar.combo.setCurrentIndex(0)
            w.results_panel.mode_bar.combo.activated.emit(0)
            assert w.c.session.masked == {} and w.c.session.learn["gallery"] == "best"

        forget_all()
        before = c.shown
        c.projects.open(path)
        _wait_restored(qtbot, w, before, want)

        forget_all()
        before = c.shown
        c.projects.restore(
            projects.load_project(crash)
        )  # what terrafind.gui.startup.offer_recovery does after a crash
        _wait_restored(qtbot, w, before, want)

        # A project written before masks and toggles were kept still opens: no masks, all off.
        data = json.loads(Path(path).read_text())
        del data["masked"], data["learn"]
        old_file = tmp_path / "old.terrafind"
        old_file.write_text(json.dumps(data))
        c.projects.open(str(old_file))
        qtbot.waitUntil(lambda: not w.actions.refine.isChecked() and not w.c.session.masked, timeout=10000)
        assert w.c.session.learn["gallery"] == "best" and not w.actions.sites.isChecked()
        assert sorted(r for r in c.session.examples) == sorted(cat.row_of(e["id"]) for e in data["examples"])
    finally:
        c.projects.autosave = False
