"""The map's imagery layer in the window: which local imagery the map shows under the chips.

A field pack or the demo brings its own MBTiles pyramid; a date of several may bring its own
(:mod:`terrafind.gui.dates_ui`); otherwise the imagery flow can make one from the data's own imagery
(``ImageryFlow.make_basemap``) and hands it back through ``basemap_ready``. Tiles are read in the scheme
handler (:meth:`MapView.set_imagery_basemap`), never fetched.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BasemapUi"]


class BasemapUi:
    def __init__(self, window: Any):
        self.w = window
        self.c = window.c
        self.made = False  # whether the layer shown was made by the imagery flow from the data's imagery
        self.c.imagery.basemap_ready.connect(self.show_made)

    def show_mbtiles(self, mbtiles: Any, bounds: Any = None, attribution: str = "") -> None:
        """Serve an MBTiles pyramid as the map's imagery layer."""
        from terrafind.core.imagery.basemap import MBTiles

        try:
            tiles = MBTiles(mbtiles)
            meta = tiles.metadata() or {}
        except Exception as exc:  # noqa: BLE001 - no basemap is not a reason to stop
            self.c.report_error(exc)
            return
        self.w.map_view.set_imagery_basemap(
            tiles.tile,
            max_zoom=int(meta.get("maxzoom", 16)),
            bounds=tuple(bounds) if bounds else None,
            attribution=attribution or str(meta.get("attribution", "")),
        )

    def data_opened(self, session: Any) -> None:
        """New data: a pack's own basemap, or none until the demo or the imagery flow brings one."""
        self.made = False
        pack, demo = session.pack, self.w.demo
        if pack is not None and pack.mbtiles_path is not None:
            self.show_mbtiles(pack.mbtiles_path, pack.region.bbox if pack.region else None)
        elif demo is None or str(demo.embeddings) not in session.sources:
            self.w.map_view.set_imagery_basemap(None)

    def decide(self) -> None:
        """The data's imagery is settled: keep a basemap that came with the data, else have one made."""
        if self.w.dates_ui.show_date_basemap():  # a date that brings its own basemap (a demo, a dated pack)
            self.c.runner.cancel("basemap")
            return
        pack = self.c.session.pack
        if self.w.demo is not None or (pack is not None and pack.mbtiles_path is not None):
            self.c.runner.cancel("basemap")  # they bring their own basemap
            return
        self.c.imagery.make_basemap()

    def show_made(self, path: str, bounds: Any, attribution: str) -> None:
        """The imagery flow made a basemap (or none: ``path`` empty, a made one is taken down)."""
        if not path:
            if self.made:
                self.w.map_view.set_imagery_basemap(None)
                self.made = False
            return
        self.show_mbtiles(path, bounds, attribution)
        self.made = True
