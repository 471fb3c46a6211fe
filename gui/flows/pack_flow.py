"""Field packs in the app: File > Prepare for offline use..., and opening a pack folder.

Preparing: the size estimate runs first (it opens the region's chips, so it is a job too), the user
confirms it, then ``terrafind.core.pack.build.build_pack`` runs as a job with progress and Cancel (it resumes when run
again). Opening: ``terrafind.core.pack.open.open_pack`` checks the manifest in a job; the pack's embeddings open as usual,
with its index folder, its thumbnail cache and its imagery basemap, and any problem it found is shown.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from terrafind.core.pack.open import is_pack
from terrafind.core.units import human_bytes
from terrafind.gui import errors

__all__ = ["PackFlow", "is_pack"]  # is_pack: terrafind.core.pack.open.is_pack, re-exported for the window


class PackFlow(QObject):
    pack_opened = Signal(object)  # terrafind.core.pack.open.PackInfo
    pack_built = Signal(str)

    def __init__(self, controller, parent_widget=None):
        super().__init__(controller)
        self.c = controller
        self.parent_widget = parent_widget

    # --- prepare ----------------------------------------------------------------------------------
    def prepare(self, out_dir: str, region) -> bool:
        """Estimate, ask, then build a pack of the open data's ``region`` into ``out_dir``."""
        c = self.c
        if not c.sources or region is None:
            c.message.emit("Open data and choose a region (or zoom the map to it) before preparing a pack.")
            return False
        sources = list(c.sources)
        imagery = c.imagery.value  # the configured imagery: the pack's thumbnails and basemap come from it

        def estimate(progress, cancel):
            from terrafind.core.pack.build import estimate_pack

            return estimate_pack(sources, region, imagery)

        c.runner.start(
            "pack",
            estimate,
            label="Estimating the pack size",
            on_done=lambda sizes: self._confirm(sizes, sources, region, out_dir),
            on_error=c.report_error,
        )
        return True

    def _confirm(self, sizes: dict, sources: list[str], region, out_dir: str) -> None:
        parts = ", ".join(
            f"{k} {human_bytes(v)}" for k, v in sizes.items() if k not in ("total", "rows") and v
        )
        text = (
            f"The pack of {sizes.get('rows', 0):,} chips will take about {human_bytes(sizes.get('total', 0))} "
            f"({parts}) in {out_dir}. Prepare it now?"
        )
        if not errors.ask(self.parent_widget, "Prepare for offline use", text):
            return
        self.build(sources, region, out_dir)

    def build(self, sources: list[str], region, out_dir: str) -> None:
        imagery = self.c.imagery.value  # imagery configured for data without source_url (None: none)

        def job(progress, cancel):
            from terrafind.core.pack.build import build_pack

            return str(
                build_pack(sources, region, Path(out_dir), imagery=imagery, progress=progress, cancel=cancel)
            )

        self.c.runner.start(
            "pack", job, label="Preparing for offline use", on_done=self._built, on_error=self.c.report_error
        )

    def _built(self, path: str) -> None:
        self.c.message.emit(f"The field pack is ready in {path}: open it with File > Open folder.")
        self.pack_built.emit(path)

    # --- open -------------------------------------------------------------------------------------
    def open(self, pack_dir: str, *, then=None) -> None:
        def job(progress, cancel):
            from terrafind.core.pack.open import open_pack

            return open_pack(pack_dir)

        self.c.runner.start(
            "open",
            job,
            label=f"Checking the field pack {Path(pack_dir).name}",
            on_done=lambda info: self._opened(info, then),
            on_error=self.c.report_error,
        )

    def _opened(self, info, then=None) -> None:
        c = self.c
        if not info.catalog_paths:
            c.report_error(errors_input(f"The field pack {info.root} has no usable embeddings."))
            return
        c.pack = info
        self.pack_opened.emit(info)
        c.data.open_paths([str(p) for p in info.catalog_paths], then=then)  # the pack is its region already


def errors_input(text: str):
    from terrafind.core.errors import InputError

    return InputError(text)
