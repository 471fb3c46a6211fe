"""The app's state and verbs, without widgets: slots in, typed signals out.

``AppController`` owns the Catalog, the VectorIndex, the user's examples and labels, the last result and the
search parameters. Widgets call its methods and listen to its signals; it never touches a widget. Long
steps run through :class:`terrafind.gui.workers.TaskRunner` (open and index in :mod:`terrafind.gui.flows.data_flow`, search in
:mod:`terrafind.gui.flows.search_flow`, thumbnails in :mod:`terrafind.gui.flows.thumbs`). Every change of what the user showed or judged
goes through the undo stack and is written to the recovery file at once (nothing labelled is ever lost).
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from terrafind.core import project as projects
from terrafind.core.errors import InputError
from terrafind.core.present.features import ResultsPayload, results_payload
from terrafind.core.present.items import NEGATIVE, POSITIVE, ExampleItem
from terrafind.core.search.visible import threshold_by, visible_mask
from terrafind.gui.flows.data_flow import DataFlow
from terrafind.gui.flows.imagery_flow import ImageryFlow
from terrafind.gui.flows.pack_flow import PackFlow
from terrafind.gui.flows.search_flow import SearchFlow
from terrafind.gui.flows.thumbs import ThumbnailFlow
from terrafind.gui.undo import ExampleCommand, LabelCommand
from terrafind.gui.workers import TaskRunner

__all__ = ["AppController", "DEFAULT_PARAMS"]

# threshold_by: what the threshold compares, "score" or "probability" (after Refine; terrafind.core.search.visible)
DEFAULT_PARAMS: dict[str, Any] = {
    "mode": "mean",
    "k": 200,
    "threshold": None,
    "auto": True,
    "threshold_by": "score",
}


class AppController(QObject):
    catalog_loaded = Signal(object)  # terrafind.core.catalog.Catalog
    index_ready = Signal(object)  # terrafind.core.search.index.VectorIndex (searches use it from now on)
    examples_changed = Signal(list)  # list[ExampleItem]: clicked examples, then labelled results
    labels_changed = Signal(object)  # {row: "positive"|"negative"} (object: Signal(dict) drops int keys)
    results_ready = Signal(object)  # terrafind.core.present.features.ResultsPayload
    results_cleared = Signal()
    threshold_changed = Signal(object)  # float | None
    params_changed = Signal(dict)
    region_changed = Signal(object)  # terrafind.core.types.Region | None
    view_requested = Signal(dict)  # {"lon", "lat", "zoom"} from a project, for the map
    project_path_changed = Signal(str)
    project_applied = Signal(object)  # terrafind.core.project.Project, after its examples and labels are back
    message = Signal(str)  # a status-bar sentence
    error = Signal(object, str)  # exception, traceback: the window's ErrorReporter shows it
    exported = Signal(str, int)  # path, number of features written

    def __init__(
        self, runner: TaskRunner | None = None, parent: QObject | None = None, *, autosave: bool = True
    ):
        super().__init__(parent)
        self.runner = runner or TaskRunner(self)
        self.runner.error.connect(self.report_error)
        self.autosave = autosave
        self.undo_stack = QUndoStack(self)
        self.catalog = None
        self.footprints_fc: str | None = (
            None  # the loaded chips' outlines for the map (JSON, made in the open job)
        )
        self.index = None
        self.sources: list[str] = []
        self.region = None
        self.examples: dict[int, str] = {}  # row -> kind, in the order the user clicked
        self.labels: dict[int, str] = {}  # row -> label given to a result
        self.payload: ResultsPayload | None = None
        self.params: dict[str, Any] = dict(DEFAULT_PARAMS)
        self.view: dict[str, float] | None = None
        self.project_path: str | None = None
        self.pack = None  # terrafind.core.pack.open.PackInfo while a field pack is open
        # terrafind.gui.learn gives the masked chip ids and its toggles for projects: {"masked": [...], "learn": {}}
        self.extra_state: Callable[[], dict[str, Any]] | None = None
        self.search = SearchFlow(self, self.runner)
        self.search.results_ready.connect(self._on_results)
        self.thumbs = ThumbnailFlow(self, self.runner)
        self.data = DataFlow(self, self.runner)
        self.packs = PackFlow(self)
        self.imagery = ImageryFlow(self, self.runner)  # imagery per dataset, imagery basemap
        self._view_timer = QTimer(
            self, singleShot=True, interval=1500
        )  # map pans: autosave at most every 1.5 s
        self._view_timer.timeout.connect(self.save_recovery)

    # --- errors -------------------------------------------------------------------------------------
    def report_error(self, exc: BaseException, tb: str = "") -> None:
        if not tb and exc.__traceback__ is not None:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.error.emit(exc, tb)

    # --- examples and labels (through the undo stack) ------------------------------------------------
    def chip_name(self, row: int) -> str:
        return (
            str(self.catalog.ids[row])
            if self.catalog is not None and 0 <= row < len(self.catalog)
            else f"#{row}"
        )

    def click_at(self, lon: float, lat: float, negative: bool = False) -> int | None:
        """A map click: the chip under (lon, lat) becomes an example. Returns its row, or None (and says so)."""
        if self.catalog is None:
            self.message.emit("Open a file first: File > Open file...")
            return None
        row = self.catalog.chip_at(lon, lat)
        if row is None:
            self.message.emit(f"No chip here ({lon:.5f}, {lat:.5f}): click inside the loaded area.")
            return None
        self.add_example(row, NEGATIVE if negative else POSITIVE)
        return row

    def add_example(self, row: int, kind: str) -> None:
        old = self.examples.get(row)
        if old == kind:
            self.message.emit(f"{self.chip_name(row)} is already a {kind} example.")
            return
        self.undo_stack.push(ExampleCommand(self, row, old, kind))

    def remove_example(self, row: int) -> None:
        """Remove a chip from the examples list: a clicked example, or a result's label."""
        if row in self.examples:
            self.undo_stack.push(ExampleCommand(self, row, self.examples[row], None))
        elif row in self.labels:
            self.undo_stack.push(LabelCommand(self, row, self.labels[row], None))

    def toggle_example_kind(self, row: int) -> None:
        flip = {POSITIVE: NEGATIVE, NEGATIVE: POSITIVE}
        if row in self.examples:
            self.undo_stack.push(ExampleCommand(self, row, self.examples[row], flip[self.examples[row]]))
        elif row in self.labels:
            self.undo_stack.push(LabelCommand(self, row, self.labels[row], flip[self.labels[row]]))

    def label(self, row: int, label: str | None) -> None:
        """Yes, this (positive) / Not this (negative) on a result; the same label again clears it."""
        old = self.labels.get(row)
        new = None if label == old else label
        self.undo_stack.push(LabelCommand(self, row, old, new))

    # The two setters the undo commands call: the only places examples and labels change.
    def set_example(self, row: int, kind: str | None) -> None:
        if kind is None:
            self.examples.pop(row, None)
        else:
            self.examples[row] = kind
        self._examples_changed()
        if kind is not None:
            self.message.emit(f"Added {self.chip_name(row)} as a {kind} example.")
        if self.params.get("auto", True):
            self.search.request()

    def set_label(self, row: int, label: str | None) -> None:
        if label is None:
            self.labels.pop(row, None)
        else:
            self.labels[row] = label
        if self.payload is not None:
            for item in self.payload.items:
                if item.row == row:
                    item.label = label
        self.labels_changed.emit(dict(self.labels))
        self._examples_changed()
        if label is not None:
            word = "Yes, this" if label == POSITIVE else "Not this"
            self.message.emit(
                f"{word}: {self.chip_name(row)}. It joins the examples and leaves the next search."
            )

    def example_items(self) -> list[ExampleItem]:
        items = [ExampleItem(r, k, self.chip_name(r)) for r, k in self.examples.items()]
        items += [
            ExampleItem(r, k, self.chip_name(r)) for r, k in self.labels.items() if r not in self.examples
        ]
        return items

    def _examples_changed(self) -> None:
        items = self.example_items()
        self.examples_changed.emit(items)
        self.thumbs.want([it.row for it in items])
        self.save_recovery()

    # --- search and results ---------------------------------------------------------------------------
    def set_params(self, params: dict[str, Any]) -> None:
        """Mode / k / threshold / auto from the search controls; a changed mode or k searches again."""
        old = dict(self.params)
        self.params.update({k: v for k, v in params.items() if k in DEFAULT_PARAMS})
        if self.params.get("threshold") != old.get("threshold"):
            self.threshold_changed.emit(self.params.get("threshold"))
        self.params_changed.emit(dict(self.params))
        self.save_recovery()
        if (self.params["mode"], self.params["k"]) != (old["mode"], old["k"]) and self.payload is not None:
            self.search.request()

    def set_threshold(self, t: float | None) -> None:
        if t is not None:
            t = float(t)
        if t == self.params.get("threshold"):
            return
        self.params["threshold"] = t
        self.threshold_changed.emit(t)
        self._view_timer.start()  # a dragged line fires often: autosave once it rests

    def search_now(self) -> bool:
        return self.search.search_now()

    def _on_results(self, payload: ResultsPayload) -> None:
        self.payload = payload
        r = payload.result
        self._follow_threshold_kind(threshold_by(r))
        how = "index" if r.method == "index" else "exact search"
        self.message.emit(f"{len(r)} matches in {r.elapsed_ms:.0f} ms ({how}).")
        self.results_ready.emit(payload)
        self.thumbs.prefetch([int(x) for x in r.rows])
        self.save_recovery()

    def _follow_threshold_kind(self, by: str) -> None:
        """Results ranked by probability (Refine) are filtered by probability, plain ones by similarity:
        a threshold of the other kind means nothing for them, so it is dropped when the kind changes."""
        if by == self.params.get("threshold_by"):
            return
        self.params["threshold_by"] = by
        if self.params.get("threshold") is not None:
            self.params["threshold"] = None
            self.threshold_changed.emit(None)
        self.params_changed.emit(dict(self.params))

    def visible_hits(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores of the current results at or above the threshold (terrafind.core.search.visible), best first."""
        if self.payload is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        r = self.payload.result
        keep = visible_mask(r, self.params.get("threshold"))
        return np.asarray(r.rows)[keep], np.asarray(r.scores)[keep]

    def clear_results(self) -> None:
        self.search.cancel()
        self.payload = None
        self.results_cleared.emit()

    # --- map view -------------------------------------------------------------------------------------
    def set_view(self, lon: float, lat: float, zoom: float) -> None:
        self.view = {"lon": float(lon), "lat": float(lat), "zoom": float(zoom)}
        self._view_timer.start()

    # --- projects -------------------------------------------------------------------------------------
    def project(self) -> projects.Project:
        """The session as a Project (chips by id)."""
        name = self.chip_name
        results = None
        if self.payload is not None:
            r = self.payload.result
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
        extra = self.extra_state() if self.extra_state is not None else {}
        return projects.Project(
            sources=[str(self.pack.root)] if self.pack is not None else list(self.sources),
            region=self.region.to_dict() if self.region is not None else None,
            examples=[{"id": name(r), "kind": k} for r, k in self.examples.items()],
            labels=[{"id": name(r), "label": k} for r, k in self.labels.items()],
            params=dict(self.params),
            results=results,
            view=self.view,
            saved_from=self.project_path,
            imagery=self.imagery.value,
            masked=list(extra.get("masked", [])),
            learn=dict(extra.get("learn", {})),
        )

    def save_recovery(self) -> None:
        if not self.autosave or (self.catalog is None and not self.examples and not self.labels):
            return
        try:
            projects.write_recovery(self.project())
        except Exception as exc:  # noqa: BLE001 - shown to the user, the session goes on
            self.report_error(exc)

    def save_project(self, path: str) -> str:
        saved = projects.save_project(self.project(), path)
        self.project_path = str(saved)
        self.project_path_changed.emit(self.project_path)
        self.message.emit(f"Saved the project to {saved}.")
        return self.project_path

    def open_project(self, path: str) -> None:
        """Read a ``*.terrafind`` file and bring its session back (opening its data in a job)."""
        proj = projects.load_project(path)
        if not proj.sources:
            raise InputError(f"The project {path} names no data file to open.")
        self.project_path = None if str(path).endswith(projects.last_session_path().name) else str(path)
        self.restore(proj)

    def restore(self, proj: projects.Project) -> None:
        from terrafind.core.types import Region
        from terrafind.gui.flows.pack_flow import is_pack

        if len(proj.sources) == 1 and is_pack(proj.sources[0]):
            self.packs.open(proj.sources[0], then=lambda: self._apply_project(proj))
            return
        self.pack = None
        self.imagery.expect(proj.sources, proj.imagery)
        region = Region.from_dict(proj.region) if proj.region else None
        self.data.open_paths(proj.sources, region, then=lambda: self._apply_project(proj))

    def _apply_project(self, proj: projects.Project) -> None:
        cat = self.catalog
        missing: list[str] = []

        def rows(entries, key):
            out = {}
            for e in entries:
                row = cat.row_of(e["id"])
                if row is None:
                    missing.append(e["id"])
                else:
                    out[row] = e[key]
            return out

        self.undo_stack.clear()
        self.examples = rows(proj.examples, "kind")
        self.labels = rows(proj.labels, "label")
        self.params = {**DEFAULT_PARAMS, **{k: v for k, v in proj.params.items() if k in DEFAULT_PARAMS}}
        self.params_changed.emit(dict(self.params))
        self.labels_changed.emit(dict(self.labels))
        self._examples_changed()
        if proj.view:
            self.view = dict(proj.view)
            self.view_requested.emit(dict(proj.view))
        if proj.results and proj.results.get("ids"):
            self._restore_results(proj.results)
        self.threshold_changed.emit(self.params.get("threshold"))
        if self.project_path:
            self.project_path_changed.emit(self.project_path)
        self.project_applied.emit(
            proj
        )  # terrafind.gui.learn brings back masks and toggles (may search again)
        if missing:
            self.message.emit(f"{len(missing)} saved chips are not in the loaded data (e.g. {missing[0]}).")
        else:
            self.message.emit(f"Restored {len(self.examples)} examples and {len(self.labels)} labels.")

    def _restore_results(self, saved: dict[str, Any]) -> None:
        from terrafind.core.types import SearchResult

        probs = saved.get("probabilities")
        probs = probs if isinstance(probs, list) and len(probs) == len(saved["ids"]) else None
        pairs = [
            (self.catalog.row_of(i), s, probs[n] if probs else None)
            for n, (i, s) in enumerate(zip(saved["ids"], saved["scores"], strict=False))
        ]
        pairs = [p for p in pairs if p[0] is not None]
        if not pairs:
            return
        rows = np.array([p[0] for p in pairs], np.int64)
        result = SearchResult(
            rows=rows,
            scores=np.array([p[1] for p in pairs], np.float32),
            matched=np.full(len(rows), -1, np.int64),
            mode=str(saved.get("mode", "mean")),
            k=int(saved.get("k", len(rows))),
            threshold=None,
            positives=tuple(r for r, k in self.examples.items() if k == POSITIVE),
            negatives=tuple(r for r, k in self.examples.items() if k == NEGATIVE),
            method=str(saved.get("method", "exact")),
            elapsed_ms=float(saved.get("elapsed_ms", 0.0)),
            probabilities=np.array([p[2] for p in pairs], np.float32) if probs else None,
        )
        catalog, labels = self.catalog, dict(self.labels)
        self.runner.start(
            "search",
            lambda progress, cancel: results_payload(catalog, result, labels),
            label="Restoring results",
            on_done=self._on_results,
            on_error=self.report_error,
        )

    def archive_session(self) -> str | None:
        """Keep the session about to be replaced as a project file under data_dir()/sessions, so that
        opening other data (or another region) never loses what the user showed and labelled."""
        if not self.autosave or not (self.examples or self.labels) or self.catalog is None:
            return None
        from terrafind.core.paths import data_dir

        stem = Path(self.sources[0]).stem if self.sources else "session"
        path = data_dir() / "sessions" / f"{time.strftime('%Y%m%d-%H%M%S')}-{stem}.terrafind"
        try:
            return projects.save_project(self.project(), path).as_posix()
        except Exception as exc:  # noqa: BLE001 - shown; the new data still opens
            self.report_error(exc)
            return None

    def reset_session(self) -> None:
        """Forget examples, labels and results (a new file was opened); the old session is archived."""
        kept = self.archive_session()
        if kept:
            self.message.emit(f"Your previous examples and labels are kept in {kept} (File > Open project).")
        self.search.cancel()
        self.undo_stack.clear()
        self.examples.clear()
        self.labels.clear()
        self.payload = None
        self.results_cleared.emit()
        self.labels_changed.emit({})
        self.examples_changed.emit([])

    def shutdown(self) -> None:
        """A clean exit: the session becomes the last session; no thread outlives the app."""
        self.search.cancel()
        self.runner.shutdown()
        if self.thumbs.service is not None:
            self.thumbs.service.close()
        if self.autosave:
            projects.finish_session(self.project())
