"""Import places (CSV, GeoJSON, KML/KMZ, GPX, shapefile/GeoPackage) and turn them into labels.

People bring what they already know: a CSV of known sites, a town outline to mask, or the file that came
back from the field with a status per waypoint ("confirmed", "rejected", "not visited"). Every format ends
as a list of :class:`Place` (lon/lat, a shapely geometry, a name, a status), and
:func:`places_to_labels` finds the chips they fall on.

Status rules (see ``STATUS_WORDS``): words for yes become positives, words for no negatives, mask words
"exclude". A file in which any place carries a known status word is a verification file: a place whose
status is blank, "not visited" or an unknown word teaches nothing and is skipped. A file without any known
status word (no status column, or a GPX ``type`` that is just a category such as "Favorites") uses the
caller's ``default`` for every place.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from terrafind.core.catalog import Catalog
from terrafind.core.errors import InputError
from terrafind.core.limits import MAX_PLACE_VERTICES, MAX_PLACES, MAX_PLACES_FILE_BYTES, MAX_TEXT_CHARS
from terrafind.core.read.status_words import STATUS_WORDS, parse_status
from terrafind.core.read.status_words import key as _key
from terrafind.core.read.status_words import norm as _norm
from terrafind.core.read.xml_places import gpx_points, kmz_document, parse_xml
from terrafind.core.read.xml_places import local as _local

__all__ = ["Place", "ImportedLabels", "read_places", "places_to_labels", "parse_status", "STATUS_WORDS"]

_STATUS_FIELDS = (
    "status",
    "label",
    "labels",
    "class",
    "verification",
    "verified",
    "result",
    "outcome",
    "fieldstatus",
    "groundtruth",
    "truth",
)
_NAME_FIELDS = ("name", "title", "id", "label_name", "site")
_LAT_COLS = ("lat", "latitude", "y", "latdd", "decimallatitude", "latdeg")
_LON_COLS = ("lon", "lng", "long", "longitude", "x", "londd", "decimallongitude", "londeg")


@dataclass
class Place:
    """One imported place. ``status`` is "positive", "negative", "exclude" or None (no status, or one that
    says "not visited"); ``raw_status`` keeps the file's own word (None when the file had none)."""

    lon: float
    lat: float
    geometry: Any
    status: str | None = None
    name: str | None = None
    raw_status: str | None = None


@dataclass
class ImportedLabels:
    """Catalog rows per label, places that fell on no chip, places skipped (not visited / unknown word).
    Unpacks as ``positives, negatives, exclude, unmatched``."""

    positives: list[int]
    negatives: list[int]
    exclude: list[int]
    unmatched: int
    skipped: int = 0
    unknown_words: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.positives, self.negatives, self.exclude, self.unmatched))


def _place(geom: Any, props: dict[str, Any], path: Path) -> Place | None:
    if geom is None or geom.is_empty:
        return None
    count = shapely.get_num_coordinates(geom)
    if count > MAX_PLACE_VERTICES:
        raise InputError(
            f"{path.name} has a place with {count:,} points, more than an outline Terrafind uses "
            f"({MAX_PLACE_VERTICES:,}); simplify it in a GIS first."
        )
    with np.errstate(invalid="ignore"):
        if not np.isfinite(shapely.get_coordinates(geom)).all():
            return None  # a NaN or infinite point: skipped like an empty one
        if not shapely.is_valid(geom):
            geom = shapely.make_valid(geom)
    keys = {_key(k): k for k in props}
    raw = next((props[keys[f]] for f in _STATUS_FIELDS if f in keys and props[keys[f]] is not None), None)
    name = next(
        (props[keys[f]] for f in _NAME_FIELDS if f in keys and props[keys[f]] not in (None, "")), None
    )
    status = None if raw is None else parse_status(raw)
    p = geom if geom.geom_type == "Point" else geom.representative_point()
    lon, lat = float(p.x), float(p.y)
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InputError(
            f"{path.name} has a place at {lon}, {lat}, which is not longitude/latitude; save it in WGS 84 "
            "(EPSG:4326) or as a file that records its projection (shapefile with .prj, GeoPackage)."
        )
    return Place(
        lon,
        lat,
        geom,
        status if status != "skip" else None,
        None if name is None else str(name),
        None if raw is None else str(raw),
    )


# --- formats ----------------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[Place]:
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    csv.field_size_limit(MAX_TEXT_CHARS * 100)  # a cell is a value, not a file (the default is 128 KB)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    header = reader.fieldnames or []
    keys = {_key(h): h for h in header}
    lat_col = next((keys[c] for c in _LAT_COLS if c in keys), None)
    lon_col = next((keys[c] for c in _LON_COLS if c in keys), None)
    wkt_col = next((keys[c] for c in ("wkt", "geometry", "geom") if c in keys), None)
    if (lat_col is None or lon_col is None) and wkt_col is None:
        raise InputError(
            f"{path.name} has no latitude/longitude columns (looked for lat/latitude/y and lon/lng/longitude/x); "
            f"found: {', '.join(header) or 'no header'}."
        )
    places = []
    for i, rec in enumerate(_rows(reader, path), start=2):
        if i > MAX_PLACES + 1:
            raise InputError(f"{path.name} has more than {MAX_PLACES:,} places; split it into smaller files.")
        try:
            if lat_col is not None and lon_col is not None:
                if not (rec.get(lat_col) or "").strip() and not (rec.get(lon_col) or "").strip():
                    continue  # an empty line at the end of a spreadsheet export
                geom = shapely.Point(
                    float(rec[lon_col].replace(",", ".")), float(rec[lat_col].replace(",", "."))
                )
            else:
                geom = shapely.from_wkt(rec[str(wkt_col)])
        except (ValueError, TypeError, AttributeError, csv.Error, shapely.errors.GEOSException) as exc:
            raise InputError(
                f"{path.name}, line {i}: the coordinates are not numbers.", detail=str(exc)
            ) from exc
        place = _place(geom, {k: v for k, v in rec.items() if k is not None}, path)
        if place is not None:
            places.append(place)
    return places


def _rows(reader: Any, path: Path) -> Iterator[dict[str, Any]]:
    """The CSV's records; a malformed one (a cell far longer than a value) is one sentence."""
    try:
        yield from reader
    except csv.Error as exc:
        raise InputError(
            f"{path.name}, line {reader.line_num}: the coordinates are not numbers (or a cell is far too long).",
            detail=str(exc),
        ) from None


def _read_geojson(path: Path) -> list[Place]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"{path.name} is not valid GeoJSON.", detail=str(exc)) from None
    if not isinstance(data, dict):
        raise InputError(f"{path.name} is not GeoJSON: it holds no feature or geometry.")
    if data.get("type") == "FeatureCollection":
        feats = data.get("features") or []
    elif data.get("type") == "Feature":
        feats = [data]
    else:
        feats = [{"type": "Feature", "geometry": data, "properties": {}}]
    if not isinstance(feats, list) or len(feats) > MAX_PLACES:
        raise InputError(f"{path.name} does not hold a list of up to {MAX_PLACES:,} features.")
    places = []
    for f in feats:
        if not isinstance(f, dict) or not f.get("geometry"):
            continue
        try:
            with np.errstate(invalid="ignore"):
                geom = shapely.geometry.shape(f["geometry"])
        # ShapelyError: an unknown geometry type as well as GEOS's own errors
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError,
                shapely.errors.ShapelyError) as exc:  # fmt: skip
            raise InputError(f"{path.name} holds a geometry that is not GeoJSON.", detail=repr(exc)) from None
        props = f.get("properties")
        place = _place(geom, props if isinstance(props, dict) else {}, path)
        if place is not None:
            places.append(place)
    return places


def _kml_coords(text: str | None, name: str = "") -> list[tuple[float, float]]:
    out = []
    for tok in (text or "").split():
        parts = tok.split(",")
        try:
            out.append((float(parts[0]), float(parts[1])))  # KML is lon,lat[,alt]
        except (ValueError, IndexError):
            raise InputError(f"{name or 'The KML file'} has coordinates that are not numbers.") from None
        if len(out) > MAX_PLACE_VERTICES:
            raise InputError(
                f"{name or 'The KML file'} has a place with more points than an outline Terrafind uses."
            )
    return out


def _kml_geometry(el: ET.Element, depth: int = 0) -> Any:
    kind = _local(el.tag)
    if kind == "Point":
        c = _kml_coords(next((e.text for e in el.iter() if _local(e.tag) == "coordinates"), None))
        return shapely.Point(c[0]) if c else None
    if kind == "LineString":
        c = _kml_coords(next((e.text for e in el.iter() if _local(e.tag) == "coordinates"), None))
        return shapely.LineString(c) if len(c) >= 2 else None
    if kind == "Polygon":
        outer, holes = None, []
        for boundary in el:
            ring = next((e.text for e in boundary.iter() if _local(e.tag) == "coordinates"), None)
            if _local(boundary.tag) == "outerBoundaryIs":
                outer = _kml_coords(ring)
            elif _local(boundary.tag) == "innerBoundaryIs":
                holes.append(_kml_coords(ring))
        if not outer or len(outer) < 3:
            return None
        try:  # a hole of fewer than three points (or an empty one) is left out, as an outline would be
            return shapely.Polygon(outer, [h for h in holes if len(h) >= 3])
        except shapely.errors.ShapelyError:
            return None  # a ring GEOS cannot build: skipped like an empty place
    if kind == "MultiGeometry" and depth < 8:
        parts = [g for g in (_kml_geometry(c, depth + 1) for c in el) if g is not None]
        return shapely.GeometryCollection(parts) if parts else None
    return None


def _read_kml_bytes(data: bytes, path: Path) -> list[Place]:
    root = parse_xml(data, path.name, "KML")
    places = []
    for pm in (e for e in root.iter() if _local(e.tag) == "Placemark"):
        props: dict[str, Any] = {}
        geom = None
        for child in pm:
            tag = _local(child.tag)
            if tag == "name":
                props["name"] = (child.text or "").strip()
            elif tag == "ExtendedData":
                for d in child.iter():
                    if _local(d.tag) == "Data":
                        value = next((v.text for v in d if _local(v.tag) == "value"), None)
                        props[d.get("name", "")] = value
                    elif _local(d.tag) == "SimpleData":
                        props[d.get("name", "")] = d.text
            elif geom is None:
                geom = _kml_geometry(child)
        place = _place(geom, props, path) if geom is not None else None
        if place is not None:
            places.append(place)
    return places


def _read_kml(path: Path) -> list[Place]:
    if path.suffix.lower() == ".kmz":
        return _read_kml_bytes(kmz_document(path), path)
    return _read_kml_bytes(path.read_bytes(), path)


def _read_gpx(path: Path) -> list[Place]:
    places = []
    for lon, lat, name, kind in gpx_points(path.read_bytes(), path.name):
        # OsmAnd and most apps keep a waypoint's group / category in <type>.
        place = _place(shapely.Point(lon, lat), {"name": name, "status": kind}, path)
        if place is not None:
            places.append(place)
    return places


# The first bytes of the files GDAL may read for us (by content GDAL would also accept a VRT that pulls in
# other files or addresses: never handed to it).
_MAGIC = {
    ".shp": (b"\x00\x00\x27\x0a",),
    ".gpkg": (b"SQLite format 3\x00",),
    ".fgb": (b"fgb\x03",),
    ".zip": (b"PK\x03\x04",),
}


def _ogr_path(path: Path) -> str:
    """What to give GDAL for a vector file, after checking it is what its name says (a zip: the one
    shapefile it holds, by name)."""
    with open(path, "rb") as fh:
        head = fh.read(16)
    if not any(head.startswith(m) for m in _MAGIC.get(path.suffix.lower(), ())):
        raise InputError(f"{path.name} is not a {path.suffix.lstrip('.').upper()} file.")
    if path.suffix.lower() != ".zip":
        return str(path)
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            shps = [
                i for i in zf.infolist() if i.filename.lower().endswith(".shp") and ".." not in i.filename
            ]
            total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        raise InputError(f"{path.name} is not a readable zip file.", detail=str(exc)) from None
    if len(shps) != 1 or total > MAX_PLACES_FILE_BYTES:
        raise InputError(
            f"{path.name} must hold one shapefile (and its .dbf, .shx, .prj), of reasonable size."
        )
    return f"/vsizip/{path}/{shps[0].filename}"


def _read_ogr(path: Path) -> list[Place]:
    import geopandas as gpd

    try:
        frame = gpd.read_file(_ogr_path(path))
    except InputError:
        raise
    except Exception as exc:  # pyogrio's errors: unreadable, missing .shx, unknown driver
        raise InputError(f"{path.name} could not be read as a vector file.", detail=str(exc)) from exc
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs(4326)
    places = []
    cols = [c for c in frame.columns if c != frame.geometry.name]
    for geom, rec in zip(frame.geometry, frame[cols].to_dict("records"), strict=True):
        props = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
        place = _place(geom, props, path)
        if place is not None:
            places.append(place)
    return places


_READERS = {
    ".csv": _read_csv,
    ".txt": _read_csv,
    ".tsv": _read_csv,
    ".geojson": _read_geojson,
    ".json": _read_geojson,
    ".kml": _read_kml,
    ".kmz": _read_kml,
    ".gpx": _read_gpx,
    ".shp": _read_ogr,
    ".zip": _read_ogr,
    ".gpkg": _read_ogr,
    ".fgb": _read_ogr,
}


def read_places(path: str | Path) -> list[Place]:
    """Places from a CSV (lat/lon columns detected), GeoJSON, KML/KMZ, GPX, shapefile or GeoPackage."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(
            f"{path.name}: Terrafind reads places from {', '.join(sorted(_READERS))} files, not {path.suffix or 'this'}."
        )
    if not path.is_file():
        raise InputError(f"{path} does not exist.")
    if path.stat().st_size > MAX_PLACES_FILE_BYTES:
        raise InputError(
            f"{path.name} is too large to be a file of places ({path.stat().st_size // 1_000_000} MB); split it."
        )
    return reader(path)


# --- places to chips ---------------------------------------------------------------------------------


def _rows_for(catalog: Catalog, place: Place, status: str, snap_m: float = 0.0) -> list[int]:
    geom = place.geometry
    if geom.geom_type == "Point":
        # a GPS point beside the data (a gap, the edge) takes the nearest chip within snap_m metres
        found = catalog.chip_near(place.lon, place.lat, snap_m)
        return [] if found is None else [found[0]]
    # The catalog's spatial grid answers without an object per chip; a mask hits every chip it touches.
    hits = catalog.rows_in(geom)
    if status == "exclude" or len(hits) == 0:
        return [int(h) for h in hits]
    centres = np.asarray(catalog.centroids[hits])
    inside = [int(h) for h in hits[shapely.covers(geom, shapely.points(centres))]]
    if inside:
        return inside
    found = catalog.chip_near(place.lon, place.lat, snap_m)
    return [] if found is None else [found[0]]


def places_to_labels(
    catalog: Catalog, places: Sequence[Place], *, default: str = "positive", snap_m: float = 0.0
) -> ImportedLabels:
    """The chips under each place, sorted into positives, negatives and exclude rows.

    A point labels the chip under it; an area labels the chips whose centres it covers (an "exclude" area:
    every chip it touches). When one chip gets conflicting labels, exclude beats negative beats positive
    (a field rejection outweighs a confirmation next door). ``default`` applies when the file carries no
    status at all. A point (or a small area) on no chip takes the nearest chip within ``snap_m`` metres.
    """
    if default not in ("positive", "negative", "exclude"):
        raise InputError(f"Import places as positive, negative or exclude, not {default!r}.")
    has_status = any(
        p.raw_status is not None and _norm(p.raw_status) != "" and parse_status(p.raw_status) is not None
        for p in places
    )
    sets: dict[str, set[int]] = {"positive": set(), "negative": set(), "exclude": set()}
    unmatched = skipped = 0
    unknown: list[str] = []
    for place in places:
        status = place.status
        if status is None:
            if has_status:
                skipped += 1
                raw = (place.raw_status or "").strip()
                if raw and parse_status(raw) is None and raw not in unknown:
                    unknown.append(raw)
                continue
            status = default
        rows = _rows_for(catalog, place, status, snap_m)
        if not rows:
            unmatched += 1
        sets[status].update(rows)
    excl = sets["exclude"]
    neg = sets["negative"] - excl
    pos = sets["positive"] - excl - neg
    return ImportedLabels(sorted(pos), sorted(neg), sorted(excl), unmatched, skipped, unknown)
