"""Limits on what Terrafind takes from a file: sizes, lengths, vertices, time. One place, one reason each.

Files come from strangers (a data portal, a colleague, a ranger's phone). Each limit is far above what a
real file of its kind holds and far below what would freeze the window or fill the memory.
"""

from __future__ import annotations

__all__ = [
    "MAX_TEXT_CHARS",
    "MAX_ID_CHARS",
    "MAX_MAP_TEXT",
    "MAX_CHIP_VERTICES",
    "MAX_WKB_BYTES",
    "MAX_PLACE_VERTICES",
    "MAX_PLACES_FILE_BYTES",
    "MAX_KMZ_ENTRY_BYTES",
    "MAX_PLACES",
    "MAX_XML_NAMESPACES",
]

MAX_TEXT_CHARS = 2000  # an attribute value kept from a data file (a URL, a date, a note); longer is cut
MAX_ID_CHARS = 200  # a chip id (Earth Index ids are ~20, Clay ~30)
MAX_MAP_TEXT = 120  # a string the map page or a list shows (ids, dates, names in popups and labels)
MAX_CHIP_VERTICES = 10_000  # a chip footprint (a square has 5; reprojected, a few dozen)
MAX_WKB_BYTES = 64 + 16 * MAX_CHIP_VERTICES  # the encoded size of the most detailed footprint kept
MAX_PLACE_VERTICES = 200_000  # an imported outline (a district or a park boundary)
MAX_PLACES_FILE_BYTES = 200 * 1000 * 1000  # a CSV / GeoJSON / KML / GPX of places
MAX_KMZ_ENTRY_BYTES = 200 * 1000 * 1000  # the KML document inside a KMZ (read up to this, never whole)
MAX_PROJECT_BYTES = 200 * 1000 * 1000  # a *.terrafind project (ids of examples and labels: a few MB)
MAX_PLACES = 1_000_000  # places in one imported file
MAX_XML_NAMESPACES = 200  # namespace declarations in one GPX/KML file (real ones have fewer than 20)
