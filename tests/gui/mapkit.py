"""Helpers for the map tests: a MapView fixture that tears down cleanly, JS questions, synthetic chips."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent

from terrafind.gui.map.map_view import MapView

CHIP = 0.0256  # degrees: a 256 px x 10 m chip, near the equator


def close_view(view: MapView) -> None:
    # Without this, offscreen pytest segfaults at exit (WebEnginePage outliving its profile).
    view.scheme_handler.wait_idle(2000)
    view.close()
    view.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def open_map_view(qtbot):
    """Generator for a yield fixture: a shown 800 x 600 MapView whose page is ready; closed afterwards."""
    view = MapView()
    view.resize(800, 600)
    view.show()
    qtbot.waitUntil(lambda: view.ready, timeout=30_000)
    yield view
    close_view(view)


def js(qtbot, view: MapView, expr: str, timeout: int = 10_000):
    box: list = []
    view.eval_json(expr, lambda value: box.append(value))
    qtbot.waitUntil(lambda: bool(box), timeout=timeout)
    return box[0]


def counts(qtbot, view: MapView) -> dict:
    box: list = []
    view.counts(box.append)
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    return box[0]


def chip_fc(
    n: int, *, lon0: float = 36.0, lat0: float = -1.0, cols: int = 100, seed: int = 0, kind: str | None = None
):
    """``n`` square chips in a grid, rows 0..n-1, scores spread over 0..1 (shuffled), ids with HTML in them."""
    rng = np.random.default_rng(seed)
    scores = rng.permutation(np.linspace(0.0, 1.0, n)) if n > 1 else np.array([1.0])
    features = []
    for row in range(n):
        w = lon0 + (row % cols) * CHIP
        s = lat0 + (row // cols) * CHIP
        ring = [[w, s], [w + CHIP, s], [w + CHIP, s + CHIP], [w, s + CHIP], [w, s]]
        props = {
            "row": row,
            "rank": row + 1,
            "score": float(scores[row]),
            "id": f"chip-{row}",
            "date": "2024-06-01",
        }
        if kind:
            props = {"row": row, "kind": kind, "id": f"chip-{row}"}
        features.append(
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}, "properties": props}
        )
    return {"type": "FeatureCollection", "features": features}
