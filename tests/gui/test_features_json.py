"""The map's JSON is made in workers without freezing the window, and says exactly what json.dumps says."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import shapely

from terrafind.core.present.features import encode, footprints_fc, footprints_json


class _Cat:
    def __init__(self, footprints):
        self.footprints = footprints

    def __len__(self) -> int:
        return len(self.footprints)


def test_footprints_json_is_the_encoded_feature_collection():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(-179, 179, 1234), rng.uniform(-80, 80, 1234)
    cat = _Cat(shapely.box(x, y, x + 0.0231234567, y + 0.0231234567))
    text = footprints_json(cat)
    assert text == json.dumps(footprints_fc(cat), separators=(",", ":"))
    assert json.loads(footprints_json(cat, limit=10))["features"][-1]["properties"] == {"row": 9}
    assert json.loads(footprints_json(_Cat(cat.footprints[:0]))) == {
        "type": "FeatureCollection",
        "features": [],
    }
    holes = _Cat(
        np.array([shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 0)], [[(1, 1), (2, 1), (2, 2), (1, 1)]])])
    )
    assert footprints_json(holes) == json.dumps(
        footprints_fc(holes), separators=(",", ":")
    )  # not a plain polygon: the dict path


def test_encode_in_chunks_is_json_dumps():
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"i": i}} for i in range(1203)],
    }
    assert encode(fc) == json.dumps(fc, separators=(",", ":"))
    assert encode({"features": fc["features"]}) == json.dumps(
        {"features": fc["features"]}, separators=(",", ":")
    )


def test_encoding_20k_footprints_in_a_worker_leaves_the_gil_to_others():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-10, 10, 20_000), rng.uniform(-10, 10, 20_000)
    cat = _Cat(shapely.box(x, y, x + 0.02, y + 0.02))
    worker = threading.Thread(target=footprints_json, args=(cat,))
    gaps = []
    worker.start()
    while worker.is_alive():  # this thread wants the GIL every millisecond, as the GUI thread's slots do
        t0 = time.perf_counter()
        time.sleep(0.001)
        gaps.append(time.perf_counter() - t0)
    worker.join()
    # one json.dumps of the same dicts held it ~100 ms; chunks hold it a few ms
    assert max(gaps) < 0.04
