"""The plain data that moves between Terrafind's parts (and across the core/gui seam).

Coordinates are always (lon, lat) in EPSG:4326 on the Python side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Region", "SourceFile", "Examples", "SearchResult", "MAX_REGION_VERTICES"]

MAX_REGION_VERTICES = 100_000  # a drawn or imported region outline; more is not an outline but an attack


@dataclass(frozen=True)
class Region:
    """Where to load chips: a lon/lat bbox, or a polygon (WKT, lon/lat) with its bbox. None = everything."""

    bbox: tuple[float, float, float, float]
    polygon_wkt: str | None = None

    @classmethod
    def from_bbox(cls, west: float, south: float, east: float, north: float) -> Region:
        if not (west < east and south < north):
            from terrafind.core.errors import InputError

            raise InputError(
                f"The region {west}, {south}, {east}, {north} is empty: give west, south, east, north "
                "with west < east and south < north."
            )
        return cls((float(west), float(south), float(east), float(north)))

    @classmethod
    def from_wkt(cls, wkt: str) -> Region:
        import shapely

        geom = shapely.from_wkt(wkt)
        return cls(tuple(float(v) for v in geom.bounds), wkt)  # type: ignore[arg-type]

    def geometry(self) -> Any:
        """The region as a shapely geometry."""
        import shapely

        if self.polygon_wkt:
            return shapely.from_wkt(self.polygon_wkt)
        return shapely.box(*self.bbox)

    def to_dict(self) -> dict[str, Any]:
        return {"bbox": list(self.bbox), "polygon_wkt": self.polygon_wkt}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Region:
        """A region saved in a project or a pack; anything that is not a plain lon/lat box (and polygon of
        at most :data:`MAX_REGION_VERTICES` vertices) raises InputError."""
        import math

        from terrafind.core.errors import InputError

        try:
            box = tuple(float(v) for v in data["bbox"])
            wkt = data.get("polygon_wkt")
        except (KeyError, TypeError, ValueError):
            raise InputError(
                "The saved region is damaged: it is not a west, south, east, north box."
            ) from None
        if len(box) != 4 or not all(math.isfinite(v) for v in box):
            raise InputError("The saved region is damaged: it is not a west, south, east, north box.")
        w, s, e, n = box
        if not (-180.5 <= w < e <= 180.5 and -90.5 <= s < n <= 90.5):
            raise InputError(f"The saved region {w}, {s}, {e}, {n} is not a longitude/latitude box.")
        if wkt is not None:
            if not isinstance(wkt, str) or len(wkt) > 2_000_000:
                raise InputError("The saved region's outline is damaged or far too detailed.")
            import shapely

            try:
                geom = shapely.from_wkt(wkt)
            except shapely.errors.GEOSException:
                raise InputError("The saved region's outline is damaged.") from None
            if (
                geom.geom_type not in ("Polygon", "MultiPolygon")
                or shapely.get_num_coordinates(geom) > MAX_REGION_VERTICES
            ):
                raise InputError("The saved region's outline is not a polygon of reasonable detail.")
            if not shapely.is_valid(geom) or not all(math.isfinite(v) for v in geom.bounds):
                raise InputError("The saved region's outline crosses itself or has broken points.")
        return cls(box, wkt)


@dataclass(frozen=True)
class SourceFile:
    """One input file and what identifies its content (for cache fingerprints and provenance)."""

    path: str
    size: int
    mtime_ns: int
    footer_hash: str
    adapter: str
    rows_total: int
    rows_read: int


@dataclass
class Examples:
    """What the user showed: chips by row (positives, negatives) and/or raw vectors."""

    positives: list[int] = field(default_factory=list)
    negatives: list[int] = field(default_factory=list)
    positive_vectors: np.ndarray | None = None  # (p, d) float32, any length (normalised by search)
    negative_vectors: np.ndarray | None = None

    def is_empty(self) -> bool:
        pv = self.positive_vectors
        return not self.positives and (pv is None or len(pv) == 0)


@dataclass
class SearchResult:
    """Ranked hits of one search. ``rows`` index the catalog; ``matched`` indexes the positives
    (rows first, then raw vectors) that each hit matched best, or -1 for mode ``mean``."""

    rows: np.ndarray  # (n,) int64, best first
    scores: np.ndarray  # (n,) float32 in [-1, 1]
    matched: np.ndarray  # (n,) int64
    mode: str
    k: int
    threshold: float | None
    positives: tuple[int, ...]
    negatives: tuple[int, ...]
    method: str  # "exact" or "index"
    elapsed_ms: float
    probabilities: np.ndarray | None = None  # (n,) float32 when a classifier re-ranked the hits
    # Per-hit values of comparisons across dates, one array of n per name (terrafind.core.change):
    # e.g. "date_before", "id_before", "row_before", "score_before"; shown in popups and exported.
    extra: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(len(self.rows))
