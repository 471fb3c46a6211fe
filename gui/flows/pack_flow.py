"""File > Prepare for offline use...: estimate, confirm, build a field pack in jobs.

The size estimate runs first (it opens the region's chips, so it is a job too), the user confirms it, then
:func:`terrafind.core.pack.build.build_pack` runs as a job with progress and Cancel (it resumes when run
again). Opening a pack is opening data (:func:`terrafind.core.session.open_data` knows packs).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from terrafind.core.units import human_bytes
from terrafind.gui import errors
from terrafind.gui.workers import TaskRunner

__all__ = ["PackFlow"]


class PackFlow(QObject):
    pack_built = Signal(str)

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.parent_widget = None  # the window, for the confirmation dialog

    def prepare(self, out_dir: str, region) -> bool:
        """Estimate, ask, then build a pack of the open data's ``region`` into ``out_dir``."""
        c = self.c
        files = c.session.data_files()
        if not files or region is None:
            c.say("Open data and choose a region (or zoom the map to it) before preparing a pack.")
            return False
        imagery = c.session.imagery  # the configured imagery: the pack's thumbnails and basemap come from it

        def estimate(progress, cancel):
            from terrafind.core.pack.build import estimate_pack

            return estimate_pack(files, region, imagery)

        self.runner.start(
            "pack",
            estimate,
            label="Estimating the pack size",
            on_done=lambda sizes: self._confirm(sizes, files, region, out_dir, imagery),
            on_error=c.report_error,
        )
        return True

    def _confirm(self, sizes: dict, files: list[str], region, out_dir: str, imagery) -> None:
        parts = ", ".join(
            f"{k} {human_bytes(v)}" for k, v in sizes.items() if k not in ("total", "rows") and v
        )
        text = (
            f"The pack of {sizes.get('rows', 0):,} chips will take about {human_bytes(sizes.get('total', 0))} "
            f"({parts}) in {out_dir}. Prepare it now?"
        )
        if errors.ask(self.parent_widget, "Prepare for offline use", text):
            self.build(files, region, out_dir, imagery)

    def build(self, files: list[str], region, out_dir: str, imagery: str | None) -> None:
        def job(progress, cancel):
            from terrafind.core.pack.build import build_pack

            return str(
                build_pack(files, region, Path(out_dir), imagery=imagery, progress=progress, cancel=cancel)
            )

        self.runner.start(
            "pack", job, label="Preparing for offline use", on_done=self._built, on_error=self.c.report_error
        )

    def _built(self, path: str) -> None:
        self.c.say(f"The field pack is ready in {path}: open it with File > Open folder.")
        self.pack_built.emit(path)
