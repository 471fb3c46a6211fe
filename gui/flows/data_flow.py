"""Jobs that bring data in and out: open (with region; files, folders or a field pack), index build, demo
region, embed, export.

Each is one worker job with progress and Cancel in the status bar, and hands its result back to the
controller (``use_data``, ``use_index``). Opening publishes the data as soon as it is read; the index is
then loaded or built in a second job, and searches run exactly until it is published.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from terrafind.core.export.formats import file_filters
from terrafind.core.present.coverage import OUTLINES_MAX_CHIPS
from terrafind.core.present.features import footprints_json
from terrafind.gui.workers import TaskRunner

__all__ = ["DataFlow", "export_filters"]


def export_filters() -> dict[str, str]:
    """Save-dialog filters of every export format (terrafind.core.export.formats), GeoJSON first."""
    return file_filters()


def _preload(*modules: str) -> None:
    """Import what the GUI thread will need next here, in the worker: a first import of rasterio or GDAL
    bindings takes 100-300 ms, which on the GUI thread is a visible stall."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


class DataFlow(QObject):
    demo_ready = Signal(object)  # terrafind.core.embed.demo.DemoRegion
    pucallpa_ready = Signal(object)  # terrafind.core.embed.pucallpa.PucallpaDemo, once it is open
    opened = Signal(list)  # the paths just opened (for recent files)
    exported = Signal(str, int)  # path, number of features / sites / labels written

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner

    # --- open ---------------------------------------------------------------------------------------
    def open_paths(
        self,
        paths: list[str],
        region=None,
        *,
        dates: dict | None = None,
        then: Callable[[], None] | None = None,
        failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Open GeoParquet file(s) or a folder, limited to ``region`` (a terrafind.core.types.Region or None);
        files of several dates open as one region with dates (``dates``: dates given to files/folders).
        ``failed(exc)`` runs when the data cannot be opened (after the error is shown)."""
        paths = [str(p) for p in paths]

        def job(progress, cancel):
            from terrafind.core.session import open_data

            opened = open_data(
                paths, region, dates=dates, centred=self.c.session.centred, progress=progress, cancel=cancel
            )
            catalog = opened.catalog
            # Warm the lookups the GUI thread uses on every click (STRtree, centres) here, not on a click.
            for cat in [s.catalog for s in opened.dates.slices] if opened.dates is not None else [catalog]:
                if len(cat):
                    cat.chip_at(*cat.centroids[0])
            if opened.dates is not None:  # every date's outlines, so that a switch is instant
                return opened, {s.label: footprints_json(s.catalog) for s in opened.dates.slices}
            _preload(
                "terrafind.core.imagery.thumbnails",
                "terrafind.core.imagery.basemap",
                "terrafind.core.export.hits",
                "terrafind.core.search.query",
            )
            if len(catalog) > OUTLINES_MAX_CHIPS:  # the map shows coverage tiles, not millions of outlines
                return opened, None
            return opened, footprints_json(catalog)  # encoded here: 14k chips take ~60 ms

        def on_error(exc, tb="") -> None:
            from terrafind.core.net.gate import NotAllowed

            if isinstance(exc, NotAllowed):  # remote data the person has not allowed: ask, then open again
                retry = lambda: self.open_paths(paths, region, dates=dates, then=then, failed=failed)  # noqa: E731
                self.c.ask_permission(exc, retry=retry)
                return
            self.c.report_error(exc, tb)
            if failed is not None:
                failed(exc)

        name = Path(paths[0]).name if len(paths) == 1 else f"{len(paths)} files"
        self.runner.start(
            "open",
            job,
            label=f"Opening {name}",
            on_done=lambda out: self._opened(out[0], out[1], paths, then),
            on_error=on_error,
        )

    def _opened(self, opened, fc, paths: list[str], then) -> None:
        self.c.use_data(opened, fc)
        self.opened.emit(paths)
        if then is not None:
            then()

    def set_region(self, region) -> None:
        """Reopen the same data limited to ``region`` (None = all). Examples are kept by chip id."""
        if not self.c.session.sources:
            self.c.say("Open a file first, then choose a region.")
            return
        proj = self.c.projects.project()
        proj.region = region.to_dict() if region is not None else None
        proj.results = None
        self.c.projects.restore(proj)

    # --- index --------------------------------------------------------------------------------------
    def build_index(self) -> None:
        """Load (a pack's or the cache's) or build the open catalog's index in a job."""
        session = self.c.session.snapshot()
        if session.catalog is None:
            return
        self.runner.start(
            "index",
            # process=True: a big region's graph lives in a process of its own (core/search/server.py)
            lambda progress, cancel: session.load_index(progress=progress, cancel=cancel, process=True),
            label="Building the search index",
            on_done=lambda index: self.c.use_index(session.catalog, index),
            background=True,  # may take most of an hour at 10 M chips: the job threads stay free
        )

    def warm_up(self) -> None:
        """Gather the region's fixed sample (core.search.percentiles) on a worker as soon as it opens: the
        first search's "top 0.1 %" figures and the warnings need it, and its 20,000 scattered rows of a
        10 M region's app cache take 2.1 s to read from disk (0.06 s from the page cache), which the first
        click would otherwise wait for."""
        catalog = self.c.session.catalog
        if catalog is None:
            return
        from terrafind.core.search.percentiles import sample_vectors

        self.runner.start("warm", lambda progress, cancel: len(sample_vectors(catalog)), shown=False)

    # --- demo region ----------------------------------------------------------------------------------
    def open_demo(self, *, then: Callable[[], None] | None = None) -> None:
        """Open the demo region, building it first (once, in a job) when it does not exist yet."""

        def job(progress, cancel):
            from terrafind.core.embed.demo import ensure_demo

            return ensure_demo(progress=progress, cancel=cancel)

        def done(demo) -> None:
            def opened() -> None:
                self.demo_ready.emit(demo)
                if then is not None:
                    then()

            self.open_paths([str(demo.embeddings)], then=opened)

        # Always a job, even when the demo is built: importing terrafind.core.embed.demo (rasterio, GDAL) alone would stall
        # the window for a few hundred ms.
        self.runner.start(
            "open", job, label="Preparing the demo region", on_done=done, on_error=self.c.report_error
        )

    def open_pucallpa(self, *, then: Callable[[], None] | None = None) -> None:
        """Open the Pucallpa demo (8 dates, 1985-2020), building it first (once, a few seconds)."""

        def job(progress, cancel):
            from terrafind.core.embed.pucallpa import ensure_pucallpa

            return ensure_pucallpa(progress=progress, cancel=cancel)

        def done(demo) -> None:
            def opened() -> None:
                dates = self.c.session.dates
                for s in dates.slices if dates is not None else []:
                    basemap = demo.basemaps.get(s.label)
                    s.basemap = str(basemap) if basemap else None
                self.pucallpa_ready.emit(demo)
                if then is not None:
                    then()

            self.open_paths(demo.files, then=opened)

        self.runner.start(
            "open",
            job,
            label="Preparing the Pucallpa demo (8 dates)",
            on_done=done,
            on_error=self.c.report_error,
        )

    # --- embeddings from imagery ------------------------------------------------------------------------
    def embed(self, images: list[str], out: str) -> None:
        """Embed imagery with the built-in embedder (a job), then open the GeoParquet it wrote."""

        protected = self.c.session.protected_paths()

        def job(progress, cancel):
            from terrafind.core.embed.embedder import embed_images

            embed_images([str(p) for p in images], out, protected=protected, progress=progress, cancel=cancel)
            return out

        self.runner.start(
            "embed",
            job,
            label=f"Embedding {Path(images[0]).name}"
            + (f" and {len(images) - 1} more" if len(images) > 1 else ""),
            on_done=lambda path: self.open_paths([str(path)]),
            on_error=self.c.report_error,
        )

    # --- export -------------------------------------------------------------------------------------
    def export(
        self,
        what: str,
        path: str,
        fmt: str | None = None,
        *,
        then: Callable[[str, int], None] | None = None,
        blur_km: float | None = None,
    ) -> bool:
        """Write ``what`` ("hits": the visible hits, "sites": them merged into sites, "labels": examples and
        labels) with the session's provenance, in a job (``blur_km``: places snapped to a grid, nothing
        that identifies a chip; core.export.blur). False (and a message) when there is nothing."""
        c = self.c
        session = c.session.snapshot()
        if what in ("hits", "sites") and session.visible() is None:
            c.say("Search first: there are no hits to export.")
            return False
        if what == "labels" and not (session.examples or session.labels):
            c.say("There are no examples or labels to export yet.")
            return False
        write = {"hits": session.export_hits, "sites": session.export_sites, "labels": session.export_labels}

        def job(progress, cancel):
            written, count = write[what](path, fmt, blur_km=blur_km)
            return str(written), count

        self.runner.start(
            "export",
            job,
            label=f"Exporting {what} to {Path(path).name}",
            on_done=lambda out: self._exported(what, out[0], out[1], then),
            on_error=c.report_error,
        )
        return True

    def export_hits(self, path: str, fmt: str | None = None, *, then=None) -> bool:
        return self.export("hits", path, fmt, then=then)

    def export_raster(self, path: str, *, then: Callable[[str, str], None] | None = None) -> bool:
        """Every chip's score in the last search as a Cloud-Optimized GeoTIFF (core.export.raster), in a job
        with progress. False (and a message) when there is no search."""
        c = self.c
        session = c.session.snapshot()
        if session.outcome is None:
            c.say("Search first: the raster holds the scores of a search.")
            return False

        def job(progress, cancel):
            written, what = session.export_raster(path, progress=progress, cancel=cancel)
            return str(written), what

        def done(out: tuple[str, str]) -> None:
            c.say(f"Wrote the {out[1]} of every chip to {out[0]} (one pixel per chip; QGIS opens it).")
            self.exported.emit(out[0], len(session.catalog))
            if then is not None:
                then(out[0], out[1])

        self.runner.start(
            "export", job, label=f"Writing scores to {Path(path).name}", on_done=done, on_error=c.report_error
        )
        return True

    def _exported(self, what: str, path: str, count: int, then) -> None:
        noun = {"hits": "features", "sites": "sites", "labels": "labels"}[what]
        self.c.say(f"Exported {count} {noun} to {path}.")
        self.exported.emit(path, count)
        if then is not None:
            then(path, count)
