"""Make the pictures of Help > How to search from the real app on the demo region (run by hand).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/help_pictures.py

Opens the main window on the demo region (built on first use), clicks a chip with the real mouse, opens a
result's popup, and saves small palette PNGs of the panels into resources/help/. Run it again after a
visible change to the window; commit the PNGs (each is kept under ~120 kB).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "resources" / "help"


def small(image, width: int):
    """Scaled to ``width`` px and reduced to a 256-colour palette: a fifth of the bytes, still sharp."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    if image.width() > width:
        image = image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
    return image.convertToFormat(QImage.Format.Format_Indexed8, Qt.ImageConversionFlag.DiffuseDither)


def main() -> int:
    import tempfile

    # a home of its own: no recent files or examples of the person running it show in the pictures
    os.environ.setdefault("TERRAFIND_HOME", tempfile.mkdtemp(prefix="terrafind-help-"))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    import PySide6.QtWebEngineWidgets  # noqa: F401  (before the QApplication)
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QApplication

    from terrafind.gui.map.web_scheme import register_scheme

    register_scheme()  # before the QApplication, or the page cannot fetch its layers

    from terrafind.gui.controller import AppController
    from terrafind.gui.main_window import MainWindow
    from terrafind.gui.selftest import _pause, click_chip, dispose, page_value, wait_until

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Terrafind")
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    w.resize(1400, 900)
    w.show()
    c, m = w.c, w.map_view
    wait_until(lambda: m.ready, 60, "the map")
    c.data.open_demo()
    wait_until(lambda: c.session.catalog is not None, 300, "the demo")
    _pause(2.0)
    cat = c.session.catalog
    x0, y0, x1, y1 = cat.bounds
    row = cat.nearest(x0 + (x1 - x0) * 0.45, y0 + (y1 - y0) * 0.5)
    click_chip(w, row, zoom=13)
    wait_until(lambda: c.shown is not None, 60, "results")
    wait_until(
        lambda: page_value(m, "TF.counts()")["results"] == len(c.shown.items), 30, "results on the map"
    )
    _pause(3.0)  # thumbnails and tiles
    OUT.mkdir(parents=True, exist_ok=True)
    small(w.grab().toImage(), 760).save(str(OUT / "window.png"))
    small(w.dataset_panel.grab().toImage(), 330).save(str(OUT / "open.png"))
    small(w.search_side.grab().toImage(), 330).save(str(OUT / "examples.png"))
    small(w.results_panel.grab().toImage(), 380).save(str(OUT / "review.png"))
    it = c.shown.items[2]
    click_chip(w, it.row, zoom=13)
    wait_until(lambda: page_value(m, "TF.popupRow()") is not None, 20, "the popup")
    _pause(2.0)
    shot = m.grab().toImage()
    cx, cy = shot.width() // 2, shot.height() // 2
    small(shot.copy(QRect(cx - 260, cy - 300, 520, 400)), 520).save(str(OUT / "popup.png"))
    for p in sorted(OUT.glob("*.png")):
        print(f"{p.name}: {p.stat().st_size // 1024} kB")
    dispose(w)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
