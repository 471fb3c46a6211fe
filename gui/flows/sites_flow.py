"""Sites: the visible hits merged into places (touching chips = one site), on the map, in a list, in files.

Merging runs in a worker (an STRtree, a union per site and a UTM area per site: tens of milliseconds for
hundreds of hits, more for thousands). It follows what the gallery shows: the current best matches at or
above the threshold (score, or probability after Refine: terrafind.core.search.visible), recomputed when the results or the threshold change while sites are shown.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from terrafind.core.search.visible import visible_result
from terrafind.gui.workers import TaskRunner

__all__ = ["SitesFlow", "visible_result", "sites_job", "SITE_FORMATS"]

SITE_FORMATS = {
    "GeoJSON (*.geojson)": "geojson",
    "GeoPackage (*.gpkg)": "gpkg",
    "CSV (*.csv)": "csv",
    "GPX waypoints for phones (*.gpx)": "gpx",
    "KML (*.kml)": "kml",
}


def sites_job(catalog, result, threshold: float | None):
    """(sites, FeatureCollection for the map) of the visible hits; each feature also carries ``row``
    (the site's best chip) and the site's ``bbox`` (w, s, e, n) for the list."""
    from terrafind.core.search.sites import merge_sites, sites_feature_collection

    visible = visible_result(result, threshold)
    sites = merge_sites(catalog, visible)
    fc = sites_feature_collection(catalog, sites)
    for site, feature in zip(sites, fc["features"], strict=True):
        feature["properties"]["row"] = int(site.best_row)
        feature["properties"]["bbox"] = [float(v) for v in site.geometry.bounds]
    return sites, fc


class SitesFlow(QObject):
    sites_ready = Signal(list)  # list of (properties dict) per site, best first
    sites_cleared = Signal()

    def __init__(self, controller, runner: TaskRunner, map_view):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.map_view = map_view
        self.shown = False
        self.sites: list = []  # terrafind.core.search.sites.Site, best first
        self.features: list[dict] = []
        self._timer = QTimer(self, singleShot=True, interval=250)  # a dragged threshold line fires often
        self._timer.timeout.connect(self.refresh)
        controller.results_ready.connect(lambda _p: self.refresh())
        controller.results_cleared.connect(self.clear)
        controller.threshold_changed.connect(lambda _t: self._timer.start() if self.shown else None)

    def set_shown(self, on: bool) -> None:
        self.shown = bool(on)
        if self.shown:
            self.refresh()
        else:
            self.runner.cancel("sites")
            self.clear()

    def clear(self) -> None:
        self.sites, self.features = [], []
        self.map_view.set_sites(None)
        self.sites_cleared.emit()

    def refresh(self) -> None:
        """Merge the visible hits into sites (in a job) and show them, when sites are shown."""
        c = self.c
        if not self.shown:
            return
        if c.catalog is None or c.payload is None:
            self.clear()
            return
        catalog, result, threshold = c.catalog, c.payload.result, c.params.get("threshold")
        self.runner.start(
            "sites",
            lambda progress, cancel: sites_job(catalog, result, threshold),
            label="Merging hits into sites",
            on_done=self._done,
            on_error=c.report_error,
        )

    def _done(self, out) -> None:
        if not self.shown:
            return
        self.sites, fc = out
        self.features = fc["features"]
        self.map_view.set_sites(fc)
        self.sites_ready.emit([f["properties"] for f in self.features])

    def export(
        self, path: str, fmt: str | None = None, *, then: Callable[[str, int], None] | None = None
    ) -> bool:
        """Write the sites of the visible hits (any export format, GPX/KML for phones) in a job."""
        c = self.c
        if c.catalog is None or c.payload is None:
            c.message.emit("Search first: there are no hits to merge into sites.")
            return False
        catalog, result, threshold = c.catalog, c.payload.result, c.params.get("threshold")

        def job(progress, cancel):
            from terrafind.core.export.hits import export_sites
            from terrafind.core.search.sites import merge_sites

            visible = visible_result(result, threshold)
            sites = merge_sites(catalog, visible)
            written = export_sites(
                catalog, sites, path, fmt=fmt, result=visible, extra_provenance={"app": "terrafind"}
            )
            return str(written), len(sites)

        def done(out) -> None:
            written, count = out
            c.message.emit(f"Exported {count} sites to {written}.")
            c.exported.emit(written, count)
            if then is not None:
                then(written, count)

        self.runner.start(
            "export",
            job,
            label=f"Exporting sites to {Path(path).name}",
            on_done=done,
            on_error=c.report_error,
        )
        return True
