"""Sites: the visible hits merged into places (touching chips = one site), for the map and the list.

Merging runs in a worker (an STRtree, a union per site and a UTM area per site: tens of milliseconds for
hundreds of hits, more for thousands) on a snapshot of the session, so sites follow exactly what the
gallery shows (:meth:`terrafind.core.session.Session.visible`). They are recomputed when the results or
the threshold change while sites are shown. Exporting sites is the data flow's ``export("sites", ...)``.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from terrafind.gui.workers import TaskRunner

__all__ = ["SitesFlow", "sites_job"]


def sites_job(session):
    """(sites, FeatureCollection for the map) of the visible hits; each feature also carries ``row``
    (the site's best chip) and the site's ``bbox`` (w, s, e, n) for the list."""
    from terrafind.core.search.sites import sites_feature_collection

    sites = session.sites()
    fc = sites_feature_collection(session.catalog, sites, result=session.visible())
    for site, feature in zip(sites, fc["features"], strict=True):
        feature["properties"]["row"] = int(site.best_row)
        feature["properties"]["bbox"] = [float(v) for v in site.geometry.bounds]
    return sites, fc


class SitesFlow(QObject):
    sites_ready = Signal(object)  # FeatureCollection of the sites, best first (None: no sites shown)

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.sites: list = []  # terrafind.core.search.sites.Site, best first
        self.features: list[dict] = []
        self._timer = QTimer(self, singleShot=True, interval=250)  # a dragged threshold line fires often
        self._timer.timeout.connect(self.refresh)
        controller.results_ready.connect(lambda _shown: self.refresh())
        controller.results_cleared.connect(self.clear)
        controller.threshold_changed.connect(lambda _t: self._timer.start() if self.shown else None)
        controller.learn_changed.connect(self._on_learn_changed)

    @property
    def shown(self) -> bool:
        return bool(self.c.session.learn.get("sites"))

    def _on_learn_changed(self, learn: dict) -> None:
        if learn.get("sites") and not self.features:
            self.refresh()
        elif not learn.get("sites") and self.features:
            self.runner.cancel("sites")
            self.clear()

    def clear(self) -> None:
        self.sites, self.features = [], []
        self.sites_ready.emit(None)

    def refresh(self) -> None:
        """Merge the visible hits into sites (in a job) and show them, when sites are shown."""
        if not self.shown:
            return
        session = self.c.session.snapshot()
        if session.visible() is None:
            self.clear()
            return
        self.runner.start(
            "sites",
            lambda progress, cancel: sites_job(session),
            label="Merging hits into sites",
            on_done=self._done,
            on_error=self.c.report_error,
        )

    def _done(self, out) -> None:
        if not self.shown:
            return
        self.sites, fc = out
        self.features = fc["features"]
        self.sites_ready.emit(fc)
