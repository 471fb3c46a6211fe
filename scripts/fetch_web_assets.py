#!/usr/bin/env python3
"""Fetch the offline map's web assets: pinned npm tarballs, hash-checked, unpacked into resources/web/vendor.

Run by ``scripts/dev.sh setup`` and by the installer build. Needs no Node.js: a tarball is downloaded from
the npm registry, its sha512 is compared with the SRI ``integrity`` pinned in ``scripts/web_assets.json``,
and only the listed files are written (with the package's licence) plus a ``MANIFEST.json``. Natural
Earth outlines (npm ``world-atlas``, TopoJSON) are decoded to GeoJSON here by a small decoder.

Idempotent: a package whose MANIFEST matches the pin and whose files still hash as recorded is skipped,
so a second run is offline-safe. Python standard library only (it runs before the venv is complete).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
PINS = Path(__file__).with_name("web_assets.json")
DEST = ROOT / "resources" / "web" / "vendor"
DECODER_VERSION = 3  # bump when the TopoJSON conversion changes, so set-up redoes the GeoJSON


class FetchError(Exception):
    """A problem the person running set-up can act on (one sentence)."""


# -- integrity ----------------------------------------------------------------------------------------
def sri(data: bytes, algorithm: str = "sha512") -> str:
    """The Subresource-Integrity string npm publishes for ``data`` (e.g. ``sha512-<base64>``)."""
    return f"{algorithm}-" + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def check_integrity(data: bytes, integrity: str, what: str) -> None:
    algorithm = integrity.split("-", 1)[0]
    if algorithm not in {"sha512", "sha384", "sha256"}:
        raise FetchError(f"{what}: unsupported integrity algorithm {algorithm!r} in web_assets.json.")
    got = sri(data, algorithm)
    if got != integrity:
        raise FetchError(
            f"{what}: the download does not match the pinned hash (got {got[:30]}...); not installing it."
        )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- download and unpack ------------------------------------------------------------------------------
def tarball_url(registry: str, name: str, version: str) -> str:
    return f"{registry.rstrip('/')}/{name}/-/{name.split('/')[-1]}-{version}.tgz"


def download(url: str, timeout: float = 30.0) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "terrafind-setup"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            f"Could not download {url} ({reason}). The map's web assets are fetched once at set-up: connect "
            f"to the internet and run `python scripts/fetch_web_assets.py` again, or copy resources/web/vendor "
            f"from another Terrafind installation."
        ) from exc


def _safe_relative(path: str) -> bool:
    p = PurePosixPath(path)
    return bool(path) and not p.is_absolute() and ".." not in p.parts and "\\" not in path


def select_files(tgz: bytes, files: dict[str, str]) -> dict[str, bytes]:
    """The wanted members of a package tarball as ``{destination: bytes}``.

    ``files`` maps a path inside the package (first tar component stripped; ``dir/*`` = every file
    directly in ``dir``) to a destination (ending in ``/`` = keep the file name). Only regular files are
    read and nothing from the tarball is used as a path, so a hostile archive cannot write elsewhere.
    """
    wanted: dict[str, bytes] = {}
    matched: set[str] = set()
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            parts = PurePosixPath(member.name).parts
            if len(parts) < 2:
                continue
            inner = "/".join(parts[1:])
            for source, dest in files.items():
                if source.endswith("/*"):
                    folder = source[:-2]
                    if str(PurePosixPath(inner).parent) != folder:
                        continue
                    target = dest + PurePosixPath(inner).name
                elif inner == source:
                    target = dest + PurePosixPath(inner).name if dest.endswith("/") else dest
                else:
                    continue
                if not _safe_relative(target):
                    raise FetchError(f"web_assets.json: destination {target!r} is not a plain relative path.")
                extracted = tar.extractfile(member)
                if extracted is not None:
                    wanted[target] = extracted.read()
                    matched.add(source)
    missing = [s for s in files if s not in matched]
    if missing:
        raise FetchError(f"The package tarball lacks {', '.join(missing)}; check web_assets.json.")
    return wanted


def read_manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "MANIFEST.json").read_text())
    except (OSError, ValueError):
        return None


def is_current(folder: Path, expect: dict) -> bool:
    """True when ``folder``'s MANIFEST matches ``expect`` and every listed file still has its hash."""
    manifest = read_manifest(folder)
    if not manifest or any(manifest.get(k) != v for k, v in expect.items()):
        return False
    for rel, digest in manifest.get("files", {}).items():
        try:
            if sha256((folder / rel).read_bytes()) != digest:
                return False
        except OSError:
            return False
    return True


def write_folder(folder: Path, files: dict[str, bytes], manifest: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    manifest = dict(manifest, files={rel: sha256(data) for rel, data in sorted(files.items())})
    (folder / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")


def reuse_current(folder: Path, reuse: Path | None, expect: dict) -> bool:
    """Copy ``reuse/<folder name>`` into ``folder`` when it is current (same pin, every file's hash as
    recorded): a build reuses the checkout's verified copy instead of downloading again. Only the files its
    MANIFEST lists are copied, and the copy is checked again."""
    if reuse is None or not is_current(reuse / folder.name, expect):
        return False
    source = reuse / folder.name
    manifest = read_manifest(source) or {}
    files = {rel: (source / rel).read_bytes() for rel in manifest.get("files", {})}
    write_folder(folder, files, {k: v for k, v in manifest.items() if k != "files"})
    return is_current(folder, expect)


def fetch_package(
    name: str, pin: dict, dest: Path, registry: str, *, reuse: Path | None = None, log=print
) -> bool:
    """Install one pinned package into ``dest/name``; returns False when it was already current."""
    folder = dest / name
    expect = {"name": name, "version": pin["version"], "integrity": pin["integrity"]}
    if is_current(folder, expect):
        log(f"  {name} {pin['version']}: present, hashes match")
        return False
    if reuse_current(folder, reuse, expect):
        log(f"  {name} {pin['version']}: copied from {reuse}, hashes match")
        return True
    url = tarball_url(registry, name, pin["version"])
    log(f"  {name} {pin['version']}: downloading {url}")
    tgz = download(url)
    check_integrity(tgz, pin["integrity"], f"{name} {pin['version']}")
    files = select_files(tgz, pin["files"])
    write_folder(folder, files, dict(expect, license=pin.get("license", ""), source=url))
    log(f"  {name} {pin['version']}: {len(files)} files, integrity ok")
    return True


# -- TopoJSON -> GeoJSON ------------------------------------------------------------------------------
def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Absolute lon/lat positions of every arc (quantized arcs are delta-encoded integers)."""
    transform = topology.get("transform")
    arcs = []
    for arc in topology["arcs"]:
        if transform:
            (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
            x = y = 0
            points = []
            for position in arc:
                x += position[0]
                y += position[1]
                points.append((x * sx + tx, y * sy + ty))
        else:
            points = [(p[0], p[1]) for p in arc]
        arcs.append(points)
    return arcs


def _ring(indices: list[int], arcs: list, decimals: int) -> list[list[float]] | None:
    """Stitch arcs into a closed ring; a negative index ``~i`` means arc ``i`` reversed."""
    points: list[tuple[float, float]] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc if not points else arc[1:])  # consecutive arcs share their joining point
    out: list[list[float]] = []
    for x, y in points:
        p = [round(x, decimals), round(y, decimals)]
        if not out or p != out[-1]:  # rounding makes neighbours equal: drop the repeats
            out.append(p)
    if out and out[0] != out[-1]:
        out.append(out[0])
    return out if len(out) >= 4 else None


def _unwrap(ring: list[list[float]]) -> list[list[float]]:
    """Make a ring cut at the antimeridian continuous (a jump of more than 180 degrees becomes +-360).

    world-atlas rings are cut on the sphere: Russia or Fiji step from +180 to -180. Drawn on a flat map
    that step is a stripe across the whole world, so the ring continues past 180 instead.
    """
    out = [ring[0]]
    shift = 0.0
    for (x0, _), (x1, y1) in zip(ring, ring[1:], strict=False):
        if x1 - x0 > 180:
            shift -= 360
        elif x0 - x1 > 180:
            shift += 360
        out.append([x1 + shift, y1] if shift else [x1, y1])
    return out


def _shifted(polygon: list, dx: float) -> list:
    return [[[x + dx, y] for x, y in ring] for ring in polygon]


def _polygons(rings: list[list[int]], arcs: list, decimals: int) -> list[list]:
    """A TopoJSON polygon as GeoJSON polygon coordinates: one, or two when it crosses the antimeridian
    (the second copy shifted by 360 degrees so both sides of the map show it)."""
    decoded = [_ring(r, arcs, decimals) for r in rings]
    if not decoded or decoded[0] is None:
        return []
    polygon = [_unwrap(r) for r in decoded if r is not None]
    xs = [x for x, _ in polygon[0]]
    out = [polygon]
    if max(xs) > 180:
        out.append(_shifted(polygon, -360))
    elif min(xs) < -180:
        out.append(_shifted(polygon, 360))
    return out


def topology_to_geojson(topology: dict, object_name: str, decimals: int = 4) -> dict:
    """One object of a TopoJSON topology (polygons only, as world-atlas has) as a FeatureCollection."""
    arcs = decode_arcs(topology)
    obj = topology["objects"][object_name]
    geometries = obj["geometries"] if obj["type"] == "GeometryCollection" else [obj]
    features = []
    for geom in geometries:
        if geom["type"] == "Polygon":
            polys = _polygons(geom["arcs"], arcs, decimals)
        elif geom["type"] == "MultiPolygon":
            polys = [p for rings in geom["arcs"] for p in _polygons(rings, arcs, decimals)]
        else:
            continue  # no points or lines in world-atlas; a null geometry has type None
        if not polys:
            continue
        if len(polys) == 1 and geom["type"] == "Polygon":
            geometry = {"type": "Polygon", "coordinates": polys[0]}
        else:
            geometry = {"type": "MultiPolygon", "coordinates": polys}
        feature = {"type": "Feature", "properties": dict(geom.get("properties") or {}), "geometry": geometry}
        if "id" in geom:
            feature["id"] = geom["id"]
        features.append(feature)
    return {"type": "FeatureCollection", "features": features}


def build_basemap(spec: dict, pins: dict, dest: Path, *, reuse: Path | None = None, log=print) -> bool:
    folder = dest / "basemap"
    sources = {
        p: pins[p]["integrity"] for p in sorted({layer["package"] for layer in spec["layers"].values()})
    }
    expect = {"name": "basemap", "decoder": DECODER_VERSION, "decimals": spec["decimals"], "sources": sources}
    if is_current(folder, expect):
        log("  basemap: present, hashes match")
        return False
    if reuse_current(folder, reuse, expect):
        log(f"  basemap: copied from {reuse}, hashes match")
        return True
    files = {}
    for out_name, layer in spec["layers"].items():
        topology = json.loads((dest / layer["package"] / layer["file"]).read_text())
        fc = topology_to_geojson(topology, layer["object"], spec["decimals"])
        files[out_name] = json.dumps(fc, separators=(",", ":")).encode()
        log(f"  basemap: {out_name} {len(fc['features'])} features, {len(files[out_name]) / 1e6:.1f} MB")
    write_folder(folder, files, dict(expect, license="Natural Earth, public domain (via world-atlas, ISC)"))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dest", type=Path, default=DEST, help="vendor folder (default: resources/web/vendor)"
    )
    parser.add_argument("--pins", type=Path, default=PINS)
    parser.add_argument("--registry", default=None, help="npm registry URL (default: the one in the pins)")
    parser.add_argument(
        "--reuse",
        type=Path,
        default=None,
        help="a vendor folder to copy current, hash-checked packages from instead of downloading them",
    )
    args = parser.parse_args(argv)
    pins = json.loads(args.pins.read_text())
    registry = args.registry or pins["registry"]
    print(f"Web assets -> {args.dest}")
    try:
        for name, pin in pins["packages"].items():
            fetch_package(name, pin, args.dest, registry, reuse=args.reuse)
        build_basemap(pins["basemap"], pins["packages"], args.dest, reuse=args.reuse)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
