"""Issue 17, "the first ten minutes": what a new user trips over, each with a test that would have caught it.

One window serves the module (a real QtWebEngine page, real mouse clicks); tests run in file order. The data
overlap by half like Earth Index and the demo region (chips twice the stride), so 3-5 result squares
cover any point of the map.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

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

    # online, but the bucket does not answer (as on this machine): "cannot reach", everywhere
    c.thumbs.set_online(True)
    svc = c.thumbs.service
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
    c.thumbs.set_online(False)
