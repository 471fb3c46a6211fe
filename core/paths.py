"""Where Terrafind keeps things: config, caches, user data and its bundled resources.

``TERRAFIND_HOME`` redirects all per-user directories (tests point it at ``tmp_path``; a field pack on a
USB stick can point it at the stick). ``resources_dir()`` knows the PyInstaller bundle (``sys._MEIPASS``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

__all__ = [
    "home_override",
    "config_dir",
    "cache_dir",
    "data_dir",
    "log_dir",
    "resources_dir",
    "web_vendor_dir",
    "is_app_folder",
]

APP = "terrafind"


def home_override() -> Path | None:
    value = os.environ.get("TERRAFIND_HOME")
    return Path(value) if value else None


def _dir(kind: str) -> Path:
    home = home_override()
    if home is not None:
        path = home / kind
    elif kind == "config":
        path = Path(platformdirs.user_config_dir(APP))
    elif kind == "cache":
        path = Path(platformdirs.user_cache_dir(APP))
    elif kind == "log":
        path = Path(platformdirs.user_log_dir(APP))
    else:
        path = Path(platformdirs.user_data_dir(APP))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """Settings (a small JSON file)."""
    return _dir("config")


def cache_dir() -> Path:
    """Rebuildable things: index files, thumbnails, rendered pages."""
    return _dir("cache")


def data_dir() -> Path:
    """Things the user made or that take long to make: the demo region, recovery files."""
    return _dir("data")


def log_dir() -> Path:
    """The app's and the CLI's log files (the platform's place for logs: ~/.local/state/terrafind/log on
    Linux, ~/Library/Logs/terrafind on macOS, %LOCALAPPDATA%\\terrafind\\terrafind\\Logs on Windows)."""
    return _dir("log")


def resources_dir() -> Path:
    """The ``resources/`` folder: beside ``core/`` in a checkout (the package root) and in an installed wheel
    (``site-packages/terrafind/resources``), under ``sys._MEIPASS`` in the frozen app."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def web_vendor_dir() -> Path:
    """Third-party web assets fetched at set-up time (git-ignored, bundled by the installer)."""
    return resources_dir() / "web" / "vendor"


def is_app_folder(path: str | Path) -> bool:
    """True inside Terrafind's own data, cache or config folders (the demo region, thumbnails, settings):
    no place for a file dialog to start or for a user's export to land."""
    p = Path(path).expanduser().resolve()
    own = (data_dir().resolve(), cache_dir().resolve(), config_dir().resolve())
    return any(p == d or d in p.parents for d in own)
