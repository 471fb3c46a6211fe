"""Export for phones: GPX and KML waypoints of hits or sites, which OsmAnd, Organic Maps and QField open.

One waypoint per hit (or per site, at a point inside it). The name is what a phone shows in a list, so it
is short and sortable ("#03 0.87"); the description carries what someone in the field needs to report
back: the chip id, date, coordinates and which example the hit matched. KML also carries these as
ExtendedData fields (plus an empty ``status`` to fill in), so the file can come back through
:func:`terrafind.core.read.places.read_places` as labels.

Both files are written with the standard library / gpxpy and saved atomically (a temporary file renamed
into place), so a phone sync never picks up half a file.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terrafind.core.files import write_bytes_atomic

__all__ = [
    "Waypoint",
    "write_gpx",
    "write_kml",
    "write_gpx_fc",
    "write_kml_fc",
    "gpx_bytes",
    "kml_bytes",
    "fc_waypoints",
    "KML_NS",
]

KML_NS = "http://www.opengis.net/kml/2.2"


@dataclass
class Waypoint:
    """One place for a phone: (lon, lat), a short name, a longer description and named fields."""

    lon: float
    lat: float
    name: str
    description: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def _fmt(v: Any) -> str:
    return "" if v is None else f"{float(v):.2f}"


def _inside_point(geometry: dict[str, Any]) -> tuple[float, float]:
    """(lon, lat) of the centre of a GeoJSON geometry, or of a point on it when the centre falls outside."""
    import shapely

    geom = shapely.geometry.shape(geometry)
    c = geom.centroid
    if geom.geom_type not in ("Point", "MultiPoint") and not geom.contains(c):
        c = geom.point_on_surface()
    return float(c.x), float(c.y)


def fc_waypoints(fc: dict[str, Any]) -> list[Waypoint]:
    """One waypoint per feature of a hits or sites FeatureCollection (:func:`terrafind.core.export.hits.hits_feature_collection`,
    :func:`terrafind.core.search.sites.sites_feature_collection`), in file order."""
    feats = [f for f in fc.get("features", []) if f.get("geometry")]
    width = len(str(len(feats)))
    out: list[Waypoint] = []
    for i, feat in enumerate(feats):
        p = feat.get("properties") or {}
        lon, lat = _inside_point(feat["geometry"])
        is_site = "chip_count" in p
        rank = int(p.get("rank") or i + 1)
        change = p.get("best_change" if is_site else "change")
        score = change if change is not None else p.get("best_score" if is_site else "score")
        prob = p.get("best_probability" if is_site else "probability")
        fields: dict[str, Any] = {
            "rank": rank,
            "id": p.get("best_id" if is_site else "id"),
            "score": score,
            "probability": prob,
            "date": p.get("date"),
            "matched": p.get("matched_example"),
        }
        if change is not None:  # a change between dates: the waypoint says between which
            fields["change"] = fields.pop("score")
        for key in ("date_before", "date_after", "id_before", "score_before"):
            if p.get(key) is not None:
                fields[key] = p[key]
        if is_site:
            fields["chips"] = p.get("chip_count")
            fields["area_ha"] = p.get("area_ha")
        fields["status"] = ""  # for the field team to fill in: confirmed / rejected / not visited
        prefix = "Site #" if is_site else "#"
        name = f"{prefix}{rank:0{width}d} {_fmt(prob if prob is not None else score)}".strip()
        out.append(Waypoint(lon, lat, name, _description(fields, lon, lat), fields))
    return out


def _description(fields: dict[str, Any], lon: float, lat: float) -> str:
    parts = [f"id {fields['id']}"]
    if fields.get("date"):
        parts.append(f"date {fields['date']}")
    # Phones and people read "lat, lon"; the label says which is which.
    parts.append(f"lat {lat:.6f}, lon {lon:.6f}")
    if fields.get("score") is not None:
        parts.append(f"score {float(fields['score']):.3f}")
    if fields.get("change") is not None:
        parts.append(
            f"change {float(fields['change']):.3f} from {fields.get('date_before')} to {fields.get('date_after')}"
        )
    if fields.get("score_before") is not None:
        parts.append(
            f"new since {fields.get('date_before')} (score then {float(fields['score_before']):.3f})"
        )
    if fields.get("probability") is not None:
        parts.append(f"probability {float(fields['probability']):.2f}")
    if fields.get("chips"):
        parts.append(f"{fields['chips']} chips, {fields['area_ha']} ha")
    if fields.get("matched"):
        parts.append(f"matched example {fields['matched']}")
    return "; ".join(parts)


def gpx_bytes(waypoints: Sequence[Waypoint], *, title: str | None = None) -> bytes:
    """Waypoints as GPX 1.1 (name, desc, and the chip id as comment)."""
    import gpxpy.gpx

    gpx = gpxpy.gpx.GPX()
    gpx.name = title or "Terrafind"
    gpx.creator = "Terrafind"
    # Phone apps show a description in a web view (OsmAnd renders it as HTML): the data's <, > and & are
    # escaped for HTML as well as XML, as in KML.
    for wp in waypoints:
        point = gpxpy.gpx.GPXWaypoint(
            latitude=wp.lat,
            longitude=wp.lon,
            name=wp.name,
            description=html.escape(wp.description, quote=False),
        )
        ident = wp.fields.get("id")
        point.comment = None if ident is None else html.escape(str(ident), quote=False)
        gpx.waypoints.append(point)
    return gpx.to_xml(version="1.1").encode("utf-8")


def kml_bytes(waypoints: Sequence[Waypoint], *, title: str | None = None) -> bytes:
    """Waypoints as KML 2.2 Placemarks with ExtendedData fields."""
    ET.register_namespace("", KML_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        el = ET.SubElement(parent, f"{{{KML_NS}}}{tag}")
        if text is not None:
            el.text = text
        return el

    root = ET.Element(f"{{{KML_NS}}}kml")
    doc = sub(root, "Document")
    sub(doc, "name", title or "Terrafind")
    # Google Earth renders a description and the ExtendedData values as HTML (with scripts) once the XML
    # is read: ids and dates come from data files others made, so their <, > and & are escaped for HTML too.
    for wp in waypoints:
        pm = sub(doc, "Placemark")
        sub(pm, "name", wp.name)
        sub(pm, "description", html.escape(wp.description, quote=False))
        ext = sub(pm, "ExtendedData")
        for key, value in wp.fields.items():
            data = sub(ext, "Data")
            data.set("name", key)
            sub(data, "value", "" if value is None else html.escape(str(value), quote=False))
        point = sub(pm, "Point")
        sub(point, "coordinates", f"{wp.lon:.7f},{wp.lat:.7f}")  # KML speaks lon,lat
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_gpx(path: str | Path, waypoints: Sequence[Waypoint], *, title: str | None = None) -> Path:
    """Write waypoints as a GPX file (atomically). Returns the path."""
    return write_bytes_atomic(Path(path), gpx_bytes(waypoints, title=title))


def write_kml(path: str | Path, waypoints: Sequence[Waypoint], *, title: str | None = None) -> Path:
    """Write waypoints as a KML file (atomically). Returns the path."""
    return write_bytes_atomic(Path(path), kml_bytes(waypoints, title=title))


def _title(fc: dict[str, Any]) -> str | None:
    kind = (fc.get("terrafind") or {}).get("kind")
    return f"Terrafind {kind}" if kind else None


def write_gpx_fc(fc: dict[str, Any], path: Path) -> None:
    """The ``gpx`` export format (:mod:`terrafind.core.export.formats`): the features as waypoints."""
    path.write_bytes(gpx_bytes(fc_waypoints(fc), title=_title(fc)))


def write_kml_fc(fc: dict[str, Any], path: Path) -> None:
    """The ``kml`` export format (:mod:`terrafind.core.export.formats`): the features as placemarks."""
    path.write_bytes(kml_bytes(fc_waypoints(fc), title=_title(fc)))
