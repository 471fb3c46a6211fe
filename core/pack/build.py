"""Building a field pack (layout in :mod:`terrafind.core.pack.layout`, reading in :mod:`terrafind.core.pack.open`).

Building runs the parts in order and records each finished part in ``pack-state.json``; a second run with
the same inputs skips finished parts, and the thumbnail and basemap parts continue chip by chip and tile
by tile.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from terrafind.core.errors import ImageryError, InputError
from terrafind.core.pack.estimate import estimate_pack  # its home is estimate.py; kept here for callers
from terrafind.core.pack.layout import (
    MANIFEST,
    PACK_FORMAT,
    STATE,
    input_files,
    local_imagery,
    sha256_file,
    versions,
    write_json,
)
from terrafind.core.progress import CancelToken, ProgressFn, check, report
from terrafind.core.types import Region

__all__ = ["build_pack", "estimate_pack"]


def _input_key(files: list[str], region: Region, imagery: Any, size: int) -> str:
    ident = []
    for f in files:
        st = os.stat(f)
        ident.append([f, st.st_size, st.st_mtime_ns])
    text = json.dumps([ident, region.to_dict(), imagery, size, PACK_FORMAT], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# Tile services whose terms forbid downloading tiles for later offline use (a pack would do exactly that).
NO_OFFLINE_HOSTS = ("tile.openstreetmap.org",)


def _check_terms(imagery: str | None) -> None:
    from terrafind.core.imagery.hosts import host_of
    from terrafind.core.imagery.xyz import is_template

    if not imagery or not is_template(imagery):
        return
    host = host_of(imagery.replace("{s}", "a"))
    if host and any(host[0] == h or host[0].endswith("." + h) for h in NO_OFFLINE_HOSTS):
        raise InputError(
            f"{host[0]} does not allow downloading its tiles for offline use; choose your own imagery "
            "(a COG or a folder of COGs) for the field pack."
        )


def _normalised(imagery: str | None) -> str | None:
    """Local imagery as an absolute path: thumbnails are cached under this name, and the manifest must
    give the same name wherever the pack is opened from."""
    from terrafind.core.imagery.hosts import is_remote
    from terrafind.core.imagery.xyz import is_template

    if not imagery or is_remote(imagery) or is_template(imagery):
        return imagery
    return str(Path(imagery).expanduser().resolve())


def _subset_names(files: list[str]) -> list[str]:
    names, seen = [], set()
    for f in files:
        stem = Path(f).name.split(".")[0]
        name, i = f"{stem}.parquet", 1
        while name in seen:
            i += 1
            name = f"{stem}-{i}.parquet"
        seen.add(name)
        names.append(name)
    return names


def build_pack(
    paths: Sequence[str | Path],
    region: Region,
    out_dir: Path,
    *,
    imagery: str | None = None,
    thumbnail_size: int = 128,
    dates: Mapping[str, str] | None = None,
    date_imagery: Mapping[str, str | None] | None = None,
    protected: Sequence[str | Path] = (),
    centre: np.ndarray | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write a field pack for ``region`` of the embeddings ``paths`` into ``out_dir``; return it.

    ``imagery`` is the imagery for datasets without ``source_url`` (a local COG, VRT or folder of COGs,
    or a remote COG / XYZ template, which gives thumbnails but no basemap). Files of several dates make
    a dated pack (:mod:`terrafind.core.pack.dated`); ``dates`` are the dates the user gave files or folders
    and ``date_imagery`` the imagery of each date. Resumable: run it again after a cancel or a crash and
    it continues; with unchanged inputs a finished pack is returned as is.
    ``out_dir`` is new, empty or a pack not in use, and holds none of the inputs or ``protected`` paths
    (the open data, the pack in use): :func:`terrafind.core.outputs.check_pack_folder`.
    ``centre`` is the mean the app's scores are centred on (the region the user has open, which may be
    larger than the pack's): recorded in the manifest, so the pack scores as the app did; None: the mean
    of the pack's own chips (:mod:`terrafind.core.session_space`). The pack's index is of that space.
    """
    from terrafind.core.dates.detect import plan_dates
    from terrafind.core.dates.region import open_dates
    from terrafind.core.outputs import check_pack_folder
    from terrafind.core.pack.dated import build_date_parts, pack_assigned
    from terrafind.core.pack.subset import write_region_subset
    from terrafind.core.pack.thumbs import pack_thumbnails
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.search.index import index_paths, load_or_build_index

    if imagery:
        from terrafind.core.imagery.settings import check_imagery

        check_imagery(imagery)  # the person's choice, but still a plain address, template or raster
    _check_terms(imagery)
    imagery = _normalised(imagery)
    files = input_files(paths)
    out = check_pack_folder(Path(out_dir), [*files, *protected])
    out.mkdir(parents=True, exist_ok=True)
    from terrafind.core.store.centred import centre_key

    given_centre = None if centre is None else centre_key(np.asarray(centre, np.float32))
    key = _input_key(
        files, region, [imagery, dict(dates or {}), dict(date_imagery or {}), given_centre], thumbnail_size
    )
    manifest_path, state_path = out / MANIFEST, out / STATE
    if manifest_path.exists() and not state_path.exists():
        try:
            if json.loads(manifest_path.read_text()).get("input_key") == key:
                report(progress, 1, 1, "Field pack ready")
                return out
        except ValueError:
            pass
    state: dict[str, Any] = {}
    if state_path.exists():
        try:
            state = json.loads(state_path.read_text())
        except ValueError:
            state = {}
    if state.get("key") != key:
        state = {"key": key, "done": {}, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    done: dict[str, Any] = state["done"]
    problems: list[str] = []

    def finish(part: str, info: Any) -> None:
        done[part] = info
        write_json(state_path, state)

    # 1. the region's embeddings
    emb_dir = out / "embeddings"
    if "embeddings" not in done:
        kept = {}
        for i, (f, name) in enumerate(zip(files, _subset_names(files), strict=True)):
            check(cancel)
            report(progress, i, len(files), f"Copying the region's chips from {Path(f).name}")
            n = write_region_subset(f, region, emb_dir / name, progress=progress, cancel=cancel)
            if n:
                kept[name] = n
            else:
                (emb_dir / name).unlink(missing_ok=True)
        if not kept:
            raise InputError(
                "None of the chips in the chosen files lies inside the region, so there is nothing to pack."
            )
        finish("embeddings", kept)
    pack_files = [emb_dir / name for name in done["embeddings"]]
    assigned = pack_assigned(files, _subset_names(files), dates or {})
    plan = plan_dates([str(p) for p in pack_files], {str(out / rel): lab for rel, lab in assigned.items()})
    if plan.is_dated():
        dated = open_dates(plan, progress=progress, cancel=cancel)
        mu = _centre_of([sl.catalog for sl in dated.slices], centre)
        for sl in dated.slices:
            sl.catalog = sl.catalog.centred(mu)
        by_date = build_date_parts(
            out, dated, imagery=imagery, date_imagery=date_imagery or {}, size=thumbnail_size,
            bbox=region.bbox, inputs=files, done=done, finish=finish, problems=problems, progress=progress, cancel=cancel,
        )  # fmt: skip
        extra = {"dates": by_date, "assigned": assigned, "centre": _centre_entry(mu)}
        _write_manifest(
            out,
            files,
            region,
            imagery,
            thumbnail_size,
            key,
            done,
            problems + state.get("problems", []),
            extra,
        )
        state_path.unlink(missing_ok=True)
        report(progress, 1, 1, "Field pack ready")
        return out
    catalog = open_catalog(pack_files, progress=progress, cancel=cancel)
    mu = _centre_of([catalog], centre)
    catalog = catalog.centred(mu)

    # 2. the search index, saved in the pack in the index cache's own layout
    if "index" not in done:
        vi = load_or_build_index(catalog, cache_dir=out, progress=progress, cancel=cancel)
        finish("index", index_paths(vi.fingerprint, out)[0].relative_to(out).as_posix())

    # 3. thumbnails for every chip (from the user's cache where it has them, else cut now)
    thumbs_path = out / "thumbnails.sqlite"
    if "thumbnails" not in done or done["thumbnails"].get("missing"):
        info = pack_thumbnails(catalog, thumbs_path, imagery, thumbnail_size, progress, cancel, files)
        if info["missing"]:
            why = info.pop("why", "") or "the imagery was offline or absent."
            problems.append(f"{info['missing']} of {len(catalog)} thumbnails could not be made: {why}")
        finish("thumbnails", info)

    # 4. the imagery basemap of the region
    if "basemap" not in done:
        from terrafind.core.imagery.admit import data_roots
        from terrafind.core.net.gate import data_key

        cogs = local_imagery(imagery, catalog, (data_key(files), data_roots(files)))
        made = None
        if cogs:
            from terrafind.core.imagery.basemap import build_mbtiles

            try:
                build_mbtiles(
                    cogs, out / "basemap.mbtiles", bounds=region.bbox, progress=progress, cancel=cancel
                )
                made = "basemap.mbtiles"
            except ImageryError as exc:
                problems.append(exc.message)
        else:
            problems.append(
                "No imagery basemap: one is made only from local imagery (a COG, a VRT or a folder of COGs)."
            )
        finish("basemap", made)

    _write_manifest(
        out, files, region, imagery, thumbnail_size, key, done, problems + state.get("problems", []),
        {"centre": _centre_entry(mu)},
    )  # fmt: skip
    state_path.unlink(missing_ok=True)
    report(progress, 1, 1, "Field pack ready")
    return out


def _centre_of(catalogs: list[Any], centre: np.ndarray | None) -> np.ndarray:
    """The mean the pack's scores are centred on: the app's, else the pack's own region's."""
    from terrafind.core.session_space import region_mean

    if centre is not None:
        mu = np.asarray(centre, np.float32)
        if mu.shape != (catalogs[0].dim,):
            raise InputError("The centre given for the field pack does not fit its vectors.")
        return mu
    return region_mean([c for c in catalogs if len(c)] or catalogs)


def _centre_entry(mu: np.ndarray) -> dict[str, Any]:
    """The manifest's record of the space scores are measured in (read by core.session_space)."""
    return {"similarity": "centred cosine", "mean": [float(x) for x in np.asarray(mu, np.float32)]}


def _scrub(text: str, paths: list[str]) -> str:
    """``text`` without the absolute paths of this machine (they would travel with the pack)."""
    for p in sorted({str(x) for x in paths if x}, key=len, reverse=True):
        for form in (p, str(Path(p).parent)):
            if len(form) > 1:
                text = text.replace(form, Path(form).name or form)
    home = str(Path.home())
    return text.replace(home, "~") if len(home) > 1 else text


def _write_manifest(out, files, region, imagery, size, key, done, problems, extra=None) -> None:
    from terrafind.core.pack.thumbs import pack_alias

    listed = {}
    skip_suffixes = (".partial", ".tmp", "-wal", "-shm", "-journal")
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out).as_posix()
        if p.is_symlink() or not p.is_file() or rel in (MANIFEST, STATE) or rel.endswith(skip_suffixes):
            continue
        listed[rel] = {"bytes": p.stat().st_size, "sha256": sha256_file(p)}
    # Provenance by name and size only: the inputs' absolute paths (with the user's name in them) stay here.
    inputs = [{"name": Path(f).name, "bytes": os.stat(f).st_size} for f in files]
    hidden = [*files, imagery or ""]
    manifest = {
        "format": "terrafind-field-pack",
        "version": PACK_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "input_key": key,
        "region": region.to_dict(),
        "imagery": pack_alias(imagery) if imagery else None,
        "thumbnail_size": size,
        "inputs": inputs,
        "parts": {
            "embeddings": sorted(f"embeddings/{n}" for n in done.get("embeddings", {})),
            "rows": sum(done.get("embeddings", {}).values()),
            "index": done.get("index"),
            "thumbnails": "thumbnails.sqlite" if "thumbnails" in done else None,
            "thumbnail_counts": done.get("thumbnails"),
            "basemap": done.get("basemap"),
            **({"dates": extra["dates"]} if extra and "dates" in extra else {}),
        },
        "centre": (extra or {}).get("centre"),
        "assigned": (extra or {}).get("assigned", {}),
        "files": listed,
        "bytes_total": sum(e["bytes"] for e in listed.values()),
        "software": versions(),
        "problems": [_scrub(str(p), hidden) for p in problems],
    }
    write_json(out / MANIFEST, manifest)
