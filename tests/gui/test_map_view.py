"""The map page in a real QtWebEngine view: offline, clicks, 5,000 results, threshold, popups, drawing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mapkit import CHIP, chip_fc, counts, js, open_map_view
from PySide6.QtCore import QBuffer, QIODevice, QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from terrafind.gui.map import map_page

pytestmark = pytest.mark.webengine
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def map_view(qtbot):
    yield from open_map_view(qtbot)


def png_bytes(colour: str, size: int = 64, fmt: str = "PNG") -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(QColor(colour))
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, fmt)
    return bytes(buffer.data().data())


def test_rendered_page_has_no_outside_links():
    html, scripts = map_page._page()
    assert "http://" not in html and "https://" not in html
    assert "/vendor/leaflet/leaflet.js" in html and "/app.js" in html
    assert any(b"TF.boot(" in script for script in scripts.values())
    for script in scripts.values():
        assert b"http://" not in script and b"https://" not in script


def test_page_policy_allows_only_its_own_scripts():
    """Issue 11: a strict Content-Security-Policy (scripts only from terrafind:, no inline script, no eval)
    and no Function()/eval fallback left in the app's own scripts."""
    html, scripts = map_page._page()
    assert "Content-Security-Policy" in html and "script-src terrafind:;" in html
    assert "unsafe-eval" not in html and "<script>" not in html and "https:" not in map_page.CSP
    app_js = (map_page.web_dir() / "app.js").read_text()
    assert "Function(" not in app_js and "eval(" not in app_js


def test_cdn_links_are_rewritten_and_unknown_outside_urls_refused():
    html = '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
    assert map_page.offline_html(html) == '<script src="/vendor/leaflet/leaflet.js"></script>'
    with pytest.raises(map_page.OfflinePageError, match="Leaflet.fullscreen"):
        map_page.offline_html('<script src="https://cdn.example.org/Leaflet.fullscreen.min.js"></script>')
    with pytest.raises(map_page.OfflinePageError):
        map_page.offline_html('<img src="//tile.openstreetmap.org/1/0/0.png">')


def test_offline_page_loads_everything_locally(qtbot, map_view):
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["basemap_loaded"] == 2, timeout=15_000)
    served = set(map_view.scheme_handler.served)
    assert {"/index.html", "/vendor/leaflet/leaflet.js", "/qwebchannel.js", "/app.js"} <= served
    assert {"/basemap/land.geojson", "/basemap/countries.geojson"} <= served
    assert map_view.external_requests == []
    errors = [m for level, m in map_view.console if level >= 2]
    assert errors == []
    assert js(qtbot, map_view, "typeof L.Control.Draw") == "function"


def test_outside_requests_never_leave_the_page(qtbot, map_view):
    """The page's policy refuses an outside image before any request is made (the interceptor, which
    blocks every outside request online or not, is the second line); not one reaches the network."""
    from terrafind.gui.map.interceptor import is_outside

    map_view.run_js("L.tileLayer('https://tiles.example.invalid/{z}/{x}/{y}.png').addTo(TF.map)")
    qtbot.waitUntil(
        lambda: any(
            "Content Security Policy" in m and "tiles.example.invalid" in m for _, m in map_view.console
        ),
        timeout=10_000,
    )
    assert map_view.external_requests == [] and map_view.interceptor.block
    map_view.set_online(True)
    assert map_view.interceptor.block  # online too: online basemaps come through the app's own route
    map_view.set_online(False)
    assert is_outside("https", "tiles.example.invalid") and not is_outside("terrafind", "app")


def test_real_mouse_click_gives_lon_lat_of_that_pixel(qtbot, map_view):
    map_view.set_view(36.5, -0.5, 9)
    qtbot.waitUntil(lambda: js(qtbot, map_view, "TF.map.getZoom()") == 9, timeout=5_000)
    expected = js(qtbot, map_view, "(p => [p.lng, p.lat])(TF.map.containerPointToLatLng([300, 200]))")
    target = map_view.view.focusProxy()
    QTest.mouseMove(target, QPoint(300, 200))
    with qtbot.waitSignal(map_view.point_clicked, timeout=10_000) as blocker:
        QTest.mouseClick(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 200))
    lon, lat, modifier = blocker.args
    assert (lon, lat) == pytest.approx(expected, abs=1e-9)
    assert 30 < lon < 43 and -6 < lat < 5  # lon/lat, not lat/lng
    assert modifier == ""
    with qtbot.waitSignal(map_view.point_clicked, timeout=10_000) as blocker:
        QTest.mouseClick(
            target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, QPoint(310, 210)
        )
    assert blocker.args[2] == "shift"


def test_5000_results_threshold_and_select(qtbot, map_view):
    fc = chip_fc(5000)
    start = time.perf_counter()
    map_view.set_results(fc)
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["results"] == 5000, timeout=20_000)
    elapsed = time.perf_counter() - start
    print(f"5000 results on the map in {elapsed * 1000:.0f} ms")
    assert elapsed < 10

    scores = [f["properties"]["score"] for f in fc["features"]]
    map_view.set_threshold(0.75)
    want = sum(s >= 0.75 for s in scores)
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["results"] == want, timeout=5_000)
    assert counts(qtbot, map_view)["results_total"] == 5000  # filtered, not rebuilt
    map_view.set_threshold(0.0)
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["results"] == 5000, timeout=5_000)

    row = 4321
    map_view.select(row, zoom=True)
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["selected"] == row, timeout=5_000)
    ring = fc["features"][row]["geometry"]["coordinates"][0]
    cx, cy = (ring[0][0] + ring[1][0]) / 2, (ring[0][1] + ring[2][1]) / 2
    qtbot.waitUntil(lambda: js(qtbot, map_view, "TF.map.getZoom()") >= 12, timeout=5_000)
    centre = js(qtbot, map_view, "(c => [c.lng, c.lat])(TF.map.getCenter())")
    assert centre == pytest.approx([cx, cy], abs=CHIP / 4)
    assert counts(qtbot, map_view)["results_mode"] == "shapes"  # zoomed in: footprint polygons


def test_clicking_a_result_selects_it_and_is_not_a_map_click(qtbot, map_view):
    fc = chip_fc(9, cols=3)
    map_view.set_results(fc)
    map_view.set_view(36.0 + 1.5 * CHIP, -1.0 + 1.5 * CHIP, 13)
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["results"] == 9, timeout=5_000)
    qtbot.waitUntil(lambda: js(qtbot, map_view, "TF.map.getZoom()") == 13, timeout=5_000)
    x, y = js(
        qtbot,
        map_view,
        f"(p => [p.x, p.y])(TF.map.latLngToContainerPoint([{-1.0 + 0.5 * CHIP}, {36.0 + 0.5 * CHIP}]))",
    )
    clicks: list = []
    map_view.point_clicked.connect(lambda *a: clicks.append(a))
    target = map_view.view.focusProxy()
    QTest.mouseMove(target, QPoint(round(x), round(y)))
    with qtbot.waitSignal(map_view.result_clicked, timeout=10_000) as blocker:
        QTest.mouseClick(
            target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(round(x), round(y))
        )
    assert blocker.args == [0]
    qtbot.wait(200)
    assert clicks == []
    assert counts(qtbot, map_view)["selected"] == 0
    assert js(qtbot, map_view, "document.querySelectorAll('.tf-popup').length") == 1


def test_popup_escapes_dataset_text_serves_thumbnail_and_labels(qtbot, map_view):
    served_rows: list[int] = []
    thumb = png_bytes("#3366cc", 48)

    def provide(row: int) -> bytes | None:
        served_rows.append(row)
        return thumb if row == 7 else None

    map_view.set_thumbnail_provider(provide)
    fc = chip_fc(10)
    evil = "<img src=x onerror=\"bridge.labelRequested(7, 'positive')\">"
    fc["features"][7]["properties"]["id"] = evil
    map_view.set_results(fc)
    map_view.open_popup(7)
    qtbot.waitUntil(
        lambda: js(qtbot, map_view, "document.querySelectorAll('.tf-popup').length") == 1, timeout=5_000
    )
    assert js(qtbot, map_view, "document.querySelector('.tf-popup .tf-id').textContent") == evil
    assert js(qtbot, map_view, "document.querySelectorAll('.tf-popup img').length") == 1  # only the thumbnail
    qtbot.waitUntil(
        lambda: js(qtbot, map_view, "document.querySelector('.tf-popup img').naturalWidth") == 48,
        timeout=10_000,
    )
    assert served_rows == [7]
    with qtbot.waitSignal(map_view.label_requested, timeout=5_000) as blocker:
        map_view.run_js("document.querySelector('.tf-popup .tf-yes').click()")
    assert blocker.args == [7, "positive"]
    map_view.open_popup(3)  # its provider says None: a note instead of a broken image
    qtbot.waitUntil(
        lambda: js(qtbot, map_view, "document.querySelectorAll('.tf-popup .tf-nothumb').length") == 1
    )
    with qtbot.waitSignal(map_view.label_requested, timeout=5_000) as blocker:
        map_view.run_js("document.querySelector('.tf-popup .tf-no').click()")
    assert blocker.args == [3, "negative"]


def test_drawn_region_and_view_changes_reach_python(qtbot, map_view):
    with qtbot.waitSignal(map_view.region_drawn, timeout=5_000) as blocker:
        map_view.run_js(
            "TF.map.fire('draw:created', {layer: L.rectangle([[0, 10], [1, 11]]), layerType: 'rectangle'})"
        )
    geometry = blocker.args[0]
    assert geometry["type"] == "Polygon"
    assert sorted({tuple(p) for p in geometry["coordinates"][0]}) == [(10, 0), (10, 1), (11, 0), (11, 1)]
    map_view.set_draw_mode("polygon")
    assert (
        js(
            qtbot,
            map_view,
            "document.querySelectorAll('.leaflet-draw-tooltip-single, .leaflet-draw-tooltip').length",
        )
        > 0
    )
    map_view.set_draw_mode(None)


def test_drawing_a_rectangle_with_the_mouse(qtbot, map_view):
    map_view.set_view(36.5, -0.5, 9)
    qtbot.waitUntil(lambda: js(qtbot, map_view, "TF.map.getZoom()") == 9, timeout=5_000)
    corner_a = js(qtbot, map_view, "(p => [p.lng, p.lat])(TF.map.containerPointToLatLng([200, 200]))")
    corner_b = js(qtbot, map_view, "(p => [p.lng, p.lat])(TF.map.containerPointToLatLng([400, 350]))")
    clicks: list = []
    map_view.point_clicked.connect(lambda *a: clicks.append(a))
    map_view.set_draw_mode("rectangle")
    qtbot.waitUntil(lambda: js(qtbot, map_view, "TF.isDrawing()") is True, timeout=5_000)
    target = map_view.view.focusProxy()
    QTest.mouseMove(target, QPoint(200, 200))
    with qtbot.waitSignal(map_view.region_drawn, timeout=5_000) as blocker:
        QTest.mousePress(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 200))
        for i in range(1, 11):
            QTest.mouseMove(target, QPoint(200 + 20 * i, 200 + 15 * i))
            qtbot.wait(15)
        # Chromium hands mouse moves to the page once per animation frame; on a busy machine let the last
        # one land before the release, as a person's hand does.
        qtbot.wait(300)
        QTest.mouseRelease(
            target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(400, 350)
        )
    ring = blocker.args[0]["coordinates"][0]
    lons, lats = sorted({p[0] for p in ring}), sorted({p[1] for p in ring})
    assert lons == pytest.approx(sorted([corner_a[0], corner_b[0]]), abs=1e-5)
    assert lats == pytest.approx(sorted([corner_a[1], corner_b[1]]), abs=1e-5)
    qtbot.wait(200)
    assert clicks == []  # drawing is not clicking on the map


def test_view_changes_reach_python(qtbot, map_view):
    with qtbot.waitSignal(map_view.view_changed, timeout=5_000) as blocker:
        map_view.set_view(10.0, 20.0, 6)
    west, south, east, north, zoom = blocker.args
    assert west < 10 < east and south < 20 < north and zoom == 6


def test_footprints_examples_and_imagery_basemap(qtbot, map_view):
    map_view.set_footprints(chip_fc(3000))
    map_view.set_examples(chip_fc(2, kind="positive"))
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["footprints"] == 3000, timeout=10_000)
    assert counts(qtbot, map_view)["footprints_drawn"] == 0  # zoomed out: chips too small to outline
    map_view.set_view(36.0 + 5 * CHIP, -1.0 + 5 * CHIP, 13)
    qtbot.waitUntil(lambda: 0 < counts(qtbot, map_view)["footprints_drawn"] < 3000, timeout=10_000)
    assert counts(qtbot, map_view)["examples"] == 2

    asked: list[tuple[int, int, int]] = []
    tile = png_bytes("#556b2f", 256, "WEBP")

    def tile_fn(z, x, y):
        asked.append((z, x, y))
        return tile

    map_view.set_imagery_basemap(
        tile_fn, max_zoom=12, bounds=(35.5, -1.5, 37.0, 0.5), attribution="<b>Sentinel-2</b>"
    )
    qtbot.waitUntil(lambda: len(asked) > 0, timeout=10_000)
    assert all(z <= 12 for z, _, _ in asked)  # over-zoomed beyond the pyramid, never asked for z13
    assert counts(qtbot, map_view)["base"] == "Imagery (offline)"
    attribution = js(qtbot, map_view, "document.querySelector('.leaflet-control-attribution').textContent")
    assert "<b>Sentinel-2</b>" in attribution  # shown as text, not HTML
    map_view.set_imagery_basemap(None)
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["base"] == "Outlines only", timeout=5_000)
    assert map_view.external_requests == []


def test_online_layers_only_when_online(qtbot, map_view):
    layers = "Array.from(new Set(Array.from(document.querySelectorAll('.leaflet-control-layers-base label')).map(s => s.textContent.trim())))"
    assert not any("online" in n for n in js(qtbot, map_view, layers))
    map_view.set_online(True)
    qtbot.waitUntil(lambda: sum("online" in n for n in js(qtbot, map_view, layers)) == 2, timeout=5_000)
    assert map_view.interceptor.block  # online tiles come through the app's route and the network gate
    urls = js(qtbot, map_view, "Object.values(TF.map._layers).map(l => l._url).filter(Boolean)")
    assert all(u.startswith("terrafind://app/") for u in urls)
    map_view.set_online(False)
    qtbot.waitUntil(lambda: not any("online" in n for n in js(qtbot, map_view, layers)), timeout=5_000)
    assert map_view.interceptor.block
    assert map_view.external_requests == []  # listed, never shown: nothing was fetched


def test_state_survives_a_renderer_restart(qtbot, map_view):
    from PySide6.QtWebEngineCore import QWebEnginePage

    map_view.set_results(chip_fc(50))
    map_view.set_threshold(0.5)
    map_view.set_region({"type": "Polygon", "coordinates": [[[36, -1], [37, -1], [37, 0], [36, -1]]]})
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["results"] == 25, timeout=5_000)
    map_view.run_js("window.__old_page = true")
    status = QWebEnginePage.RenderProcessTerminationStatus.CrashedTerminationStatus
    map_view.page.renderProcessTerminated.emit(status, 11)
    qtbot.waitUntil(
        lambda: map_view.ready and js(qtbot, map_view, "window.__old_page === undefined"), timeout=20_000
    )
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["results"] == 25, timeout=5_000)
    assert counts(qtbot, map_view)["results_total"] == 50
    assert js(qtbot, map_view, "TF.map.hasLayer && Object.keys(TF.map._layers).length > 0")


def test_a_second_crash_on_the_same_layers_is_not_replayed(qtbot, map_view):
    """Issue 11: one geometry too heavy to draw killed the renderer, which reloaded and replayed the same
    state for ever. A second crash before new layers arrive reloads the page without its layers and says so."""
    from PySide6.QtWebEngineCore import QWebEnginePage

    said = []
    map_view.renderer_failed.connect(said.append)
    map_view.set_results(chip_fc(40))
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["results_total"] == 40, timeout=5_000)
    status = QWebEnginePage.RenderProcessTerminationStatus.CrashedTerminationStatus
    map_view.page.renderProcessTerminated.emit(status, 11)  # first: reloaded and replayed
    qtbot.waitUntil(lambda: map_view.ready and counts(qtbot, map_view)["results_total"] == 40, timeout=20_000)
    assert said == []
    map_view.page.renderProcessTerminated.emit(status, 11)  # again, same layers: no replay
    qtbot.waitUntil(lambda: map_view.ready, timeout=20_000)
    qtbot.waitUntil(lambda: counts(qtbot, map_view) is not None, timeout=5_000)
    assert counts(qtbot, map_view)["results_total"] == 0 and len(said) == 1 and "smaller region" in said[0]
    map_view.set_results(chip_fc(10))  # and the map is still usable
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["results_total"] == 10, timeout=5_000)


def test_screenshot(qtbot, map_view):
    thumb = png_bytes("#6b8e23", 96)
    map_view.set_thumbnail_provider(lambda row: thumb)
    map_view.set_footprints(chip_fc(400, cols=20))
    map_view.set_results(chip_fc(300, cols=20, seed=3))
    map_view.set_examples(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    **f,
                    "properties": {"row": 1000 + i, "kind": "positive" if i == 0 else "negative", "id": "x"},
                }
                for i, f in enumerate(chip_fc(2, lon0=36.0 + 21 * CHIP)["features"])
            ],
        }
    )
    w, s, e, n = 36.0 - CHIP, -1.0 - CHIP, 36.0 + 23 * CHIP, -1.0 + 16 * CHIP
    map_view.set_region({"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]})
    map_view.fit_bounds(w, s, e, n)
    map_view.set_threshold(0.3)
    map_view.select(45)
    qtbot.waitUntil(lambda: counts(qtbot, map_view)["selected"] == 45, timeout=5_000)
    map_view.open_popup(45)
    qtbot.waitUntil(
        lambda: (
            js(
                qtbot,
                map_view,
                "document.querySelector('.tf-popup img') && document.querySelector('.tf-popup img').naturalWidth",
            )
            == 96
        ),
        timeout=10_000,
    )
    qtbot.wait(500)
    ARTIFACTS.mkdir(exist_ok=True)
    image = map_view.view.grab().toImage()
    image.save(str(ARTIFACTS / "map.png"))
    colours = {image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)}
    assert len(colours) > 20
