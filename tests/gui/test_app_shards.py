"""The app opens a sharded region (tiles indexed as shards, by terrafind-cli index --shards) as one region
and searches it with every shard's index: hits come from several tiles."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from terrafind.gui import errors
from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
pytestmark = pytest.mark.webengine


@pytest.fixture
def region(tmp_path):
    from cluster_synth import tiles

    from terrafind.core.embed.embedder import EmbedderParams
    from terrafind.core.embed.tiles import embed_tiles
    from terrafind.core.shards.build import update_region

    embed_tiles(tiles(tmp_path / "img"), tmp_path / "emb", params=EmbedderParams(k=8, chip=16, stride=8))
    update_region(sorted(str(p) for p in (tmp_path / "emb").glob("*.parquet")), tmp_path / "region")
    return tmp_path / "region"


def test_the_app_opens_a_sharded_region_and_searches_it(qapp, qtbot, region, tmp_path):
    from terrafind.core.shards.index import ShardedIndex

    errors.set_dialog_hook(lambda *a: True)
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    try:
        w.resize(1200, 800)
        w.show()
        qtbot.waitUntil(lambda: w.map_view.ready, timeout=30000)
        w.open_path(str(region))
        qtbot.waitUntil(lambda: w.c.session.catalog is not None, timeout=30000)
        qtbot.waitUntil(lambda: isinstance(w.c.session.index, ShardedIndex), timeout=30000)
        session = w.c.session
        assert session.index.shards == 3 and len(session.index) == len(session.catalog)
        assert {str(i).split("_")[0] for i in session.catalog.ids} == {"T0", "T1", "T2"}
        cat = session.catalog
        row = int(next(i for i, v in enumerate(cat.ids) if str(v).startswith("T1_")))
        w.c.click_at(*cat.centroids[row])
        qtbot.waitUntil(lambda: w.c.shown is not None and row in w.c.shown.result.positives, timeout=20000)
        hit_tiles = {str(cat.ids[r]).split("_")[0] for r in w.c.shown.result.rows}
        assert len(hit_tiles) >= 2  # one region: the hits are not limited to the clicked tile
        w.grab().save(str(tmp_path / "sharded.png"))
    finally:
        errors.set_dialog_hook(None)
        w.c.runner.shutdown()
        w.close()
        w.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
