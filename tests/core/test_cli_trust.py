"""terrafind-cli for issue 14: percentiles printed, --top, unusual places, the scores raster, v1 fields."""

from __future__ import annotations

import json

import pytest
from synth import write_earth_index

from terrafind.core.cli.main import main


@pytest.fixture(scope="module")
def ei_file(tmp_path_factory):
    return write_earth_index(tmp_path_factory.mktemp("cli_trust") / "ei.parquet", n=600, d=32)


def at(lonlat) -> str:
    return f"{lonlat[0]:.7f},{lonlat[1]:.7f}"


def test_search_prints_the_region_and_keeps_the_top_share(ei_file, tmp_path, capsys):
    out = tmp_path / "top.geojson"
    args = ["search", str(ei_file["path"]), "--at", at(ei_file["centres"][7]), "-k", "200"]
    assert main([*args, "--top", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Region scores (all of 600 chips): half above" in text and "1 % above" in text
    assert "Line at score" in text and "top 2 % of the region" in text
    fc = json.loads(out.read_text())
    # 2 % of 600 chips is 12, one of them the example itself (not a hit)
    assert 10 <= len(fc["features"]) <= 12
    assert fc["terrafind"]["visible"]["top_share"] == pytest.approx(0.02, abs=0.002)
    shares = [f["properties"]["top_share"] for f in fc["features"]]
    assert max(shares) <= 0.02 + 1e-9 and shares == sorted(shares)
    assert main([*args, "--top", "2", "--threshold", "0.5"]) == 2  # one line, one unit
    assert main([*args, "--top", "250"]) == 2
    assert "between 0 and 100" in capsys.readouterr().err


def test_search_filters_by_loss_and_info_shows_v1(tmp_path, capsys):
    import numpy as np
    from synth import write_clay_v1

    v1 = write_clay_v1(tmp_path / "clay_v1.parquet", n=300, d=16)
    out = tmp_path / "hits.geojson"
    row = int(np.flatnonzero(v1["labels"] == 3)[0])
    lon, lat = v1["centres"][row]
    args = ["search", str(v1["path"]), "--at", f"{lon:.7f},{lat:.7f}", "-k", "100", "--out", str(out)]
    assert main([*args, "--loss", "0.1,"]) == 0
    fc = json.loads(out.read_text())
    assert fc["features"] and all(f["properties"]["loss"] >= 0.1 for f in fc["features"])
    assert fc["terrafind"]["visible"]["loss_range"] == [0.1, None]
    assert main([*args, "--loss", "0.3,0.1"]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["info", str(v1["path"])]) == 0
    text = capsys.readouterr().out
    assert "model     clay-v1.5" in text and "Made by   Clay Foundation" in text and "Loss      MSE" in text
