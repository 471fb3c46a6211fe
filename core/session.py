"""What a user has open, in one place: the app and the CLI both work through a :class:`Session`.

A session owns the region's data (catalog, index, the sources and region it came from, the field pack),
the imagery the user chose, what the user showed and judged (examples, labels, masked chips), the search
parameters and learning switches, and the last search outcome. It has the verbs that read or change
them: one rule for "the examples a search uses" (:meth:`Session.search_examples`), one way to search
(:meth:`Session.query` + :func:`terrafind.core.search.run.run_query`, or :meth:`Session.run_search`), one
rule for "the visible hits" (:meth:`Session.visible`), exports, and the round trip to a project file.

No Qt here: the app's controller (``terrafind.gui.controller``) is a thin adaptor that calls these verbs
on the GUI thread, runs the slow parts (open, index, search, export) in workers on a :meth:`snapshot`,
and turns changes into signals. Rows index the catalog; a project stores chips by id, since rows change
with the region.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terrafind.core.catalog import Catalog
from terrafind.core.dates.marks import DateMarks, travelling_vectors
from terrafind.core.dates.verbs import DateVerbs
from terrafind.core.errors import InputError
from terrafind.core.present.items import NEGATIVE, POSITIVE, ExampleItem
from terrafind.core.progress import CancelToken, ProgressFn
from terrafind.core.project import LEARN_DEFAULTS
from terrafind.core.search import visible as vis
from terrafind.core.search.run import SearchOutcome, SearchQuery, run_query
from terrafind.core.session_check import CheckVerbs, RasterVerbs, SampleCheck
from terrafind.core.session_export import ExportVerbs
from terrafind.core.session_lines import LineVerbs
from terrafind.core.session_projects import DEFAULT_PARAMS, ProjectVerbs
from terrafind.core.session_sensitive import SensitiveVerbs
from terrafind.core.session_space import CENTRED_DEFAULT, SpaceVerbs, apply_space
from terrafind.core.types import Examples, Region, SearchResult

__all__ = ["Session", "OpenedData", "open_data", "DEFAULT_PARAMS"]


@dataclass
class OpenedData:
    """Data read for a session: the catalog, what the user named (files, folders or a pack folder), the
    region it was limited to and the field pack it came from."""

    catalog: Catalog
    sources: list[str]
    region: Region | None = None
    pack: Any = None  # terrafind.core.pack.open.PackInfo
    dates: Any = None  # terrafind.core.dates.region.DatedRegion when the files hold several dates
    assigned: dict[str, str] = field(default_factory=dict)  # dates the user gave files or folders
    shards: Any = None  # terrafind.core.shards.open.ShardedRegion: a region folder of indexed tiles


def open_data(
    paths: Sequence[str | Path],
    region: Region | None = None,
    *,
    dates: dict[str, str] | None = None,
    embedding_column: str | None = None,
    chip_size_m: float | None = None,
    centred: bool = CENTRED_DEFAULT,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> OpenedData:
    """Open GeoParquet files or folders, or one field pack folder, limited to ``region``. Files of several
    dates open as a dated region (terrafind.core.dates); ``dates`` assigns dates to files or folders.
    ``centred``: scores are centred cosines on the region's mean (terrafind.core.session_space)."""
    from terrafind.core.dates.detect import plan_dates
    from terrafind.core.dates.region import open_dates
    from terrafind.core.pack.open import is_pack, open_pack
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.read.sources import resolve_paths
    from terrafind.core.shards.manifest import is_sharded

    names = [str(p) for p in paths]
    pack = None
    files: list[Any] = names
    if len(names) == 1 and is_sharded(names[0]):  # a sharded region: its tiles as one (core/shards)
        from terrafind.core.shards.open import open_sharded, tiles_in

        if region is not None:  # a part of it: the tiles there, as plain files
            files = tiles_in(names[0], region)
        else:
            sh = open_sharded(names[0], embedding_column=embedding_column, chip_size_m=chip_size_m,
                              progress=progress, cancel=cancel)  # fmt: skip
            data = OpenedData(sh.catalog, names, None, None, sh.dates, {}, shards=sh)
            apply_space(data, centred)  # the region's mean, as for any data; each shard's index follows
            return data
    elif len(names) == 1 and is_pack(names[0]):
        pack = open_pack(names[0])
        if not pack.catalog_paths:
            raise InputError(f"The field pack {pack.root} has no usable embeddings.")
        files = [str(p) for p in pack.catalog_paths]
    assigned = dict(dates or {})
    given = {**(pack.assigned if pack is not None else {}), **assigned}  # a pack keeps the dates it was given
    plan = plan_dates([p for _, p in resolve_paths(files)], given)
    kwargs: dict[str, Any] = {"embedding_column": embedding_column, "chip_size_m": chip_size_m}
    if plan.is_dated():
        dated = open_dates(plan, region, open_kwargs=kwargs, progress=progress, cancel=cancel)
        if pack is not None:
            pack.attach_dates(dated)
        data = OpenedData(dated.slices[-1].catalog, names, region, pack, dated, assigned)
        apply_space(data, centred)
        return data
    catalog = open_catalog(
        files, region=region, progress=progress, cancel=cancel, embedding_column=embedding_column,
        chip_size_m=chip_size_m,
    )  # fmt: skip
    if plan.note:
        catalog.problems.append(plan.note)
    data = OpenedData(catalog, names, region, pack, None, assigned)
    apply_space(data, centred)
    return data


class Session(
    DateVerbs, ProjectVerbs, LineVerbs, SensitiveVerbs, CheckVerbs, RasterVerbs, SpaceVerbs, ExportVerbs
):
    """See the module docstring. Attributes are read freely; change them through the methods."""

    def __init__(self) -> None:
        self.catalog: Catalog | None = None
        self.index: Any = None  # VectorIndex once built for this catalog; searches are exact until then
        self.sources: list[str] = []
        self.region: Region | None = None
        self.pack: Any = None
        self.imagery: str | None = None  # imagery the user chose for data that names none
        self.examples: dict[int, str] = {}  # row -> kind, in the order the user clicked
        self.labels: dict[int, str] = {}  # row -> label given to a result
        self.masked: dict[int, str] = {}  # row -> chip id: chips under imported "exclude" places
        self.params: dict[str, Any] = dict(DEFAULT_PARAMS)
        self.learn: dict[str, Any] = dict(LEARN_DEFAULTS)  # refine, group, sites, gallery
        self.outcome: SearchOutcome | None = None
        self.sample_check: SampleCheck | None = None  # a random sample of the hits to check (session_check)
        self.view: dict[str, float] | None = None
        self.project_path: str | None = None
        # The examples (positives, negatives) the latest refined search used: when they differ from the
        # session's, the labels changed since and the app says "Search to refine again".
        self.refined_with: tuple[frozenset[int], frozenset[int]] | None = None
        # Several dates (terrafind.core.dates): the date on the map, the marks of the others by id, the
        # dates a search learns from (None: all), and the dates the user gave files or folders.
        self.dates: Any = None  # DatedRegion
        self.date: str | None = None
        self.marks: dict[str, DateMarks] = {}
        self.learn_from: list[str] | None = None
        self.assigned: dict[str, str] = {}
        # Sensitive places (core.session_sensitive): precise coordinates locked until unlocked (not saved).
        self.sensitive = False
        self.unlocked = False
        # Scores are centred cosines on the region's mean (core.session_space); a preference, not a
        # project's: the app keeps it in its settings, the CLI takes --plain-cosine.
        self.centred = CENTRED_DEFAULT
        self.shards: Any = None  # ShardedRegion when a sharded region is open (core/shards)

    @classmethod
    def open(cls, paths: Sequence[str | Path], region: Region | None = None, **kwargs: Any) -> Session:
        """A session on freshly opened data (the CLI's way in; kwargs as :func:`open_data`)."""
        session = cls()
        session.centred = bool(kwargs.get("centred", CENTRED_DEFAULT))
        session.use_data(open_data(paths, region, **kwargs))
        return session

    def snapshot(self) -> Session:
        """A copy for a worker: its dicts are its own, the catalog and index are shared (read-only)."""
        other = copy.copy(self)
        for name in ("examples", "labels", "masked", "params", "learn", "assigned"):
            setattr(other, name, dict(getattr(self, name)))
        other.marks = copy.deepcopy(self.marks)
        return other

    # --- data ---------------------------------------------------------------------------------------
    def use_data(self, data: OpenedData) -> None:
        """Newly opened data: what was shown and found on other data goes (masked chips are found again
        by id, since an imported exclusion list applies to any region of the same data)."""
        masked_ids = list(self.masked.values())
        if hasattr(self.index, "close"):  # a graph in a process of its own: let it go
            self.index.close()
        if data.catalog.is_centred != self.centred:  # opened for another setting: the session's wins
            apply_space(data, self.centred)
        self.catalog, self.index = data.catalog, None
        self.sources, self.region, self.pack = list(data.sources), data.region, data.pack
        self.examples, self.labels, self.outcome, self.refined_with = {}, {}, None, None
        if self.params.get("threshold_by") == "probability":  # a probability line meant the old results
            self.params.update(threshold_by="score", threshold=None)
        if self.params.get("threshold_share") is not None:  # a share waits for the first search
            self.params["threshold"] = None
        self.params.update(loss_min=None, loss_max=None)  # a loss range meant the old data's scale
        rows = data.catalog.rows_of(masked_ids)  # one pass over the ids, however many chips
        self.masked = {int(r): str(i) for r, i in zip(rows, masked_ids, strict=True) if r >= 0}
        # A pack brings its imagery; other data gets the imagery remembered for it (the app looks it up).
        self.imagery = data.pack.imagery if data.pack is not None and data.pack.imagery else None
        self.dates, self.marks, self.learn_from = data.dates, {}, None
        self.assigned = dict(data.assigned)
        self.shards = data.shards
        self.date = None
        if data.dates is not None:
            here = data.dates.of_catalog(data.catalog)
            self.date = here.label if here is not None else None
            if here is not None and here.imagery:
                self.imagery = here.imagery

    def protected_paths(self) -> list[str]:
        """What no output may replace or be written into: the open data's files and the field pack in use
        (:mod:`terrafind.core.outputs`)."""
        out = [str(s.path) for s in self.catalog.sources] if self.catalog is not None else []
        out += [p for p in self.sources if Path(p).is_file()]
        if self.pack is not None:
            out.append(str(self.pack.root))
        return out

    def data_files(self) -> list[str]:
        """The embeddings files behind the open data (a field pack's own files when a pack is open)."""
        if self.pack is not None:
            return [str(p) for p in self.pack.catalog_paths]
        if self.shards is not None:  # a sharded region: its tiles
            return self.shards.files()
        return list(self.sources)

    def use_index(self, catalog: Catalog, index: Any) -> bool:
        """Searches use ``index`` from now on, if it was built for the catalog still open."""
        here = self.dates.of_catalog(catalog) if self.dates is not None else None
        if here is not None:
            here.index = index  # kept with its date, for when that date is shown again
        if catalog is not self.catalog:
            return False
        self.index = index
        return True

    def load_index(
        self,
        *,
        catalog: Catalog | None = None,
        build: bool = True,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
        process: bool = False,
    ) -> Any:
        """The index of ``catalog`` (default: the one open; another date's when given): a field pack's own,
        else the cache's, else (``build``) a new one; None when there is none and ``build`` is False.
        With ``process`` (the app) a big region's graph lives in a process of its own
        (:mod:`terrafind.core.search.server`: hnswlib holds Python's lock while it loads or saves a graph,
        which would freeze the window). Does not set it: see :meth:`use_index`."""
        from terrafind.core.search import index as ix

        catalog = catalog if catalog is not None else self.catalog
        if catalog is None:
            return None
        if self.shards is not None and self.shards.parts_of(catalog) is not None:  # every shard's own index
            return self.shards.load_index(catalog, build=build, progress=progress, cancel=cancel)
        pack = self.pack
        if pack is not None and (pack.index_path is not None or catalog.period in pack.dates):
            return pack.load_index(catalog, progress=progress, cancel=cancel)
        from terrafind.core.search.server import PROCESS_MIN_ROWS, start_index_process

        if process and catalog.store is not None and len(catalog) > PROCESS_MIN_ROWS:
            return start_index_process(catalog, build=build, progress=progress, cancel=cancel)
        if build:
            return ix.load_or_build_index(catalog, progress=progress, cancel=cancel)
        return ix.load_cached_index(catalog, progress=progress, cancel=cancel)

    # --- examples, labels, masked chips -------------------------------------------------------------
    def chip_name(self, row: int) -> str:
        cat = self.catalog
        return str(cat.ids[row]) if cat is not None and 0 <= row < len(cat) else f"#{row}"

    def set_example(self, row: int, kind: str | None) -> None:
        """Show chip ``row`` as a positive / negative example (None: no longer an example)."""
        if kind is None:
            self.examples.pop(int(row), None)
        else:
            self.examples[int(row)] = _kind(kind)

    def set_label(self, row: int, label: str | None) -> None:
        """Judge a result "Yes, this" (positive) / "Not this" (negative); None clears the label."""
        if label is None:
            self.labels.pop(int(row), None)
        else:
            self.labels[int(row)] = _kind(label)

    def set_masked(self, rows: Iterable[int]) -> None:
        """Replace the masked chips: they never appear in results."""
        cat = self.catalog
        self.masked = {int(r): (str(cat.ids[int(r)]) if cat is not None else f"#{r}") for r in rows}

    def examples_of(self, kind: str) -> list[int]:
        """Rows the user showed as ``kind``: clicked examples first, then labelled results."""
        rows = [r for r, k in self.examples.items() if k == kind]
        return rows + [r for r, k in self.labels.items() if k == kind and r not in self.examples]

    def search_examples(self) -> Examples:
        """The one rule: a search uses the clicked examples plus the labelled results (a clicked example
        wins over a label of the same chip); with several dates, also those of the other dates it learns
        from (:attr:`learn_from`), as their vectors at their own date."""
        ex = Examples(positives=self.examples_of(POSITIVE), negatives=self.examples_of(NEGATIVE))
        if self.dates is not None and self.marks:
            pos, neg, _ = travelling_vectors(self.dates, self._learned_marks(), self.learn_from)
            ex.positive_vectors = pos if len(pos) else None
            ex.negative_vectors = neg if len(neg) else None
        return ex

    def _learned_marks(self) -> dict[str, DateMarks]:
        return {d: m for d, m in self.marks.items() if d != self.date}

    def example_items(self) -> list[ExampleItem]:
        """The examples list as the app shows it: clicked examples, then labelled results; with several
        dates, then those of other dates (row -1: not on the map), each with its date."""
        items = [ExampleItem(r, k, self.chip_name(r), self.date) for r, k in self.examples.items()]
        items += [
            ExampleItem(r, k, self.chip_name(r), self.date)
            for r, k in self.labels.items()
            if r not in self.examples
        ]
        if self.catalog is not None:  # a positive unlike the others is flagged (core.search.looks_wrong)
            from terrafind.core.search.looks_wrong import odd_positives

            odd = odd_positives(self.catalog, [it.row for it in items if it.kind == POSITIVE])
            for it in items:
                it.flag = odd.get(it.row) if it.kind == POSITIVE else None
        for label, m in sorted(self._learned_marks().items()):
            items += [ExampleItem(-1, k, i, label) for i, k in m.examples.items()]
            items += [ExampleItem(-1, k, i, label) for i, k in m.labels.items() if i not in m.examples]
        return items

    def has_positive(self) -> bool:
        """True when a search has something to look for (a positive example of any date it learns from)."""
        return self.catalog is not None and not self.search_examples().is_empty()

    def can_refine(self) -> bool:
        """Refine needs at least one positive and one negative (of any date it learns from)."""
        ex = self.search_examples()
        has_neg = bool(ex.negatives) or (ex.negative_vectors is not None and len(ex.negative_vectors) > 0)
        return self.catalog is not None and not ex.is_empty() and has_neg

    # --- search -------------------------------------------------------------------------------------
    def how(self) -> str:
        """What the next search will be: "refine" (switched on and possible), "grouped" or "plain"."""
        if self.learn.get("refine") and self.can_refine():
            return "refine"
        return "grouped" if self.learn.get("group") else "plain"

    def query(self, how: str | None = None) -> SearchQuery:
        """A snapshot of everything the next search needs; InputError when there is nothing to search."""
        if self.catalog is None:
            raise InputError("Open a file first: File > Open file...")
        examples = self.search_examples()
        if examples.is_empty() and how != "unusual":  # unusual places need no example
            raise InputError("Click on the map to add a positive example, then search.")
        return SearchQuery(
            catalog=self.catalog,
            examples=examples,
            how=how or self.how(),
            k=int(self.params.get("k", 200)),
            mode=str(self.params.get("mode", "mean")),
            index=self.index,
            labels=dict(self.labels),
            masked=tuple(self.masked),
            unusual_by=str(self.params.get("unusual_by") or "auto"),
            neighbours=int(self.params.get("neighbours") or 10),
        )

    def run_search(self, how: str | None = None, *, cancel: CancelToken | None = None) -> SearchOutcome:
        """Search now, on this thread, and keep the outcome (the CLI's way; the app runs
        :func:`run_query` on a :meth:`query` in a worker and hands the outcome to :meth:`set_outcome`)."""
        outcome = run_query(self.query(how), cancel=cancel)
        self.set_outcome(outcome)
        return outcome

    def set_outcome(self, outcome: SearchOutcome | None) -> bool:
        """Keep a finished search. Returns True when the threshold changed with it: a line set as a share
        of the region ("top 1 %") moves to where that share of the new search's region lies; otherwise
        the line stays, unless its kind changed (results ranked by probability are filtered by
        probability: a similarity threshold then means nothing and is dropped, and the other way round)."""
        self.outcome = outcome
        if outcome is None:
            return False
        if outcome.how == "refine":
            r = outcome.result
            self.refined_with = (frozenset(r.positives), frozenset(r.negatives))
        p = self.params
        old = (p.get("threshold_by"), p.get("threshold"))
        by = vis.threshold_by(outcome.result)
        if by != p.get("threshold_by"):
            p["threshold_by"] = by
            p["threshold"] = None
        share = p.get("threshold_share")
        if p.get("threshold_unit") == "top" and share is not None:
            p["threshold"] = outcome.value_at(float(share))
        return (p.get("threshold_by"), p.get("threshold")) != old

    def labels_changed_since_refine(self) -> bool:
        """True when Refine is on and the examples differ from those of the latest refined search."""
        if not self.learn.get("refine") or self.refined_with is None:
            return False
        ex = self.search_examples()
        return self.refined_with != (frozenset(ex.positives), frozenset(ex.negatives))

    def result(self) -> SearchResult | None:
        return self.outcome.result if self.outcome is not None else None

    def visible(self) -> SearchResult | None:
        """The hits at or above the threshold (score, or probability after Refine), best first."""
        r = self.result()
        return None if r is None else vis.visible_result(r, self.params.get("threshold"), self.loss_keep(r))


def _kind(value: str) -> str:
    if value not in (POSITIVE, NEGATIVE):
        raise InputError(f"An example is either {POSITIVE} or {NEGATIVE}, not {value!r}.")
    return value
