"""terrafind-cli: info / search / index in-process and as a real subprocess, exit codes, messages, and
searches over the real Clay v0 sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shared_data import ROOT, shared_file

import terrafind.core.search.query as search_mod
from terrafind.core.cli.main import main

CLAY = ("clay-v0-embeddings", "03WVN_20220610_20220610_v001.gpq")
EI_EMPTY = ("earth-index-embeddings-schema", "21MNT.parquet")


def at(lonlat) -> str:
    return f"{lonlat[0]:.7f},{lonlat[1]:.7f}"


def test_info_describes_a_file(ei_file, capsys):
    assert main(["info", str(ei_file["path"])]) == 0
    out = capsys.readouterr().out
    assert "earth_index" in out and "500" in out and "384" in out and "Synthetic" in out
    assert main(["info", "--json", str(ei_file["path"])]) == 0
    entry = json.loads(capsys.readouterr().out)[0]
    assert entry["rows"] == 500 and entry["dim"] == 384
    np.testing.assert_allclose(entry["bbox"], ei_file["bbox"], atol=1e-9)


def test_info_on_a_bad_file_exits_2_with_one_sentence(tmp_path, capsys):
    bad = tmp_path / "notes.parquet"
    bad.write_text("this is not parquet")
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("terrafind-cli: ") and "notes.parquet" in err and "Traceback" not in err
    assert len(err.splitlines()) == 1


def test_a_second_search_is_answered_from_the_app_cache(ei_file, capsys, monkeypatch):
    import terrafind.core.read.reader as reader

    args = ["search", str(ei_file["path"]), "--at", at(ei_file["centres"][7]), "-k", "5"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "Data read from the files and kept in the app cache." in first
    read = []
    monkeypatch.setattr(reader, "iter_batches", lambda *a, **k: read.append(1) or iter(()))
    assert main(args) == 0
    second = capsys.readouterr().out
    assert "Data opened from the app cache." in second and not read  # no row group read again
    assert second.splitlines()[-5:] == first.splitlines()[-5:]  # the same hits


def test_search_at_a_chip_writes_its_lookalikes(ei_file, tmp_path, capsys):
    i = 137
    out = tmp_path / "hits.geojson"
    # Western longitudes start with "-": "--at -75.8,37.4" must work without "=".
    code = main(
        ["search", str(ei_file["path"]), "--at", at(ei_file["centres"][i]), "-k", "20", "--out", str(out)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "20 hits; top scores:" in text and "mode mean, exact" in text and f"Wrote {out}" in text
    fc = json.loads(out.read_text())
    ids = [f["properties"]["id"] for f in fc["features"]]
    assert len(ids) == 20 and ei_file["ids"][i] not in ids
    rows = [int(s.rsplit("-", 1)[1]) for s in ids]
    assert np.all(ei_file["labels"][rows] == ei_file["labels"][i])  # the same kind of land
    assert fc["terrafind"]["search"]["examples"]["positives"] == [ei_file["ids"][i]]


def test_search_with_negatives_max_mode_threshold_and_other_formats(ei_file, tmp_path, capsys):
    labels, centres = ei_file["labels"], ei_file["centres"]
    a, b = 10, int(np.flatnonzero(labels != labels[10])[0])
    neg = int(np.flatnonzero(labels == labels[10])[5])
    for suffix in (".gpkg", ".csv"):
        out = tmp_path / f"hits{suffix}"
        args = ["search", str(ei_file["path"]), "--at", at(centres[a]), "--at", at(centres[b])]
        args += [
            "--not",
            at(centres[neg]),
            "--mode",
            "max",
            "-k",
            "50",
            "--threshold",
            "0.1",
            "--out",
            str(out),
        ]
        assert main(args) == 0
        gdf = gpd.read_file(out)
        assert 0 < len(gdf) <= 50 and (gdf["score"].astype(float) >= 0.1).all()
        assert set(gdf["matched_example"]) <= {ei_file["ids"][a], ei_file["ids"][b]}
        assert not {ei_file["ids"][x] for x in (a, b, neg)} & set(gdf["id"])
    assert "mode max" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--at", "0,0"], "m of the --at point 0.0, 0.0; the data covers"),
        (["--at", "-75.75,37.45", "-k", "0"], "between 1 and 10000"),
        (["--at", "-75.75,37.45", "--out", "hits.shp"], "cannot write hits.shp"),
    ],
)
def test_search_bad_input_exits_2(ei_file, capsys, extra, words):
    assert main(["search", str(ei_file["path"]), *extra]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_usage_errors_and_cancel(ei_file, capsys, monkeypatch):
    assert main(["search", str(ei_file["path"]), "--at", "east,north"]) == 2
    assert "LON,LAT" in capsys.readouterr().err
    assert main(["search", str(ei_file["path"])]) == 2  # --at is required

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(search_mod, "search", interrupted)
    assert main(["search", str(ei_file["path"]), "--at", at(ei_file["centres"][3])]) == 130
    assert "cancelled" in capsys.readouterr().err


def test_index_builds_then_reuses_the_cache(ei_file, capsys, terrafind_home):
    assert main(["index", str(ei_file["path"]), "--bbox", "-76,37,-75,38"]) == 0
    captured = capsys.readouterr()
    assert "Index of 500 chips (384-d, graph on 65 dimensions) built" in captured.out
    assert "Building the search index" in captured.err and "100.0%" in captured.err  # the progress bar
    # kept with the region's app cache (cleared with it)
    assert list((terrafind_home / "cache" / "regions").glob("*/index/*.hnsw"))
    assert main(["index", str(ei_file["path"]), "--bbox", "-76,37,-75,38"]) == 0
    assert "reused from the cache" in capsys.readouterr().out
    assert main(["index", str(ei_file["path"]), "--bbox", "-76,37,-75,38", "--rebuild"]) == 0
    assert " built in" in capsys.readouterr().out


def test_real_subprocess_exit_codes(ei_file, tmp_path):
    exe = ROOT / ".venv" / "bin" / "terrafind-cli"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "terrafind.core.cli.main"]
    env = dict(os.environ, TERRAFIND_HOME=str(tmp_path / "home"))
    bad = tmp_path / "broken.gpq"
    bad.write_bytes(b"PAR1" + b"\0" * 100)
    proc = subprocess.run(
        [*cmd, "info", str(bad)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    assert proc.returncode == 2 and "broken.gpq" in proc.stderr and "Traceback" not in proc.stderr
    out = tmp_path / "hits.geojson"
    proc = subprocess.run(
        [
            *cmd,
            "search",
            str(ei_file["path"]),
            "--at",
            at(ei_file["centres"][0]),
            "-k",
            "5",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(out.read_text())["features"]) == 5


# --- the real samples in ../shared/data ---------------------------------------------------------------


def test_clay_v0_own_vector_finds_itself_first():
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.search.query import search
    from terrafind.core.types import Examples

    cat = open_catalog([shared_file(*CLAY)])
    for row in (0, 123, len(cat) - 1):
        res = search(cat, Examples(positive_vectors=cat.vectors[[row]]), k=10)
        assert res.rows[0] == row and res.scores[0] == pytest.approx(1.0, abs=1e-5)


def test_clay_v0_click_at_a_chip_centre_returns_its_neighbours(tmp_path, capsys):
    from terrafind.core.read.reader import open_catalog

    path = shared_file(*CLAY)
    cat = open_catalog([path]).centred()  # the CLI scores as the app: centred on the region's mean
    row = 200
    lon, lat = cat.centroids[row]
    out = tmp_path / "clay.geojson"
    assert (
        main(["search", str(path), "--at", f"{float(lon)!r},{float(lat)!r}", "-k", "15", "--out", str(out)])
        == 0
    )
    ids = [f["properties"]["id"] for f in json.loads(out.read_text())["features"]]
    assert str(cat.ids[row]) not in ids and len(ids) == 15
    sims = cat.vectors @ cat.vectors[row]
    sims[row] = -np.inf
    expected = [str(cat.ids[r]) for r in np.lexsort((np.arange(len(sims)), -sims))[:15]]
    assert ids == expected
    assert "Searched 417 chips" in capsys.readouterr().out


def test_empty_earth_index_sample(capsys):
    path = shared_file(*EI_EMPTY)
    assert main(["info", str(path)]) == 0
    assert "holds no chips" in capsys.readouterr().out
    assert main(["search", str(path), "--at", "-59.2,-6.8"]) == 2
    assert "holds no chips" in capsys.readouterr().err
    assert Path(path).exists()


def test_search_uses_the_cached_index_above_the_switch_point(ei_file, capsys, monkeypatch):
    import terrafind.core.search.exact

    assert main(["index", str(ei_file["path"])]) == 0
    monkeypatch.setattr(terrafind.core.search.exact, "EXACT_MAX_ROWS", 100)
    monkeypatch.setattr(search_mod, "EXACT_MAX_ROWS", 100)
    assert main(["search", str(ei_file["path"]), "--at", at(ei_file["centres"][42]), "-k", "10"]) == 0
    out = capsys.readouterr().out
    assert "mode mean, index" in out
    # a second run: the region and its index come from the app cache (nothing read but the footer)
    assert "Data opened from the app cache; search index from the app cache." in out
    assert main(["search", str(ei_file["path"]), "--at", at(ei_file["centres"][42]), "--no-index"]) == 0
    assert "mode mean, exact" in capsys.readouterr().out
