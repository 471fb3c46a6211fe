"""Reading MBTiles files (the imagery basemap): XYZ in, the TMS row flip inside.

Kept apart from :mod:`terrafind.core.imagery.basemap` (which writes them) because the GUI's URL scheme handler only
reads: one read-only SQLite connection per thread, a lookup is ~0.004 ms.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from terrafind.core.errors import ImageryError

__all__ = ["MBTiles"]


class MBTiles:
    """Read tiles of an MBTiles file (one read-only connection per thread; a lookup is ~0.02 ms)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ImageryError(f"The basemap {self.path} does not exist.")
        self._local = threading.local()
        self._meta: dict[str, str] | None = None

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            from terrafind.core.imagery.thumb_cache import read_only_connection

            con = read_only_connection(self.path, check_same_thread=True)
            self._local.con = con
        return con

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ (Leaflet's numbering) or None."""
        if z < 0 or not (0 <= x < 2**z and 0 <= y < 2**z):
            return None
        row = (
            self._con()
            .execute(
                "select tile_data from tiles where zoom_level = ? and tile_column = ? and tile_row = ?",
                (int(z), int(x), 2 ** int(z) - 1 - int(y)),
            )
            .fetchone()
        )
        return bytes(row[0]) if row else None

    def metadata(self) -> dict[str, Any]:
        """bounds (w, s, e, n lon/lat), minzoom, maxzoom, format, plus the other metadata as text."""
        if self._meta is None:
            self._meta = dict(self._con().execute("select name, value from metadata").fetchall())
        meta: dict[str, Any] = dict(self._meta)
        if "bounds" in meta:
            meta["bounds"] = tuple(float(v) for v in str(meta["bounds"]).split(","))
        for k in ("minzoom", "maxzoom"):
            if k in meta:
                meta[k] = int(meta[k])
        meta.setdefault("format", "png")
        return meta

    def __len__(self) -> int:
        return int(self._con().execute("select count(*) from tiles").fetchone()[0])

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None
