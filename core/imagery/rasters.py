"""Opening imagery with GDAL, limited to the raster drivers Terrafind needs.

GDAL picks a driver by a file's content, not its name: a ``.tif`` that holds VRT XML would be read as a
VRT and could pull in any file or URL it names. So each open allows exactly one driver, chosen by the
suffix (:data:`DRIVERS`), and a VRT is read only after its sources were checked: local ones must lie in
the VRT's own folder (or ``roots``), be GeoTIFFs and exist; remote ones must pass the network gate for the
dataset. GDAL's raw-file and Python VRT bands are switched off
(:data:`terrafind.core.imagery.hosts.GDAL_SAFETY_OPTIONS`).
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from terrafind.core.net.locations import Local, Refused, Remote, locate

__all__ = ["DRIVERS", "driver_for", "gdal_path", "open_raster", "check_vrt"]

DRIVERS = {".tif": "GTiff", ".tiff": "GTiff", ".vrt": "VRT", ".jp2": "JP2OpenJPEG", ".img": "HFA"}
MAX_VRT_BYTES = 1 << 20
MAX_VRT_SOURCES = 2000
MAX_BLOCK_BYTES = 256 << 20  # one block GDAL decodes whole (a COG's is 256 x 256 x bands)


def driver_for(name: str) -> str:
    """The one GDAL driver allowed for ``name`` (a path or an address), by its suffix."""
    suffix = PurePosixPath(str(name).split("?", 1)[0]).suffix.lower()
    driver = DRIVERS.get(suffix)
    if driver is None:
        raise Refused(
            f"{PurePosixPath(str(name)).name or name} is not imagery Terrafind reads: use a GeoTIFF/COG "
            "(.tif), a VRT (.vrt) or JPEG 2000 (.jp2)."
        )
    return driver


def gdal_path(loc: Remote | Local) -> str:
    """What GDAL opens for an admitted location: the local path, or GDAL's reader for the address."""
    if isinstance(loc, Local):
        return str(loc.path)
    if loc.scheme in ("http", "https"):
        return "/vsicurl/" + loc.url
    return f"/vsi{loc.scheme}/{loc.host}{loc.path}"  # /vsis3/bucket/key, /vsigs/bucket/key


def check_vrt(path: Path, *, roots: Sequence[Path] = (), dataset: str = "", depth: int = 0) -> None:
    """Raise :class:`Refused` (or a gate error) unless every source of the VRT at ``path`` may be read."""
    from terrafind.core.net.gate import gate

    try:
        data = path.read_bytes()[: MAX_VRT_BYTES + 1]
    except OSError as exc:
        raise Refused(f"The VRT {path.name} cannot be read ({exc.strerror or exc}).") from None
    if len(data) > MAX_VRT_BYTES or b"<!ENTITY" in data or b"<!DOCTYPE" in data:
        raise Refused(f"The VRT {path.name} is not a plain VRT file Terrafind reads.")
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        raise Refused(f"The VRT {path.name} is damaged (not readable XML).") from None
    if root.tag != "VRTDataset":
        raise Refused(f"{path.name} is not a VRT file.")
    # SourceFilename: plain, overview and mask sources; SourceDataset: a warped VRT's input.
    sources = [e for e in root.iter() if e.tag in ("SourceFilename", "SourceDataset")]
    if len(sources) > MAX_VRT_SOURCES:
        raise Refused(f"The VRT {path.name} names too many source files.")
    for el in root.iter():
        if el.tag == "VRTRasterBand" and el.get("subClass") not in (None, "VRTSourcedRasterBand"):
            raise Refused(
                f"The VRT {path.name} uses a kind of band Terrafind does not read ({el.get('subClass')})."
            )
    folder = path.parent.resolve()
    for el in sources:
        text = (el.text or "").strip()
        loc = locate(text)
        if isinstance(loc, Remote):
            gate().check(loc, dataset=dataset, purpose="imagery")
            driver_for(loc.path)
            continue
        target = loc.path if loc.path.is_absolute() or el.get("relativeToVRT") != "1" else folder / loc.path
        real = target.resolve()
        if not any(real.is_relative_to(r) for r in [folder, *[Path(r).resolve() for r in roots]]):
            raise Refused(
                f"The VRT {path.name} names {target.name} outside its own folder, which is not read."
            )
        if not real.is_file():
            raise Refused(f"The VRT {path.name} names {target.name}, which does not exist.")
        if driver_for(real.name) == "VRT":
            if depth >= 2:
                raise Refused(f"The VRT {path.name} nests VRTs too deeply.")
            check_vrt(real, roots=roots, dataset=dataset, depth=depth + 1)


def open_raster(loc: Remote | Local, *, roots: Sequence[Path] = (), dataset: str = "") -> Any:
    """A rasterio dataset for an admitted location, with one driver allowed (see the module docstring)."""
    import rasterio

    from terrafind.core.imagery.hosts import configure_gdal

    configure_gdal()
    driver = driver_for(loc.path.name if isinstance(loc, Local) else loc.path)
    if isinstance(loc, Remote) and loc.scheme in ("s3", "gs"):
        from terrafind.core.imagery.hosts import sign_bucket
        from terrafind.core.net.gate import gate

        # Only a bucket the person marked is signed (and a mark taken back makes it anonymous again).
        sign_bucket(f"/vsi{loc.scheme}/{loc.host}/", gate().uses_credentials(loc.site))
    if driver == "VRT":
        if not isinstance(loc, Local):
            raise Refused("A VRT is read only from this computer, not over the network.")
        check_vrt(loc.path, roots=roots, dataset=dataset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NotGeoreferencedWarning is reported as "outside" later
        src = rasterio.open(gdal_path(loc), driver=driver)
    _check_blocks(src)
    return src


def _check_blocks(src: Any) -> None:
    """GDAL decodes a whole block to read any part of it: a file of a few MB can hold one strip that
    inflates to gigabytes. Refuse (closing it) a file whose blocks are larger than MAX_BLOCK_BYTES."""
    import numpy as np

    try:
        h, w = src.block_shapes[0]
        pixel = getattr(src.interleaving, "name", "") == "pixel"  # one block holds every band
        size = np.dtype(src.dtypes[0]).itemsize * (src.count if pixel else 1)
    except (ValueError, TypeError, IndexError, AttributeError):
        return  # (no bands: reported where the pixels are read)
    if int(h) * int(w) * size > MAX_BLOCK_BYTES:
        name = PurePosixPath(str(src.name)).name
        src.close()
        raise Refused(
            f"{name} stores its pixels in blocks of {w:,} x {h:,}, too large to read a part of; convert it "
            "to a tiled GeoTIFF (a COG)."
        )
