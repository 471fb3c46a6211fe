"""Issue 17, "the first ten minutes": what a new user trips over, each with a test that would have caught it.

One window serves the module (a real QtWebEngine page, real mouse clicks); tests run in file order. The data
overlap by half like Earth Index and the demo region (chips twice the stride), so 3-5 result squares
cover any point of the map.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt
from PySide6.QtTest import QTest

from terrafind.gui import errors
from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow
from terrafind.gui.selftest import click_chip, page_value

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
pytestmark = pytest.mark.webengine


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from synth import write_earth_index

    return write_earth_index(
        tmp_path_factory.mktemp("first") / "overlapping.parquet", n=900, d=32, overlap=2.0
    )


@pytest.fixture(scope="module")
def dialogs():
    seen: list[tuple] = []
    errors.set_dialog_hook(lambda kind, title, text, detail: seen.append((kind, title, text)) or True)
    yield seen
    errors.set_dialog_hook(None)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One Terrafind home for the module's window (module fixtures start before conftest's per-test one)."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("home")
        mp.setenv("TERRAFIND_HOME", str(path))
        yield path


@pytest.fixture(scope="module")
def window(qapp, data, dialogs, home):
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    w.resize(1400, 900)
    w.show()
    yield w
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def click_page(w, selector: str) -> None:
    """A real mouse click on the centre of the page element ``selector``."""
    m = w.map_view
    xy = page_value(
        m,
        f"(r => r ? [r.x + r.width / 2, r.y + r.height / 2] : null)(document.querySelector({selector!r}) && "
        f"document.querySelector({selector!r}).getBoundingClientRect())",
    )
    assert xy, f"no {selector} on the page"
    target = m.view.focusProxy() or m.view
    pos = QPoint(int(round(xy[0])), int(round(xy[1])))
    QTest.mouseMove(target, pos)
    QTest.mouseClick(target, Qt.LeftButton, Qt.NoModifier, pos)


def popup_row(w):
    return page_value(w.map_view, "TF.popupRow()")


def test_item1_a_click_on_a_result_opens_that_result(qtbot, window, data):
    w = window
    w.open_path(str(data["path"]))
    qtbot.waitUntil(lambda: w.c.session.catalog is not None and w.map_view.ready, timeout=30000)
    start = w.c.session.catalog.nearest(-75.75, 37.45)
    click_chip(w, start)
    qtbot.waitUntil(lambda: w.c.shown is not None and len(w.c.shown.items) == 200, timeout=20000)
    examples = dict(w.c.session.examples)
    items = w.c.shown.items
    for rank in (5, 12, 30, 60):  # the ranks the issue clicked (they opened #200, #192, #141 and #69)
        it = items[rank - 1]
        click_chip(w, it.row, zoom=13)
        qtbot.waitUntil(lambda it=it: popup_row(w) == it.row, timeout=5000)
        assert w.c.session.examples == examples  # a click on a hit opens it, never adds an example
    # what is seen under the pointer is what a click picks: the drawn cell of #5 holds its centre only
    it5 = items[4]
    click_chip(w, it5.row, zoom=13)
    qtbot.waitUntil(lambda: popup_row(w) == it5.row, timeout=5000)
    click_page(w, ".tf-yes")  # "Yes, this" in the popup labels #5, the chip the user chose
    qtbot.waitUntil(lambda: w.c.session.labels.get(it5.row) == "positive", timeout=5000)
    assert list(w.c.session.labels) == [it5.row]


def test_item1_markers_pick_the_best_under_the_pointer(qtbot, window):
    w = window
    items = w.c.shown.items
    for rank in (3, 40):
        it = items[rank - 1]
        w.map_view.run_js("TF.map.closePopup()")  # an open popup would take the click (as for a person)
        click_chip(w, it.row, zoom=8)  # chips ~5 px wide: hits are markers
        assert page_value(w.map_view, "TF.counts()")["results_mode"] == "points"
        qtbot.waitUntil(lambda it=it: popup_row(w) == it.row, timeout=5000)


def test_item3_colours_follow_the_share_of_the_region_with_a_legend(qtbot, window):
    w = window
    counts = page_value(w.map_view, "TF.counts()")
    assert counts["results_scale"] == "top"
    assert "Share of this region scoring as high" in counts["legend"] and "top 0.1 %" in counts["legend"]
    # the best hit of a 900-chip region is in its top 1 %; a 0.99 hit is never drawn as "poor"
    best = w.c.shown.items[0]
    assert best.top is not None and best.top <= 0.01
    colour = page_value(w.map_view, f"TF.colourOf({best.row})")
    assert colour in ("#fde725", "#f89540")
    # no blue (reads as water), no green or red (the examples' colours) in the scale
    scale = page_value(w.map_view, "Object.values(TFChips.CLASSES).map(t => t.classes.map(c => c.colour))")
    for hexes in scale:
        for h in hexes:
            hue, _light, sat = colorsys.rgb_to_hls(*(int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)))
            if sat < 0.2:
                continue  # grey
            assert not 0.5 <= hue <= 0.7, h  # blue or cyan
            assert not 0.22 <= hue <= 0.45, h  # green
            assert not (hue <= 0.03 or hue >= 0.97), h  # red
    ARTIFACTS.mkdir(exist_ok=True)
    assert w.grab().save(str(ARTIFACTS / "first_use_results.png"))


def test_item6_the_popup_shows_its_thumbnail_when_it_arrives(qtbot, window):
    w = window
    it = w.c.shown.items[149]  # far down the gallery: nobody asked for its thumbnail yet
    assert w.c.thumbs.png(it.row) is None
    w.map_view.run_js("TF.map.closePopup()")
    click_chip(w, it.row, zoom=13)
    qtbot.waitUntil(lambda: popup_row(w) == it.row, timeout=5000)
    # the 1x1 "being cut" placeholder is replaced by the thumbnail (here: the service's 128 px
    # "no imagery" picture, as this data names none) without reopening the popup
    qtbot.waitUntil(
        lambda: (
            (page_value(w.map_view, "document.querySelector('.tf-popup img.tf-thumb').naturalWidth") or 0) > 1
        ),
        timeout=10000,
    )
    assert w.c.thumbs.png(it.row) is not None


CLAY = Path("/work/shared/data/clay-v0-embeddings/03WVN_20220610_20220610_v001.gpq")


@pytest.mark.skipif(not CLAY.is_file(), reason="the shared Clay v0 sample is not here")
def test_item5_one_sentence_about_the_imagery_everywhere(qtbot, window):
    """Clay v0 names its imagery on s3://clay-tiles-02: every place says the same about it."""
    from terrafind.core.imagery.hosts import host_of

    w, c = window, window.c
    w.open_path(str(CLAY))
    qtbot.waitUntil(lambda: c.session.catalog is not None and str(CLAY) in c.session.sources, timeout=30000)

    def everywhere():
        w.actions.imagery_action.trigger()
        w.imagery_dialog.reject()
        return (
            w.dataset_panel.imagery_label.text(),
            w.dataset_panel.imagery_label.toolTip(),
            w.status.imagery_label.text(),
            w.status.imagery_label.toolTip(),
            w.imagery_dialog.current_label.text(),
        )

    # working offline: nothing is fetched, and every place says so in the same words
    qtbot.waitUntil(lambda: "(offline)" in w.status.imagery_label.text(), timeout=5000)
    panel, panel_tip, status, status_tip, dialog = everywhere()
    assert (
        panel == "Imagery: s3://clay-tiles-02 (offline)"
        and status == "Thumbnails: s3://clay-tiles-02 (offline)"
    )
    assert panel_tip == status_tip and dialog == f"Now: {panel_tip}" and "offline" in panel_tip
    thumb = c.thumbs.service.thumbnail(c.session.catalog, 3)
    assert thumb.status == "offline" and thumb.message == panel_tip

    # online, but the data's bucket is not allowed yet (a file named it, the person did not): nothing is
    # sent there, and every place says so in the same words
    c.set_online(True)
    svc = c.thumbs.service
    c.thumbs.want([4])
    qtbot.waitUntil(lambda: "(not allowed)" in w.status.imagery_label.text(), timeout=10000)
    panel, panel_tip, status, status_tip, dialog = everywhere()
    assert panel == "Imagery: s3://clay-tiles-02 (not allowed)" and panel_tip == status_tip
    thumb = svc.thumbnail(c.session.catalog, 4)
    assert thumb.status == "blocked" and thumb.message == panel_tip

    # allowed, but the bucket does not answer (as on this machine): "cannot reach", everywhere
    from terrafind.core.imagery.admit import catalog_key

    c.allow("s3://clay-tiles-02", catalog_key(c.session.catalog))
    host = host_of(c.session.catalog.source_url(3))
    svc.breaker.failed(host, timed_out=True)  # what a timed-out read does; no network is touched
    c.thumbs.want([5])
    qtbot.waitUntil(lambda: "cannot be reached" in w.status.imagery_label.text(), timeout=10000)
    panel, panel_tip, status, status_tip, dialog = everywhere()
    sentence = "The imagery is on s3://clay-tiles-02, which this computer cannot reach"
    assert panel_tip.startswith(sentence) and status_tip == panel_tip and dialog == f"Now: {panel_tip}"
    assert panel == "Imagery: s3://clay-tiles-02 (cannot be reached)"
    thumb = svc.thumbnail(c.session.catalog, 6)
    assert thumb.status == "unreachable" and thumb.message.startswith(sentence)
    qtbot.wait(50)  # the status bar lays its labels out again
    w.status.grab().save(str(ARTIFACTS / "first_use_status_imagery.png"))
    c.set_online(False)


def _reopen(qtbot, w, data):
    before = w.c.session.catalog
    w.open_path(str(data["path"]))
    qtbot.waitUntil(lambda: w.c.session.catalog not in (None, before), timeout=30000)
    start = w.c.session.catalog.nearest(-75.75, 37.45)
    old = w.c.shown
    w.c.add_example(start, "positive")
    qtbot.waitUntil(lambda: w.c.shown is not None and w.c.shown is not old, timeout=20000)
    return start


def test_item7_after_refine_every_number_is_labelled_and_more_hits_are_offered(qtbot, window, data):
    from terrafind.gui.results.results_delegate import tile_figures

    w, c = window, window.c
    _reopen(qtbot, w, data)
    first = c.shown.items[0]
    assert tile_figures(first)[0].startswith("sim ") and tile_figures(first)[1].startswith("top ")
    assert w.results_panel.sort_combo.currentText() == "Best first (similarity)"
    items = c.shown.items
    c.label(items[0].row, "positive")
    c.label(items[-1].row, "negative")
    c.label(items[-2].row, "negative")
    before = c.shown
    w.actions.refine.setChecked(True)
    qtbot.waitUntil(lambda: c.shown is not before and c.shown.how == "refine", timeout=20000)
    line1, line2 = tile_figures(c.shown.items[0])
    assert line1.startswith("prob ") and line2.startswith("sim ")  # no more "0.588 p=0.97"
    assert w.results_panel.sort_combo.currentText() == "Best first (probability)"  # sorted by what is shown
    quality = w.learn_panel.quality
    assert (
        quality.isVisible()
        and quality.text().startswith("Checked on your")
        and "spatially" not in quality.text()
    )
    assert "\n" not in w.score_plot.info_text()  # the quality no longer sits on the histogram
    # a low line: far more chips of the region are above it than the 200 shown, and the app says so
    c.set_threshold(0.0)
    more = w.results_panel.more
    qtbot.waitUntil(more.isVisible, timeout=3000)
    assert "chips of this region are above the line; the best 200 are shown" in more.label.text()
    old = c.shown
    qtbot.mouseClick(more.button, Qt.LeftButton)
    qtbot.waitUntil(lambda: c.shown is not old and len(c.shown.items) > 200, timeout=20000)
    assert c.session.params["k"] > 200 and w.controls.k_spin.value() == c.session.params["k"]
    w.grab().save(str(ARTIFACTS / "first_use_refined.png"))


def test_item10_feedback_after_each_step(qtbot, window, data, tmp_path):
    w, c = window, window.c
    assert w.controls.threshold_label.text() == "Min probability"  # Refine is on
    # sites after Refine: a site's figures are its best chip's, as its hit shows them
    w.actions.sites.setChecked(True)
    qtbot.waitUntil(lambda: bool(c.sites.features), timeout=20000)
    probs = {it.row: (it.probability, it.score) for it in c.shown.items}
    for f in c.sites.features[:5]:
        p = f["properties"]
        assert (p["best_probability"], p["best_score"]) == pytest.approx(probs[int(p["row"])], abs=1e-4)
    w.actions.sites.setChecked(False)
    # an export says where the file went, with a button that opens its folder
    opened = []
    w.feedback.opener = opened.append
    out = tmp_path / "out" / "hits.geojson"
    out.parent.mkdir()
    done = []
    c.data.export_hits(str(out), "geojson", then=lambda p, n: done.append(n))
    qtbot.waitUntil(lambda: bool(done), timeout=10000)
    assert str(out) in w.message_bar.text() and w.message_bar.action_text() == "Show in folder"
    qtbot.mouseClick(w.message_bar._action, Qt.LeftButton)
    assert opened == [str(out)]
    # new data: the threshold is a score again, the words say so
    w.actions.refine.setChecked(False)
    _reopen(qtbot, w, data)
    assert w.controls.threshold_label.text() == "Min score"
    # a first-use hint goes once it was followed
    w.feedback.show_hint("Click on open water, a marsh or a field, then see every place like it")
    c.add_example(int(c.shown.items[3].row), "positive")
    qtbot.waitUntil(lambda: w.message_bar.text() == "", timeout=3000)
    # an empty histogram counts whole chips
    w.score_plot.set_scores(np.zeros(0, np.float32))
    assert w.score_plot.ticks() and all(float(t).is_integer() for t in w.score_plot.ticks())
    w.presenter.show(c.shown)


def test_item9_layout_keeps_the_map_and_panels_readable(qtbot, window):
    w, m = window, window.map_view
    assert page_value(m, "TF.styles().footprints.opacity") <= 0.15  # the grid no longer darkens imagery
    overlays = page_value(m, "document.querySelector('.leaflet-control-layers-overlays').textContent")
    assert "Chip footprints" in overlays  # and it can be switched off
    rects = page_value(
        m,
        "[document.querySelector('.leaflet-control-attribution'), document.querySelector('.leaflet-control-scale')]"
        ".map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })",
    )
    (al, at, ar, ab), (sl, st, sr, sb) = rects
    assert ab - at <= 28  # one line of credits (two made it ~40 px)
    assert ar <= sl or sr <= al or ab <= st or sb <= at  # not over the scale bar
    assert w.examples_panel.list.height() >= 3 * 44
    region = w.dataset_panel.region_buttons["rectangle"]
    assert not region.visibleRegion().isEmpty()  # the region controls stay in view with data open
    # many one-chip sites: no labels covering the map, only sites of several chips get one
    from mapkit import chip_fc

    fc = chip_fc(150, lon0=-75.9, lat0=37.3)
    for i, f in enumerate(fc["features"]):
        ring = f["geometry"]["coordinates"][0]
        f["properties"] = {
            "rank": i + 1,
            "chip_count": 3 if i < 4 else 1,
            "lat": ring[0][1],
            "lon": ring[0][0],
        }
    m.set_sites(fc)
    qtbot.waitUntil(lambda: page_value(m, "TF.counts()")["sites"] == 150, timeout=10000)
    assert page_value(m, "TF.counts()")["site_labels"] == 4
    m.set_sites(None)
    w.grab().save(str(ARTIFACTS / "first_use_layout.png"))


def test_item4_a_pack_says_before_what_it_will_lack_and_after_what_it_holds(qtbot, window, dialogs, tmp_path):
    import json

    from terrafind.core.types import Region

    w, c = window, window.c
    old = c.shown
    c.set_params({"k": 200})
    qtbot.waitUntil(lambda: c.shown is not old and len(c.shown.items) == 200, timeout=20000)
    asked = []

    def hook(kind, title, text, detail):
        asked.append((kind, text, detail, page_value(w.map_view, "TF.counts()")["outline"]))
        return "Choose imagery..." if len(asked) == 1 else True

    errors.set_dialog_hook(hook)
    try:
        w0, s0, e0, n0 = c.session.catalog.bounds
        region = Region.from_bbox(w0, s0, (w0 + e0) / 2, n0)
        assert c.packs.prepare(str(tmp_path / "pack"), region, ["Contains modified Copernicus Sentinel data"])
        qtbot.waitUntil(lambda: bool(asked), timeout=20000)
        kind, text, buttons, outline = asked[0]
        assert kind == "choice" and "Choose imagery..." in buttons.split("\n")
        assert outline == 1  # the area is drawn on the map while it is asked
        assert " km, " in text and "It will lack" in text and "names no imagery" in text
        assert "No imagery basemap" in text
        qtbot.waitUntil(lambda: w.imagery_dialog is not None and w.imagery_dialog.isVisible(), timeout=5000)
        w.imagery_dialog.reject()
        assert page_value(w.map_view, "TF.counts()")["outline"] == 0
        built = []
        c.packs.pack_built.connect(built.append)
        c.packs.prepare(str(tmp_path / "pack"), region, ["Contains modified Copernicus Sentinel data"])
        qtbot.waitUntil(lambda: bool(built), timeout=60000)
    finally:
        errors.set_dialog_hook(lambda kind, title, text, detail: dialogs.append((kind, title, text)) or True)
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text())
    assert manifest["credits"] == ["Contains modified Copernicus Sentinel data"]
    field = manifest["field"]
    hits = json.loads((tmp_path / "pack" / "field" / "hits.geojson").read_text())["features"]
    assert field["hits"] == len(hits) > 0 and field["examples"] == len(c.session.examples) > 0
    for rel in field["files"]:
        assert rel in manifest["files"] and (tmp_path / "pack" / rel).is_file()
    assert {"field/hits.geojson", "field/hits.gpx"} <= set(field["files"])
    bar = w.message_bar.text()
    assert w.message_bar.level == "warning" and "holds" in bar and "It lacks" in bar  # never a bare "ready"
    assert w.message_bar.action_text() == "Show in folder"
    w.grab().save(str(ARTIFACTS / "first_use_pack.png"))
