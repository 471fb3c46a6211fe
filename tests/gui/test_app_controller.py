"""The controller without a window: clicks, debounced search, labels, undo, projects and the recovery file."""

from __future__ import annotations

from pathlib import Path

import pytest

from terrafind.core import project as projects
from terrafind.gui.controller import AppController


@pytest.fixture
def data(tmp_path):
    from synth import write_earth_index

    return write_earth_index(tmp_path / "synthetic.parquet", n=600, d=32)


@pytest.fixture
def controller(qtbot):
    c = AppController()
    yield c
    c.runner.shutdown()
    c.deleteLater()


def _open(qtbot, c, path):
    loaded = []
    c.data_opened.connect(lambda s: loaded.append(s.catalog))
    c.data.open_paths([str(path)])
    qtbot.waitUntil(lambda: bool(loaded), timeout=15000)
    return loaded[0]


def _results(qtbot, c, old=None):
    qtbot.waitUntil(lambda: c.shown is not None and c.shown is not old, timeout=15000)
    return c.shown


def test_click_search_label_undo(qtbot, controller, data):
    c = controller
    cat = _open(qtbot, c, data["path"])
    messages = []
    c.message.connect(messages.append)
    assert c.click_at(-10.0, 10.0) is None
    assert "No chip within" in messages[-1] and "of here" in messages[-1]

    lon, lat = cat.centroids[42]
    assert c.click_at(lon, lat) == 42
    assert c.session.examples == {42: "positive"}
    first = _results(qtbot, c)  # started by the debounce timer, no Search button
    rows = [int(r) for r in first.result.rows]
    assert 42 not in rows and len(rows) == 200
    assert first.fc["features"][0]["properties"]["rank"] == 1
    assert any("matches in" in m for m in messages)

    top = rows[0]
    c.label(top, "negative")
    assert c.session.labels == {top: "negative"}
    assert [(it.row, it.kind) for it in c.session.example_items()] == [(42, "positive"), (top, "negative")]
    assert c.search_now()
    second = _results(qtbot, c, first)
    assert top not in {int(r) for r in second.result.rows}
    assert second.result.negatives == (top,)

    c.undo_stack.undo()
    assert c.session.labels == {}
    c.undo_stack.undo()
    assert c.session.examples == {}
    c.undo_stack.redo()
    assert c.session.examples == {42: "positive"}


def test_shift_click_adds_a_negative_and_nothing_to_search_without_positives(qtbot, controller, data):
    c = controller
    cat = _open(qtbot, c, data["path"])
    messages = []
    c.message.connect(messages.append)
    c.session.params["auto"] = False
    c.click_at(*cat.centroids[7], negative=True)
    assert c.session.examples == {7: "negative"}
    assert not c.search_now()
    assert "positive example" in messages[-1]


def test_threshold_filters_visible_hits(qtbot, controller, data):
    c = controller
    cat = _open(qtbot, c, data["path"])
    c.click_at(*cat.centroids[3])
    payload = _results(qtbot, c)
    scores = payload.result.scores
    t = float(scores[len(scores) // 2])
    seen = []
    c.threshold_changed.connect(seen.append)
    c.set_threshold(t)
    v = c.session.visible()
    rows, kept = v.rows, v.scores
    assert seen == [t] and len(rows) == int((scores >= t).sum()) and (kept >= t).all()


def test_project_round_trip_and_recovery(qtbot, controller, data, tmp_path):
    c = controller
    cat = _open(qtbot, c, data["path"])
    c.click_at(*cat.centroids[10])
    first = _results(qtbot, c)
    top = int(first.result.rows[0])
    c.label(top, "positive")
    c.set_params({"k": 50})
    c.set_view(-75.7, 37.4, 12)
    # every change is in the recovery file at once
    rec = projects.load_project(projects.recovery_pending())
    assert rec.labels == [{"id": str(cat.ids[top]), "label": "positive"}]
    path = c.projects.save(str(tmp_path / "mine"))
    assert path.endswith("mine.terrafind")

    other = AppController()
    try:
        views = []
        other.view_requested.connect(views.append)
        other.projects.open(path)
        qtbot.waitUntil(lambda: other.shown is not None, timeout=15000)
        assert other.session.examples == {10: "positive"}
        assert other.session.labels == {top: "positive"}
        assert other.session.params["k"] == 50
        assert views == [{"lon": -75.7, "lat": 37.4, "zoom": 12.0}]
        assert [int(r) for r in other.shown.result.rows] == [int(r) for r in first.result.rows]
        assert other.session.project_path == path
    finally:
        other.runner.shutdown()
    c.shutdown()
    assert projects.recovery_pending() is None
    assert projects.load_project(projects.last_session_path()).labels == rec.labels


def test_open_error_is_reported(qtbot, controller, tmp_path):
    errors = []
    controller.error.connect(lambda exc, tb: errors.append(exc))
    controller.data.open_paths([str(tmp_path / "missing.parquet")])
    qtbot.waitUntil(lambda: bool(errors), timeout=10000)
    assert "missing.parquet" in str(errors[0])


@pytest.mark.parametrize("suffix", ["geojson", "gpkg", "csv"])
def test_export_visible_hits(qtbot, controller, data, tmp_path, suffix):
    c = controller
    cat = _open(qtbot, c, data["path"])
    c.click_at(*cat.centroids[5])
    payload = _results(qtbot, c)
    t = float(payload.result.scores[29])
    c.set_threshold(t)
    done = []
    assert c.data.export_hits(str(tmp_path / f"hits.{suffix}"), then=lambda p, n: done.append((p, n)))
    qtbot.waitUntil(lambda: bool(done), timeout=15000)
    path, count = done[0]
    assert count == int((payload.result.scores >= t).sum()) >= 30
    if suffix == "csv":
        import csv

        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == count
    else:
        import geopandas

        frame = geopandas.read_file(path)
        assert len(frame) == count and frame.crs.to_epsg() == 4326
        assert list(frame["id"])[0] == str(cat.ids[int(payload.result.rows[0])])


def test_export_labels(qtbot, controller, data, tmp_path):
    c = controller
    cat = _open(qtbot, c, data["path"])
    c.click_at(*cat.centroids[5])
    payload = _results(qtbot, c)
    c.label(int(payload.result.rows[0]), "negative")
    done = []
    assert c.data.export("labels", str(tmp_path / "labels.geojson"), then=lambda p, n: done.append((p, n)))
    qtbot.waitUntil(lambda: bool(done), timeout=15000)
    import json

    features = json.loads(Path(done[0][0]).read_text())["features"]
    assert sorted(f["properties"]["label"] for f in features) == ["negative", "positive"]


def test_opening_other_data_archives_the_session(qtbot, controller, data, tmp_path):
    from synth import write_earth_index

    c = controller
    cat = _open(qtbot, c, data["path"])
    c.session.params["auto"] = False
    c.click_at(*cat.centroids[2])
    other = write_earth_index(tmp_path / "other.parquet", n=100, d=32, seed=3)
    _open(qtbot, c, other["path"])
    assert c.session.examples == {}
    (kept,) = (projects.data_dir() / "sessions").glob("*.terrafind")
    assert projects.load_project(kept).examples == [{"id": str(cat.ids[2]), "kind": "positive"}]
