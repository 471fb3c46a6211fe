"""File menu jobs through the controller: embeddings from imagery, then a field pack of it, opened again."""

from __future__ import annotations

import json

import numpy as np
import pytest

from terrafind.core.types import Region
from terrafind.gui import errors
from terrafind.gui.controller import AppController


@pytest.fixture
def controller(qtbot):
    c = AppController(autosave=False)
    yield c
    c.runner.shutdown()
    c.deleteLater()


def _image(path):
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:128, 0:160]
    base = np.where(x < 80, 300.0, 1500.0 + 400.0 * np.sin(x / 2.0) * np.cos(y / 5.0))
    data = np.clip(np.stack([base * f + rng.normal(0, 40, base.shape) for f in (1.0, 0.8, 1.3)]), 1, 9000)
    with rasterio.open(
        path, "w", driver="GTiff", width=160, height=128, count=3, dtype="uint16",
        crs="EPSG:32618", transform=from_origin(420000, 4160000, 10, 10),
    ) as dst:  # fmt: skip
        dst.write(data.astype(np.uint16))
    return path


def test_embed_imagery_opens_it_then_pack_and_open_the_pack(qtbot, controller, tmp_path):
    c = controller
    image = _image(tmp_path / "scene.tif")
    loaded = []
    c.data_opened.connect(lambda s: loaded.append(s.catalog))
    c.data.embed([str(image)], str(tmp_path / "scene.parquet"))
    qtbot.waitUntil(lambda: bool(loaded), timeout=60000)
    cat = loaded[-1]
    assert len(cat) > 10 and c.session.sources == [str(tmp_path / "scene.parquet")]

    asked = []
    errors.set_dialog_hook(lambda kind, title, text, detail: asked.append(text) or True)
    try:
        built = []
        c.packs.pack_built.connect(built.append)
        w, s, e, n = cat.bounds
        region = Region.from_bbox(w, s, (w + e) / 2, n)
        assert c.packs.prepare(str(tmp_path / "pack"), region)
        qtbot.waitUntil(lambda: bool(built), timeout=90000)
    finally:
        errors.set_dialog_hook(None)
    assert "will take about" in asked[0]  # the size estimate came first
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_text())
    assert manifest["region"]["bbox"] == list(region.bbox)

    c.data.open_paths([built[0]])
    qtbot.waitUntil(lambda: len(loaded) == 2, timeout=30000)
    assert c.session.pack is not None and 0 < len(c.session.catalog) < len(cat)
    qtbot.waitUntil(lambda: c.session.index is not None, timeout=30000)
    assert c.projects.project().sources == [str(c.session.pack.root)]
