"""Imagery the user configures for the open dataset, and the imagery basemap made from local imagery.

On open, the imagery remembered for the dataset's files (:mod:`terrafind.core.imagery.settings`), else the one the
restored project carries, is given to the thumbnail service. A field pack's own imagery wins over both.
:meth:`ImageryFlow.choose` validates a new choice through ``ThumbnailService.set_imagery`` (its sentence
goes to the message bar), remembers it and asks the gallery and the examples for new thumbnails: the
thumbnail cache key includes the source, so new cuts happen and old ones are never shown.

The basemap: the distinct local ``source_url`` files of the chips plus the configured local imagery
(:func:`terrafind.core.imagery.settings.local_cogs`) are rendered into an MBTiles pyramid by
:func:`terrafind.core.imagery.basemap.build_mbtiles` in a job with progress and Cancel, cached per inputs and area, so a
second open finds it at once. An XYZ template or a remote COG is never turned into MBTiles: tile services'
terms forbid bulk downloads, and a remote COG would be fetched whole.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from terrafind.core.errors import TerrafindError
from terrafind.gui.workers import TaskRunner

__all__ = ["ImageryFlow", "basemap_bounds"]

REFRESH_MAX = 300  # result rows whose thumbnails are asked for again after a change (the top first)


def basemap_bounds(bounds) -> tuple[float, float, float, float]:
    """The catalog's extent plus a margin, snapped outward to 0.01 degrees: a basemap covers the chips at
    the edge, and reopening the same data gives the same bounds, hence the same cached basemap."""
    import math

    w, s, e, n = (float(v) for v in bounds)
    pad = max(0.01, 0.05 * max(e - w, n - s))
    return (
        max(-180.0, math.floor((w - pad) * 100) / 100),
        max(-85.0, math.floor((s - pad) * 100) / 100),
        min(180.0, math.ceil((e + pad) * 100) / 100),
        min(85.0, math.ceil((n + pad) * 100) / 100),
    )


class ImageryFlow(QObject):
    basemap_ready = Signal(
        str, object, str
    )  # MBTiles path ("" = no local imagery), (w, s, e, n), attribution
    refused = Signal(str)  # the sentence saying why a chosen imagery was not taken
    # where thumbnails come from and why they cannot be made (core.imagery.explain.ImageryExplained): the
    # one answer the status bar, the Data panel, the Imagery dialog and the placeholders all give
    explained = Signal(object)

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self._expected: tuple[str, str | None] | None = None  # (dataset key, imagery) of a project
        self.explanation = None  # the latest ImageryExplained
        controller.data_opened.connect(self._on_data_opened)
        controller.imagery_changed.connect(lambda _value: self.explain())
        # a placeholder came back: a host may just have been found not answering
        controller.thumbs.thumbnail_ready.connect(lambda _r, _png, status: status != "ok" and self.explain())

    def explain(self) -> None:
        """Ask the thumbnail service where thumbnails come from now; ``explained`` when that changed."""
        svc = self.c.thumbs.service
        if svc is None:
            return
        now = svc.explain(self.c.session.catalog)
        if now != self.explanation:
            self.explanation = now
            self.explained.emit(now)

    @property
    def value(self) -> str | None:
        """The open dataset's configured imagery (the session's; resolved)."""
        return self.c.session.imagery

    # --- the configured imagery ---------------------------------------------------------------------
    def expect(self, sources: list[str], imagery: str | None) -> None:
        """A project is being restored: its imagery applies when its data opens (unless a remembered
        choice for the same files is newer)."""
        from terrafind.core.imagery.settings import dataset_key

        self._expected = (dataset_key(sources), imagery) if imagery and sources else None

    def _on_data_opened(self, session) -> None:
        from terrafind.core.imagery.settings import dataset_key, imagery_for

        expected, self._expected = self._expected, None
        pack = session.pack
        if pack is not None and pack.imagery:
            self.c.set_imagery(pack.imagery)  # ThumbnailFlow.reset() gave it to the service already
            return
        try:
            saved = imagery_for(session.sources)
        except TerrafindError:
            saved = None
        if saved is None and expected is not None and expected[0] == dataset_key(session.sources):
            saved = expected[1]
        value = self._checked(saved) if saved else None
        self.c.set_imagery(value)

    def _checked(self, value: str | None) -> str | None:
        """``value`` given to the thumbnail service and resolved (thumbnails are cached under that very
        name); raises TerrafindError when it cannot be used."""
        from terrafind.core.imagery.settings import check_imagery

        c, svc = self.c, self.c.thumbs.service
        if value:
            check_imagery(value)
        if svc is not None and c.session.catalog is not None:
            key = svc.dataset_key(c.session.catalog)
            svc.set_imagery(key, value)
            value = svc.imagery(key)
        return value

    def choose(self, value: str | None) -> bool:
        """The user's choice for the open dataset (None or "" clears it): validated, remembered, and the
        thumbnails on show are cut again from it. Returns False when it was refused."""
        from terrafind.core.imagery.admit import catalog_key
        from terrafind.core.imagery.settings import check_imagery, grant_choice, set_imagery_for

        c = self.c
        if c.session.catalog is None:
            c.say("Open data first, then choose the imagery for it.")
            return False
        value = (value or "").strip() or None
        if value == self.value:
            return True
        try:
            if value:
                check_imagery(value)
                grant_choice(value, catalog_key(c.session.catalog))  # the person's choice: allowed
            value = self._checked(value)
            set_imagery_for(c.session.sources, value)
        except TerrafindError as exc:
            c.report_error(exc)
            self.refused.emit(exc.message)
            return False
        c.set_imagery(value)
        self.refresh_thumbnails()
        c.projects.save_recovery()
        c.say(
            f"Thumbnails are now cut from {value}." if value else "No imagery is set for this data any more."
        )
        return True

    def refresh_thumbnails(self) -> None:
        """Forget the thumbnails in memory and ask again for those on show (examples, then results)."""
        c = self.c
        c.thumbs.reset()  # memory cleared, generation bumped: late cuts from the old source are dropped
        rows = [it.row for it in c.session.example_items()]
        if c.shown is not None:
            rows += [int(r) for r in c.shown.result.rows[:REFRESH_MAX]]
        c.thumbs.want(list(dict.fromkeys(rows)))

    # --- the imagery basemap ------------------------------------------------------------------------
    def make_basemap(self) -> None:
        """Find the open dataset's local imagery (a quiet job), and when there is some, render or reuse
        its basemap in a job the status bar shows; ``basemap_ready`` follows."""
        c = self.c
        catalog, imagery = c.session.catalog, self.value
        self.runner.cancel("basemap")
        if catalog is None or not len(catalog):
            return

        def find(progress, cancel):
            from terrafind.core.imagery.settings import local_cogs

            return local_cogs(catalog, imagery)

        self.runner.start(
            "basemap",
            find,
            shown=False,
            on_done=lambda cogs: self._render(catalog, cogs),
            on_error=lambda exc, tb: None,  # unreadable paths only mean no basemap
        )

    def _render(self, catalog, cogs) -> None:
        if catalog is not self.c.session.catalog:
            return
        if not cogs:
            self.basemap_ready.emit("", None, "")  # e.g. imagery cleared: a basemap made from it goes
            return
        bounds = basemap_bounds(catalog.bounds)

        def job(progress, cancel):
            from terrafind.core.imagery.basemap import build_mbtiles, imagery_fingerprint
            from terrafind.core.paths import cache_dir

            # One file per imagery and area: another region of the same data gets its own, and each
            # stays cached (build_mbtiles returns a finished one at once and resumes a partial one).
            out = cache_dir() / "basemaps" / f"{imagery_fingerprint(cogs, None, None, bounds)}.mbtiles"
            return str(build_mbtiles(cogs, out, bounds=bounds, progress=progress, cancel=cancel))

        names = ", ".join(p.name for p in cogs[:3]) + (f" and {len(cogs) - 3} more" if len(cogs) > 3 else "")
        self.runner.start(
            "basemap",
            job,
            label="Making the imagery basemap",
            on_done=lambda path: self._rendered(catalog, path, bounds, names),
            on_error=self.c.report_error,
        )

    def _rendered(self, catalog, path: str, bounds, names: str) -> None:
        if catalog is self.c.session.catalog:
            self.basemap_ready.emit(path, bounds, f"Imagery: {names}")
