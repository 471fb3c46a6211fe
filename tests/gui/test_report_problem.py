"""Help > Report a problem (a prefilled report to read, complete and send) and the sandbox decision."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QGuiApplication

import terrafind
from terrafind.core import logs
from terrafind.gui.controller import AppController
from terrafind.gui.main_window import MainWindow
from terrafind.gui.panels.report_dialog import ReportDialog
from terrafind.gui.sandbox import sandbox_blocker


@pytest.fixture
def window(qapp, terrafind_home):
    logs.start_logging("terrafind")
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    yield w
    w.close()
    w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    logs.stop_logging()


@pytest.mark.webengine
def test_help_menu_opens_the_report_with_versions_and_no_coordinates(window, qtbot, tmp_path):
    logging.getLogger("terrafind.gui").warning("no chip under -75.812345, 37.456789 in /home/ana/nests.gpx")
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Help")
    assert "Report a problem..." in [a.text().replace("&", "") for a in help_menu.actions()]
    window.actions.report_action.trigger()
    dialog = window.report_dialog
    qtbot.waitUntil(dialog.isVisible)
    text = dialog.text.toPlainText()
    assert f"terrafind {terrafind.__version__}" in text and "chroma-hnswlib" in text
    assert "Qt: 6." in text and "Chromium sandbox: " in text and "Display: offscreen" in text
    assert "no chip under <n>, <n> in <file.gpx>" in text
    assert "-75.812345" not in text and "37.456789" not in text and "ana" not in text.split("-- last")[1]
    # The person adds a sentence, then copies or saves it.
    assert "WARNING terrafind.gui: no chip" in text and ":<n>" not in text  # timestamps stay readable
    dialog.text.insertPlainText("I clicked Search and the map went grey.")  # typed where the cursor waits
    dialog.copy()
    assert "what you saw):\nI clicked Search and the map went grey.\n" in QGuiApplication.clipboard().text()
    dialog.save(str(tmp_path / "report.txt"))
    assert (tmp_path / "report.txt").read_text(encoding="utf-8") == dialog.text.toPlainText()
    assert "Saved as report.txt" in dialog.status.text()
    dialog.save(str(tmp_path / "no-such-folder" / "r.txt"))
    assert dialog.status.text().startswith("Could not save the report")
    dialog.resize(760, 560)
    dialog.grab().save(str(tmp_path / "report.png"))


def test_report_dialog_alone(qapp, qtbot, terrafind_home):
    dialog = ReportDialog(None)
    qtbot.addWidget(dialog)
    assert "(the log is empty)" in dialog.text.toPlainText()


def test_report_is_never_saved_through_a_planted_link(qapp, qtbot, terrafind_home, tmp_path):
    dialog = ReportDialog(None)
    qtbot.addWidget(dialog)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "report.txt"
    link.symlink_to(victim)
    dialog.save(str(link))
    assert victim.read_text() == "precious"  # the link is replaced, not written through
    assert not link.is_symlink() and link.read_text(encoding="utf-8") == dialog.text.toPlainText()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


@pytest.mark.parametrize(
    ("files", "euid", "why"),
    [
        ({}, 0, "running as root"),
        ({}, 1000, None),
        ({"sys/kernel/apparmor_restrict_unprivileged_userns": "1"}, 1000, "AppArmor"),
        (
            {
                "sys/kernel/apparmor_restrict_unprivileged_userns": "1",
                "self/attr/apparmor/current": "unconfined",
            },
            1000,
            "AppArmor",
        ),
        (  # a profile of our own (a packaged install) decides for itself
            {
                "sys/kernel/apparmor_restrict_unprivileged_userns": "1",
                "self/attr/apparmor/current": "terrafind (enforce)",
            },
            1000,
            None,
        ),
        ({"sys/kernel/apparmor_restrict_unprivileged_userns": "0"}, 1000, None),
        ({"sys/kernel/unprivileged_userns_clone": "0"}, 1000, "kernel"),
        ({"sys/user/max_user_namespaces": "0"}, 1000, "max_user_namespaces"),
        ({"sys/user/max_user_namespaces": "63000"}, 1000, None),
    ],
)
def test_sandbox_is_turned_off_only_where_it_cannot_start(tmp_path, files, euid, why):
    for rel, value in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(value + "\n")
    found = sandbox_blocker(tmp_path, euid=euid)
    assert (found is None) if why is None else (why in found)
