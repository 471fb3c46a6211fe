"""Terrafind's desktop app (PySide6 + QtWebEngine). It talks to data only through ``core``."""

from terrafind.gui.qt_compat import (
    guard_bool_refcounts as _guard,  # PySide6 6.12 + Python 3.11 emit bug, see there
)

_guard()
