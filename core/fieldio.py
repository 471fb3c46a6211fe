"""The field loop in one import: GPX/KML waypoints out (:mod:`terrafind.core.export.phones`), places and
verification files back in as labels (:mod:`terrafind.core.read.places`)."""

from __future__ import annotations

from terrafind.core.export.phones import (
    KML_NS,
    Waypoint,
    fc_waypoints,
    hit_waypoints,
    site_waypoints,
    write_gpx,
    write_gpx_fc,
    write_hits_gpx,
    write_hits_kml,
    write_kml,
    write_kml_fc,
)
from terrafind.core.read.places import (
    STATUS_WORDS,
    ImportedLabels,
    Place,
    parse_status,
    places_to_labels,
    read_places,
)

__all__ = [
    "KML_NS",
    "STATUS_WORDS",
    "ImportedLabels",
    "Place",
    "Waypoint",
    "fc_waypoints",
    "hit_waypoints",
    "parse_status",
    "places_to_labels",
    "read_places",
    "site_waypoints",
    "write_gpx",
    "write_gpx_fc",
    "write_hits_gpx",
    "write_hits_kml",
    "write_kml",
    "write_kml_fc",
]
