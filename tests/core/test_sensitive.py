"""Sensitive places: blurred exports, label sets without coordinates, projects that lock precise places
(core.export.blur, core.session_sensitive), in the core and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely

from terrafind.core.errors import InputError
from terrafind.core.export.blur import blur_fc, cell_of
from terrafind.core.project import load_project, save_project
from terrafind.core.session import Session


@pytest.fixture
def session(tmp_path):
    from synth import write_earth_index

    path = write_earth_index(tmp_path / "data.parquet", n=400, d=16)["path"]
    s = Session.open([path])
    s.set_example(0, "positive")
    s.set_example(5, "negative")
    s.run_search()
    return s


def test_cells_are_the_size_asked_and_stable():
    for lat in (0.0, 37.3, -60.0):
        w, s, e, n = cell_of(-75.9, lat, 5.0)
        assert w <= -75.9 < e and s <= lat < n
        mid = np.radians((s + n) / 2)
        assert abs((n - s) * 111.32 - 5.0) < 1e-3 and abs((e - w) * 111.32 * np.cos(mid) - 5.0) < 1e-3
        assert cell_of(-75.9 + 1e-7, lat, 5.0) == (w, s, e, n)


def test_blurred_hits_say_no_more_than_a_cell(session, tmp_path):
    out, n = session.export_hits(tmp_path / "hits.geojson", blur_km=10.0)
    fc = json.loads(out.read_text())
    text = out.read_text()
    assert 0 < len(fc["features"]) < n  # neighbouring hits share a cell
    assert sum(f["properties"]["hits"] for f in fc["features"]) == n
    for f in fc["features"]:
        assert set(f["properties"]) <= {
            "rank", "hits", "best_rank", "score", "probability", "positive_labels", "negative_labels", "cell_km"
        }  # fmt: skip
        w, s, e, nn = shapely.geometry.shape(f["geometry"]).bounds
        assert abs((nn - s) * 111.32 - 10.0) < 1e-3
    ids = {str(i) for i in session.catalog.ids}
    assert not any(f'"{i}"' in text for i in list(ids)[:50])  # no chip id travels
    assert "data.parquet" not in text and str(tmp_path) not in text and "region" not in fc["terrafind"]
    for fmt in ("gpx", "kml", "csv", "gpkg"):  # every format can be blurred
        session.export_hits(tmp_path / f"hits.{fmt}", blur_km=1.0)


def test_a_sensitive_project_keeps_precise_places_locked(session, tmp_path):
    session.mark_sensitive(True)
    for export in (session.export_hits, session.export_sites, session.export_labels):
        with pytest.raises(InputError, match="marked sensitive"):
            export(tmp_path / "x.geojson")
    assert session.export_hits(tmp_path / "blurred.geojson", blur_km=5.0)[1] > 0
    saved = save_project(session.to_project(), tmp_path / "secret.terrafind")
    again = Session.open(session.sources)
    again.apply_project(load_project(saved))
    assert again.sensitive and not again.unlocked  # reopened locked: the unlock is never saved
    again.run_search()
    with pytest.raises(InputError, match="marked sensitive"):
        again.export_hits(tmp_path / "y.geojson")
    again.unlock_precise()
    assert again.export_hits(tmp_path / "y.geojson")[1] > 0


def test_a_label_set_has_labels_and_embeddings_only(session, tmp_path):
    session.mark_sensitive(True)  # allowed even locked: nothing in it places a chip
    out, n = session.export_label_set(tmp_path / "labels.parquet")
    table = pq.read_table(out)
    assert table.column_names == ["label", "embedding"] and n == 2
    assert sorted(table.column("label").to_pylist()) == ["negative", "positive"]
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    assert "geo" not in meta and str(tmp_path) not in json.dumps(meta)
    np.testing.assert_allclose(
        np.stack(table.column("embedding").to_numpy(zero_copy_only=False)),
        session.catalog.plain[[0, 5]],  # the chips as read, not centred on this region's mean
        atol=1e-6,
    )


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "terrafind.core.cli.main", *args], capture_output=True, text=True, timeout=120
    )


def test_the_cli_obeys_a_sensitive_project(session, tmp_path):
    session.mark_sensitive(True)
    project = save_project(session.to_project(), tmp_path / "secret.terrafind")
    run = cli("search", str(project), "--out", str(tmp_path / "exact.geojson"))
    assert run.returncode == 2 and "marked sensitive" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "exact.geojson").exists()
    run = cli(
        "search",
        str(project),
        "--out",
        str(tmp_path / "cells.geojson"),
        "--blur",
        "5",
        "--label-set",
        str(tmp_path / "l.parquet"),
    )
    assert run.returncode == 0, run.stderr
    assert "sensitive: place not shown" in run.stdout and "blurred to a 5 km grid" in run.stdout
    lon, lat = session.catalog.centroids[int(session.visible().rows[0])]
    assert f"{lon:.5f}" not in run.stdout  # no precise place printed either
    fc = json.loads((tmp_path / "cells.geojson").read_text())
    assert fc["terrafind"]["blurred_km"] == 5.0 and pq.read_table(tmp_path / "l.parquet").num_rows == 2
    run = cli("search", str(project), "--unlock", "--out", str(tmp_path / "exact.geojson"))
    assert run.returncode == 0 and (tmp_path / "exact.geojson").exists()
    assert f"{lon:.5f}" in run.stdout


def test_blur_refuses_odd_sizes():
    with pytest.raises(InputError, match="grid of"):
        blur_fc({"features": []}, 0.0)
