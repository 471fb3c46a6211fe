"""Jobs that bring data in and out: open (with region), index build, demo region, export, embed, pack.

Each is one worker job with progress and Cancel in the status bar. Opening publishes the Catalog as soon as
it is read; the index is then loaded or built in a second job, and searches run exactly until it is
published (``controller.index`` stays None until the index is complete).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from terrafind.core.present.features import footprints_json
from terrafind.core.search.visible import threshold_by, visible_result
from terrafind.gui.workers import TaskRunner, freeze_heap

__all__ = ["DataFlow", "EXPORT_FORMATS"]

EXPORT_FORMATS = {
    "GeoJSON (*.geojson)": "geojson",
    "GeoPackage (*.gpkg)": "gpkg",
    "CSV (*.csv)": "csv",
    "GPX waypoints for phones (*.gpx)": "gpx",  # OsmAnd, Organic Maps, QField (terrafind.core.export.phones)
    "KML (*.kml)": "kml",
}


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
    opened = Signal(list)  # the paths just opened (for recent files)

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner

    # --- open ---------------------------------------------------------------------------------------
    def open_paths(self, paths: list[str], region=None, *, then: Callable[[], None] | None = None) -> None:
        """Open GeoParquet file(s) or a folder, limited to ``region`` (a terrafind.core.types.Region or None)."""
        paths = [str(p) for p in paths]

        def job(progress, cancel):
            from terrafind.core.read.reader import open_catalog

            catalog = open_catalog(paths, region=region, progress=progress, cancel=cancel)
            # Warm the lookups the GUI thread uses on every click (STRtree, centres) here, not on a click.
            if len(catalog):
                catalog.chip_at(*catalog.centroids[0])
            _preload(
                "terrafind.core.imagery.thumbnails",
                "terrafind.core.imagery.basemap",
                "terrafind.core.export.hits",
                "terrafind.core.search.query",
            )
            return catalog, footprints_json(catalog)  # encoded here: 14k chips take ~60 ms

        name = Path(paths[0]).name if len(paths) == 1 else f"{len(paths)} files"
        self.runner.start(
            "open",
            job,
            label=f"Opening {name}",
            on_done=lambda out: self._opened(out[0], out[1], paths, region, then),
            on_error=self.c.report_error,
        )

    def _opened(self, catalog, fc, paths: list[str], region, then) -> None:
        c = self.c
        c.reset_session()
        c.runner.cancel("index")
        c.catalog, c.index, c.sources, c.region = catalog, None, paths, region
        c.footprints_fc = fc
        c.thumbs.reset()
        c.catalog_loaded.emit(catalog)
        c.region_changed.emit(region)
        extra = f" ({len(catalog.problems)} warnings)" if catalog.problems else ""
        c.message.emit(
            f"Opened {len(catalog):,} chips, {catalog.model_name}{extra}. Click on the map to search."
        )
        self.opened.emit(paths)
        self.build_index()
        if then is not None:
            then()
        c.save_recovery()
        freeze_heap()  # the catalog and the libraries the open imported stay: out of full collections

    def set_region(self, region) -> None:
        """Reopen the same data limited to ``region`` (None = all). Examples are kept by chip id."""
        if not self.c.sources:
            self.c.message.emit("Open a file first, then choose a region.")
            return
        proj = self.c.project()
        proj.region = region.to_dict() if region is not None else None
        proj.results = None
        self.c.restore(proj)

    # --- index --------------------------------------------------------------------------------------
    def build_index(self) -> None:
        catalog = self.c.catalog
        if catalog is None:
            return

        pack = self.c.pack
        cache = pack.index_dir if pack is not None and pack.index_path is not None else None

        def job(progress, cancel):
            from terrafind.core.search.index import load_or_build_index

            return load_or_build_index(catalog, cache_dir=cache, progress=progress, cancel=cancel)

        self.runner.start(
            "index", job, label="Building the search index", on_done=lambda ix: self._indexed(catalog, ix)
        )

    def _indexed(self, catalog, index) -> None:
        if catalog is not self.c.catalog:  # another file was opened meanwhile
            return
        self.c.index = index
        self.c.index_ready.emit(index)

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

    # --- embeddings from imagery ------------------------------------------------------------------------
    def embed(self, images: list[str], out: str) -> None:
        """Embed imagery with the built-in embedder (a job), then open the GeoParquet it wrote."""

        def job(progress, cancel):
            from terrafind.core.embed.embedder import embed_images

            embed_images([str(p) for p in images], out, progress=progress, cancel=cancel)
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
    def export_hits(
        self, path: str, fmt: str | None = None, *, then: Callable[[str, int], None] | None = None
    ) -> bool:
        """Write the visible hits (terrafind.core.search.visible: score, or probability after Refine, >= threshold) with
        core's provenance, in a job."""
        c = self.c
        if c.catalog is None or c.payload is None:
            c.message.emit("Search first: there are no hits to export.")
            return False
        catalog, result, threshold = c.catalog, c.payload.result, c.params.get("threshold")
        labels = dict(c.labels)
        extra = {
            "app": "terrafind",
            "examples": [{"id": c.chip_name(r), "kind": k} for r, k in c.examples.items()],
            "visible": {"threshold": threshold, "by": threshold_by(result)},
        }

        def job(progress, cancel):
            from terrafind.core.export.hits import export_hits

            # The rows are filtered here, by the same rule as the map and the gallery (terrafind.core.search.visible).
            visible = visible_result(result, threshold)
            written = export_hits(catalog, visible, path, fmt=fmt, labels=labels, extra_provenance=extra)
            return str(written), len(visible)

        self.runner.start(
            "export",
            job,
            label=f"Exporting to {Path(path).name}",
            on_done=lambda out: self._exported(out[0], out[1], then),
            on_error=c.report_error,
        )
        return True

    def export_labels(self, path: str, *, then: Callable[[str, int], None] | None = None) -> bool:
        c = self.c
        pos = [r for r, k in {**c.labels, **c.examples}.items() if k == "positive"]
        neg = [r for r, k in {**c.labels, **c.examples}.items() if k == "negative"]
        if c.catalog is None or not (pos or neg):
            c.message.emit("There are no examples or labels to export yet.")
            return False
        catalog = c.catalog

        def job(progress, cancel):
            from terrafind.core.export.hits import export_labels

            return str(export_labels(catalog, pos, neg, path)), len(pos) + len(neg)

        self.runner.start(
            "export",
            job,
            label=f"Exporting labels to {Path(path).name}",
            on_done=lambda out: self._exported(out[0], out[1], then),
            on_error=c.report_error,
        )
        return True

    def _exported(self, path: str, count: int, then) -> None:
        self.c.message.emit(f"Exported {count} features to {path}.")
        self.c.exported.emit(path, count)
        if then is not None:
            then(path, count)
