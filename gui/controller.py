"""The app's thin Qt adaptor over :class:`terrafind.core.session.Session`: verbs in, signals out.

The session (``controller.session``) owns what the user has open and the rules about it. The controller
calls its verbs on the GUI thread, pushes every change of what the user showed or judged through the
undo stack, writes the recovery file at once (nothing labelled is ever lost), and emits one signal per
kind of change. Slow steps run as jobs of the flows (open and index in :mod:`~terrafind.gui.flows.data_flow`,
search in :mod:`~terrafind.gui.flows.search_flow`, ...); a flow hands its result back by calling one of the
controller's ``use_*`` / ``show_*`` methods, never by setting fields or emitting signals of others.
"""

from __future__ import annotations

import traceback
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack

from terrafind.core.errors import InputError
from terrafind.core.present.features import ShownResults
from terrafind.core.present.items import NEGATIVE, POSITIVE
from terrafind.core.project import Project
from terrafind.core.session import DEFAULT_PARAMS, OpenedData, Session
from terrafind.core.session_space import save_centred, saved_centred
from terrafind.gui.flows.cache_flow import CacheFlow
from terrafind.gui.flows.data_flow import DataFlow
from terrafind.gui.flows.dates_flow import DatesFlow
from terrafind.gui.flows.imagery_flow import ImageryFlow
from terrafind.gui.flows.import_flow import ImportFlow
from terrafind.gui.flows.pack_flow import PackFlow
from terrafind.gui.flows.project_flow import ProjectFlow
from terrafind.gui.flows.rounds_flow import RoundsFlow
from terrafind.gui.flows.search_flow import SearchFlow
from terrafind.gui.flows.sites_flow import SitesFlow
from terrafind.gui.flows.thumbs import ThumbnailFlow
from terrafind.gui.undo import ExampleCommand, LabelCommand
from terrafind.gui.workers import TaskRunner, freeze_heap

__all__ = ["AppController", "DEFAULT_PARAMS"]


class AppController(QObject):
    data_opened = Signal(object)  # the Session, just given new data (catalog, sources, region, pack)
    dates_changed = Signal(object)  # the Session: its dates, or the date on the map, changed
    index_ready = Signal(object)  # terrafind.core.search.index.VectorIndex (searches use it from now on)
    examples_changed = Signal(list)  # list[ExampleItem]: clicked examples, then labelled results
    labels_changed = Signal(object)  # {row: "positive"|"negative"} (object: Signal(dict) drops int keys)
    masked_changed = Signal(int)  # number of chips under imported "exclude" places
    learn_changed = Signal(dict)  # the session's learn switches: refine, group, sites, gallery
    imagery_changed = Signal(object)  # str | None: the imagery the open data's thumbnails come from
    results_ready = Signal(object)  # terrafind.core.present.features.ShownResults
    results_cleared = Signal()
    data_space_changed = Signal(bool)  # scores became centred (True) or plain cosines (core.session_space)
    check_changed = Signal()  # a new random sample of the hits to check
    threshold_changed = Signal(object)  # float | None
    params_changed = Signal(dict)
    region_changed = Signal(object)  # terrafind.core.types.Region | None
    view_requested = Signal(dict)  # {"lon", "lat", "zoom"} from a project, for the map
    project_applied = Signal(object)  # terrafind.core.project.Project, after its examples and labels are back
    message = Signal(str)  # a status-bar sentence
    # (terrafind.core.net.gate.NotAllowed, retry callable or None): a file named a site or folder the user
    # has not allowed; the window asks ("Allow ...") like a browser asking about a site
    permission_needed = Signal(object)
    sensitivity_changed = Signal(bool, bool)  # sensitive, unlocked (core.session_sensitive)
    error = Signal(object, str)  # exception, traceback: the window's ErrorReporter shows it

    def __init__(
        self, runner: TaskRunner | None = None, parent: QObject | None = None, *, autosave: bool = True
    ):
        super().__init__(parent)
        self.runner = runner or TaskRunner(self)
        self.runner.error.connect(self.report_error)
        self.undo_stack = QUndoStack(self)
        self.session = Session()
        self.session.centred = saved_centred()  # what scores are: the person's choice, kept between runs
        self.shown: ShownResults | None = None  # the last results as the screen shows them
        self.footprints_fc: str | None = None  # the loaded chips' outlines for the map (made in the open job)
        self.footprints_by_date: dict[str, Any] = {}  # with several dates: each date's outlines
        self.search = SearchFlow(self, self.runner)
        self.thumbs = ThumbnailFlow(self, self.runner)
        self.data = DataFlow(self, self.runner)
        self.packs = PackFlow(self, self.runner)
        self.imagery = ImageryFlow(self, self.runner)  # imagery per dataset, imagery basemap
        self.sites = SitesFlow(self, self.runner)
        self.importer = ImportFlow(self, self.runner)
        self.cache = CacheFlow(self, self.runner)  # the app cache: its size, Clear
        self.dates = DatesFlow(self, self.runner)  # comparisons, new since, timeline, checks across dates
        self.rounds = RoundsFlow(self, self.runner)  # "Improve automatically": hard-negative rounds
        self.projects = ProjectFlow(self, autosave=autosave)  # save, open, recovery file, archive
        self._view_timer = QTimer(self, singleShot=True, interval=1500)  # map pans: autosave every 1.5 s
        self._view_timer.timeout.connect(self.projects.save_recovery)

    # --- errors and messages --------------------------------------------------------------------------
    def say(self, text: str) -> None:
        """A sentence for the status bar (flows speak through this)."""
        self.message.emit(text)

    def ask_permission(self, refusal: Any, retry: Any = None) -> None:
        """A file named a site or folder that is not allowed for its data: ask the person (see
        :meth:`allow`); ``retry`` runs once it is allowed."""
        self.permission_needed.emit((refusal, retry))

    def allow(self, site: str, dataset: str, retry: Any = None) -> None:
        """The person allowed ``site`` (an address's site or a folder) for the data ``dataset``:
        remembered in the network settings; ``retry`` then runs."""
        from terrafind.core.net.gate import gate

        gate().allow(site, dataset)
        self.message.emit(f"Allowed {site} for this data.")
        if retry is not None:
            retry()

    def mark_sensitive(self, on: bool) -> None:
        """Mark the project sensitive (precise coordinates locked until unlocked) or not."""
        self.session.mark_sensitive(on)
        self.sensitivity_changed.emit(self.session.sensitive, self.session.unlocked)
        self.projects.save_recovery()
        self.message.emit(
            "This project is sensitive: exports are blurred and field packs refused until you unlock "
            "precise coordinates."
            if on
            else "This project is no longer marked sensitive."
        )

    def unlock_precise(self) -> None:
        """Let precise coordinates of a sensitive project leave for the rest of this session."""
        self.session.unlock_precise()
        self.sensitivity_changed.emit(self.session.sensitive, self.session.unlocked)
        self.message.emit("Precise coordinates are unlocked until you close this project.")

    def set_online(self, online: bool) -> None:
        """The window's Online/Offline switch: offline, the network gate lets nothing out."""
        from terrafind.core.net.gate import gate

        gate().online = bool(online)
        self.thumbs.set_online(online)

    def report_error(self, exc: BaseException, tb: str = "") -> None:
        if not tb and exc.__traceback__ is not None:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.error.emit(exc, tb)

    # --- data (the flows hand back what their jobs made) -----------------------------------------------
    def use_data(self, opened: OpenedData, footprints: Any) -> None:
        """Newly opened data: the old session is archived, the new one starts, its index is built.
        ``footprints`` is the chips' outlines for the map, or one per date ({date: outlines})."""
        self.reset_session()
        self.runner.cancel("index")
        self.session.use_data(opened)
        self.footprints_by_date = footprints if isinstance(footprints, dict) else {}
        self.footprints_fc = (
            self.footprints_by_date.get(self.session.date) if self.footprints_by_date else footprints
        )
        self.thumbs.reset()
        self.thumbs.register_dates()
        self.data_opened.emit(self.session)
        self.dates_changed.emit(self.session)
        self.params_changed.emit(dict(self.session.params))  # e.g. "Min probability" is "Min score" again
        self.region_changed.emit(opened.region)
        self.masked_changed.emit(len(self.session.masked))
        catalog = opened.catalog
        extra = f" ({len(catalog.problems)} warnings)" if catalog.problems else ""
        self.message.emit(
            f"Opened {len(catalog):,} chips, {catalog.model_name}{extra}. Click on the map to search."
        )
        self.data.build_index()
        self.data.warm_up()
        self.cache.refresh()
        self.projects.save_recovery()
        freeze_heap()  # the catalog and the libraries the open imported stay: out of full collections

    def set_date(self, label: str) -> None:
        """Show another date of the region: its chips, thumbnails, imagery and examples. A comparison stays
        on screen (its hits moved to this date's chips); a search runs again on this date."""
        s = self.session
        if s.dates is None or label == s.date:
            return
        self.search.cancel()
        self.runner.cancel("index")
        s.set_date(label)
        self.undo_stack.clear()  # the undo history names rows of the date left
        self.footprints_fc = self.footprints_by_date.get(label)
        self.thumbs.date_switched()
        self.dates_changed.emit(s)
        self.imagery.explain()  # this date's thumbnails come from this date's imagery
        self.labels_changed.emit(dict(s.labels))
        self.examples_updated()
        if s.index is None:
            self.data.build_index()
        if s.outcome is not None:  # a comparison, on this date's chips now
            self.search.show_saved(s.outcome)
        else:
            self.shown = None
            self.results_cleared.emit()
            if s.has_positive():
                self.search_now()
        self.message.emit(f"The map shows {label}.")

    def set_centred(self, on: bool) -> None:
        """Scores as centred cosines (True) or plain cosines: remembered (the CLI follows it too); the open
        data changes space, its index is loaded or built for that space and the search runs again."""
        save_centred(on)
        s = self.session
        self.search.cancel()
        self.rounds.close()  # rounds' figures were of the other scores
        self.runner.cancel("index")
        if not s.set_centred(on):
            return
        self.shown = None
        self.results_cleared.emit()
        self.data_space_changed.emit(on)
        self.data.build_index()
        words = "centred on the region's mean" if on else "plain cosines"
        self.message.emit(f"Scores are {words} now.")
        if s.has_positive():
            self.search_now()

    def set_learn_from(self, labels: list[str] | None) -> None:
        """The dates whose examples and labels searches learn from (None: all); searches again."""
        self.session.set_learn_from(labels)
        self.examples_updated()
        self.dates_changed.emit(self.session)
        self.search_if_auto()

    def set_imagery(self, value: str | None) -> None:
        """The imagery of the open data (validated by terrafind.gui.flows.imagery_flow)."""
        self.session.imagery = value
        self.imagery_changed.emit(value)

    def use_index(self, catalog: Any, index: Any) -> None:
        if self.session.use_index(catalog, index):
            self.index_ready.emit(index)
            self.cache.refresh()  # the index joined the region's app cache

    # --- examples and labels (through the undo stack) ------------------------------------------------
    def chip_name(self, row: int) -> str:
        return self.session.chip_name(row)

    def click_at(self, lon: float, lat: float, negative: bool = False) -> int | None:
        """A map click: the chip under (lon, lat) becomes an example. Returns its row, or None (and says so)."""
        catalog = self.session.catalog
        if catalog is None:
            self.message.emit("Open a file first: File > Open file...")
            return None
        found = self.session.chip_for(lon, lat)  # under the click, else the nearest within the snap distance
        if found is None:
            self.message.emit(
                f"No chip within {self.session.snap_m():,.0f} m of here ({lon:.5f}, {lat:.5f}): click inside the "
                "loaded area."
            )
            return None
        row, away = found
        self.add_example(row, NEGATIVE if negative else POSITIVE)
        if away > 0:
            self.message.emit(f"Snapped to {self.chip_name(row)}, the nearest chip, {away:,.0f} m away.")
        return row

    def add_example(self, row: int, kind: str) -> None:
        old = self.session.examples.get(row)
        if old == kind:
            self.message.emit(f"{self.chip_name(row)} is already a {kind} example.")
            return
        self.undo_stack.push(ExampleCommand(self, row, old, kind))

    def remove_example(self, row: int) -> None:
        """Remove a chip from the examples list: a clicked example, or a result's label."""
        s = self.session
        if row in s.examples:
            self.undo_stack.push(ExampleCommand(self, row, s.examples[row], None))
        elif row in s.labels:
            self.undo_stack.push(LabelCommand(self, row, s.labels[row], None))

    def toggle_example_kind(self, row: int) -> None:
        flip = {POSITIVE: NEGATIVE, NEGATIVE: POSITIVE}
        s = self.session
        if row in s.examples:
            self.undo_stack.push(ExampleCommand(self, row, s.examples[row], flip[s.examples[row]]))
        elif row in s.labels:
            self.undo_stack.push(LabelCommand(self, row, s.labels[row], flip[s.labels[row]]))

    def label(self, row: int, label: str | None) -> None:
        """Yes, this (positive) / Not this (negative) on a result; the same label again clears it."""
        old = self.session.labels.get(row)
        new = None if label == old else label
        self.undo_stack.push(LabelCommand(self, row, old, new))

    # The setters the undo commands call: the only places examples, labels and masks change.
    def set_example(self, row: int, kind: str | None) -> None:
        self.session.set_example(row, kind)
        self.examples_updated()
        if kind is not None:
            self.message.emit(f"Added {self.chip_name(row)} as a {kind} example.")
        self.search_if_auto()

    def set_label(self, row: int, label: str | None) -> None:
        self.session.set_label(row, label)
        if self.shown is not None:
            for payload in (self.shown.best, self.shown.review):
                for item in payload.items if payload is not None else ():
                    if item.row == row:
                        item.label = label
        self.labels_changed.emit(dict(self.session.labels))
        self.examples_updated()
        if label is not None:
            word = "Yes, this" if label == POSITIVE else "Not this"
            self.message.emit(
                f"{word}: {self.chip_name(row)}. It joins the examples and leaves the next search."
            )

    def apply_labels(self, rows: list[int], label: str, text: str) -> None:
        """Label many chips at once as one undoable step (the rounds' negatives)."""
        self.undo_stack.beginMacro(text)
        try:
            for row in rows:
                old = self.session.labels.get(int(row))
                if old != label:
                    self.undo_stack.push(LabelCommand(self, int(row), old, label))
        finally:
            self.undo_stack.endMacro()

    def find_unusual(self, by: str = "auto") -> bool:
        """Unusual places, no examples needed: the chips with the highest loss or novelty, shown like any
        search (label them, then search from the ones worth a visit)."""
        self.session.params["unusual_by"] = by
        return self.search.search_now(how="unusual")

    def start_check(self, size: int | None = None) -> None:
        """Draw a random sample of the visible hits to check (the gallery's "Check a random sample")."""
        try:
            check = self.session.start_check(size)
        except InputError as exc:
            self.message.emit(exc.message)
            return
        self.message.emit(f"A random sample of {check.size} of the visible hits: mark each Y or N.")
        self.check_changed.emit()

    def set_places(self, kinds: dict[int, str | None], masked: set[int]) -> None:
        """Examples and masked chips of one imported file (terrafind.gui.flows.import_flow.PlacesCommand)."""
        for row, kind in kinds.items():
            self.session.set_example(row, kind)
        self.session.set_masked(sorted(masked))
        self.masked_changed.emit(len(self.session.masked))
        self.examples_updated()  # one signal, one thumbnail request and one autosave for the whole file
        self.search_if_auto()

    def examples_updated(self) -> None:
        items = self.session.example_items()
        self.examples_changed.emit(items)
        self.thumbs.want([it.row for it in items])
        self.projects.save_recovery()

    def search_if_auto(self) -> None:
        if self.session.params.get("auto", True) and self.session.has_positive():
            self.search.request()

    # --- search and results ---------------------------------------------------------------------------
    def set_params(self, params: dict[str, Any]) -> None:
        """Mode / k / threshold (as a value or as a share of the region) / auto from the search controls;
        a changed mode or k searches again."""
        s = self.session
        p = s.params
        old = dict(p)
        try:
            if "threshold_unit" in params:
                s.set_threshold_unit(str(params["threshold_unit"]))
            if p.get("threshold_unit") == "top" and "threshold_share" in params:
                s.set_threshold_share(params["threshold_share"])
            elif "threshold" in params:
                s.set_threshold(params["threshold"])
            if "loss_min" in params or "loss_max" in params:
                s.set_loss_range(params.get("loss_min"), params.get("loss_max"))
            if "colour_by" in params:
                s.set_colour_by(str(params["colour_by"]))
        except InputError as exc:
            self.message.emit(exc.message)
        p.update({k: v for k, v in params.items() if k in ("mode", "k", "auto", "snap_m")})
        if p.get("threshold") != old.get("threshold"):
            self.threshold_changed.emit(p.get("threshold"))
        self.params_changed.emit(dict(p))
        self.projects.save_recovery()
        if (p["mode"], p["k"]) != (old["mode"], old["k"]) and self.shown is not None:
            self.search.request()

    def set_threshold(self, t: float | None) -> None:
        """The line dragged in the plot (or set from code): a value; its share is kept with the unit "top"."""
        t = None if t is None else float(t)
        if t == self.session.params.get("threshold"):
            return
        self.session.set_threshold(t)
        self.threshold_changed.emit(t)
        self._view_timer.start()  # a dragged line fires often: autosave once it rests

    def set_learn(self, search: bool = True, **switches: Any) -> None:
        """Refine / group / sites on or off, or the gallery's "best" / "review" / "check" / "round"; Refine and
        Group search again (unless ``search`` is False: a flow that searches itself)."""
        learn = self.session.learn
        changed = {k: v for k, v in switches.items() if k in learn and learn[k] != v}
        if not changed:
            return
        learn.update(changed)
        self.learn_changed.emit(dict(learn))
        self.projects.save_recovery()
        if changed.get("refine") and not self.session.can_refine():
            self.message.emit(
                "Refine learns from your labels: mark at least one hit right (Y) and one wrong (N) first."
            )
            return
        if (
            search
            and ("refine" in changed or "group" in changed)
            and self.session.search_examples().positives
        ):
            self.search_now()

    def search_now(self) -> bool:
        return self.search.search_now()

    def show_results(self, shown: ShownResults, *, partial: float | None = None) -> None:
        """A finished search (or restored results) for the screen; ``partial``: the best so far of a search
        still scanning, with the share of the region scanned (the finished search replaces it)."""
        if self.session.catalog is None:
            return  # the data closed meanwhile (opening other data cancels running searches)
        if self.session.set_outcome(shown.outcome):
            self.threshold_changed.emit(self.session.params.get("threshold"))
            self.params_changed.emit(dict(self.session.params))
        self.shown = shown
        r = shown.result
        how = "index" if r.method == "index" else "exact search"
        if partial is not None:
            self.message.emit(f"Best {len(r)} so far, {100 * partial:.0f} % of the region searched…")
        else:
            self.message.emit(f"{len(r)} matches in {r.elapsed_ms:.0f} ms ({how}).")
        self.results_ready.emit(shown)
        self.thumbs.prefetch([int(x) for x in r.rows])
        if partial is None:
            self.projects.save_recovery()

    # --- map view -------------------------------------------------------------------------------------
    def set_view(self, lon: float, lat: float, zoom: float) -> None:
        self.session.view = {"lon": float(lon), "lat": float(lat), "zoom": float(zoom)}
        self._view_timer.start()

    # --- projects (files in gui.flows.project_flow) -----------------------------------------------
    def use_project(self, proj: Project) -> None:
        """A project's data is open (the project flow's job): bring back its examples, labels, view and
        results, and announce the whole session to the window."""
        s = self.session
        self.undo_stack.clear()
        missing = s.apply_project(proj)
        self.sensitivity_changed.emit(s.sensitive, s.unlocked)
        self.params_changed.emit(dict(s.params))
        self.labels_changed.emit(dict(s.labels))
        self.masked_changed.emit(len(s.masked))
        self.learn_changed.emit(dict(s.learn))
        self.examples_updated()
        if s.dates is not None:  # the project's date on the map
            self.footprints_fc = self.footprints_by_date.get(s.date, self.footprints_fc)
            self.thumbs.date_switched()
            self.dates_changed.emit(s)
            if s.index is None:
                self.data.build_index()
        if proj.view:
            self.view_requested.emit(dict(proj.view))
        saved = s.saved_outcome(proj)
        if saved is not None:
            self.search.show_saved(saved)
        self.threshold_changed.emit(s.params.get("threshold"))
        self.project_applied.emit(proj)
        if s.learn.get("refine") and s.can_refine():
            self.search_now()  # the probabilities, the review queue and the quality come back too
        if missing:
            self.message.emit(f"{len(missing)} saved chips are not in the loaded data (e.g. {missing[0]}).")
        else:
            self.message.emit(f"Restored {len(s.examples)} examples and {len(s.labels)} labels.")

    def reset_session(self) -> None:
        """Forget examples, labels and results (new data is being opened); the old session is archived."""
        kept = self.projects.archive()
        if kept:
            self.message.emit(f"Your previous examples and labels are kept in {kept} (File > Open project).")
        self.search.cancel()
        self.rounds.close()  # rounds belong to the data they ran on
        self.undo_stack.clear()
        self.shown = None
        self.results_cleared.emit()
        self.labels_changed.emit({})
        self.examples_changed.emit([])

    def shutdown(self) -> None:
        """A clean exit: the session becomes the last session; no thread outlives the app."""
        self.search.cancel()
        self.runner.shutdown()
        self.thumbs.close()
        self.projects.finish()
