"""Writing the embedder's chips as GeoParquet in the Earth Index layout.

Columns: ``id`` (string), ``embedding`` (fixed_size_list<float32>[dim]), ``geometry`` (chip polygon, WKB,
lon/lat), ``source_url`` (the image file a thumbnail is cut from), ``date`` (acquisition date when the
image says so, else null), and, as the Clay v1 layout of the seeds names them
(:mod:`terrafind.core.read.v1`), ``source_model`` (the model's id and version) and ``source_creator``
(the Terrafind version that made the file). Footer keys: ``geo`` (GeoParquet 1.1.0, with the bbox of all chips) and ``emb``.
The file is written in a private temporary folder beside it and renamed into place when complete (fsync,
one rename: core.files), so a cancelled or failed run never leaves a half file where the user asked for
one, and no predictable temporary name can be a planted symlink.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer

import terrafind
from terrafind.core.embed.rcf import BlockGrid
from terrafind.core.files import commit, private_folder

__all__ = ["EmbeddingWriter", "ChipCorners", "image_date"]

ROW_GROUP = 16384
# Chips held in memory before spilling row groups to a temporary file (~130 MB at 256-d). Files up to
# this size are written once; larger ones are written to the temporary file and copied (see _finish).
SPILL_ROWS = 131072
# Dictionary encoding suits the repeated source_url but only wastes time on float vectors and unique ids.
WRITE_OPTIONS = {
    "compression": "zstd",
    "compression_level": 1,
    "use_dictionary": ["source_url", "date", "source_model", "source_creator"],
}

_DATE_TAGS = ("ACQUISITION_DATE", "ACQUISITIONDATETIME", "DATE_ACQUIRED", "DATETIME", "TIFFTAG_DATETIME")


def image_date(src) -> str | None:
    """The acquisition date an image declares in its tags (ISO ``YYYY-MM-DD``), or None."""
    tags = {k.upper(): v for k, v in src.tags().items()}
    for key in _DATE_TAGS:
        m = re.match(r"\s*(\d{4})[-:](\d{2})[-:](\d{2})", tags.get(key, ""))
        if m:
            try:
                return _dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
            except ValueError:
                continue
    return None


@lru_cache(maxsize=8)
def _to_lonlat(crs_wkt: str) -> Transformer:
    return Transformer.from_crs(crs_wkt, "EPSG:4326", always_xy=True)  # always_xy: Python speaks (lon, lat)


class ChipCorners:
    """Lon/lat of every chip corner of one raster, reprojected once.

    Chip corners lie on a lattice of ``block`` pixels (``gcd(chip, stride)``), so one transform of that
    lattice serves every chip: far cheaper than a transform call per chip row."""

    def __init__(self, src, grid: BlockGrid) -> None:
        self.grid = grid
        rows, cols = grid.chip_counts(src.height, src.width)
        g = grid.block
        py, px = np.mgrid[0 : grid.block_rows(src.height) + 1, 0 : grid.block_cols(src.width) + 1] * float(g)
        t = src.transform
        ex = t.a * px + t.b * py + t.c
        ny = t.d * px + t.e * py + t.f
        if src.crs.to_epsg() != 4326:
            ex, ny = _to_lonlat(src.crs.to_wkt()).transform(ex, ny)
        self.lon, self.lat = np.asarray(ex), np.asarray(ny)

    def polygons(self, row: int, cols: np.ndarray) -> np.ndarray:
        """Polygons of chips (row, cols), corners from the raster's own pixel grid."""
        g = self.grid
        c0 = np.asarray(cols) * g.per_stride
        c1 = c0 + g.per_chip
        r0 = row * g.per_stride
        r1 = r0 + g.per_chip
        # Counter-clockwise ring for a north-up raster: bottom-left, bottom-right, top-right, top-left.
        ys = np.array([r1, r1, r0, r0, r1])
        xs = np.stack([c0, c1, c1, c0, c0], axis=1)
        ring = np.stack([self.lon[ys[None, :], xs], self.lat[ys[None, :], xs]], axis=2)  # (n, 5, 2)
        return shapely.polygons(ring)


class EmbeddingWriter:
    """Collects chips and writes them in row groups; a context manager that commits on success."""

    def __init__(self, out: Path, dim: int, emb: dict) -> None:
        self.out = out
        self.dim = dim
        self.rows = 0
        self._bounds = [np.inf, np.inf, -np.inf, -np.inf]
        self._buf: list[tuple[list[str], np.ndarray, np.ndarray, str, str | None]] = []
        self._buffered = 0
        # Temporary files live in a private folder beside ``out`` (made in __enter__): unpredictable names
        # nobody can plant a symlink at (core.files).
        self._dir: Path | None = None
        self._tmp = out
        self._final_tmp = out
        self.schema = pa.schema(
            [
                ("id", pa.string()),
                ("embedding", pa.list_(pa.float32(), dim)),
                ("geometry", pa.binary()),
                ("source_url", pa.string()),
                ("date", pa.date32()),
                ("source_model", pa.string()),
                ("source_creator", pa.string()),
            ],
            metadata={b"emb": json.dumps(emb).encode()},
        )
        model = emb.get("model") or {}
        self.source_model = " ".join(str(model[k]) for k in ("id", "version") if model.get(k)) or "unknown"
        self.source_creator = f"Terrafind {terrafind.__version__}"
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> EmbeddingWriter:
        self._dir = private_folder(self.out)
        self._tmp = self._dir / "partial.parquet"
        self._final_tmp = self._dir / self.out.name
        return self

    def add(
        self, ids: list[str], vectors: np.ndarray, polygons: np.ndarray, source_url: str, date: str | None
    ) -> None:
        b = shapely.total_bounds(polygons)
        self._bounds = [
            min(self._bounds[0], b[0]),
            min(self._bounds[1], b[1]),
            max(self._bounds[2], b[2]),
            max(self._bounds[3], b[3]),
        ]
        self._buf.append((ids, vectors, polygons, source_url, date))
        self._buffered += len(ids)
        self.rows += len(ids)
        if self._buffered >= SPILL_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._buf:
            return
        if self._writer is None:
            self._writer = pq.ParquetWriter(str(self._tmp), self.schema, **WRITE_OPTIONS)
        self._writer.write_table(self._table(), row_group_size=ROW_GROUP)
        self._buf, self._buffered = [], 0

    def _table(self) -> pa.Table:
        ids = [i for part in self._buf for i in part[0]]
        vecs = np.concatenate([part[1] for part in self._buf]).astype(np.float32)
        polys = np.concatenate([part[2] for part in self._buf])
        urls = [part[3] for part in self._buf for _ in part[0]]
        dates = [_dt.date.fromisoformat(part[4]) if part[4] else None for part in self._buf for _ in part[0]]
        table = pa.table(
            {
                "id": pa.array(ids, pa.string()),
                "embedding": pa.FixedSizeListArray.from_arrays(
                    pa.array(vecs.reshape(-1), pa.float32()), self.dim
                ),
                "geometry": pa.array(shapely.to_wkb(polys), pa.binary()),
                "source_url": pa.array(urls, pa.string()),
                "date": pa.array(dates, pa.date32()),
                "source_model": pa.array([self.source_model] * len(ids), pa.string()),
                "source_creator": pa.array([self.source_creator] * len(ids), pa.string()),
            },
            schema=self.schema,
        )
        return table

    def _geo(self) -> dict:
        # No "crs" key: GeoParquet then means OGC:CRS84, i.e. lon/lat in that order, which is what we write.
        return {
            "version": "1.1.0",
            "primary_column": "geometry",
            "columns": {
                "geometry": {
                    "encoding": "WKB",
                    "geometry_types": ["Polygon"],
                    "bbox": [float(v) for v in self._bounds] if self.rows else [],
                }
            },
        }

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None and self.rows and self._writer is None:
                # Everything fits in memory: one write, straight into the final schema.
                table = self._table().replace_schema_metadata(self._final_metadata())
                pq.write_table(table, str(self._final_tmp), row_group_size=ROW_GROUP, **WRITE_OPTIONS)
                commit(self._final_tmp, self.out)
                return
            if exc_type is None:
                self._flush()
            if self._writer is not None:
                self._writer.close()
            if exc_type is None and self.rows:
                self._finish()
        finally:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)

    def _final_metadata(self) -> dict[bytes, bytes]:
        meta = dict(self.schema.metadata or {})
        meta[b"geo"] = json.dumps(self._geo()).encode()
        return meta

    def _finish(self) -> None:
        """Copy the row groups into the final file, whose schema now carries ``geo`` with the true bbox.

        Readers take ``geo`` from the Arrow schema stored in the footer, which is fixed when writing
        starts, before the bbox is known; re-writing row group by row group keeps memory bounded."""
        meta = self._final_metadata()
        schema = self.schema.with_metadata(meta)
        src = pq.ParquetFile(str(self._tmp))
        with pq.ParquetWriter(str(self._final_tmp), schema, **WRITE_OPTIONS) as w:
            for i in range(src.num_row_groups):
                w.write_table(src.read_row_group(i).replace_schema_metadata(meta), row_group_size=ROW_GROUP)
        src.close()
        commit(self._final_tmp, self.out)
