"""Terrafind's desktop app (PySide6 + QtWebEngine). It talks to data only through ``core``."""
