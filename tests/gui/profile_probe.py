"""Run only by tests/test_profile_isolation.py (not collected on its own: no ``test_`` prefix in the name).

Does what leaked into the real profile before the suite had its own: a window made in a module-scoped
fixture (before any per-test home exists) that remembers a recent file and the dismissed demo hint, a
default QSettings, and a QtWebEngine page load.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSettings

from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow


@pytest.fixture(scope="module")
def window(qapp, tmp_path_factory):
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    w.show()
    yield w
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_window_remembers_things(qtbot, window, tmp_path_factory):
    data = tmp_path_factory.mktemp("probe") / "some.parquet"
    data.write_bytes(b"PAR1")
    window.settings.add_recent(str(data))
    window.settings.set_hint_dismissed()
    qtbot.waitUntil(lambda: window.map_view.ready, timeout=30_000)
    s = QSettings("Terrafind", "Terrafind")
    s.setValue("probe/written", "yes")
    s.sync()
    assert window.settings.recent() == [str(data.resolve())]
