"""The field loop: GPX/KML waypoints out (parsed by real parsers) and places back in as labels."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import geopandas as gpd
import gpxpy
import gpxpy.gpx
import numpy as np
import pyarrow as pa
import pyogrio
import pytest
import shapely
from synth import chip_polygons, grid_layout

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.export.hits import export_hits, export_sites, sites_feature_collection
from terrafind.core.export.phones import KML_NS, fc_waypoints, write_kml
from terrafind.core.read.places import parse_status, places_to_labels, read_places
from terrafind.core.search.sites import merge_sites
from terrafind.core.types import SearchResult


@pytest.fixture(scope="module")
def cat():
    n = 400
    centres, half, _ = grid_layout(n, bbox=(-75.95, 37.25, -75.75, 37.45))
    rng = np.random.default_rng(0)
    v = rng.standard_normal((n, 16)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    ids = np.array([f"chip-{i:04d}" for i in range(n)], dtype=object)
    return Catalog(v, ids, chip_polygons(centres, half), pa.table({"date": ["2024-07-15"] * n}))


def hits(rows, scores, probabilities=None, matched=None):
    rows = np.asarray(rows, np.int64)
    return SearchResult(
        rows=rows,
        scores=np.asarray(scores, np.float32),
        matched=np.asarray(matched if matched is not None else [-1] * len(rows), np.int64),
        mode="max",
        k=len(rows),
        threshold=None,
        positives=(0, 1),
        negatives=(),
        method="exact",
        elapsed_ms=1.0,
        probabilities=None if probabilities is None else np.asarray(probabilities, np.float32),
    )


def test_gpx_parses_with_gpxpy_and_round_trips_as_labels(cat, tmp_path):
    res = hits([5, 77, 300, 12], [0.91, 0.85, 0.8, 0.4], matched=[0, 1, 0, 1])
    path = export_hits(cat, res, tmp_path / "hits.gpx", threshold=0.5)
    gpx = gpxpy.parse(path.read_text())
    assert [w.name for w in gpx.waypoints] == ["#1 0.91", "#2 0.85", "#3 0.80"]
    first = gpx.waypoints[0]
    lon, lat = cat.centroids[5]
    assert (first.longitude, first.latitude) == pytest.approx((lon, lat), abs=1e-6)
    assert "id chip-0005" in first.description and "date 2024-07-15" in first.description
    assert (
        f"lat {lat:.6f}, lon {lon:.6f}" in first.description
        and "matched example chip-0000" in first.description
    )
    assert gpx.waypoints[1].description.endswith("matched example chip-0001")
    labels = places_to_labels(cat, read_places(path))
    assert labels.positives == [5, 77, 300] and labels.negatives == [] and labels.unmatched == 0


def test_kml_parses_with_etree_and_gdal_and_comes_back_as_field_verdicts(cat, tmp_path):
    res = hits([5, 77, 300], [0.9, 0.8, 0.7], probabilities=[0.97, 0.6, 0.55])
    path = export_hits(cat, res, tmp_path / "hits.kml")
    ns = {"k": KML_NS}
    root = ET.parse(path).getroot()
    marks = root.findall(".//k:Placemark", ns)
    assert [m.findtext("k:name", namespaces=ns) for m in marks] == ["#1 0.97", "#2 0.60", "#3 0.55"]
    coords = marks[0].findtext("k:Point/k:coordinates", namespaces=ns)
    assert [float(c) for c in coords.split(",")] == pytest.approx(list(cat.centroids[5]), abs=1e-6)
    fields = {d.get("name"): d.findtext("k:value", namespaces=ns) for d in marks[0].iter(f"{{{KML_NS}}}Data")}
    assert fields["id"] == "chip-0005" and fields["probability"] == "0.97" and fields["status"] == ""
    frame = pyogrio.read_dataframe(path)  # GDAL's KML driver agrees
    assert len(frame) == 3 and frame.geometry.x.iloc[0] == pytest.approx(cat.centroids[5][0])
    # Back from the field: one confirmed, one rejected, one not visited (blank).
    values = iter(["confirmed", "rejected", ""])
    for mark in marks:
        for d in mark.iter(f"{{{KML_NS}}}Data"):
            if d.get("name") == "status":
                d.find("k:value", ns).text = next(values)
    ET.ElementTree(root).write(path, xml_declaration=True, encoding="utf-8")
    places = read_places(path)
    assert [p.status for p in places] == ["positive", "negative", None]
    labels = places_to_labels(cat, places)
    assert (labels.positives, labels.negatives, labels.skipped) == ([5], [77], 1)


def test_site_waypoints_in_kml(cat, tmp_path):
    cols = int(np.ceil(np.sqrt(len(cat))))
    res = hits([0, 1, cols, 200], [0.9, 0.8, 0.7, 0.95])
    sites = merge_sites(cat, res)
    path = write_kml(
        tmp_path / "sites.kml", fc_waypoints(sites_feature_collection(cat, sites)), title="Quarries"
    )
    places = read_places(path)
    assert [p.name for p in places] == ["Site #1 0.95", "Site #2 0.90"]
    assert places[1].geometry.within(sites[1].geometry)
    text = path.read_text()
    assert "3 chips" in text and "Quarries" in text
    labels = places_to_labels(cat, places)
    assert labels.positives == sorted([200, cat.chip_at(places[1].lon, places[1].lat)])


def test_csv_with_detected_columns_and_a_verification_status(cat, tmp_path):
    pts = cat.centroids[[3, 50, 120, 240, 333]]
    rows = [
        ("confirmed", pts[0]),
        ("Rejected", pts[1]),
        ("not visited", pts[2]),
        ("exclude", pts[3]),
        ("", pts[4]),
    ]
    text = "Site;Latitude;Longitude;Field_Status\n" + "".join(
        f"s{i};{lat:.6f};{lon:.6f};{st}\n" for i, (st, (lon, lat)) in enumerate(rows)
    )
    path = tmp_path / "verified.csv"
    path.write_text(text)
    places = read_places(path)
    assert [p.name for p in places] == ["s0", "s1", "s2", "s3", "s4"]
    labels = places_to_labels(cat, places)
    p, n, e, unmatched = labels
    assert (p, n, e, unmatched, labels.skipped) == ([3], [50], [240], 0, 2)


def test_csv_without_status_uses_the_default_and_counts_places_off_the_map(cat, tmp_path):
    lon, lat = cat.centroids[10]
    path = tmp_path / "known.csv"
    path.write_text(f"name,lng,lat\na,{lon},{lat}\nfar,10.0,50.0\n,,\n")
    labels = places_to_labels(cat, read_places(path), default="negative")
    assert (labels.positives, labels.negatives, labels.unmatched) == ([], [10], 1)


def test_geojson_points_and_an_exclusion_area(cat, tmp_path):
    town = shapely.box(*cat.footprints[42].bounds).buffer(1e-4)  # touches chip 42 and its neighbours
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(shapely.Point(cat.centroids[7])),
                "properties": {"label": 1},
            },
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(shapely.Point(cat.centroids[8])),
                "properties": {"label": 0},
            },
            {"type": "Feature", "geometry": shapely.geometry.mapping(town), "properties": {"label": "mask"}},
        ],
    }
    path = tmp_path / "places.geojson"
    path.write_text(json.dumps(fc))
    labels = places_to_labels(cat, read_places(path))
    assert labels.positives == [7] and labels.negatives == [8]
    cols = int(np.ceil(np.sqrt(len(cat))))
    assert set(labels.exclude) == {
        42,
        41,
        43,
        42 - cols,
        42 + cols,
        41 - cols,
        43 - cols,
        41 + cols,
        43 + cols,
    }


def test_gpx_waypoint_types_as_status_and_plain_categories_as_default(cat, tmp_path):
    def gpx_file(name, types):
        gpx = gpxpy.gpx.GPX()
        for row, t in types:
            lon, lat = cat.centroids[row]
            gpx.waypoints.append(gpxpy.gpx.GPXWaypoint(latitude=lat, longitude=lon, name=f"w{row}", type=t))
        path = tmp_path / name
        path.write_text(gpx.to_xml())
        return path

    verdicts = places_to_labels(cat, read_places(gpx_file("v.gpx", [(1, "Confirmed"), (2, "rejected")])))
    assert (verdicts.positives, verdicts.negatives) == ([1], [2])
    favourites = places_to_labels(cat, read_places(gpx_file("f.gpx", [(1, "Favorites"), (2, None)])))
    assert (favourites.positives, favourites.skipped) == ([1, 2], 0)


def test_shapefile_in_a_projected_crs_lands_as_labels(cat, tmp_path):
    pts = [shapely.Point(cat.centroids[r]) for r in (15, 16, 17)]
    frame = gpd.GeoDataFrame({"status": ["yes", "no", "yes"]}, geometry=pts, crs=4326).to_crs(3857)
    path = tmp_path / "sites.shp"
    frame.to_file(path)
    labels = places_to_labels(cat, read_places(path))
    assert (labels.positives, labels.negatives) == ([15, 17], [16])


def test_polygon_positive_labels_chips_whose_centres_it_covers(cat, tmp_path):
    cols = int(np.ceil(np.sqrt(len(cat))))
    corners = cat.centroids[[100, 101 + cols]]
    area = shapely.box(*(corners.min(axis=0) - 1e-5), *(corners.max(axis=0) + 1e-5))
    path = tmp_path / "area.geojson"
    path.write_text(
        json.dumps({"type": "Feature", "geometry": shapely.geometry.mapping(area), "properties": {}})
    )
    labels = places_to_labels(cat, read_places(path))
    assert labels.positives == [100, 101, 100 + cols, 101 + cols]


def test_conflicts_exclude_beats_negative_beats_positive(cat, tmp_path):
    lon, lat = cat.centroids[9]
    path = tmp_path / "c.csv"
    path.write_text(f"lat,lon,status\n{lat},{lon},confirmed\n{lat},{lon},rejected\n")
    assert places_to_labels(cat, read_places(path)).negatives == [9]
    assert places_to_labels(cat, read_places(path)).positives == []


def test_status_words():
    assert parse_status("Confirmed ") == "positive"
    assert parse_status("FALSE_POSITIVE") == "negative"
    assert parse_status("not-visited") == "skip"
    assert parse_status("already known") == "exclude"
    assert parse_status("maybe") is None


def test_unreadable_inputs_say_what_to_do(cat, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,easting,northing\na,1,2\n")
    with pytest.raises(InputError, match="no latitude/longitude columns.*easting"):
        read_places(bad)
    projected = tmp_path / "utm.csv"
    projected.write_text("x,y\n420000,4130000\n")
    with pytest.raises(InputError, match="not longitude/latitude"):
        read_places(projected)
    with pytest.raises(InputError, match="not .xlsx"):
        read_places(tmp_path / "sheet.xlsx")
    broken = tmp_path / "broken.kml"
    broken.write_text("<kml><Placemark>")
    with pytest.raises(InputError, match="not a readable KML"):
        read_places(broken)
    with pytest.raises(InputError, match="positive, negative or exclude"):
        places_to_labels(cat, [], default="maybe")


def test_export_registry_writes_gpx_and_kml_by_extension(cat, tmp_path):
    from terrafind.core.export.hits import export_hits

    res = hits([5, 77], [0.9, 0.8], probabilities=[0.7, 0.6], matched=[1, 0])
    gpx_path = export_hits(cat, res, tmp_path / "out.gpx")
    gpx = gpxpy.parse(gpx_path.read_text())
    assert [w.name for w in gpx.waypoints] == ["#1 0.70", "#2 0.60"]
    assert gpx.name == "Terrafind hits"
    kml_path = export_hits(cat, res, tmp_path / "out", fmt="kml")
    assert kml_path.suffix == ".kml"
    assert [p.name for p in read_places(kml_path)] == ["#1 0.70", "#2 0.60"]
    description = ET.parse(kml_path).getroot().findtext(f".//{{{KML_NS}}}description")
    assert "matched example chip-0001" in description


def test_export_sites_in_every_format(cat, tmp_path):

    cols = int(np.ceil(np.sqrt(len(cat))))
    res = hits([0, 1, cols, 200], [0.9, 0.8, 0.7, 0.95], matched=[0, 0, 1, 1])
    sites = merge_sites(cat, res)
    fc = json.loads(export_sites(cat, sites, tmp_path / "sites.geojson", result=res).read_text())
    assert fc["terrafind"]["kind"] == "sites" and fc["terrafind"]["search"]["examples"]["positives"] == [
        "chip-0000",
        "chip-0001",
    ]
    assert [f["properties"]["chip_count"] for f in fc["features"]] == [1, 3]
    assert fc["features"][1]["properties"]["matched_example"] == "chip-0000"
    frame = pyogrio.read_dataframe(export_sites(cat, sites, tmp_path / "sites.gpkg"))
    assert list(frame["chip_count"]) == [1, 3]
    gpx = gpxpy.parse(export_sites(cat, sites, tmp_path / "sites.gpx").read_text())
    assert [w.name for w in gpx.waypoints] == ["Site #1 0.95", "Site #2 0.90"]
    assert "3 chips" in gpx.waypoints[1].description
