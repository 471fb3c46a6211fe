"""``terrafind-cli search`` with --refine, --sites, --labels and .gpx/.kml outputs."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import gpxpy
import numpy as np
import pytest
from synth import write_earth_index

from terrafind.core.cli.main import main
from terrafind.core.export.phones import KML_NS


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "31TEST_2024-01-01_2025-01-01.parquet"
    return write_earth_index(path, n=900, d=64, seed=3)


def at(info, kind, count, seed=0, flag="--at"):
    rows = np.flatnonzero(info["labels"] == kind)
    picked = np.random.default_rng(seed).choice(rows, count, replace=False)
    args = []
    for r in picked:
        lon, lat = info["centres"][r]
        args += [flag, f"{lon:.6f},{lat:.6f}"]
    return args, [int(r) for r in picked]


def test_refine_adds_probability_and_reports_quality(data, tmp_path, capsys):
    pos_args, _ = at(data, 0, 3)
    neg_args, _ = at(data, 1, 3, flag="--not")
    out = tmp_path / "hits.geojson"
    code = main(
        ["search", str(data["path"]), *pos_args, *neg_args, "--refine", "-k", "20", "--out", str(out)]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "Refined on 3 positive, 3 negative and 894 background chips" in text
    assert "% of this region" in text and "label accuracy" in text
    fc = json.loads(out.read_text())
    probs = [f["properties"]["probability"] for f in fc["features"]]
    assert len(probs) == 20 and probs == sorted(probs, reverse=True)
    assert fc["terrafind"]["search"]["mode"] == "refine"
    # The hits are the kind the positives were (the synthetic truth).
    ids = {str(i): n for n, i in enumerate(data["ids"])}
    kinds = data["labels"][[ids[f["properties"]["id"]] for f in fc["features"]]]
    assert np.mean(kinds == 0) >= 0.9


def test_labels_file_gives_examples_and_gpx_by_extension(data, tmp_path, capsys):
    _, pos = at(data, 2, 3, seed=1)
    _, neg = at(data, 4, 2, seed=1)
    lines = ["latitude,longitude,status"]
    for rows, status in ((pos, "confirmed"), (neg, "rejected")):
        for r in rows:
            lon, lat = data["centres"][r]
            lines.append(f"{lat:.6f},{lon:.6f},{status}")
    lines.append(f"{data['centres'][0][1]:.6f},{data['centres'][0][0]:.6f},not visited")
    labels = tmp_path / "field.csv"
    labels.write_text("\n".join(lines) + "\n")
    out = tmp_path / "hits.gpx"
    code = main(
        ["search", str(data["path"]), "--labels", str(labels), "--refine", "-k", "15", "--out", str(out)]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "field.csv: 3 positive, 2 negative, 0 excluded chip(s), 1 not visited." in text
    gpx = gpxpy.parse(out.read_text())
    assert len(gpx.waypoints) == 15 and gpx.waypoints[0].name.startswith("#01 ")
    assert "id chip-3-" in gpx.waypoints[0].description


def test_sites_written_as_kml(data, tmp_path, capsys):
    pos_args, _ = at(data, 5, 2, seed=2)
    out = tmp_path / "sites.kml"
    code = main(["search", str(data["path"]), *pos_args, "--sites", "-k", "40", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "40 hits form" in text
    marks = ET.parse(out).getroot().findall(f".//{{{KML_NS}}}Placemark")
    n_sites = int(text.split("40 hits form ")[1].split()[0])
    assert len(marks) == n_sites and 1 <= n_sites < 40  # neighbouring hits merged
    assert marks[0].findtext(f"{{{KML_NS}}}name").startswith("Site #")


def test_exclude_mask_from_a_labels_file(data, tmp_path, capsys):
    pos_args, _ = at(data, 6, 2, seed=4)
    plain = tmp_path / "plain.geojson"
    assert main(["search", str(data["path"]), *pos_args, "-k", "10", "--out", str(plain)]) == 0
    first = json.loads(plain.read_text())["features"][0]
    mask = tmp_path / "towns.geojson"
    mask.write_text(json.dumps({"type": "FeatureCollection", "features": [first]}))
    masked = tmp_path / "masked.geojson"
    code = main(
        [
            "search",
            str(data["path"]),
            *pos_args,
            "--labels",
            str(mask),
            "--labels-as",
            "exclude",
            "-k",
            "10",
            "--out",
            str(masked),
        ]
    )
    assert code == 0, capsys.readouterr().out
    ids = [f["properties"]["id"] for f in json.loads(masked.read_text())["features"]]
    assert first["properties"]["id"] not in ids and len(ids) == 10


def test_refine_without_a_negative_is_one_sentence(data, capsys):
    pos_args, _ = at(data, 0, 2)
    code = main(["search", str(data["path"]), *pos_args, "--refine"])
    err = capsys.readouterr().err
    assert code == 2
    assert "one chip marked right and one marked wrong" in err and "Traceback" not in err


def test_no_examples_at_all(data, capsys):
    assert main(["search", str(data["path"])]) == 2
    assert "at least one positive example" in capsys.readouterr().err
