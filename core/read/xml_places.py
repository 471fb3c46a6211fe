"""Reading XML place files (GPX, KML, KMZ) safely: bounded size and time, no entities, no namespace tricks.

A GPX from a ranger's phone or a KMZ from a colleague is parsed here with the standard library's expat
parser, in time linear in its size:

* no DOCTYPE or entity declarations (GPX and KML never need them; entity expansion is the "billion
  laughs" bomb),
* at most :data:`~terrafind.core.limits.MAX_XML_NAMESPACES` namespace declarations (gpxpy, used before,
  ran a regular expression over them whose time grew with their square: 20,000 repeats of ``xmlns``
  froze the window),
* at most :data:`MAX_XML_BYTES` of XML, and a KMZ's document read up to
  :data:`~terrafind.core.limits.MAX_KMZ_ENTRY_BYTES` (never whole: a zip entry can claim any size).

GPX waypoints (and route points when there are none) come back as plain tuples; :mod:`terrafind.core.read.places`
turns them into places.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from terrafind.core.errors import InputError
from terrafind.core.limits import MAX_KMZ_ENTRY_BYTES, MAX_XML_NAMESPACES

__all__ = ["parse_xml", "gpx_points", "kmz_document", "local", "MAX_XML_BYTES"]

MAX_XML_BYTES = 100 * 1000 * 1000  # an XML place file parsed in memory (a 100 MB GPX is ~500k waypoints)


def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def parse_xml(data: bytes, name: str, kind: str) -> ET.Element:
    """The root element of ``data`` after the checks of the module docstring; one sentence otherwise."""
    if len(data) > MAX_XML_BYTES:
        raise InputError(f"{name} is too large to be a {kind} file of places ({len(data) // 1_000_000} MB).")
    head = data[:65536]
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data:
        raise InputError(f"{name} declares XML entities, which {kind} files never do; it is not read.")
    if data.count(b"xmlns") > MAX_XML_NAMESPACES:
        raise InputError(f"{name} declares far more XML namespaces than a {kind} file has; it is not read.")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(f"{name} is not a readable {kind} file.", detail=str(exc)) from None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def gpx_points(data: bytes, name: str) -> list[tuple[float, float, str | None, str | None]]:
    """(lon, lat, name, type) of a GPX's waypoints, or of its route points when it has no waypoints.
    Points without a numeric lat/lon are left out."""
    root = parse_xml(data, name, "GPX")
    if local(root.tag) != "gpx":
        raise InputError(f"{name} is not a GPX file.")
    found: dict[str, list[tuple[float, float, str | None, str | None]]] = {"wpt": [], "rtept": []}
    for el in root.iter():
        kind = local(el.tag)
        if kind not in found:
            continue
        lat, lon = _number(el.get("lat")), _number(el.get("lon"))
        if lat is None or lon is None:
            continue
        texts = {local(c.tag): (c.text or "").strip() for c in el}
        found[kind].append((lon, lat, texts.get("name") or None, texts.get("type") or None))
    return found["wpt"] or found["rtept"]


def kmz_document(path: Path) -> bytes:
    """The KML document inside a KMZ, read up to :data:`MAX_KMZ_ENTRY_BYTES`."""
    try:
        with zipfile.ZipFile(path) as zf:
            entry = next((i for i in zf.infolist() if i.filename.lower().endswith(".kml")), None)
            if entry is None:
                raise InputError(f"{path.name} holds no KML document.")
            if entry.file_size > MAX_KMZ_ENTRY_BYTES:
                raise InputError(f"The KML inside {path.name} is far too large to be a file of places.")
            with zf.open(entry) as fh:
                data = fh.read(MAX_KMZ_ENTRY_BYTES + 1)  # the stated size may lie: never read more
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError, NotImplementedError) as exc:
        raise InputError(f"{path.name} is not a readable KMZ file.", detail=str(exc)) from None
    if len(data) > MAX_KMZ_ENTRY_BYTES:
        raise InputError(f"The KML inside {path.name} is far too large to be a file of places.")
    return data
