"""File > Prepare for offline use...: estimate, confirm, build a field pack in jobs.

The estimate runs first (it opens the region's chips, so it is a job too) and says what the pack will
lack and why (:func:`terrafind.core.pack.estimate.estimate_pack`, with the app's imagery explanation); the
confirmation names the area (outlined on the map while it is asked) and offers the fix (File > Imagery...).
Then :func:`terrafind.core.pack.build.build_pack` runs as a job with progress and Cancel (it resumes when
run again) and :func:`terrafind.core.pack.field.write_field_files` adds the user's examples, labels and hits
and the imagery credits. What the pack holds is said afterwards (terrafind.gui.feedback). Opening a pack is
opening data (:func:`terrafind.core.session.open_data` knows packs).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from terrafind.core.units import human_bytes
from terrafind.gui import errors
from terrafind.gui.workers import TaskRunner

__all__ = ["PackFlow", "confirm_text", "area_text"]

PREPARE, CHOOSE_IMAGERY, CANCEL = "Prepare", "Choose imagery...", "Cancel"


def area_text(bbox) -> str:
    """ "12.3 x 8.1 km" for a (w, s, e, n) box in degrees."""
    import math

    w, s, e, n = (float(v) for v in bbox)
    km_x = (e - w) * 111.32 * math.cos(math.radians((s + n) / 2))
    km_y = (n - s) * 110.57
    return f"{km_x:.1f} x {km_y:.1f} km"


def confirm_text(sizes: dict, bbox, out_dir: str) -> str:
    """The confirmation: the area, the size by part, and what will be missing and why."""
    parts = ", ".join(
        f"{k} {human_bytes(sizes[k])}"
        for k in ("embeddings", "index", "thumbnails", "basemap")
        if sizes.get(k)
    )
    text = (
        f"A field pack of the area outlined on the map ({area_text(bbox)}, {sizes.get('rows', 0):,} chips) "
        f"will take about {human_bytes(sizes.get('total', 0))} ({parts}) in {out_dir}. It also carries your "
        "examples, marks and hits, for the field team."
    )
    missing = sizes.get("missing") or []
    if missing:
        text += "\n\nIt will lack:\n" + "\n".join(f"• {m}" for m in missing)
        text += "\n\nChoose imagery first (File > Imagery...) to fill these in, or prepare it as it is."
    return text


class PackFlow(QObject):
    pack_built = Signal(str)
    outline_requested = Signal(object)  # GeoJSON geometry of the pack's area while it is asked; None clears
    imagery_wanted = Signal()  # "Choose imagery..." in the confirmation

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.parent_widget = None  # the window, for the confirmation dialog

    def prepare(self, out_dir: str, region, credits: list[str] | None = None) -> bool:
        """Estimate, ask, then build a pack of the open data's ``region`` into ``out_dir``."""
        c = self.c
        files = c.session.data_files()
        if not files or region is None:
            c.say("Open data and choose a region (or zoom the map to it) before preparing a pack.")
            return False
        from terrafind.core.errors import InputError
        from terrafind.core.outputs import check_pack_folder

        try:  # a field pack carries every chip's exact place
            c.session.check_precise(None, "unlock them to prepare a field pack")
        except InputError as exc:
            c.report_error(exc)
            return False

        try:  # said now, not after the estimate: the folder holds the data or the pack in use
            check_pack_folder(out_dir, [*files, *c.session.protected_paths()])
        except InputError as exc:
            c.report_error(exc)
            return False
        imagery = c.session.imagery  # the configured imagery: the pack's thumbnails and basemap come from it
        why = c.imagery.explanation
        session = c.session.snapshot()  # the examples, labels and hits as they are now

        def estimate(progress, cancel):
            from terrafind.core.pack.estimate import estimate_pack

            return estimate_pack(
                files,
                region,
                imagery,
                thumbnails_available=why.available if why is not None else True,
                thumbnails_why=why.sentence if why is not None else "",
                progress=progress,
                cancel=cancel,
            )

        def ask(sizes: dict) -> None:
            self._confirm(sizes, files, region, out_dir, imagery, session, list(credits or []))

        self.runner.start(
            "pack", estimate, label="Estimating the pack size", on_done=ask, on_error=c.report_error
        )
        return True

    def _confirm(self, sizes, files, region, out_dir, imagery, session, credits) -> None:
        import shapely.geometry

        self.outline_requested.emit(shapely.geometry.mapping(region.geometry()))
        buttons = [PREPARE, CHOOSE_IMAGERY, CANCEL] if sizes.get("missing") else [PREPARE, CANCEL]
        try:
            answer = errors.choose(
                self.parent_widget,
                "Prepare for offline use",
                confirm_text(sizes, region.bbox, out_dir),
                buttons,
            )
        finally:
            self.outline_requested.emit(None)
        if answer == PREPARE:
            self.build(files, region, out_dir, imagery, session=session, credits=credits)
        elif answer == CHOOSE_IMAGERY:
            self.imagery_wanted.emit()

    def build(self, files, region, out_dir: str, imagery: str | None, *, session=None, credits=None) -> None:
        protected = self.c.session.protected_paths()  # the data and the pack in use: never written over
        s = self.c.session  # several dates: the dates the user gave files, and each date's own imagery
        dates = dict(s.assigned)
        date_imagery = {d.label: d.imagery for d in s.dates.slices} if s.dates is not None else {}
        # the pack scores as this window does: centred on the mean of the region open here
        centre = s.catalog.centre if s.catalog is not None else None

        def job(progress, cancel):
            from terrafind.core.pack.build import build_pack
            from terrafind.core.pack.field import write_field_files

            out = build_pack(
                files,
                region,
                Path(out_dir),
                imagery=imagery,
                protected=protected,
                dates=dates,
                date_imagery=date_imagery,
                centre=centre,
                progress=progress,
                cancel=cancel,
            )
            if session is not None:
                write_field_files(session, out, credits=credits)
            return str(out)

        self.runner.start(
            "pack", job, label="Preparing for offline use", on_done=self._built, on_error=self.c.report_error
        )

    def _built(self, path: str) -> None:
        self.pack_built.emit(path)  # terrafind.gui.feedback says what it holds
