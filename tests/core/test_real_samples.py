"""terrafind.core.read.reader on the real sample files in ../shared/data (skipped cleanly when they are absent)."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
from shared_data import shared_file

from terrafind.core.read.reader import inspect, open_catalog
from terrafind.core.types import Region

CLAY = ("clay-v0-embeddings", "03WVN_20220610_20220610_v001.gpq")
EARTH_INDEX = ("earth-index-embeddings-schema", "21MNT.parquet")


def test_clay_v0_sample_opens_with_all_chips():
    path = shared_file(*CLAY)
    cat = open_catalog(path)
    assert cat.adapter == "clay_v0" and len(cat) == 417 and cat.dim == 768
    w, s, e, n = cat.bounds
    assert -167.3 < w < e < -164.7 and 64.8 < s < n < 65.9
    assert np.allclose(np.linalg.norm(cat.vectors, axis=1), 1, atol=1e-5)
    raw = np.stack(pq.read_table(path, columns=["embeddings"]).column(0).to_pylist()).astype(np.float32)
    np.testing.assert_allclose(cat.vectors, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    assert cat.ids[0] == "03WVN_20220610_20220610_v001:0" and len(set(cat.ids)) == 417
    assert cat.source_url(0).startswith("s3://clay-tiles-02/") and cat.date(0) == "2022-06-10"
    assert 5000 < cat.chip_size_m < 5300  # 5120 m chips (512 px at 10 m), measured from the polygons
    assert cat.problems == []
    # a click at a chip's centre finds it
    assert cat.chip_at(*cat.centroids[200]) == 200
    (info,) = inspect(path)
    assert (info["adapter"], info["rows"], info["dim"], info["model"]) == ("clay_v0", 417, 768, None)


def test_clay_v0_sample_with_a_region():
    path = shared_file(*CLAY)
    cat = open_catalog(path, region=Region.from_bbox(-166.2, 65.0, -165.8, 65.3))
    assert 0 < len(cat) < 417
    w, s, e, n = cat.bounds
    assert w < -165.8 and e > -166.2 and s < 65.3 and n > 65.0


def test_earth_index_schema_sample_opens_empty_with_its_model():
    path = shared_file(*EARTH_INDEX)
    cat = open_catalog(path)
    assert cat.adapter == "earth_index" and len(cat) == 0 and cat.dim == 384
    assert cat.model["model"]["id"] == "dinov2_vits14_softcon"
    assert cat.model_name == "SoftCon (dinov2_vits14_softcon)"
    assert cat.problems == ["21MNT.parquet is empty: it holds no chips."]
    (info,) = inspect(path)
    assert info["adapter"] == "earth_index" and info["rows"] == 0 and info["dim"] == 384
    np.testing.assert_allclose(info["bbox"], [-59.7272, -7.3325, -58.7096, -6.3154], atol=1e-4)
