"""Thumbnails for the gallery, the examples list and the map popups, cut in the thumbnail pool.

Rows are asked for at most once at a time (``_pending``); a PNG that came back is kept in a small memory
map so that the map page (``terrafind://app/thumb/<row>.png``) and the panels share it. The scheme provider
is called in the scheme handler's own pool: it answers from memory or core's disk cache, and otherwise
starts a job and answers with a placeholder at once, so the page never waits on imagery.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Signal

from terrafind.core.imagery.png import encode_png
from terrafind.gui.workers import TaskRunner

__all__ = ["ThumbnailFlow", "PLACEHOLDER_PNG"]

MAX_MEMORY = 3000  # PNGs kept in memory (~15 kB each at 128 px)
PREFETCH_TOP = 60


# A 1x1 light-grey PNG for a row whose thumbnail is still being cut.
PLACEHOLDER_PNG = encode_png(np.full((1, 1, 3), 224, np.uint8))


class ThumbnailFlow(QObject):
    """Asks core's ThumbnailService for PNGs of catalog rows and announces them on the GUI thread."""

    thumbnail_ready = Signal(int, bytes, str)  # row, png, status ("ok" or why it is a placeholder)
    dated_ready = Signal(str, int, bytes)  # date, row of that date's catalog, png (before/after tiles)
    _ask = Signal(list)  # emitted from the scheme handler's pool, delivered queued on the GUI thread

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner
        self.service = None
        self._cache_path = None
        self._memory: OrderedDict[int, bytes] = OrderedDict()
        self._pending: set[int] = set()
        self._dated: OrderedDict[tuple[str, int], bytes] = OrderedDict()  # (date, row) -> png, any date
        self._dated_pending: set[tuple[str, int]] = set()
        self._generation = 0  # bumped when the catalog changes: late thumbnails of old rows are dropped
        self._asked: set[str] = set()  # sites the person was asked about for the open data
        self._ask.connect(self.want)
        self.online_wanted = True  # the window's online/offline switch, applied to the service it makes

    def reset(self) -> None:
        """A new catalog: forget rows, and use the open field pack's thumbnail cache when there is one."""
        self._generation += 1
        self._memory.clear()
        self._pending.clear()
        self._dated.clear()
        self._dated_pending.clear()
        self._asked.clear()
        self.runner.cancel("thumbnails")
        self.runner.cancel("dated-thumbnails")
        pack = self.c.session.pack
        cache = pack.thumbnails_path if pack is not None else None
        if self.service is not None and self._cache_path == cache:
            return
        from terrafind.core.imagery.thumbnails import ThumbnailService

        # a field pack's cache is read, never written: it was checked against the pack's manifest
        self.service = ThumbnailService(cache, read_only=cache is not None)
        self._cache_path = cache
        self.service.online = self.online_wanted
        if pack is not None and pack.imagery and self.c.session.catalog is not None:
            try:
                self.service.set_imagery(self.service.dataset_key(self.c.session.catalog), pack.imagery)
            except Exception as exc:  # noqa: BLE001 - thumbnails degrade to placeholders, the pack still opens
                self.c.report_error(exc)

    def register_dates(self) -> None:
        """Each date's own imagery (a dated pack's, or chosen per date) for its thumbnails."""
        dates, service = self.c.session.dates, self.service
        for s in dates.slices if dates is not None and service is not None else []:
            if s.imagery:
                try:
                    service.set_imagery(service.dataset_key(s.catalog), s.imagery, must_exist=False)
                except Exception as exc:  # noqa: BLE001 - that date's thumbnails degrade to placeholders
                    self.c.report_error(exc)

    def date_switched(self) -> None:
        """The map shows another date of the same data: rows mean that date's chips now (the thumbnails
        of every date stay in the dated memory, keyed by date)."""
        self._generation += 1
        self._memory.clear()
        self._pending.clear()
        self.runner.cancel("thumbnails")

    def want_dated(self, pairs: list[tuple[str, int]]) -> None:
        """Thumbnails of chips of any date of the open region, as (date, row): before/after tiles."""
        dates, service = self.c.session.dates, self.service
        if dates is None or service is None:
            return
        missing = []
        for date, row in pairs:
            key = (str(date), int(row))
            if key in self._dated:
                self.dated_ready.emit(key[0], key[1], self._dated[key])
            elif key not in self._dated_pending and row >= 0:
                missing.append(key)
        for start in range(0, len(missing), 8):
            self._start_dated(dates, missing[start : start + 8])

    def _start_dated(self, dates, keys: list[tuple[str, int]]) -> None:
        service = self.service
        self._dated_pending.update(keys)

        def job(progress, cancel):
            out = []
            for date, row in keys:
                if cancel is not None and cancel.cancelled:
                    break
                catalog = dates.get(date).catalog
                if row < len(catalog):
                    out.append((date, row, service.thumbnail(catalog, row).png))
            return out

        def done(out) -> None:
            for date, row, png in out:
                self._dated_pending.discard((date, row))
                if png and dates is self.c.session.dates:
                    self._dated[(date, row)] = png
                    while len(self._dated) > MAX_MEMORY:
                        self._dated.popitem(last=False)
                    self.dated_ready.emit(date, row, png)

        self.runner.start(
            "dated-thumbnails",  # its own kind: a prefetch of the top hits must not cancel it
            job,
            shown=False,
            thumbnails=True,
            latest_wins=False,
            on_done=done,
            on_error=lambda exc, tb: self._dated_pending.difference_update(keys),
            on_cancel=lambda: self._dated_pending.difference_update(keys),
        )

    def set_online(self, online: bool) -> None:
        self.online_wanted = bool(online)
        if self.service is not None:
            self.service.online = self.online_wanted

    def png(self, row: int) -> bytes | None:
        """A PNG already in memory (GUI thread)."""
        return self._memory.get(row)

    def want(self, rows: list[int]) -> None:
        """Ask for thumbnails of ``rows`` (visible first): memory hits come back at once, others from a job."""
        catalog, service = self.c.session.catalog, self.service
        if catalog is None or service is None:
            return
        missing = []
        for row in rows:
            row = int(row)
            if row in self._memory:
                self.thumbnail_ready.emit(row, self._memory[row], "ok")
            elif row not in self._pending and 0 <= row < len(catalog):
                missing.append(row)
        # One job per small batch keeps the pool busy on 4 threads without one job per row overhead.
        for start in range(0, len(missing), 8):
            self._start(missing[start : start + 8])

    def _start(self, rows: list[int]) -> None:
        catalog, service, gen = self.c.session.catalog, self.service, self._generation
        self._pending.update(rows)

        def job(progress, cancel):
            out = []
            for row in rows:
                if cancel is not None and cancel.cancelled:
                    break
                thumb = service.thumbnail(catalog, row)
                out.append((row, thumb.png, str(thumb.status)))
            return gen, out

        self.runner.start(
            "thumbnails",
            job,
            shown=False,
            thumbnails=True,
            latest_wins=False,
            on_done=self._done,
            on_error=lambda exc, tb: self._pending.difference_update(rows),
            on_cancel=lambda: self._pending.difference_update(rows),
        )

    def _done(self, outcome) -> None:
        gen, out = outcome
        if gen != self._generation:
            return
        if any(status == "blocked" for _row, _png, status in out):
            self._ask_blocked()
        for row, png, status in out:
            self._pending.discard(row)
            if not png:
                continue
            self._memory[row] = png
            self._memory.move_to_end(row)
            while len(self._memory) > MAX_MEMORY:
                self._memory.popitem(last=False)
            self.thumbnail_ready.emit(row, png, status)

    def _ask_blocked(self) -> None:
        """Ask once per site (for the open data) when thumbnails wait for the person's permission."""
        service = self.service
        for site, refusal in list(getattr(service, "blocked", {}).items()):
            if site in self._asked:
                continue
            self._asked.add(site)
            service.blocked.pop(site, None)
            self.c.ask_permission(refusal, retry=self.c.imagery.refresh_thumbnails)

    def prefetch(self, rows: list[int]) -> None:
        """Cache the top results' thumbnails as one job the status bar shows (progress, Cancel); the gallery
        asks for its visible tiles itself, and those come from the cache once this job made them."""
        catalog, service, gen = self.c.session.catalog, self.service, self._generation
        if catalog is None or service is None or not rows:
            return
        top = [int(r) for r in rows[:PREFETCH_TOP]]

        def job(progress, cancel):
            service.prefetch(catalog, top, progress=progress, cancel=cancel)
            return gen

        self.runner.start(
            "thumbnails",
            job,
            label="Thumbnails",
            thumbnails=True,
            on_done=lambda g: self.want(top) if g == self._generation else None,
            on_error=lambda exc, tb: None,  # a failed prefetch only means the tiles are cut when seen
        )

    # --- the map page's route (runs in the scheme handler's pool, not the GUI thread) ----------------
    def provide_row(self, row: int) -> bytes | None:
        """PNG for ``terrafind://app/thumb/<row>.png``: memory or disk cache, else a placeholder while a job
        cuts it (the popup asks again when it reopens)."""
        png = self._memory.get(row)
        if png is not None:
            return png
        catalog, service = self.c.session.catalog, self.service
        if catalog is None or service is None or not 0 <= row < len(catalog):
            return None
        cached = service.cached(catalog, row)
        if cached is not None and cached.png:
            return cached.png
        self._ask.emit([row])  # queued to the GUI thread, which owns the pending set
        return PLACEHOLDER_PNG

    def close(self) -> None:
        """Close the thumbnail service's cache (on exit)."""
        if self.service is not None:
            self.service.close()
