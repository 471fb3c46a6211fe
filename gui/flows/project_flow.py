"""Projects in the window: saving and opening ``*.terrafind`` files, the recovery file, the archive.

The session itself says what a project holds (:meth:`Session.to_project` / :meth:`Session.apply_project`,
the file format in :mod:`terrafind.core.project`); this flow moves projects between the session and the
disk. Reading a project's data runs as the data flow's open job; once the data is open the flow hands the
project back to :meth:`AppController.use_project`, which announces the restored session to the window.
Nothing the person showed or labelled is ever lost: every change writes the recovery file, and opening
other data first keeps the old session under ``data_dir()/sessions``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from terrafind.core import project as projects
from terrafind.core.errors import InputError

__all__ = ["ProjectFlow"]


class ProjectFlow(QObject):
    def __init__(self, controller, *, autosave: bool = True):
        super().__init__(controller)
        self.c = controller
        self.autosave = autosave  # off for the self test and tests that must leave no recovery file

    def project(self) -> projects.Project:
        """The session as a project (what a save or the recovery file writes)."""
        return self.c.session.to_project()

    def save_recovery(self) -> None:
        s = self.c.session
        if not self.autosave or (s.catalog is None and not s.examples and not s.labels):
            return
        try:
            projects.write_recovery(self.project())
        except Exception as exc:  # noqa: BLE001 - shown to the user, the session goes on
            self.c.report_error(exc)

    def save(self, path: str) -> str:
        """Write the session to ``path`` (never over the open data); the project's path from now on."""
        s = self.c.session
        saved = projects.save_project(self.project(), path, s.protected_paths())
        s.project_path = str(saved)
        self.c.say(f"Saved the project to {saved}.")
        return str(saved)

    def open(self, path: str) -> None:
        """Read a ``*.terrafind`` file and bring its session back (opening its data in a job)."""
        proj = projects.load_project(path)
        if not proj.sources:
            raise InputError(f"The project {path} names no data file to open.")
        last = str(path).endswith(projects.last_session_path().name)
        self.c.session.project_path = None if last else str(path)
        self.restore(proj)

    def restore(self, proj: projects.Project, *, failed: Any = None) -> None:
        """Open a project's data (in a job) and bring back its session; ``failed(exc)`` runs when the data
        cannot be opened."""
        from terrafind.core.types import Region

        self.c.imagery.expect(proj.sources, proj.imagery)
        region = Region.from_dict(proj.region) if proj.region else None
        dates = (proj.dates or {}).get("assigned") or None  # dates the user gave files: the same dates again
        self.c.data.open_paths(
            proj.sources, region, dates=dates, then=lambda: self.c.use_project(proj), failed=failed
        )

    def archive(self) -> str | None:
        """Keep the session about to be replaced as a project file under data_dir()/sessions, so that
        opening other data (or another region) never loses what the user showed and labelled."""
        s = self.c.session
        if not self.autosave or not (s.examples or s.labels) or s.catalog is None:
            return None
        from terrafind.core.paths import data_dir

        stem = Path(s.sources[0]).stem if s.sources else "session"
        path = data_dir() / "sessions" / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}.terrafind"
        try:
            return projects.save_project(self.project(), path).as_posix()
        except Exception as exc:  # noqa: BLE001 - shown; the new data still opens
            self.c.report_error(exc)
            return None

    def finish(self) -> None:
        """At exit: the session becomes the last session (File > Open project offers it next time)."""
        if self.autosave:
            projects.finish_session(self.project())
