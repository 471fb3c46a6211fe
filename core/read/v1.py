"""The Clay v1 schema from the seeds: what each chip says about where its vector came from.

Beside the embedding, a file in this layout carries, per chip (or once in its footer):

``Universally Class Identifier``  a class the file's maker gave the chip (land cover, a survey code...);
``source_model``                  the model that made the vector;
``loss``                          how badly the model reconstructed the chip: clouds and plain water
                                  reconstruct with low loss, unusual places with high loss;
``loss_metric``                   what ``loss`` measures (e.g. "MSE", "L1");
``source_creator``                who made the file.

Column names are matched in any reasonable spelling (case, spaces, dashes and underscores ignored:
``Universally Class Identifier``, ``universally_class_identifier``, ``UCI``, ``class_identifier``...).
The reader keeps these columns as attributes like any other; this module finds them, sums them up for
``terrafind-cli info`` and the Data panel (:func:`summarize`), and hands out the loss per chip
(:func:`chip_loss`) for colouring, filtering and ranking unusual places.
"""

from __future__ import annotations

import re
import threading
import weakref
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "FIELDS",
    "V1Summary",
    "find_columns",
    "summarize",
    "summarize_table",
    "summarize_source",
    "chip_loss",
    "loss_values",
    "LOSS_BINS",
]

# field -> the normalised names (lower case, letters and digits only) that hold it, best first
FIELDS: dict[str, tuple[str, ...]] = {
    "class_id": (
        "universallyclassidentifier",
        "universalclassidentifier",
        "universallyclassid",
        "universalclassid",
        "uci",
        "classidentifier",
    ),
    "source_model": ("sourcemodel", "sourcemodelname"),
    "loss": ("loss", "reconstructionloss", "reconloss", "chiploss"),
    "loss_metric": ("lossmetric", "lossfunction", "losstype"),
    "source_creator": ("sourcecreator", "creator"),
}
LABELS = {
    "class_id": "Universally Class Identifier",
    "source_model": "source model",
    "loss": "loss",
    "loss_metric": "loss metric",
    "source_creator": "source creator",
}
LOSS_BINS = 24  # the loss histogram of the Data panel and info --json
_TOP_VALUES = 5


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def find_columns(names: list[str]) -> dict[str, str]:
    """{field: column name} of the v1 fields among ``names`` (the first spelling found wins)."""
    by_norm: dict[str, str] = {}
    for name in names:
        by_norm.setdefault(_norm(name), name)
    out = {}
    for fld, spellings in FIELDS.items():
        for spelling in spellings:
            if spelling in by_norm:
                out[fld] = by_norm[spelling]
                break
    return out


def _footer_values(meta: dict[str, Any] | None) -> dict[str, str]:
    """v1 fields stated once for the whole file in a footer dict (top level or under ``model``)."""
    if not isinstance(meta, dict):
        return {}
    found: dict[str, str] = {}
    inner = meta.get("model")
    scopes: list[dict[str, Any]] = [meta, inner] if isinstance(inner, dict) else [meta]
    for scope in scopes:
        cols = find_columns([str(k) for k in scope])
        for fld, key in cols.items():
            value = scope.get(key)
            if fld in ("source_model", "loss_metric", "source_creator") and isinstance(
                value, (str, int, float)
            ):
                found.setdefault(fld, str(value))
    return found


@dataclass
class V1Summary:
    """The v1 fields of some data, summed up: which columns hold them, the distinct values of the text
    fields (most common first, with counts), and the loss distribution."""

    columns: dict[str, str] = field(default_factory=dict)  # field -> column
    values: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # text field -> [(value, n)]
    classes: int | None = None  # distinct class identifiers
    loss: dict[str, float] | None = None  # count, missing, min, p10, median, p90, max, mean
    loss_hist: tuple[list[int], list[float]] | None = None  # counts, edges

    @property
    def present(self) -> bool:
        return bool(self.columns or self.values)

    def first(self, fld: str) -> str | None:
        vals = self.values.get(fld) or []
        return vals[0][0] if vals else None

    @property
    def metric(self) -> str:
        """What the loss measures, as the data says ("loss" when it does not)."""
        return self.first("loss_metric") or "loss"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[tuple[str, str]]:
        """(name, text) rows for people: the info command and the Data panel."""
        rows: list[tuple[str, str]] = []
        for fld, name in (("source_model", "Made with"), ("source_creator", "Made by")):
            vals = self.values.get(fld)
            if vals:
                rows.append((name, _values_text(vals)))
        if self.classes is not None:
            common = self.values.get("class_id") or []
            shown = ", ".join(f"{v} ({n:,})" for v, n in common[:3])
            rows.append(("Classes", f"{self.classes:,} ({self.columns.get('class_id')}): {shown}"))
        if self.loss is not None:
            s = self.loss
            missing = f"; {int(s['missing']):,} chips without" if s.get("missing") else ""
            rows.append(
                (
                    "Loss",
                    f"{self.metric}: median {s['median']:.4g}, 10-90 % {s['p10']:.4g} to {s['p90']:.4g}, "
                    f"range {s['min']:.4g} to {s['max']:.4g}{missing}",
                )
            )
        return rows


def _values_text(vals: list[tuple[str, int]]) -> str:
    if len(vals) == 1:
        return vals[0][0]
    more = f" and {len(vals) - 3} more" if len(vals) > 3 else ""
    return ", ".join(f"{v} ({n:,})" for v, n in vals[:3]) + more


def _text_values(col: pa.ChunkedArray | pa.Array) -> list[tuple[str, int]]:
    counts = pc.value_counts(col.cast(pa.string()))
    pairs = [
        (str(v), int(n))
        for v, n in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True)
        if v is not None and str(v) != ""
    ]
    return sorted(pairs, key=lambda p: (-p[1], p[0]))


def loss_values(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A loss column as float64 (NaN where missing, not a number or infinite)."""
    try:
        arr = col.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return np.full(len(col), np.nan)
    values = np.array(arr.to_numpy(zero_copy_only=False), dtype=np.float64)  # a copy: Arrow's is read-only
    values[~np.isfinite(values)] = np.nan
    return values


def _loss_summary(values: np.ndarray) -> tuple[dict[str, float], tuple[list[int], list[float]]] | None:
    ok = values[np.isfinite(values)]
    if not len(ok):
        return None
    p10, p50, p90 = np.percentile(ok, [10, 50, 90])
    stats = {
        "count": float(len(ok)),
        "missing": float(len(values) - len(ok)),
        "min": float(ok.min()),
        "p10": float(p10),
        "median": float(p50),
        "p90": float(p90),
        "max": float(ok.max()),
        "mean": float(ok.mean()),
    }
    lo, hi = float(ok.min()), float(ok.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(ok, bins=LOSS_BINS, range=(lo, hi))
    return stats, ([int(c) for c in counts], [float(e) for e in edges])


def summarize_table(table: pa.Table, footer: dict[str, Any] | None = None) -> V1Summary:
    """The v1 summary of a table holding (at least) the v1 columns; ``footer`` may state file-wide values."""
    cols = find_columns(table.column_names)
    out = V1Summary(columns=cols)
    for fld in ("source_model", "loss_metric", "source_creator", "class_id"):
        if fld in cols:
            vals = _text_values(table.column(cols[fld]))
            out.values[fld] = vals[: _TOP_VALUES * 20] if fld != "class_id" else vals[:_TOP_VALUES]
            if fld == "class_id":
                out.classes = len(vals)
    for fld, value in _footer_values(footer).items():
        out.values.setdefault(fld, [(value, table.num_rows)])
    if "loss" in cols:
        summary = _loss_summary(loss_values(table.column(cols["loss"])))
        if summary is not None:
            out.loss, out.loss_hist = summary
    return out


def summarize_source(src: Any) -> V1Summary | None:
    """The v1 summary of one file (a :class:`terrafind.core.read.sources.ParquetSource`), reading only its
    v1 columns; None when it has none. For ``terrafind-cli info``, which otherwise reads footers only."""
    cols = find_columns(list(src.schema.names))
    footer = _footer_values(src.layout.model)
    if not cols and not footer:
        return None
    if not cols:
        return summarize_table(pa.table({"_": pa.nulls(int(src.rows_total))}).select([]), src.layout.model)
    try:
        with src.reader() as reader:
            table = reader.read(columns=list(dict.fromkeys(cols.values())))
    except (pa.ArrowException, OSError):  # a damaged file: say which columns are there, not what they hold
        return V1Summary(columns=cols)
    return summarize_table(table, src.layout.model)


# catalog -> (summary, loss per chip); a catalog never changes, so neither do these
_CACHE: weakref.WeakKeyDictionary[Any, tuple[V1Summary, np.ndarray | None]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _of_catalog(catalog: Any) -> tuple[V1Summary, np.ndarray | None]:
    with _LOCK:
        got = _CACHE.get(catalog)
    if got is None:
        attrs: pa.Table = catalog.attributes
        summary = summarize_table(attrs, catalog.model)
        col = summary.columns.get("loss")
        loss = loss_values(attrs.column(col)) if col else None
        if loss is not None and not np.isfinite(loss).any():
            loss = None
        got = (summary, loss)
        with _LOCK:
            _CACHE[catalog] = got
    return got


def summarize(catalog: Any) -> V1Summary:
    """The v1 summary of an open catalog (computed once per catalog)."""
    return _of_catalog(catalog)[0]


def chip_loss(catalog: Any) -> np.ndarray | None:
    """The loss of every chip of ``catalog`` (float64, NaN where a chip has none), or None when the data
    has no loss column."""
    return _of_catalog(catalog)[1]


# The map's loss classes: shares of the region with a loss at least this high, highest first, in the
# colours of the map's other scales (resources/web/chips.js): bright = unusual (high loss), grey = the
# lowest tenth (clouds, plain water).
LOSS_CLASSES = ((0.01, "#fde725"), (0.1, "#f89540"), (0.5, "#cc4778"), (0.9, "#7e03a8"), (1.0, "#9a9a9a"))


def loss_breaks(catalog: Any) -> np.ndarray | None:
    """The loss at which each of :data:`LOSS_CLASSES` begins (descending), from the region's own losses."""
    loss = chip_loss(catalog)
    if loss is None:
        return None
    ok = loss[np.isfinite(loss)]
    shares = [share for share, _ in LOSS_CLASSES[:-1]]
    return np.quantile(ok, [1.0 - s for s in shares]) if len(ok) else None


def loss_legend(catalog: Any) -> dict[str, Any] | None:
    """The map legend of the loss classes: title, metric and, per class, a label and a colour."""
    breaks = loss_breaks(catalog)
    if breaks is None:
        return None
    metric = summarize(catalog).metric
    names = ["highest 1 %", "highest 10 %", "upper half", "lower half", "lowest 10 %"]
    classes = []
    for i, (_share, colour) in enumerate(LOSS_CLASSES):
        if i == 0:
            text = f"{breaks[0]:.3g} or more"
        elif i < len(breaks):
            text = f"{breaks[i]:.3g} - {breaks[i - 1]:.3g}"
        else:
            text = f"below {breaks[-1]:.3g}"
        classes.append({"label": f"{text} ({names[i]})", "colour": colour})
    return {"title": f"Loss ({metric}) in this region", "metric": metric, "classes": classes}


def loss_class(values: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """The class (index into :data:`LOSS_CLASSES`) of each loss; -1 where a chip has none."""
    v = np.asarray(values, np.float64)
    cls = np.searchsorted(-np.asarray(breaks, np.float64), -v, side="right")  # breaks descend
    return np.where(np.isfinite(v), cls, -1).astype(np.int64)
