"""UI state kept between runs in QSettings: window geometry, dock layout, recent files, last project.

Domain settings live in core; this file holds only what belongs to the window. ``TERRAFIND_HOME`` (tests)
moves the QSettings file there too, so no test touches a user's settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from terrafind.core.paths import config_dir, is_app_folder

__all__ = ["UiSettings"]

MAX_RECENT = 8


class UiSettings:
    def __init__(self) -> None:
        # An INI file under config_dir() rather than the platform registry: TERRAFIND_HOME redirects it.
        path = config_dir() / "ui.ini"
        if path.is_symlink():
            path.unlink()  # a link planted at our settings file: Qt would write through it
        self._s = QSettings(str(path), QSettings.IniFormat)

    def geometry(self) -> QByteArray | None:
        value = self._s.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def state(self) -> QByteArray | None:
        value = self._s.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self._s.setValue("window/geometry", geometry)
        self._s.setValue("window/state", state)
        self._s.sync()

    def recent(self) -> list[str]:
        value = self._s.value("files/recent") or []
        if isinstance(value, str):  # QSettings gives back a one-element list as a plain string
            value = [value]
        # an older version put the demo (in the app's data folder) here: it is no place to start from
        return [str(v) for v in value if v and Path(str(v)).exists() and not is_app_folder(str(v))]

    def add_recent(self, path: str) -> list[str]:
        """Put ``path`` first in the recent list; the app's own files (the demo region) never go in it."""
        path = str(Path(path).resolve())
        if is_app_folder(path):
            return self.recent()
        items = [path] + [p for p in self.recent() if p != path]
        self._s.setValue("files/recent", items[:MAX_RECENT])
        self._s.sync()
        return items[:MAX_RECENT]

    def last_dir(self) -> str | None:
        """The folder the user chose last in a file dialog (gui.dialogs.chosen)."""
        value = self._s.value("files/last_dir")
        return str(value) if value else None

    def set_last_dir(self, folder: str) -> None:
        self._s.setValue("files/last_dir", str(folder))
        self._s.sync()

    def online(self) -> bool:
        """The Online/Offline switch as the person left it (online until they switch it off)."""
        return str(self._s.value("network/online", "true")).lower() == "true"

    def set_online(self, online: bool) -> None:
        self._s.setValue("network/online", "true" if online else "false")
        self._s.sync()

    def hint_dismissed(self) -> bool:
        return str(self._s.value("demo/hint_dismissed", "false")).lower() == "true"

    def set_hint_dismissed(self) -> None:
        self._s.setValue("demo/hint_dismissed", "true")
        self._s.sync()
