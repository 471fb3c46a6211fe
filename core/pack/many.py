"""Field packs for many places at once (every ranger station): one pack per place, each an independent
task, here one after another or on a Dask cluster (``terrafind-cli pack ... --places FILE [--cluster]``).

Each pack is :func:`terrafind.core.pack.build.build_pack` of the place's box (a point gets a square of
``size_km`` around it, an area its bounds) into ``OUT/<place name>/``. A rerun skips every pack that is
complete for the same inputs and whose files still match the SHA-256 sums of its manifest; a damaged one is
built again; a place that fails is named while the others finish. The run's network choices (offline,
``--allow``) travel with each task, so a worker goes exactly where this run may go.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, ProgressFn
from terrafind.core.tasks import Runner, Task, run_here
from terrafind.core.types import Region

__all__ = ["PacksReport", "place_regions", "build_packs", "pack_one"]

KM_PER_DEGREE = 111.32


@dataclass
class PacksReport:
    folder: Path
    built: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    sentence: str | None = None


def _folder_name(text: str | None, i: int, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", (text or "").strip()).strip("._") or f"place-{i + 1}"
    name, n = base[:60], 1
    while name.lower() in taken:
        n += 1
        name = f"{base[:56]}-{n}"
    taken.add(name.lower())
    return name


def place_regions(path: str | Path, size_km: float) -> list[tuple[str, Region]]:
    """(folder name, region) of every place in a CSV/GeoJSON/KML/GPX/... file: a point's square of
    ``size_km`` on a side, an area's bounds."""
    from terrafind.core.read.places import read_places

    if size_km <= 0:
        raise InputError("--size-km must be above 0.")
    out: list[tuple[str, Region]] = []
    taken: set[str] = set()
    for i, place in enumerate(read_places(path)):
        geom = place.geometry
        if geom is None or geom.geom_type == "Point":
            half = size_km / 2.0 / KM_PER_DEGREE
            wide = half / max(0.01, math.cos(math.radians(place.lat)))
            box = (place.lon - wide, place.lat - half, place.lon + wide, place.lat + half)
        else:
            box = tuple(geom.bounds)
        out.append((_folder_name(place.name, i, taken), Region.from_bbox(*box)))
    if not out:
        raise InputError(f"{Path(path).name} holds no places to make packs for.")
    return out


def pack_one(
    paths: list[str], region: Region, out: str, imagery: str | None, size: int, net: dict[str, Any],
    *, cancel: CancelToken | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Build (or finish, or check) one place's pack; a finished pack whose files no longer match its
    manifest's sums is built again. Returns its rows and bytes. A task: all it needs is in its arguments."""
    from terrafind.core.net.gate import gate
    from terrafind.core.pack.build import build_pack
    from terrafind.core.pack.check import checked_files, read_manifest
    from terrafind.core.pack.layout import MANIFEST

    gate().apply_session(net)
    folder = Path(out)
    build_pack(paths, region, folder, imagery=imagery, thumbnail_size=size, cancel=cancel)
    _, problems = checked_files(folder, read_manifest(folder), verify=True)
    if problems:  # damaged since it was made: make it again from the start
        (folder / MANIFEST).unlink(missing_ok=True)
        build_pack(paths, region, folder, imagery=imagery, thumbnail_size=size, cancel=cancel)
    manifest = read_manifest(folder)
    return {"rows": int(manifest["parts"]["rows"]), "bytes": int(manifest.get("bytes_total", 0))}


def build_packs(
    paths: Sequence[str | Path],
    places: list[tuple[str, Region]],
    out_dir: str | Path,
    *,
    imagery: str | None = None,
    thumbnail_size: int = 128,
    runner: Runner = run_here,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> PacksReport:
    """One field pack per place in ``out_dir/<name>/`` (see the module docstring)."""
    from terrafind.core.net.gate import gate

    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file; --out takes a folder for the packs.")
    folder.mkdir(parents=True, exist_ok=True)
    net = gate().session_state()
    out = PacksReport(folder)
    tasks = []
    for name, region in places:
        try:
            files = _files_for(paths, region)
        except InputError as exc:  # e.g. no tile of a sharded region there: this place fails, not the run
            out.failures[name] = exc.message
            continue
        tasks.append(Task(name, pack_one, (files, region, str(folder / name), imagery, thumbnail_size, net)))
    result = runner(tasks, label="Packing places", progress=progress, cancel=cancel,
                    on_done=lambda name, info: out.built.__setitem__(name, info))  # fmt: skip
    out.built = dict(result.results)  # in the places' order
    out.failures.update(result.failures)
    result.failures = out.failures
    out.sentence = result.failure_sentence("places")
    return out


def _files_for(paths: Sequence[str | Path], region: Region) -> list[str]:
    """The embeddings files of a place: a sharded region's tiles that touch it, other paths as given."""
    from terrafind.core.pack.layout import input_files
    from terrafind.core.shards.manifest import is_sharded
    from terrafind.core.shards.open import tiles_in

    files: list[str] = []
    for p in paths:
        files += tiles_in(p, region) if is_sharded(p) else input_files([p])
    return files
