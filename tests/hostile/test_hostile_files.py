"""Hostile corpus, embeddings files: small files that promise the moon, repeat one value a million times,
hide NaN inside polygons or carry metadata bombs. Memory stays bounded, bad rows are skipped and counted,
the app and the CLI say one sentence, and a normal file opens afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from corpus import chip_boxes, write_geoparquet, write_huge_claim, write_repeated_text

from terrafind.core.errors import InputError
from terrafind.core.read.reader import open_catalog


def run_measured(
    args: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess, int]:
    """Run the CLI; return (the finished process, its peak resident memory in bytes, sampled)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "terrafind.core.cli.main", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    peak = 0
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), peak


def one_sentence(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("terrafind-cli: "), stderr
    return lines[0]


def still_usable(tmp_path) -> None:
    """After a hostile file, an ordinary one opens and searches."""
    from synth import write_earth_index

    from terrafind.core.session import Session

    s = Session.open([write_earth_index(tmp_path / "normal.parquet", n=60, d=8)["path"]])
    s.set_example(0, "positive")
    assert len(s.run_search().result) > 0


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    return write_huge_claim(tmp_path_factory.mktemp("huge") / "promise.parquet")


# --- kind 19: a footer that promises a matrix the machine cannot hold -----------------------------------
def test_kind19_footer_promise_is_refused_before_allocation(huge, tmp_path, monkeypatch):
    import tracemalloc

    from terrafind.core.read import budget

    assert huge.stat().st_size < 2_000_000  # a small file...
    monkeypatch.setattr(budget, "available_bytes", lambda: 200_000_000)  # ...on a small machine
    tracemalloc.start()
    with pytest.raises(InputError, match="would need about .* choose a smaller region"):
        open_catalog(huge)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50_000_000  # refused from the footer: the 330 MB matrix was never allocated
    run, rss = run_measured(["search", str(huge), "--at=-75.9,37.3"], {"TERRAFIND_MAX_MEMORY": "200MB"})
    assert run.returncode == 2 and "choose a smaller region" in one_sentence(run.stderr)
    assert rss < 600_000_000
    still_usable(tmp_path)


# --- kind 20: a list column whose rows hold millions of values -------------------------------------------
def test_kind20_list_lengths_count_as_what_they_are(tmp_path, monkeypatch):
    from terrafind.core.read import budget

    n = 20
    lengths = np.full(n, 1_000_000, np.int32)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
    emb = pa.ListArray.from_arrays(offsets, pa.array(np.zeros(int(lengths.sum()), np.float32)))
    path = tmp_path / "long-lists.parquet"
    table = pa.table(
        {"id": [f"c{i}" for i in range(n)], "embedding": emb, "geometry": shapely.to_wkb(chip_boxes(n))}
    )
    pq.write_table(table, path)
    monkeypatch.setattr(budget, "available_bytes", lambda: 60_000_000)
    with pytest.raises(InputError, match="would need about"):
        open_catalog(path)  # 20 rows, but 20 million floats: counted from the footer's value count
    still_usable(tmp_path)


# --- kind 21: one long text value repeated on every row ------------------------------------------------
def test_kind21_repeated_text_is_cut_before_it_is_repeated(tmp_path):
    from terrafind.core.limits import MAX_TEXT_CHARS

    path = write_repeated_text(tmp_path / "repeated.parquet")  # decoded whole: 16 GB
    run, rss = run_measured(["info", str(path)])
    assert run.returncode == 0
    catalog = open_catalog(path)
    assert len(catalog) == 40_000 and len(catalog.value(0, "note")) == MAX_TEXT_CHARS
    assert catalog.attributes.nbytes < 200_000_000
    run, rss = run_measured(["search", str(path), "--at=-75.9,37.3", "-k", "5"])
    assert run.returncode == 0, run.stderr
    assert rss < 1_500_000_000
    still_usable(tmp_path)


# --- kind 22: broken geometry: NaN inside, infinity, empty, self-crossing, millions of vertices ----------
def _broken(tmp_path, only_bad: bool = False):
    with warnings.catch_warnings():  # shapely warns about the very NaN this file is made of
        warnings.simplefilter("ignore", RuntimeWarning)
        return _write_broken(tmp_path, only_bad)


def _write_broken(tmp_path, only_bad: bool):
    n = 12
    boxes = list(chip_boxes(n))
    nan_inside = shapely.Polygon([(-75.9, 37.3), (float("nan"), 37.31), (-75.89, 37.31), (-75.9, 37.3)])
    inf_vertex = shapely.Polygon([(-75.9, 37.3), (-75.9, 37.31), (float("inf"), 37.31), (-75.9, 37.3)])
    bowtie = shapely.Polygon([(-75.9, 37.3), (-75.89, 37.31), (-75.9, 37.31), (-75.89, 37.3), (-75.9, 37.3)])
    t = np.linspace(0, 2 * np.pi, 300_000)
    monster = shapely.Polygon(np.column_stack([-75.7 + 0.01 * np.cos(t), 37.4 + 0.01 * np.sin(t)]))
    bad = [nan_inside, inf_vertex, shapely.Polygon(), bowtie, monster]
    geoms = bad * 2 if only_bad else boxes[: n - len(bad)] + bad
    vectors = np.random.default_rng(0).standard_normal((len(geoms), 8)).astype(np.float32)
    return write_geoparquet(
        tmp_path / ("all-bad.parquet" if only_bad else "broken.parquet"), vectors, np.array(geoms)
    )


def test_kind22_bad_geometry_is_a_skipped_row_never_shown_or_exported(tmp_path):
    from terrafind.core.present.features import results_payload
    from terrafind.core.session import Session

    path = _broken(tmp_path)
    catalog = open_catalog(path)
    assert len(catalog) == 7
    assert any("Skipped 5 chips" in p and "geometry" in p for p in catalog.problems)
    assert np.isfinite(shapely.get_coordinates(catalog.footprints)).all()
    s = Session.open([path])
    s.set_example(0, "positive")
    outcome = s.run_search()
    payload = results_payload(s.catalog, outcome.result)
    json.loads(payload.fc_json, parse_constant=lambda c: pytest.fail(f"{c} in the map's JSON"))
    out, n = s.export_hits(tmp_path / "hits.geojson")
    json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in an export"))
    for fmt in ("gpkg", "csv", "gpx", "kml"):
        s.export_hits(tmp_path / f"hits.{fmt}")
    run, _ = run_measured(["search", str(path), "--at=-75.9,37.3"])
    assert run.returncode in (0, 2) and "Traceback" not in run.stderr
    assert "Skipped 5 chips" in run.stdout or "No chip lies" in run.stderr
    run, _ = run_measured(["info", str(_broken(tmp_path, only_bad=True))])
    assert "Traceback" not in run.stderr


def test_kind22b_a_file_of_only_bad_geometry_is_one_sentence(tmp_path):
    path = _broken(tmp_path, only_bad=True)
    with pytest.raises(InputError, match="usable geometry"):
        open_catalog(path)
    run, _ = run_measured(["search", str(path), "--at=-75.9,37.3"])
    assert run.returncode == 2 and "usable geometry" in one_sentence(run.stderr)
    still_usable(tmp_path)


# --- kind 23: metadata bombs and a CRS that names an address ---------------------------------------------
@pytest.mark.parametrize(
    "meta",
    [
        {b"geo": b"[" * 100_000 + b"]" * 100_000},
        {b"emb": json.dumps(json.loads("[" * 900 + "{}" + "]" * 900)).encode()},
        {b"emb": b'{"a":' * 400 + b"1" + b"}" * 400},
        {
            b"geo": json.dumps(
                {
                    "primary_column": "geometry",
                    "columns": {"geometry": {"encoding": "WKB", "crs": "http://127.0.0.1:9/crs.json"}},
                }
            ).encode()
        },
        {
            b"geo": json.dumps(
                {
                    "primary_column": "geometry",
                    "columns": {"geometry": {"encoding": "WKB", "crs": ["not", "a", "crs"]}},
                }
            ).encode()
        },
        # found by fuzzing: a column entry or a primary column that is not what GeoParquet says
        {b"geo": json.dumps({"primary_column": "geometry", "columns": {"geometry": "WKT"}}).encode()},
        {b"geo": json.dumps({"primary_column": ["geometry"], "columns": {"geometry": {}}}).encode()},
        {b"geo": json.dumps({"primary_column": {"a": 1}, "columns": {"geometry": {}}}).encode()},
    ],
)
def test_kind23_metadata_bombs(tmp_path, meta):
    n = 30
    vectors = np.random.default_rng(1).standard_normal((n, 8)).astype(np.float32)
    path = write_geoparquet(tmp_path / "meta.parquet", vectors, chip_boxes(n))
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata(meta), path)
    catalog = open_catalog(path)  # unreadable metadata is ignored (or named), never a crash
    assert len(catalog) == n
    run, _ = run_measured(["info", str(path)])
    assert run.returncode in (0, 2) and "Traceback" not in run.stderr


# --- kind 41: imagery whose blocks inflate to gigabytes (GDAL decodes a whole block to read a part) -------
def test_kind41_imagery_with_huge_blocks_is_refused(tmp_path, monkeypatch):
    import rasterio
    from rasterio.transform import from_origin

    from terrafind.core.imagery import rasters
    from terrafind.core.net.locations import Local, Refused

    path = tmp_path / "one-strip.tif"
    profile = {"driver": "GTiff", "width": 512, "height": 512, "count": 3, "dtype": "uint8"}
    with rasterio.open(
        path,
        "w",
        **profile,
        crs="EPSG:4326",
        transform=from_origin(-75.7, 37.6, 1e-4, 1e-4),
        blockysize=512,  # the whole image in one strip, as a crafted file holds gigabytes in one
        compress="deflate",
    ) as dst:
        dst.write(np.zeros((3, 512, 512), np.uint8))
    with rasters.open_raster(Local(path)) as src:  # 768 KB blocks: under the real limit
        assert src.width == 512
    monkeypatch.setattr(rasters, "MAX_BLOCK_BYTES", 512 * 512 * 3 - 1)  # the same check, a smaller limit
    with pytest.raises(Refused, match="blocks of 512 x 512"):
        rasters.open_raster(Local(path))
