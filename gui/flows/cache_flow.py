"""The app cache in the window: how much the opened regions keep on disk, and clearing it.

Every region opened keeps its store (vectors, chips, search index) in the app cache
(:mod:`terrafind.core.store.layout`). The Data panel shows the open region's share and the total
(``changed``); File > Clear app cache... and the panel's Clear... delete every region's but the open one's
(its files are in use), in a job.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from terrafind.gui.workers import TaskRunner

__all__ = ["CacheFlow"]


class CacheFlow(QObject):
    changed = Signal(
        dict
    )  # {"region": bytes of the open region's store or None, "total": bytes, "regions": n}

    def __init__(self, controller, runner: TaskRunner):
        super().__init__(controller)
        self.c = controller
        self.runner = runner

    def info(self) -> dict[str, Any]:
        """The open region's bytes, all regions' bytes and how many regions are cached."""
        from terrafind.core.store.layout import list_stores

        stores = list_stores()
        catalog = self.c.session.catalog
        mine = catalog.cache_info() if catalog is not None else None
        return {
            "region": mine["bytes"] if mine else None,
            "total": sum(s.size for s in stores),
            "regions": len(stores),
        }

    def refresh(self) -> None:
        self.changed.emit(self.info())

    def clear(self) -> None:
        """Delete the app cache of every region but the open one, in a job."""
        from terrafind.core.store.layout import clear_stores

        catalog = self.c.session.catalog
        mine = catalog.cache_info() if catalog is not None else None
        keep = {mine["key"]} if mine else set()

        def done(freed: int) -> None:
            from terrafind.core.units import human_bytes

            self.c.say(
                f"Cleared {human_bytes(freed)} of app cache; opening those regions again reads them anew."
            )
            self.refresh()

        self.runner.start(
            "cache",
            lambda progress, cancel: clear_stores(keep=keep),
            label="Clearing the app cache",
            on_done=done,
            on_error=self.c.report_error,
        )
