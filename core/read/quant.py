"""Quantized embeddings: integers that stand for values, read back as the values (de-quantized).

Publishers store embeddings as uint8 / int8 to save three quarters of the bytes (Earth Genome's Kansas run:
14.7 M x 384 as uint8). Ranking by cosine needs the values the integers stand for: uint8 codes centred on
128 are all positive, and their raw cosines crowd near 1 whatever the chips look like. The reader
de-quantizes each batch as stated by the file:

* the ``emb`` footer's ``quantization`` member (``embedding.quantization``, or ``embedding_quantization``
  as Earth Index's schema names it): ``"None"``; a type alone (``"uint8"``); text with numbers
  (``"uint8, scale=0.0078, offset=-1.0"``, ``zero_point=128``); or an object
  ``{"type": "uint8", "scale": s, "offset": o}`` where ``scale`` / ``offset`` are numbers or one per
  dimension, ``zero_point`` may replace ``offset`` (value = (code - zero_point) * scale), and
  ``scale_column`` / ``offset_column`` name per-row columns;
* a per-row scale column beside an integer embedding (``scale``, ``scales``, ``embedding_scale``,
  ``quantization_scale``): value = code * scale of its row, as Tessera publishes (int8 with one float32 scale
  per pixel).

A file that holds integer embeddings and states none of this is read as it is, with a problem sentence
(``terrafind-cli info`` and the Data panel show it): its ranking may be wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

__all__ = ["Quantization", "parse_quantization", "SCALE_COLUMNS", "NO_QUANTIZATION"]

SCALE_COLUMNS = ("scale", "scales", "embedding_scale", "quantization_scale", "emb_scale")
NO_QUANTIZATION = {"", "none", "null", "no", "false", "float32", "float16", "float64", "fp32", "fp16"}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


@dataclass(frozen=True)
class Quantization:
    """How integer codes become values: ``(code - zero_point) * scale + offset`` with scalars, one value per
    dimension, or per-row columns."""

    stated: str  # what the file says, for messages
    scale: Any = 1.0  # float or (d,) array
    offset: Any = 0.0
    zero_point: float = 0.0
    scale_column: str | None = None
    offset_column: str | None = None

    @property
    def columns(self) -> list[str]:
        """Columns the de-quantization reads (not attributes then)."""
        return [c for c in (self.scale_column, self.offset_column) if c]

    def apply(self, mat: np.ndarray, batch: pa.RecordBatch) -> np.ndarray:
        """float32 values of the integer ``mat`` ((n, d)) of ``batch``."""
        out = np.asarray(mat, dtype=np.float32)
        if out is mat:
            out = out.copy()
        if self.zero_point:
            out -= np.float32(self.zero_point)
        out *= np.asarray(self.scale, np.float32)
        if self.scale_column:
            out *= _column(batch, self.scale_column)[:, None]
        if np.any(np.asarray(self.offset) != 0):
            out += np.asarray(self.offset, np.float32)
        if self.offset_column:
            out += _column(batch, self.offset_column)[:, None]
        return out


def _column(batch: pa.RecordBatch, name: str) -> np.ndarray:
    col = batch.column(batch.schema.get_field_index(name))
    return col.cast(pa.float32()).to_numpy(zero_copy_only=False).astype(np.float32)


def _numbers(value: Any, dim: int | None) -> Any:
    """A number or a list of ``dim`` numbers as float / float32 array; ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        if dim is not None and len(value) != dim:
            raise ValueError(f"{len(value)} values for {dim} dimensions")
        return np.asarray(value, np.float32)
    raise ValueError(f"not a number: {value!r}")


def _stated(model: dict[str, Any] | None) -> Any:
    if not model:
        return None
    emb = model.get("embedding")
    if isinstance(emb, dict) and "quantization" in emb:
        return emb["quantization"]
    for key in ("embedding_quantization", "quantization"):
        if key in model:
            return model[key]
    return None


def parse_quantization(
    model: dict[str, Any] | None, schema: pa.Schema, value_type: pa.DataType, dim: int | None, label: str
) -> tuple[Quantization | None, str | None]:
    """(how to de-quantize, or None; a problem sentence, or None) for an embedding of ``value_type``."""
    stated = _stated(model)
    integer = pa.types.is_integer(value_type)
    if not integer:  # floats are values already, whatever the footer says about how they were made
        return None, None
    text = stated if isinstance(stated, str) else None
    if stated is None or (text is not None and text.strip().lower() in NO_QUANTIZATION):
        stated = None
    scale_col = next((c for c in SCALE_COLUMNS if c in schema.names), None) if integer else None
    try:
        if isinstance(stated, dict):
            q = Quantization(
                stated=str(stated),
                scale=_numbers(stated.get("scale", 1.0), dim),
                offset=_numbers(stated.get("offset", stated.get("bias", stated.get("min", 0.0))), dim),
                zero_point=float(stated.get("zero_point", 0.0)),
                scale_column=stated.get("scale_column") or scale_col,
                offset_column=stated.get("offset_column"),
            )
        elif isinstance(stated, str):
            found = {
                k: float(v)
                for k, v in re.findall(
                    rf"(scale|offset|zero_point|zero-point|bias|min)\s*[=:]\s*({_NUMBER})", stated
                )
            }
            q = Quantization(
                stated=stated,
                scale=found.get("scale", 1.0),
                offset=found.get("offset", found.get("bias", found.get("min", 0.0))),
                zero_point=found.get("zero_point", found.get("zero-point", 0.0)),
                scale_column=scale_col,
            )
            if not found and scale_col is None and integer:
                return q, (
                    f"{label} says its embeddings are quantized ('{stated}') but gives no scale or offset: "
                    "they are used as stored, which may rank chips wrongly."
                )
        elif scale_col is not None:
            q = Quantization(stated=f"per-row scale column '{scale_col}'", scale_column=scale_col)
        elif integer:
            return None, (
                f"{label} holds its embeddings as integers ({value_type}) but states no quantization "
                "(scale and offset): they are used as stored, which may rank chips wrongly."
            )
        else:
            return None, None
    except (TypeError, ValueError) as exc:
        return (
            None,
            f"{label} states a quantization Terrafind cannot read ({exc}); its embeddings are used as stored.",
        )
    for col in q.columns:
        if col not in schema.names:
            return (
                None,
                f"{label} names a quantization column '{col}' it does not have; its embeddings are used as stored.",
            )
    return q, None
