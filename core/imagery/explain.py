"""Where the thumbnails come from and, when they cannot be made, why: one answer for every place that says it.

The status bar, the Data panel's imagery line, the Imagery dialog and the thumbnails' placeholders all
show :func:`explain_imagery`'s answer, so they cannot disagree (before, the Data panel said "from the data"
while the dialog said "none configured" and the status bar "Online" above "NO IMAGERY OFFLINE" tiles).

Where: the imagery the user chose for the data (File > Imagery...) wins over the data's own ``source_url``
column (that is the rule of :meth:`terrafind.core.imagery.thumbnails.ThumbnailService.source_of` for chips
without a source). Why not: no imagery at all; working offline with remote imagery; or a remote host that
was tried and did not answer (:class:`terrafind.core.imagery.hosts.HostBreaker`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from terrafind.core.imagery.hosts import host_of, is_remote
from terrafind.core.imagery.thumb_cache import PACK_IMAGERY
from terrafind.core.imagery.xyz import is_template

__all__ = ["ImageryExplained", "explain_imagery", "explain_sources", "place_of", "FIX"]

FIX = "File > Imagery for thumbnails and basemap..."


@dataclass(frozen=True)
class ImageryExplained:
    """What a person is told about the thumbnails' imagery."""

    origin: str  # "chosen" (File > Imagery...), "data" (the source_url column) or "none"
    place: str  # "s3://clay-tiles-02", "demo_truecolour.tif", "tiles from server.example" or ""
    available: bool  # False: thumbnails come out as placeholders (no imagery, offline, host down)
    short: str  # a few words for a label: "s3://clay-tiles-02 (cannot be reached)"
    sentence: str  # one sentence: where, and why not when not
    status: str  # what a placeholder shows: "ok", "no-imagery", "offline" (working offline), "blocked" (a
    # site the person has not allowed for this data) or "unreachable"


def place_of(source: str) -> str:
    """A short name of where imagery lives: the bucket or host of a URL, else the file or folder name."""
    if source.startswith(PACK_IMAGERY):
        return f"the field pack ({source[len(PACK_IMAGERY) :]})"
    if is_template(source):
        host = urlsplit(source).hostname or source
        return f"tiles from {host}"
    if is_remote(source):
        for prefix in ("/vsicurl/", "/vsis3/", "/vsigs/"):
            if source.startswith(prefix):
                source = source[len(prefix) :]
                if prefix != "/vsicurl/":
                    source = prefix.strip("/").replace("vsi", "") + "://" + source
        parts = urlsplit(source)
        return f"{parts.scheme}://{parts.hostname}" if parts.hostname else source
    return Path(source).name or source


def _data_sources(catalog: Any) -> list[str]:
    urls = catalog.column("source_url") if catalog is not None else None
    return sorted({str(u) for u in (urls or []) if u})


def explain_imagery(
    catalog: Any, chosen: str | None, *, online: bool, is_down=None, allowed=None
) -> ImageryExplained:
    """Where ``catalog``'s thumbnails come from and whether they can be made now (see the module doc).

    ``chosen`` is the imagery the user picked for the data (or None); ``online`` the app's switch;
    ``is_down(host)`` tells whether a remote host was found not answering (HostBreaker.known_down);
    ``allowed(source)`` whether the network gate lets that source be fetched for this data."""
    sources = [chosen] if chosen else _data_sources(catalog)
    return explain_sources(
        sources, "chosen" if chosen else "data", online=online, is_down=is_down, allowed=allowed
    )


def explain_sources(
    sources: list[str], origin: str, *, online: bool, is_down=None, allowed=None
) -> ImageryExplained:
    """:func:`explain_imagery` for known sources (``origin`` "chosen" or "data")."""
    if not sources:
        return ImageryExplained(
            "none",
            "",
            False,
            "none - choose imagery",
            f"This data names no imagery for its thumbnails: choose a COG, a folder of COGs or a tile "
            f"address with {FIX}",
            "no-imagery",
        )
    chosen = origin == "chosen"
    places = list(dict.fromkeys(place_of(s) for s in sources))
    place = places[0] if len(places) == 1 else f"{places[0]} and {len(places) - 1} more"
    where = f"the imagery you chose, {place}" if chosen else f"the data's own imagery on {place}"
    if all(s.startswith(PACK_IMAGERY) for s in sources):  # thumbnails made when the pack was built
        return ImageryExplained(origin, place, True, place, f"Thumbnails come from {place}.", "ok")
    remote = [s for s in sources if is_remote(s) or (is_template(s) and s.startswith(("http:", "https:")))]
    if remote and not online:
        return ImageryExplained(
            origin,
            place,
            False,
            f"{place} (offline)",
            f"Thumbnails come from {where}, which is not fetched while you work offline (switch Online "
            f"in the status bar, or choose local imagery with {FIX}).",
            "offline",
        )
    if remote and allowed is not None and not any(allowed(s) for s in remote):
        return ImageryExplained(
            origin,
            place,
            False,
            f"{place} (not allowed)",
            f"Thumbnails come from {where}, which you have not allowed for this data, so nothing was sent "
            "there (allow it with the button above the map, or choose local imagery with "
            f"{FIX}).",
            "blocked",
        )
    down = [s for s in remote if is_down is not None and is_down(host_of(s.replace("{s}", "a")))]
    if down and len(down) == len(sources):
        return ImageryExplained(
            origin,
            place,
            False,
            f"{place} (cannot be reached)",
            f"The imagery is on {place}, which this computer cannot reach: thumbnails will come when it "
            f"can, or choose local imagery with {FIX}",
            "unreachable",
        )
    return ImageryExplained(origin, place, True, place, f"Thumbnails are cut from {where}.", "ok")
