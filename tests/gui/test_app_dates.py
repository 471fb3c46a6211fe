"""Issue 13 in the running window: the Pucallpa demo's 8 dates, switching dates, what changed, what is new,
the timeline, learning across dates, and exports with both dates.

One window serves the module; tests run in file order and build on each other. The demo is built once
(real Landsat imagery shipped with the app, ~10 s). Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from windowkit import app_window

from terrafind.gui.results.results_model import ItemRole, PairRole
from terrafind.gui.selftest import page_value

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
pytestmark = pytest.mark.webengine


@pytest.fixture(scope="module")
def window(qapp):
    with app_window((1500, 950)) as w:
        yield w


def _shot(w, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    w.grab().save(str(ARTIFACTS / f"{name}.png"))


def _counts(w) -> dict:
    return page_value(w.map_view, "TF.counts()")


def _shown(qtbot, w, how: str, old=None, timeout: int = 20000):
    qtbot.waitUntil(
        lambda: w.c.shown is not None and w.c.shown is not old and w.c.shown.how == how, timeout=timeout
    )
    return w.c.shown


def _tiles(w) -> list:
    m = w.results_panel.model
    return [m.index(i) for i in range(m.rowCount())]


def test_the_demo_opens_as_one_region_with_8_dates(qtbot, window):
    w = window
    w.actions.demo_pucallpa.trigger()  # File > Open demo region > Pucallpa, Peru 1985-2020
    qtbot.waitUntil(lambda: w.dates_ui.pucallpa is not None and w.map_view.ready, timeout=90000)
    s = w.c.session
    assert s.date_labels() == [str(y) for y in range(1985, 2021, 5)] and s.date == "2020"
    bar = w.dates_ui.bar
    assert bar.isVisible() and [b.text() for b in bar.buttons.values()][0] == "1985"
    assert bar.buttons["2020"].isChecked() and not bar.buttons["1985"].isChecked()
    credit = "Landsat imagery courtesy of the U.S. Geological Survey (via opengeos/data)"
    assert credit in w.message_bar.text()
    qtbot.waitUntil(lambda: _counts(w)["footprints"] == len(s.catalog), timeout=20000)
    assert w.dates_ui._basemap_shown.endswith("basemap_2020.mbtiles")
    assert credit in page_value(
        w.map_view, "document.querySelector('.leaflet-control-attribution').textContent"
    )
    assert w.windowTitle() == "Terrafind - Pucallpa, 2020"
    assert w.dates_ui.timeline_dock.isVisible() and w.dates_ui.dock.isVisible()
    _shot(w, "dates-pucallpa-open")


def test_one_click_switches_the_date_on_the_map(qtbot, window):
    w = window
    s = w.c.session
    qtbot.mouseClick(w.dates_ui.bar.buttons["1985"], Qt.LeftButton)
    qtbot.waitUntil(lambda: s.date == "1985", timeout=5000)
    assert w.dates_ui.bar.buttons["1985"].isChecked() and not w.dates_ui.bar.buttons["2020"].isChecked()
    assert s.catalog is s.dates.get("1985").catalog
    assert w.dates_ui._basemap_shown.endswith("basemap_1985.mbtiles")
    w.actions.next_date.trigger()  # Alt+Right
    qtbot.waitUntil(lambda: s.date == "1990", timeout=5000)
    w.actions.prev_date.trigger()
    qtbot.waitUntil(lambda: s.date == "1985", timeout=5000)
    qtbot.waitUntil(lambda: s.index is not None, timeout=30000)  # each date gets its own index
    assert s.index is s.dates.get("1985").index


def test_what_changed_shows_a_change_map_histogram_and_before_after_tiles(qtbot, window):
    w = window
    p = w.dates_ui.panel
    p.before.setCurrentIndex(p.before.findData("1985"))
    p.after.setCurrentIndex(p.after.findData("2020"))
    qtbot.mouseClick(p.change_button, Qt.LeftButton)
    shown = _shown(qtbot, w, "change")
    r = shown.result
    assert len(r) == 500 and np.all(np.diff(r.scores) <= 0)
    assert w.score_plot.by == "change" and "change" in w.score_plot.getPlotItem().getAxis("bottom").labelText
    assert "1985 → 2020" in w.score_plot.info_text()
    qtbot.waitUntil(lambda: _counts(w)["results_total"] == 500, timeout=20000)
    assert "what changed from 1985 to 2020" in w.dates_ui.bar.note.text()
    assert w.results_panel.delegate.pairs  # before and after side by side
    first = _tiles(w)[0]
    item = first.data(ItemRole)
    assert item.before[0] == "1985" and item.after[0] == "2020" and item.kind == "change"
    qtbot.waitUntil(lambda: all(pm is not None for pm in (first.data(PairRole) or (None,))), timeout=20000)
    assert w.results_panel.delegate.tile_size().width() > 2 * w.results_panel.delegate.thumb_size
    # the threshold line keeps the strongest changes: map, gallery and sites follow it
    cut = float(r.scores[99])
    w.c.set_threshold(cut)
    qtbot.waitUntil(lambda: w.results_panel.visible_count() == 100, timeout=5000)
    qtbot.waitUntil(lambda: _counts(w)["results"] == 100, timeout=10000)
    w.actions.sites.setChecked(True)
    qtbot.waitUntil(lambda: w.results_panel.sites_list.count() > 0, timeout=20000)
    text = w.results_panel.sites_list.list.item(0).text()
    assert " ha · best change " in text
    _shot(w, "dates-change-1985-2020")


def test_a_change_stays_while_the_map_switches_between_before_and_after(qtbot, window):
    w = window
    s = w.c.session
    before = w.c.shown
    qtbot.mouseClick(w.dates_ui.bar.buttons["2020"], Qt.LeftButton)
    shown = _shown(qtbot, w, "change", old=before)
    assert s.date == "2020" and np.array_equal(shown.result.scores, before.result.scores)
    assert set(shown.result.extra["on"]) == {"2020"}
    assert "on 2020's imagery" in w.dates_ui.bar.note.text()
    w.actions.sites.setChecked(False)
    w.c.set_threshold(None)


def test_a_search_counts_its_hits_at_every_date_and_in_a_site(qtbot, window):
    w = window
    s = w.c.session
    cleared = int(w.c.shown.result.rows[0])  # the chip that changed most: now cleared land
    # (a click on it would open its popup, it being a result on the map: "Yes, this" there, or as here)
    w.c.add_example(cleared, "positive")
    shown = _shown(qtbot, w, "plain")
    assert cleared in s.examples and len(shown.result) == 200
    qtbot.waitUntil(lambda: len(w.dates_ui.timeline.counts) == 8, timeout=30000)
    counts = w.dates_ui.timeline.counts
    assert [c.date for c in counts] == s.date_labels()
    assert all(c.area_ha > 0 for c in counts if c.count) and counts[-1].count >= 100
    assert "Hits per date in the whole region" in w.dates_ui.timeline_hint.text()
    w.dates_ui.measure.setCurrentIndex(1)  # the bars in hectares
    assert w.dates_ui.timeline.measure == "area"
    _shot(w, "dates-timeline")
    w.actions.sites.setChecked(True)
    qtbot.waitUntil(lambda: w.results_panel.sites_list.count() > 0, timeout=20000)
    w.results_panel.sites_list.site_chosen.emit(0)
    qtbot.waitUntil(lambda: "site S1" in w.dates_ui.timeline_hint.text(), timeout=20000)
    site = w.dates_ui.timeline.counts
    assert len(site) == 8 and site[-1].count <= counts[-1].count and site[-1].chips < len(s.catalog)
    w.actions.sites.setChecked(False)
    qtbot.mouseClick(w.dates_ui.whole_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "whole region" in w.dates_ui.timeline_hint.text(), timeout=20000)


def test_what_is_new_since_an_earlier_date_with_both_scores_and_exports(qtbot, window, tmp_path):
    w = window
    p = w.dates_ui.panel
    p.since.setCurrentIndex(p.since.findData("1985"))
    old = w.c.shown
    qtbot.mouseClick(p.new_button, Qt.LeftButton)
    shown = _shown(qtbot, w, "new", old=old)
    r = shown.result
    assert len(r) > 20 and np.all(r.extra["score_before"] < r.scores.min())
    item = _tiles(w)[0].data(ItemRole)
    assert item.score_before is not None and item.before == ("1985", item.before[1])
    assert "New since 1985" in w.score_plot.info_text()
    _shot(w, "dates-new-since-1985")
    done: list = []
    assert w.c.data.export("hits", str(tmp_path / "new.geojson"), then=lambda path, n: done.append(n))
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    feats = json.loads((tmp_path / "new.geojson").read_text())["features"]
    props = feats[0]["properties"]
    assert len(feats) == len(r) and props["date_before"] == "1985" and props["date_after"] == "2020"
    assert props["score_before"] < props["score"]
    done.clear()
    assert w.c.data.export("hits", str(tmp_path / "new.kml"), then=lambda path, n: done.append(n))
    qtbot.waitUntil(lambda: bool(done), timeout=20000)
    assert "new since 1985" in (tmp_path / "new.kml").read_text()


def test_unusual_for_its_own_history(qtbot, window):
    w = window
    p = w.dates_ui.panel
    p.history.setChecked(True)
    assert not p.before.isEnabled() and p.change_button.text() == "Show what is unusual"
    old = w.c.shown
    qtbot.mouseClick(p.change_button, Qt.LeftButton)
    shown = _shown(qtbot, w, "history", old=old)
    assert "2020 against its other dates" in shown.outcome.quality
    assert shown.result.extra["date_before"][0] == "2015"  # shown beside it: the date before
    p.history.setChecked(False)
    _shot(w, "dates-history-2020")


def test_labels_belong_to_their_date_and_a_detector_is_checked_on_another(qtbot, window):
    from terrafind.core.change.compare import run_change

    w = window
    s = w.c.session
    c = w.c
    # 2010: the user marks cleared land (yes) and forest / river (no); 2020 likewise, its own chips
    for year in ("2010", "2020"):
        c.set_date(year)
        qtbot.waitUntil(lambda y=year: s.date == y, timeout=5000)
        rows_yes = run_change(s.change_query("1985", year, k=12)).result.rows.tolist()
        cat = s.catalog
        lon, lat = -74.30, -8.55  # forest in the south-east, unchanged
        forest = [cat.nearest(lon + 0.01 * i, lat) for i in range(8)]
        assert len(set(forest)) == 8
        for r in rows_yes:
            c.label(int(r), "positive")
        for r in forest:
            c.label(int(r), "negative")
    c.results_cleared.emit()
    items = w.examples_panel.dated_examples()
    assert items and {d for d, _ in items} == {"2010"}  # 2010's marks, shown while 2020 is on the map
    p = w.dates_ui.panel
    p.hold_out.setCurrentIndex(p.hold_out.findData("2020"))
    qtbot.mouseClick(p.check_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "precision" in p.check_result.text(), timeout=30000)
    assert "Trained on 2010 (20 labels), checked on the 20 labels of 2020" in p.check_result.text()
    # learning from 2020 only: 2010's marks leave the search
    n_before = len(s.search_examples().positive_vectors)
    item = p.learn_list.item(p._labels.index("2010"))
    item.setCheckState(Qt.CheckState.Unchecked)
    assert s.learn_from is not None and "2010" not in s.learn_from
    assert s.search_examples().positive_vectors is None and n_before > 0
    item.setCheckState(Qt.CheckState.Checked)
    assert s.learn_from is None
    _shot(w, "dates-detector-check")


def test_a_field_pack_carries_every_date_and_works_with_the_network_cut(qtbot, window, tmp_path, monkeypatch):
    import sys

    from terrafind.core.types import Region

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from imagery_synth import block_outside_network

    w = window
    s = w.c.session
    region = Region.from_bbox(-74.60, -8.45, -74.50, -8.38)  # farmland west of the city, ~11 x 8 km
    built: list = []
    w.c.packs.pack_built.connect(built.append)
    w.c.packs.build(s.data_files(), region, str(tmp_path / "pucallpa-pack"), None)
    qtbot.waitUntil(lambda: bool(built), timeout=180000)
    manifest = json.loads((Path(built[0]) / "manifest.json").read_text())
    assert sorted(manifest["parts"]["dates"]) == s.date_labels()
    attempts = block_outside_network(monkeypatch)
    w.open_path(built[0])
    qtbot.waitUntil(lambda: s.pack is not None and s.dates is not None and w.map_view.ready, timeout=60000)
    assert s.date_labels() == [str(y) for y in range(1985, 2021, 5)] and len(s.catalog) < 400
    for year in ("1985", "2020"):
        qtbot.mouseClick(w.dates_ui.bar.buttons[year], Qt.LeftButton)
        qtbot.waitUntil(lambda y=year: s.date == y, timeout=5000)
        assert w.dates_ui._basemap_shown.endswith(f"basemap-{year}.mbtiles")
        qtbot.waitUntil(lambda: s.index is not None and s.index.from_cache, timeout=30000)
    old = w.c.shown
    w.c.dates.compare("1985", "2020")
    _shown(qtbot, w, "change", old=old)
    first = _tiles(w)[0]
    qtbot.waitUntil(lambda: all(pm is not None for pm in (first.data(PairRole) or (None,))), timeout=20000)
    svc = w.c.thumbs.service  # the pack's own thumbnails, cut at home: every chip of every date
    assert s.pack.thumbnails_path is not None and svc.cache.path == s.pack.thumbnails_path
    for label in ("1985", "2020"):
        cat = s.dates.get(label).catalog
        assert all(svc.cached(cat, r) is not None for r in range(0, len(cat), 5))
    qtbot.waitUntil(lambda: _counts(w)["basemap_loaded"] > 0, timeout=20000)
    qtbot.waitUntil(lambda: _counts(w)["results_total"] == len(w.c.shown.result), timeout=20000)
    qtbot.wait(1500)  # let the page paint the tiles before the picture
    assert attempts == []
    _shot(w, "dates-pack-offline")
