"""Exports of a :class:`terrafind.core.session.Session`: the visible hits, their sites and the examples and
labels, each written with the run's provenance (what was searched, how, which line, the precision check),
blurred when the project is sensitive (:mod:`terrafind.core.session_sensitive`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.search import visible as vis
from terrafind.core.types import SearchResult

__all__ = ["ExportVerbs"]


class ExportVerbs:
    """Mixed into Session (which has every attribute used here)."""

    catalog: Any
    outcome: Any
    params: dict[str, Any]
    labels: Any
    examples: Any
    dates: Any
    date: Any
    learn_from: Any
    result: Any
    visible: Any
    example_items: Any
    chip_name: Any
    check_estimate: Any
    check_precise: Any
    search_examples: Any
    protected_paths: Any

    def _provenance(self) -> dict[str, Any]:
        result = self.result()
        dated = {}
        if self.dates is not None:  # which date the hits are of, and the examples of other dates
            dated = {"date": self.date, "dates": self.dates.labels, "learn_from": self.learn_from,
                     "other_dates_examples": [{"date": i.date, "id": i.chip_id, "kind": i.kind}
                                              for i in self.example_items() if i.row < 0]}  # fmt: skip
        visible: dict[str, Any] = {
            "threshold": self.params.get("threshold"),
            "by": vis.threshold_by(result) if result is not None else "score",
            # the share of the region at or above the line ("top 1 %" = 0.01), when known
            "top_share": self.outcome.share_of(self.params.get("threshold")) if self.outcome else None,
        }
        loss_range = [self.params.get("loss_min"), self.params.get("loss_max")]
        if loss_range != [None, None]:  # hits outside were hidden (Clay v1 loss)
            visible["loss_range"] = loss_range
        checked = self.check_estimate()  # a random sample of the hits, marked: precision you can quote
        quote = {"precision_check": checked.to_dict()} if checked is not None and checked.checked else {}
        return (
            dated
            | quote
            | {
                "app": "terrafind",
                # which scores: "centred cosine" (the region's mean taken away) or "cosine"
                "similarity": self.catalog.similarity() if self.catalog is not None else None,
                "examples": [{"id": self.chip_name(r), "kind": k} for r, k in self.examples.items()],
                "visible": visible,
            }
        )

    def _hits(self) -> tuple[Catalog, SearchResult]:
        visible = self.visible()
        if self.catalog is None or visible is None:
            raise InputError("Search first: there are no hits to export.")
        return self.catalog, visible

    def export_hits(
        self, path: str | Path, fmt: str | None = None, *, blur_km: float | None = None
    ) -> tuple[Path, int]:
        """Write the visible hits with their provenance (``blur_km``: snapped to a grid, nothing that
        identifies a chip); return (path written, number of hits)."""
        from terrafind.core.export.hits import export_hits

        self.check_precise(blur_km)
        catalog, visible = self._hits()
        tops = self.outcome.tops(visible) if self.outcome is not None else None
        written = export_hits(
            catalog,
            visible,
            path,
            fmt=fmt,
            labels=dict(self.labels),
            extra_provenance=self._provenance(),
            tops=tops,
            protected=self.protected_paths(),
            blur_km=blur_km,
        )
        return written, len(visible)

    def sites(self) -> list[Any]:
        """The visible hits merged into sites (touching chips = one site), best first."""
        from terrafind.core.search.sites import merge_sites

        catalog, visible = self._hits()
        return merge_sites(catalog, visible)

    def export_sites(
        self, path: str | Path, fmt: str | None = None, *, blur_km: float | None = None
    ) -> tuple[Path, int]:
        """Write the sites of the visible hits; return (path written, number of sites)."""
        from terrafind.core.export.hits import export_sites

        self.check_precise(blur_km)
        catalog, visible = self._hits()
        sites = self.sites()
        written = export_sites(
            catalog,
            sites,
            path,
            fmt=fmt,
            result=visible,
            extra_provenance=self._provenance(),
            protected=self.protected_paths(),
            blur_km=blur_km,
        )
        return written, len(sites)

    def export_labels(
        self, path: str | Path, fmt: str | None = None, *, blur_km: float | None = None
    ) -> tuple[Path, int]:
        """Write every example and label ("positive" / "negative"); return (path written, count)."""
        from terrafind.core.export.hits import export_labels

        self.check_precise(blur_km)
        ex = self.search_examples()
        if self.catalog is None or not (ex.positives or ex.negatives):
            raise InputError("There are no examples or labels to export yet.")
        written = export_labels(
            self.catalog,
            ex.positives,
            ex.negatives,
            path,
            fmt=fmt,
            protected=self.protected_paths(),
            blur_km=blur_km,
        )
        return written, len(ex.positives) + len(ex.negatives)
