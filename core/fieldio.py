"""The field loop in one import: GPX/KML waypoints out (:mod:`core.fieldio_write`), places and
verification files back in as labels (:mod:`core.fieldio_read`)."""

from __future__ import annotations

from core.fieldio_read import STATUS_WORDS, ImportedLabels, Place, parse_status, places_to_labels, read_places
from core.fieldio_write import (
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
