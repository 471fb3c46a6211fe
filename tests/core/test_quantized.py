"""Quantized embeddings (uint8 / int8 codes) are read as the values they stand for: a quantized copy of a file
ranks chips like the original; integers without a stated quantization get a warning."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from synth import write_earth_index

from terrafind.core.read.reader import inspect, open_catalog
from terrafind.core.search.query import search
from terrafind.core.types import Examples


def _copy_with(truth, path, codes: np.ndarray, quantization, extra: dict | None = None):
    """The file of ``truth`` with its embeddings replaced by integer ``codes`` and the footer's
    ``embedding.quantization`` set to ``quantization``."""
    table = pq.read_table(truth["path"])
    n, d = codes.shape
    value_type = pa.uint8() if codes.dtype == np.uint8 else pa.int8()
    emb = pa.FixedSizeListArray.from_arrays(pa.array(codes.reshape(-1), value_type), d)
    table = table.set_column(table.schema.get_field_index("embedding"), "embedding", emb)
    for name, values in (extra or {}).items():
        table = table.append_column(name, pa.array(values))
    meta = dict(table.schema.metadata)
    emb_meta = json.loads(meta[b"emb"])
    emb_meta["embedding"]["quantization"] = quantization
    meta[b"emb"] = json.dumps(emb_meta).encode()
    pq.write_table(table.replace_schema_metadata(meta), path)
    return path


def _overlap(a, b, k=100) -> float:
    return len(np.intersect1d(a.rows[:k], b.rows[:k])) / k


def _rank_alike(original, quantized, rows=(3, 250, 777, 1400)):
    for r in rows:
        ex = Examples(positives=[r])
        assert _overlap(search(original, ex, k=100), search(quantized, ex, k=100)) >= 0.9


@pytest.fixture
def truth(tmp_path):
    return write_earth_index(tmp_path / "float.parquet", n=1500, d=64)


def test_uint8_with_per_dimension_scale_and_offset_ranks_like_the_floats(truth, tmp_path):
    x = truth["vectors"]
    lo, hi = x.min(axis=0), x.max(axis=0)
    scale = (hi - lo) / 255.0
    codes = np.clip(np.rint((x - lo) / scale), 0, 255).astype(np.uint8)
    q = {"type": "uint8", "scale": scale.tolist(), "offset": lo.tolist()}
    path = _copy_with(truth, tmp_path / "u8.parquet", codes, q)
    original, quantized = open_catalog(truth["path"]), open_catalog(path)
    assert quantized.problems == [] and inspect(path)[0]["problems"] == []
    _rank_alike(original, quantized)
    # read as stored instead, the codes rank differently: the de-quantization is what makes it right
    raw = open_catalog(_copy_with(truth, tmp_path / "raw.parquet", codes, "None"))
    assert (
        min(
            _overlap(search(original, Examples([r]), k=100), search(raw, Examples([r]), k=100))
            for r in (3, 250, 777)
        )
        < 0.9
    )


def test_scale_and_zero_point_written_as_text(truth, tmp_path):
    x = truth["vectors"]
    scale = float(np.abs(x).max() / 127.0)
    codes = (np.clip(np.rint(x / scale), -127, 127) + 128).astype(np.uint8)
    path = _copy_with(truth, tmp_path / "t.parquet", codes, f"uint8, scale={scale:.8g}, zero_point=128")
    _rank_alike(open_catalog(truth["path"]), open_catalog(path))


def test_int8_with_a_scale_per_row_as_tessera_publishes(truth, tmp_path):
    x = truth["vectors"]
    row_scale = (np.abs(x).max(axis=1) / 127.0).astype(np.float32)
    codes = np.clip(np.rint(x / row_scale[:, None]), -127, 127).astype(np.int8)
    path = _copy_with(truth, tmp_path / "tessera.parquet", codes, None, extra={"scales": row_scale})
    quantized = open_catalog(path)
    assert "scales" not in quantized.attributes.column_names  # used for the values, not shown as a column
    _rank_alike(open_catalog(truth["path"]), quantized)
    np.testing.assert_allclose(quantized.norms, np.linalg.norm(codes * row_scale[:, None], axis=1), rtol=1e-5)


def test_integers_without_a_stated_quantization_are_flagged(truth, tmp_path):
    codes = np.clip(np.rint(truth["vectors"] * 40 + 128), 0, 255).astype(np.uint8)
    path = _copy_with(truth, tmp_path / "bare.parquet", codes, "None")
    (entry,) = inspect(path)
    assert any("states no quantization" in p for p in entry["problems"])
    assert any("states no quantization" in p for p in open_catalog(path).problems)
    vague = _copy_with(truth, tmp_path / "vague.parquet", codes, "uint8")
    assert any("gives no scale or offset" in p for p in inspect(vague)[0]["problems"])
