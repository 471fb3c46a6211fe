"""File > Imagery for thumbnails and basemap...: imagery configured for a dataset without source_url gives
thumbnails, is remembered for the next open, feeds the field pack; local imagery gives a basemap."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialogButtonBox
from windowkit import app_window

from terrafind.core.imagery import settings as imagery_settings
from terrafind.core.types import Region

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BBOX = (-75.80, 37.40, -75.75, 37.45)  # chips here; the COGs reach a little beyond
COG_BBOX = (-75.81, 37.39, -75.74, 37.46)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))  # tests/core/imagery_synth.py


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from imagery_synth import write_cog
    from synth import write_earth_index

    d = tmp_path_factory.mktemp("imagery")
    cog = write_cog(d / "scene.tif", COG_BBOX, res=40.0)
    plain = write_earth_index(d / "ei.parquet", n=100, d=16, bbox=BBOX)
    other = write_cog(d / "own.tif", COG_BBOX, res=40.0, seed=3)
    with_url = write_earth_index(
        d / "with_url.parquet",
        n=100,
        d=16,
        bbox=BBOX,
        seed=1,
        extra_columns={"source_url": [str(other)] * 100},
    )
    return {"cog": cog, "plain": plain["path"], "own": other, "with_url": with_url["path"], "dir": d}


@pytest.fixture(scope="module")
def window(qapp):
    with app_window() as w:
        yield w


def _open(qtbot, w, path):
    old = w.c.session.catalog
    w.open_path(str(path))
    qtbot.waitUntil(lambda: w.c.session.catalog is not None and w.c.session.catalog is not old, timeout=20000)
    qtbot.waitUntil(lambda: w.map_view.ready, timeout=30000)


def _thumb(qtbot, w, row, status):
    got = []
    w.c.thumbs.thumbnail_ready.connect(lambda r, png, s: got.append(s) if r == row else None)
    w.c.thumbs.want([row])
    qtbot.waitUntil(lambda: status in got, timeout=15000)


def _base(qtbot, w):
    box = []
    w.map_view.counts(box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10000)
    return box[0]["base"]


def test_configured_imagery_gives_thumbnails_is_remembered_and_feeds_the_pack(qtbot, window, files, tmp_path):
    w, c = window, window.c
    _open(qtbot, w, files["plain"])
    assert c.imagery.value is None
    assert w.dataset_panel.imagery_label.text() == "Imagery: none - choose imagery"
    assert c.thumbs.service.thumbnail(c.session.catalog, 5).status == "no-imagery"
    c.add_example(5, "positive")
    qtbot.waitUntil(lambda: c.shown is not None, timeout=15000)

    # A wrong choice is refused with a sentence in the dialog and the message bar; nothing is remembered.
    w.actions.imagery_action.trigger()
    dialog = w.imagery_dialog
    assert dialog.isVisible() and "names no imagery" in dialog.current_label.text()
    dialog.edit.setText(str(files["dir"] / "missing.tif"))
    dialog.buttons.button(QDialogButtonBox.Ok).click()
    assert dialog.isVisible() and "does not exist" in dialog.problem_label.text()
    assert "missing.tif" in w.message_bar.text()
    ARTIFACTS.mkdir(exist_ok=True)
    dialog.grab().save(str(ARTIFACTS / "imagery_dialog.png"))
    assert imagery_settings.imagery_for(c.session.sources) is None

    got = []
    c.thumbs.thumbnail_ready.connect(lambda r, png, s: got.append((r, s)))
    dialog.edit.setText(str(files["cog"]))
    dialog.buttons.button(QDialogButtonBox.Ok).click()
    assert not dialog.isVisible()
    assert w.message_bar.text() == ""  # the refusal went once a choice was taken
    assert c.imagery.value == str(files["cog"].resolve())
    top = int(c.shown.result.rows[0])
    # The example and the gallery are cut again, now from the COG.
    qtbot.waitUntil(lambda: (5, "ok") in got and (top, "ok") in got, timeout=20000)
    assert w.dataset_panel.imagery_label.text() == "Imagery: scene.tif"
    assert imagery_settings.imagery_for([files["plain"]]) == str(files["cog"].resolve())
    assert c.projects.project().imagery == str(files["cog"].resolve())
    # Local imagery also gives the imagery basemap.
    qtbot.waitUntil(lambda: w.basemaps.made, timeout=30000)
    qtbot.waitUntil(lambda: _base(qtbot, w) == "Imagery (offline)", timeout=10000)
    qtbot.wait(600)
    w.grab().save(str(ARTIFACTS / "imagery_configured.png"))
    w.dataset_panel.grab().save(str(ARTIFACTS / "imagery_data_panel.png"))

    # Reopened (another session would do the same): the imagery comes back, thumbnails are imagery.
    _open(qtbot, w, files["with_url"])
    assert c.imagery.value is None
    _open(qtbot, w, files["plain"])
    assert c.imagery.value == str(files["cog"].resolve())
    _thumb(qtbot, w, 7, "ok")

    # The field pack made from the app takes the configured imagery.
    built = []
    c.packs.pack_built.connect(built.append)
    region = Region.from_bbox(BBOX[0], BBOX[1], (BBOX[0] + BBOX[2]) / 2, BBOX[3])
    c.packs.build(list(c.session.sources), region, str(tmp_path / "pack"), c.session.imagery)
    qtbot.waitUntil(lambda: bool(built), timeout=30000)
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text())
    assert manifest["imagery"] == "field-pack:scene.tif"  # its name only: no path of this machine
    assert (tmp_path / "pack" / "basemap.mbtiles").is_file()

    # Clear: no imagery again, the basemap made from it goes, the setting is forgotten.
    w.actions.imagery_action.trigger()
    dialog.clear_button.click()
    assert c.imagery.value is None and imagery_settings.imagery_for(c.session.sources) is None
    qtbot.waitUntil(lambda: not w.basemaps.made, timeout=10000)
    assert c.thumbs.service.thumbnail(c.session.catalog, 7).status == "no-imagery"


def test_local_source_url_gives_an_imagery_basemap_made_once(qtbot, window, files):
    from terrafind.core.imagery.basemap import MBTiles

    w, c = window, window.c
    ready = []
    c.imagery.basemap_ready.connect(lambda path, bounds, attribution: ready.append((path, attribution)))
    _open(qtbot, w, files["with_url"])
    qtbot.waitUntil(lambda: bool(ready), timeout=30000)
    path, attribution = ready[-1]
    assert path and "own.tif" in attribution
    assert w.dataset_panel.imagery_label.text() == "Imagery: own.tif"
    qtbot.waitUntil(lambda: _base(qtbot, w) == "Imagery (offline)", timeout=10000)
    tiles = MBTiles(path)
    z = int(tiles.metadata()["maxzoom"])
    lon, lat = c.session.catalog.centroids[0]
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    assert tiles.tile(z, x, y)  # the tile under a chip is served
    mtime = os.stat(path).st_mtime_ns

    # A second open is instant: the same file, not rendered again.
    ready.clear()
    _open(qtbot, w, files["plain"])
    qtbot.waitUntil(lambda: ("", "") in ready, timeout=10000)  # data without imagery: no basemap
    _open(qtbot, w, files["with_url"])
    qtbot.waitUntil(lambda: bool(ready) and ready[-1][0] != "", timeout=10000)
    assert ready[-1][0] == path and os.stat(path).st_mtime_ns == mtime
    assert w.map_view.external_requests == []


def test_project_brings_its_imagery_and_a_tile_template_makes_no_basemap(qtbot, window, files, tmp_path):
    w, c = window, window.c
    _open(qtbot, w, files["plain"])
    ready = []
    c.imagery.basemap_ready.connect(lambda path, bounds, attribution: ready.append(path))
    template = "https://tiles.example.org/{z}/{x}/{y}.png"
    assert c.imagery.choose(template)
    qtbot.waitUntil(lambda: bool(ready) and not c.runner.running("basemap"), timeout=10000)
    assert set(ready) == {""}  # terms of service: a tile service is never rendered into MBTiles
    assert c.thumbs.service.thumbnail(c.session.catalog, 3).status == "offline"  # the window is offline
    assert w.dataset_panel.imagery_label.text() == "Imagery: tiles from tiles.example.org (offline)"
    saved = c.projects.save(str(tmp_path / "survey.terrafind"))

    imagery_settings.set_imagery_for(
        c.session.sources, None
    )  # as on another computer: only the project knows
    _open(qtbot, w, files["with_url"])
    c.projects.open(saved)
    qtbot.waitUntil(
        lambda: c.session.sources == [str(files["plain"])] and c.imagery.value == template, timeout=20000
    )
    assert c.projects.project().imagery == template
