"""A region's part as a store of its own, cut from the whole region's store instead of read again.

Drawing a region on the map reopens the data limited to it. Read from the GeoParquet files, that is the
whole read again when the files have no bounding-box statistics to skip row groups by (Earth Index files
have none): two minutes at 10 M chips. When the whole region's store is there, the part's store is cut
from it (:func:`derive_store`): the chips whose footprint box meets the region (through the grid), their
codes, per-row floats, boxes, ids and attributes copied as they are (int8 codes are never decoded and
coded again), then the mean, the distances to it and the grid of the part. Seconds, and the same chips as
a read would keep (footprints are the boxes in both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.store.writer import StoreWriter
from terrafind.core.types import Region

__all__ = ["derive_store", "rows_in_region"]

_STEP = 65_536


def rows_in_region(store: Any, region: Region) -> np.ndarray:
    """Rows (sorted) of ``store`` whose footprint box meets ``region`` (box or polygon)."""
    w, s, e, n = region.bbox
    rows = store.grid.overlapping(w, s, e, n)
    if region.polygon_wkt and len(rows):
        import shapely

        geom = region.geometry()
        shapely.prepare(geom)
        b = np.asarray(store.boxes[rows])
        rows = rows[shapely.intersects(geom, shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))]
    return rows


def derive_store(
    whole: Any,
    region: Region,
    final: Path,
    meta: dict[str, Any],
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write the store of ``region``'s chips of ``whole`` (a :class:`terrafind.core.store.open.RegionStore`)
    into ``final``; ``meta`` as for :meth:`StoreWriter.finish`. Returns the final folder."""
    from terrafind.core.store.codec import Int8Codec

    rows = rows_in_region(whole, region)
    d = int(whole.meta["dim"])
    attrs_all = whole.attributes
    writer = StoreWriter(final, d, whole.code, attrs_all.schema)
    if whole.code == "i8":
        writer.codec = Int8Codec.from_json(whole.meta["codec"], d)
    try:
        for start in range(0, len(rows), _STEP):
            check(cancel)
            part = rows[start : start + _STEP]
            take = pa.array(part, pa.int64())
            ids = whole.ids.arrow.take(take).combine_chunks()
            attrs = attrs_all.take(take) if attrs_all.num_columns else pa.table({})
            if whole.code == "i8":
                vecs = whole.vectors
                writer.add_codes(
                    np.asarray(vecs.codes[part]), np.asarray(vecs.inv[part]), whole.norms[part],
                    whole.boxes[part], ids, attrs,
                )  # fmt: skip
            else:
                writer.add(
                    np.asarray(whole.vectors[part]),
                    whole.norms[part],
                    whole.boxes[part],
                    ids,
                    attrs,
                    unit=True,
                )
            report(
                progress, min(len(rows), start + _STEP), len(rows), "Cutting the region from the app cache"
            )
        whole.release()
        return writer.finish(meta, list(meta.pop("problems", [])))
    except BaseException:
        writer.abort()
        raise
