"""The hostile corpus's app tests need what tests/gui/conftest.py sets up (offscreen Qt, QtWebEngine and
the terrafind:// scheme registered before the QApplication exists) when this folder runs on its own."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Chromium refuses root with its sandbox on
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")

import PySide6.QtWebEngineWidgets  # noqa: E402,F401  (must be imported before the QApplication)

from terrafind.gui.map.web_scheme import register_scheme  # noqa: E402

register_scheme()
