"""The session's round trip to a project file (a part of :class:`terrafind.core.session.Session`, in a
file of its own): chips by id, since rows change with the region and the reader."""

from __future__ import annotations

from typing import Any

import numpy as np

from terrafind.core.dates.verbs import CHANGE_K
from terrafind.core.errors import InputError
from terrafind.core.project import LEARN_DEFAULTS, Project
from terrafind.core.project_fields import clean_params
from terrafind.core.search.run import SearchOutcome
from terrafind.core.types import SearchResult

__all__ = ["ProjectVerbs", "DEFAULT_PARAMS"]

# threshold_by: what the threshold compares, "score" or "probability" (after Refine; core.search.visible).
# threshold_unit: how the person sets the line, as that value ("value") or as a share of the region
# ("top": "top 1 %"); with "top", threshold_share is the share and every new search puts the line where
# that share of its region lies (SearchOutcome.value_at), so "top 1 %" keeps meaning the top 1 %.
DEFAULT_PARAMS: dict[str, Any] = {
    "mode": "mean",
    "k": 200,
    "threshold": None,
    "auto": True,
    "threshold_by": "score",
    "threshold_unit": "value",
    "threshold_share": None,
    "loss_min": None,  # the loss range of the visible hits (Clay v1 loss; core.session_lines)
    "loss_max": None,
    "colour_by": "auto",  # the map's colours: "auto" or "loss"
    "snap_m": None,
    "unusual_by": "auto",  # unusual places ranked by "loss", "novelty" or "auto" (core.search.unusual)
    "neighbours": 10,  # novelty: nearest chips a chip is compared with  # clicks and imported places snap to a chip this near (metres; None: one chip width)
    "change_k": CHANGE_K,  # how many changes a comparison of dates shows
}


class ProjectVerbs:
    """Mixed into Session (which has every attribute used here)."""

    catalog: Any
    pack: Any
    sources: list[str]
    region: Any
    examples: dict[int, str]
    labels: dict[int, str]
    masked: dict[int, str]
    params: dict[str, Any]
    learn: dict[str, Any]
    view: dict[str, float] | None
    project_path: str | None
    sensitive: bool
    unlocked: bool
    imagery: str | None
    # methods of Session and DateVerbs used here
    chip_name: Any
    result: Any
    set_masked: Any
    search_examples: Any
    _dates_to_project: Any
    _dates_from_project: Any

    # --- projects -----------------------------------------------------------------------------------
    def to_project(self) -> Project:
        """The session as a Project (chips by id)."""
        name = self.chip_name
        results = None
        r = self.result()
        if r is not None:
            results = {
                "ids": [name(int(x)) for x in r.rows],
                "scores": [round(float(s), 6) for s in r.scores],
                "mode": r.mode,
                "k": r.k,
                "method": r.method,
                "elapsed_ms": round(float(r.elapsed_ms), 2),
            }
            if r.probabilities is not None:  # a refined result: its threshold filters these
                results["probabilities"] = [round(float(p), 6) for p in r.probabilities]
        return Project(
            sources=[str(self.pack.root)] if self.pack is not None else list(self.sources),
            region=self.region.to_dict() if self.region is not None else None,
            examples=[{"id": name(r), "kind": k} for r, k in self.examples.items()],
            labels=[{"id": name(r), "label": k} for r, k in self.labels.items()],
            params=dict(self.params),
            results=results,
            view=self.view,
            saved_from=self.project_path,
            imagery=self.imagery,
            masked=sorted(self.masked.values()),
            learn=dict(self.learn),
            dates=self._dates_to_project(),
            sensitive=bool(getattr(self, "sensitive", False)),
        )

    def apply_project(self, proj: Project) -> list[str]:
        """Bring back a project's examples, labels, masks, parameters, switches and view on the open data;
        return the ids of saved chips that are not in it. Saved results: :meth:`saved_outcome`."""
        if self.catalog is None:
            raise InputError("Open the project's data first.")
        self._dates_from_project(proj.dates)
        cat = self.catalog
        missing: list[str] = []

        def rows(entries: list[dict[str, str]], key: str) -> dict[int, str]:
            out = {}
            found = cat.rows_of([e["id"] for e in entries])  # one pass over the ids, however many chips
            for e, row in zip(entries, found, strict=True):
                if row < 0:
                    missing.append(e["id"])
                else:
                    out[int(row)] = e[key]
            return out

        self.examples = rows(proj.examples, "kind")
        self.labels = rows(proj.labels, "label")
        self.set_masked(int(r) for r in cat.rows_of(proj.masked) if r >= 0)
        self.params = clean_params(proj.params, DEFAULT_PARAMS)  # known names, values of the right kind
        self.learn = {**LEARN_DEFAULTS, **(proj.learn or {})}
        self.sensitive, self.unlocked = bool(proj.sensitive), False  # a sensitive project opens locked
        if proj.view:
            self.view = dict(proj.view)
        return missing

    def saved_outcome(self, proj: Project) -> SearchOutcome | None:
        """The results a project saved, on the open data (chips no longer there are left out)."""
        saved = proj.results
        cat = self.catalog
        if cat is None or not saved or not saved.get("ids"):
            return None
        probs = saved.get("probabilities")
        probs = probs if isinstance(probs, list) and len(probs) == len(saved["ids"]) else None
        found = cat.rows_of(saved["ids"])
        triples = [
            (int(found[n]), s, probs[n] if probs else None)
            for n, (_, s) in enumerate(zip(saved["ids"], saved["scores"], strict=False))
        ]
        triples = [t for t in triples if t[0] >= 0]
        if not triples:
            return None
        rows = np.array([t[0] for t in triples], np.int64)
        ex = self.search_examples()
        result = SearchResult(
            rows=rows,
            scores=np.array([t[1] for t in triples], np.float32),
            matched=np.full(len(rows), -1, np.int64),
            mode=str(saved.get("mode", "mean")),
            k=int(saved.get("k", len(rows))),
            threshold=None,
            positives=tuple(ex.positives),
            negatives=tuple(ex.negatives),
            method=str(saved.get("method", "exact")),
            elapsed_ms=float(saved.get("elapsed_ms", 0.0)),
            probabilities=np.array([t[2] for t in triples], np.float32) if probs else None,
        )
        return SearchOutcome("refine" if probs else "plain", result)
