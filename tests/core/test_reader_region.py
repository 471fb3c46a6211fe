"""terrafind.core.read.reader with a region: files and row groups outside it are never read; rows are filtered exactly.

The proofs damage the data pages of what must be skipped (footers stay intact): reading any of those bytes
would fail, so an open that succeeds did not read them. The same files without the region fail, which shows
the damage is real.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from reader_util import data_span, row_group_spans, zero_out
from synth import write_earth_index

from terrafind.core.errors import InputError
from terrafind.core.read.reader import open_catalog
from terrafind.core.types import Region


@pytest.fixture(params=["parallel", "stream"])
def read_mode(request, monkeypatch):
    """Prove pruning both with row groups decoded two at a time and with batches streamed one by one."""
    import terrafind.core.read.sources

    if request.param == "stream":
        monkeypatch.setattr(terrafind.core.read.sources, "PARALLEL_MAX_BYTES", 0)
    return request.param


WEST = (10.0, 45.0, 10.4, 45.4)
EAST = (20.0, 45.0, 20.4, 45.4)


def test_files_outside_the_region_are_not_read(tmp_path, read_mode):
    inside = write_earth_index(tmp_path / "a_inside.parquet", n=400, d=8, bbox=WEST)
    outside = write_earth_index(tmp_path / "b_outside.parquet", n=400, d=8, bbox=EAST, seed=1)
    zero_out(outside["path"], [data_span(outside["path"])])
    with pytest.raises(InputError, match="b_outside.parquet is damaged"):
        open_catalog(tmp_path)
    cat = open_catalog(tmp_path, region=Region.from_bbox(9.0, 44.0, 11.0, 46.0))
    assert len(cat) == 400 and set(cat.ids) == set(inside["ids"])
    assert [(s.rows_total, s.rows_read) for s in cat.sources] == [(400, 400), (400, 0)]
    assert cat.region == Region.from_bbox(9.0, 44.0, 11.0, 46.0)


def test_row_groups_outside_the_region_are_pruned_by_bbox_covering_statistics(tmp_path, read_mode):
    # 1600 chips on a 40 x 40 grid written north to south: 8 row groups of 200 chips = 5 grid rows each.
    truth = write_earth_index(
        tmp_path / "cov.parquet", n=1600, d=8, bbox=WEST, row_group_size=200, bbox_covering=True
    )
    path = truth["path"]
    lat = truth["centres"][:, 1]
    # The region covers the middle of row group 3 only (grid rows 16-18).
    south, north = lat[18 * 40] - 0.001, lat[16 * 40] + 0.001
    region = Region.from_bbox(10.1, south, 10.3, north)
    zero_out(path, row_group_spans(path, [0, 1, 2, 4, 5, 6, 7]))
    with pytest.raises(InputError, match="damaged"):
        open_catalog(path)
    cat = open_catalog(path, region=region)
    assert cat.sources[0].rows_read == 200
    # exact filter: every kept footprint touches the region, and every chip whose footprint does is kept
    region_box = shapely.box(*region.bbox)
    expected = np.flatnonzero(
        shapely.intersects(
            region_box,
            shapely.box(*(np.c_[truth["centres"] - truth["half"], truth["centres"] + truth["half"]].T)),
        )
    )
    assert sorted(cat.ids) == sorted(truth["ids"][expected])
    assert 0 < len(cat) < 200


def test_polygon_region_filters_rows_exactly(tmp_path):
    truth = write_earth_index(tmp_path / "p.parquet", n=900, d=8, bbox=WEST)
    triangle = "POLYGON ((10.0 45.0, 10.4 45.0, 10.0 45.4, 10.0 45.0))"
    cat = open_catalog(truth["path"], region=Region.from_wkt(triangle))
    hits = shapely.intersects(
        shapely.from_wkt(triangle),
        shapely.box(*np.c_[truth["centres"] - truth["half"], truth["centres"] + truth["half"]].T),
    )
    assert len(cat) == int(hits.sum())
    assert 300 < len(cat) < 900
    assert cat.problems == []


def test_region_with_no_chips_opens_empty_and_says_so(tmp_path):
    truth = write_earth_index(tmp_path / "x.parquet", n=100, d=8, bbox=WEST)
    cat = open_catalog(truth["path"], region=Region.from_bbox(-50, -10, -49, -9))
    assert len(cat) == 0 and cat.dim == 8
    assert any("region" in p for p in cat.problems)


def test_point_rows_are_pruned_by_lon_lat_column_statistics(tmp_path, read_mode):
    import pyarrow as pa
    from reader_util import grid, list_column, write

    centres, half, polys, vecs = grid(400, 4, bbox=WEST)  # 20 x 20 grid, north to south
    cols = {
        "unique_id": [f"mt{i}" for i in range(400)],
        "embedding": list_column(vecs),
        "centre_lat": pa.array(centres[:, 1]),
        "centre_lon": pa.array(centres[:, 0]),
    }
    path = write(tmp_path / "mt.parquet", cols, geometry=None, row_group_size=100)  # 4 bands of 5 grid rows
    south_band = Region.from_bbox(10.0, 45.0, 10.4, centres[399, 1] + 0.001)
    zero_out(path, row_group_spans(path, [0, 1, 2]))
    cat = open_catalog(path, region=south_band, chip_size_m=100)
    assert cat.adapter == "major_tom" and cat.sources[0].rows_read == 100
    assert set(cat.ids) == {f"mt{i}" for i in range(380, 400)}
