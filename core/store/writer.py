"""Writing a region store while a region is read for the first time: one pass, plain sequential writes.

The reader hands every batch of kept chips to :meth:`StoreWriter.add` (unit vectors, their lengths,
footprint boxes, ids, attributes); nothing accumulates in memory but the first rows of an int8 store until
its ranges are fitted (:data:`terrafind.core.store.codec.FIT_ROWS`). :meth:`StoreWriter.finish` adds what
needs every row: the mean vector and each row's distance to it (one scan of the file just written, still
in the page cache), the spatial grid, unique ids, and ``meta.json`` last, so a store without it is never
used. The folder is written under a private name and renamed into place when complete.

Files are written with ``write`` calls, not through a mapping: pages written that way are the page cache's,
not this process's memory (a mapping's dirty pages would count against the open's memory).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from terrafind.core.files import fsync_path
from terrafind.core.read.vectors import unit_rows
from terrafind.core.store import layout as L
from terrafind.core.store.codec import FIT_ROWS, Int8Codec
from terrafind.core.store.grid import ChipGrid, build_grid

__all__ = ["StoreWriter", "Coded", "F32_MAX_ROWS", "choose_code"]

# Up to this many rows a store keeps float32 vectors (exact, 1.5 KB per 384-d chip: 0.4 GB at 250k); above,
# int8 codes (a quarter of that, recall@100 0.99 against float32: docs/performance.md).
F32_MAX_ROWS = 250_000
_SCAN_ROWS = 1 << 16


def choose_code(capacity: int) -> str:
    """ "f32" for regions of up to :data:`F32_MAX_ROWS` chips (as read: the planned row count), else "i8"."""
    return "f32" if capacity <= F32_MAX_ROWS else "i8"


def _columns(table: pa.Table, schema: pa.Schema) -> list[Any]:
    """The columns of ``schema`` from ``table`` in its order and types (missing ones as nulls)."""
    cols = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            if pa.types.is_dictionary(col.type):
                col = col.cast(col.type.value_type)
            cols.append(col.cast(field.type) if col.type != field.type else col)
        else:
            cols.append(pa.nulls(len(table) if table.num_columns else 0, field.type))
    return cols


def _put(fh: BinaryIO, values: np.ndarray, dtype: Any) -> None:
    """Write an array's bytes without the copy tobytes() makes."""
    fh.write(np.ascontiguousarray(values, dtype).data.cast("B"))


@dataclass
class Coded:
    """A batch ready to write: vectors as stored (int8 codes or float32 unit rows), 1/|decoded| (int8),
    lengths as read, boxes, ids, attributes, the sum of its unit rows and its clipped count (-1: not
    counted)."""

    vectors: np.ndarray
    inv: np.ndarray | None
    norms: np.ndarray
    boxes: np.ndarray
    ids: pa.Array
    attrs: pa.Table
    unit_sum: np.ndarray
    clipped: int


class StoreWriter:
    """Fill a new store folder batch by batch; :meth:`finish` moves it into place (see module docstring)."""

    def __init__(self, final: Path, dim: int, code: str, attributes: pa.Schema) -> None:
        self.final = Path(final)
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.", dir=self.final.parent))
        self.dim, self.code = int(dim), code
        self.codec: Int8Codec | None = None
        self.n = 0
        self.clipped = 0  # estimated from one batch in 8
        self._batches = 0
        self.sum = np.zeros(dim, np.float64)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array, pa.Table]] = []
        self._pending_rows = 0
        self._attr_schema = pa.schema(
            [
                pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                for f in attributes
            ]
        )
        self._files: dict[str, BinaryIO] = {
            name: open(self.folder / name, "wb")  # noqa: SIM115 - closed in finish/abort
            for name in ([L.VECTORS, L.NORM, "boxes.f64"] + ([L.INV] if code == "i8" else []))
        }
        schema = pa.schema([pa.field("id", pa.string()), *self._attr_schema])
        self._chips_schema = schema
        self._chips_sink = pa.OSFile(str(self.folder / L.CHIPS), "wb")
        self._chips = pa.ipc.new_file(self._chips_sink, schema)

    # --- batches ---------------------------------------------------------------------------------------
    def add(
        self,
        rows: np.ndarray,
        norms: np.ndarray,
        boxes: np.ndarray,
        ids: pa.Array,
        attrs: pa.Table,
        *,
        unit: bool = False,
    ) -> None:
        """Append kept chips: their vectors (k, d) as read (``unit``: already of unit length), their lengths
        as read (k,), boxes (k, 4), ids, attributes. Unit rows are made only where they are stored."""
        if len(rows) == 0:
            return
        coded = self.code_batch(
            rows, norms, boxes, ids, attrs, unit=unit, count_clipped=self._batches % 8 == 0
        )
        if coded is not None:
            self.write_coded(coded)
            return
        u = np.array(rows, np.float32) if unit else unit_rows(rows, norms)
        self._pending.append((u, norms, boxes, ids, attrs))
        self._pending_rows += len(u)
        if self._pending_rows >= FIT_ROWS:
            self._fit_and_flush()

    def _fit_and_flush(self) -> None:
        sample = np.concatenate([p[0] for p in self._pending])
        self.codec = Int8Codec.fit(sample[:FIT_ROWS])
        pending, self._pending, self._pending_rows = self._pending, [], 0
        for u, norms, boxes, ids, attrs in pending:
            coded = self.code_batch(
                u, norms, boxes, ids, attrs, unit=True, count_clipped=self._batches % 8 == 0
            )
            assert coded is not None
            self.write_coded(coded)

    @property
    def ready(self) -> bool:
        """True once batches can be coded on any thread (:meth:`code_batch`): the int8 ranges are fitted."""
        return self.code != "i8" or self.codec is not None

    def add_codes(
        self,
        codes: np.ndarray,
        inv: np.ndarray,
        norms: np.ndarray,
        boxes: np.ndarray,
        ids: pa.Array,
        attrs: pa.Table,
    ) -> None:
        """Append chips already coded with this writer's codec (rows cut from another store of it): the
        codes are copied as they are, never decoded and coded again."""
        if len(codes) == 0:
            return
        assert self.codec is not None and self.code == "i8"
        unit = self.codec.decode(codes) * np.asarray(inv, np.float32)[:, None]
        self.write_coded(
            Coded(codes, inv, norms, boxes, ids, attrs, np.ones(len(codes), np.float32) @ unit, 0)
        )

    def code_batch(
        self,
        rows: np.ndarray,
        norms: np.ndarray,
        boxes: np.ndarray,
        ids: pa.Array,
        attrs: pa.Table,
        *,
        unit: bool = False,
        count_clipped: bool = True,
    ) -> Coded | None:
        """The batch ready to write (the heavy arithmetic; safe on any thread once :attr:`ready`), or None
        while the int8 ranges are not fitted yet (then :meth:`add` it)."""
        if not self.ready:
            return None
        factor = None if unit else (1.0 / np.asarray(norms, np.float64)).astype(np.float32)
        # the sum of unit rows (for mu) as one matrix-vector product
        weights = np.ones(len(rows), np.float32) if factor is None else factor
        unit_sum = weights @ np.asarray(rows, np.float32)
        if self.code == "i8":
            assert self.codec is not None
            codes, inv, clipped = self.codec.encode(rows, factor, count_clipped=count_clipped)
            return Coded(codes, inv, norms, boxes, ids, attrs, unit_sum, clipped if count_clipped else -1)
        vectors = np.asarray(rows, np.float32) if factor is None else unit_rows(rows, norms)
        return Coded(vectors, None, norms, boxes, ids, attrs, unit_sum, 0)

    def write_coded(self, c: Coded) -> None:
        """Append a coded batch (in file order: one thread writes)."""
        f = self._files
        self.sum += np.asarray(c.unit_sum, np.float64)
        if c.clipped >= 0:  # counted on one batch in 8 (two more passes): an estimate is enough
            self.clipped += c.clipped * 8
        _put(f[L.VECTORS], c.vectors, np.int8 if self.code == "i8" else np.float32)
        if c.inv is not None:
            _put(f[L.INV], c.inv, np.float32)
        _put(f[L.NORM], c.norms, np.float32)
        _put(f["boxes.f64"], c.boxes, np.float64)
        cols = [c.ids.cast(pa.string()), *_columns(c.attrs, self._attr_schema)]
        table = pa.Table.from_arrays(cols, schema=self._chips_schema)
        for batch in table.to_batches():
            self._chips.write_batch(batch)
        self.n += len(c.vectors)
        self._batches += 1

    # --- the end ---------------------------------------------------------------------------------------
    def finish(self, meta: dict[str, Any], problems: list[str]) -> Path:
        """Complete the store (mean, distances to it, grid, unique ids, meta.json) and move it into place.
        ``problems`` gets a sentence when ids had to be renamed. Returns the final folder."""
        if self._pending:
            self._fit_and_flush()
        for fh in self._files.values():
            fh.close()
        self._chips.close()
        self._chips_sink.close()
        mu = (self.sum / max(1, self.n)).astype(np.float32)
        self._centred_norms(mu)
        boxes = (
            np.memmap(self.folder / "boxes.f64", np.float64, "r", shape=(self.n, 4))
            if self.n
            else np.zeros((0, 4))
        )
        params, keys, rows = build_grid(boxes)
        np.save(self.folder / L.GRID_KEYS, keys)
        np.save(self.folder / L.GRID_ROWS, rows)
        grid = ChipGrid(boxes, params, keys, rows)
        bounds, stride = (list(grid.bounds()), list(grid.stride())) if self.n else (None, [0.0, 0.0])
        del boxes, keys, rows, grid
        _unique_ids(self.folder / L.CHIPS, problems)
        meta = dict(meta)
        meta.update(
            format=L.STORE_FORMAT,
            code=self.code,
            rows=self.n,
            dim=self.dim,
            codec=self.codec.to_json() if self.codec is not None else None,
            clipped=self.clipped,
            mu=mu.tolist(),
            grid=params.to_json(),
            bounds=bounds,  # measured once here: the window asks for them on the GUI thread
            stride=stride,
            problems=list(problems),
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        meta["sizes"] = {p.name: p.stat().st_size for p in self.folder.iterdir() if p.is_file()}
        for p in self.folder.iterdir():
            fsync_path(p)
        (self.folder / L.META).write_text(json.dumps(meta), encoding="utf-8")
        fsync_path(self.folder / L.META)
        return self._commit()

    def _centred_norms(self, mu: np.ndarray) -> None:
        """|unit row - mu| of every row: 1 - 2 <x, mu> + |mu|^2 with <x, mu> from one scan of the codes.

        Read with plain reads into one buffer, not through a mapping: mapped pages would count as this
        process's memory (3.8 GB at 10 M chips) until unmapped."""
        dtype = np.dtype(np.int8 if self.code == "i8" else np.float32)
        mm = float(mu @ mu)
        raw = np.empty((_SCAN_ROWS, self.dim), dtype)
        buf = np.empty((_SCAN_ROWS, self.dim), np.float32)
        inv = np.empty(_SCAN_ROWS, np.float32)
        w, const = self.codec.fold(mu) if self.codec is not None else (None, None)
        with open(self.folder / L.CNORM, "wb") as out, open(self.folder / L.VECTORS, "rb") as vf:
            invf = open(self.folder / L.INV, "rb") if self.code == "i8" else None  # noqa: SIM115
            try:
                for start in range(0, self.n, _SCAN_ROWS):
                    rows = min(self.n, start + _SCAN_ROWS) - start
                    vf.readinto(raw[:rows].data.cast("B"))
                    if invf is not None and w is not None and const is not None:
                        invf.readinto(inv[:rows].data.cast("B"))
                        np.copyto(buf[:rows], raw[:rows], casting="unsafe")
                        dot = (buf[:rows] @ w[:, 0] + const[0]) * inv[:rows]
                    else:
                        dot = raw[:rows] @ mu
                    out.write(np.sqrt(np.maximum(1.0 - 2.0 * dot + mm, 0.0)).astype(np.float32).tobytes())
            finally:
                if invf is not None:
                    invf.close()

    def _commit(self) -> Path:
        try:
            os.replace(self.folder, self.final)
        except OSError:  # another process finished the same store first: use theirs
            shutil.rmtree(self.folder, ignore_errors=True)
        fsync_path(self.final.parent)
        return self.final

    def abort(self) -> None:
        """Drop everything written so far (cancelled or failed open)."""
        for fh in self._files.values():
            fh.close()
        try:
            self._chips.close()
        except (pa.ArrowException, OSError):
            pass
        self._chips_sink.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _unique_ids(path: Path, problems: list[str]) -> None:
    """Rename repeated ids "<id>#2", "<id>#3"... in the chips file (rewritten only when there are any)."""
    from terrafind.core.read.collect import unique_ids

    with pa.memory_map(str(path)) as source:
        table = pa.ipc.open_file(source).read_all()
        ids = table.column("id")
        if len(ids) == 0 or pc.count_distinct(ids).as_py() == len(ids):
            return
        fixed = unique_ids(ids.combine_chunks(), problems)
        table = table.set_column(0, "id", pa.array(fixed.tolist(), pa.string()))
    tmp = path.with_name(path.name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    os.replace(tmp, path)
