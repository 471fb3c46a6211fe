"""What the window opens first: a crashed session (if the user wants it back), PATH, the last session,
or the demo region."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog

from terrafind.core import project as projects
from terrafind.gui import errors

__all__ = ["start_session", "offer_recovery", "open_demo"]


def offer_recovery(window) -> bool:
    """When the last session did not end cleanly, ask to restore it. Returns True when it is being restored.

    A declined recovery file is kept under another name, never deleted: it may hold labels."""
    pending = projects.recovery_pending()
    if pending is None:
        return False
    if errors.ask(
        window,
        "Restore your last session?",
        "Terrafind did not close properly last time. Restore the examples, labels and results you had then?",
    ):
        try:
            proj = projects.load_project(pending)
        except Exception as exc:  # noqa: BLE001 - a damaged recovery file is shown, the app still starts
            kept = projects.keep_recovery("damaged")
            window.c.report_error(exc)
            window.message_bar.show_message(
                f"The saved session could not be read; it is kept as {kept} for a closer look.", "warning"
            )
            return False
        window.c.session.project_path = proj.saved_from

        def unopened(exc) -> None:
            # Its data cannot be opened now (a USB stick not mounted): never replace the saved work.
            kept = projects.keep_recovery("unopened")
            if kept is not None:
                window.message_bar.show_message(
                    f"The data of your last session could not be opened ({getattr(exc, 'message', exc)}); "
                    f"the session is kept in {kept}: open it with File > Open project when the data is back.",
                    "warning",
                )

        window.c.projects.restore(proj, failed=unopened)
        return True
    pending.rename(pending.with_name(f"recovery-declined-{time.strftime('%Y%m%d-%H%M%S')}.terrafind"))
    return False


def open_demo(window) -> None:
    """The demo region, built with a progress dialog the first time (the dialog appears only when
    preparing takes longer than a moment, i.e. when the demo is really being built)."""
    dialog = QProgressDialog("Preparing the demo region (once, under a minute)...", "Cancel", 0, 0, window)
    dialog.setWindowTitle("Terrafind")
    dialog.setWindowModality(Qt.NonModal)
    dialog.setMinimumDuration(800)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    runner = window.c.runner
    state = {"job": None}

    def started(job) -> None:
        if job.kind == "open" and state["job"] is None:
            state["job"] = job

    def progress(job) -> None:
        if job is state["job"]:
            dialog.setMaximum(max(job.total, 0))
            dialog.setValue(min(job.done, job.total))
            dialog.setLabelText(job.text or job.label)

    def ended(job, how) -> None:
        if job is state["job"]:
            for sig, fn in (
                (runner.job_started, started),
                (runner.job_progress, progress),
                (runner.job_ended, ended),
            ):
                sig.disconnect(fn)
            dialog.close()
            dialog.deleteLater()

    runner.job_started.connect(started)
    runner.job_progress.connect(progress)
    runner.job_ended.connect(ended)
    dialog.canceled.connect(lambda: runner.cancel("open"))
    window.c.data.open_demo()


def start_session(window, path: str | None) -> None:
    if offer_recovery(window):
        return
    if path:
        window.open_path(path)
        return
    last = projects.last_session_path()
    if last.exists():
        window.open_path(str(last))
        return
    open_demo(window)
