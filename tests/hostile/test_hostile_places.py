"""Hostile corpus, places files (File > Import places, terrafind-cli search --labels): a ranger's GPX, a
colleague's KMZ, a CSV from a spreadsheet. Each kind: one sentence (exit 2 from the CLI), bounded time and
memory, nothing handed to GDAL that is not what its name says, and an ordinary file imports afterwards.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile

import pytest

from terrafind.core.errors import InputError
from terrafind.core.read.places import read_places

GOOD_GPX = (
    '<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
    '<wpt lat="37.30" lon="-75.90"><name>A</name><type>confirmed</type></wpt></gpx>'
)


def cli_labels(data, places) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "terrafind.core.cli.main", "search", str(data), "--labels", str(places)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def data(tmp_path):
    from synth import write_earth_index

    return write_earth_index(tmp_path / "data.parquet", n=100, d=8)["path"]


def refused_everywhere(path, data, words: str, seconds: float = 2.0) -> None:
    t0 = time.perf_counter()
    with pytest.raises(InputError, match=words):
        read_places(path)
    assert time.perf_counter() - t0 < seconds
    run = cli_labels(data, path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1  # one sentence
    good = path.with_name("good.gpx")
    good.write_text(GOOD_GPX)
    assert len(read_places(good)) == 1  # and afterwards an ordinary file imports


# --- kind 24: gpxpy's quadratic namespace regex (20k repeats of " xmlns" froze the window) ------------
def test_kind24_namespace_flood_is_refused_at_once(tmp_path, data):
    path = tmp_path / "flood.gpx"
    path.write_text('<?xml version="1.0"?><gpx version="1.1"' + ' xmlns="x"' * 20_000 + "></gpx>")
    refused_everywhere(path, data, "namespaces", seconds=0.5)


# --- kind 25: entity expansion ("billion laughs") in GPX and KML ----------------------------------------
@pytest.mark.parametrize("suffix", [".gpx", ".kml"])
def test_kind25_entity_bomb_is_refused(tmp_path, data, suffix):
    lol = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    root = "gpx" if suffix == ".gpx" else "kml"
    path = tmp_path / f"bomb{suffix}"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE {root} [{lol}]><{root}><name>&l9;</name></{root}>')
    refused_everywhere(path, data, "entities")


# --- kind 26: a KMZ whose KML inflates without end ------------------------------------------------------
def test_kind26_kmz_bomb_is_read_only_so_far(tmp_path, data, monkeypatch):
    import terrafind.core.read.xml_places as xp

    monkeypatch.setattr(xp, "MAX_KMZ_ENTRY_BYTES", 5_000_000)  # the real limit is 200 MB: same code path
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", b"<kml>" + b" " * 50_000_000 + b"</kml>")  # 50 MB of spaces, ~50 KB zipped
    path = tmp_path / "bomb.kmz"
    path.write_bytes(buf.getvalue())
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError, match="far too large"):
        read_places(path)


# --- kind 27: GeoJSON that is not what it seems ---------------------------------------------------------
@pytest.mark.parametrize(
    "text, words",
    [
        ("[" * 100_000 + "]" * 100_000, "not valid GeoJSON|not GeoJSON"),
        ('{"type": "FeatureCollection", "features": 7}', "list of up to"),
        ('{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[1, 2]]}}', "not GeoJSON"),
        ('"just a string"', "not GeoJSON"),
        ('{"type": "Feature", "geometry": {"type": "Circle", "coordinates": [1, 2]}}', "not GeoJSON"),
    ],
)
def test_kind27_geojson_tricks_are_one_sentence(tmp_path, data, text, words):
    path = tmp_path / "places.geojson"
    path.write_text(text)
    refused_everywhere(path, data, words)


def test_kind27b_nan_and_huge_outlines(tmp_path):
    nan = {
        "type": "Feature",
        "properties": {"status": "yes"},
        "geometry": {"type": "Point", "coordinates": [float("nan"), 37.3]},
    }
    ok = {
        "type": "Feature",
        "properties": {"status": "yes"},
        "geometry": {"type": "Point", "coordinates": [-75.9, 37.3]},
    }
    path = tmp_path / "nan.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [nan, ok]}))
    assert len(read_places(path)) == 1  # the NaN place is skipped, the good one kept
    ring = [[-75.9 + 1e-7 * i, 37.3] for i in range(250_001)] + [[-75.9, 37.31], [-75.9, 37.3]]
    big = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [big]}))
    with pytest.raises(InputError, match="more than an outline"):
        read_places(path)


# --- kind 28: CSVs with a cell the size of a file, and too many places -----------------------------------
def test_kind28_csv_limits(tmp_path, data, monkeypatch):
    import terrafind.core.read.places as places

    path = tmp_path / "cell.csv"
    path.write_text("lat,lon,name\n37.3,-75.9," + "x" * 500_000 + "\n")
    refused_everywhere(path, data, "not numbers")
    monkeypatch.setattr(places, "MAX_PLACES", 10)
    many = tmp_path / "many.csv"
    many.write_text("lat,lon\n" + "37.3,-75.9\n" * 20)
    with pytest.raises(InputError, match="more than 10"):
        read_places(many)


# --- kind 29: vector files that are not what their name says (GDAL would read a VRT by content) ----------
@pytest.mark.parametrize("name", ["places.shp", "places.gpkg", "places.fgb", "places.zip"])
def test_kind29_disguised_vector_files_never_reach_gdal(tmp_path, data, name):
    vrt = '<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>'
    path = tmp_path / name
    path.write_text(vrt)
    refused_everywhere(path, data, "is not a")
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as zf:
        zf.writestr("a.vrt", vrt)
    with pytest.raises(InputError, match="one shapefile"):
        read_places(tmp_path / "two.zip")


# --- kind 29b: a KML polygon whose hole is empty (found by fuzzing: GEOS refused the ring, a crash) -------
def test_kind29b_kml_polygon_with_an_empty_hole(tmp_path, data):
    path = tmp_path / "holes.kml"
    ring = "-75.9,37.3 -75.8,37.3 -75.8,37.4 -75.9,37.3"
    path.write_text(
        '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark>'
        '<ExtendedData><Data name="status"><value>yes</value></Data></ExtendedData><Polygon>'
        f"<outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs>"
        "<innerBoundaryIs><LinearRing><coordinates></coordinates></LinearRing></innerBoundaryIs>"
        "<innerBoundaryIs><LinearRing><coordinates>-75.85,37.35 -75.84,37.35</coordinates></LinearRing>"
        "</innerBoundaryIs></Polygon></Placemark></Document></kml>"
    )
    places = read_places(path)
    assert len(places) == 1 and places[0].geometry.geom_type == "Polygon"
    run = cli_labels(data, path)
    assert "Traceback" not in run.stderr, run.stderr
