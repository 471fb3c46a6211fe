"""The map's online basemaps, fetched through the network gate like everything else.

The page never talks to a tile server itself: its online layers point at ``terrafind://app/tiles/online/
<key>/{z}/{x}/{y}`` and the app fetches each tile here, only while online, only from these fixed
services (a file can never add one), with the same bounded client as every other request
(:mod:`terrafind.core.net.http`). So the page's Content-Security-Policy allows images from the app alone,
and "Offline" is one switch for the page too.
"""

from __future__ import annotations

from terrafind.core.imagery.xyz import tile_url
from terrafind.core.net.gate import BASEMAP_SITES, Offline, gate
from terrafind.core.net.http import FetchError, fetch
from terrafind.core.net.locations import Remote, locate

__all__ = ["ONLINE_BASEMAPS", "online_tile"]

# Shown only when online, never downloaded in bulk (their terms forbid it), always with attribution.
ONLINE_BASEMAPS: dict[str, dict[str, object]] = {
    "esri": {
        "name": "Esri World Imagery (online)",
        "template": "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
        "attribution": "Tiles &copy; Esri &mdash; Source: Esri, Maxar, Earthstar Geographics, and the GIS User Community",
        "maxZoom": 19,
    },
    "osm": {
        "name": "OpenStreetMap (online)",
        "template": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": "&copy; OpenStreetMap contributors",
        "maxZoom": 19,
    },
}


def online_tile(key: str, z: int, x: int, y: int) -> bytes | None:
    """One tile of an online basemap, or None (offline, unknown layer, out of range, not there)."""
    layer = ONLINE_BASEMAPS.get(key)
    if layer is None or not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        return None
    remote = locate(tile_url(str(layer["template"]), z, x, y))
    if not isinstance(remote, Remote) or remote.site not in BASEMAP_SITES or not gate().online:
        return None
    gate().log.append({"site": remote.site, "purpose": "basemap", "dataset": "*", "verdict": "allowed"})
    try:
        return fetch(remote, timeout=10.0, max_bytes=4 << 20)
    except (FetchError, Offline):
        return None
