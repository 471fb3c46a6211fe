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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def _input_key(files: list[str], region: Region, imagery: str | None, size: int) -> str:
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
    protected: Sequence[str | Path] = (),
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write a field pack for ``region`` of the embeddings ``paths`` into ``out_dir``; return it.

    ``imagery`` is the imagery for datasets without ``source_url`` (a local COG, VRT or folder of COGs,
    or a remote COG / XYZ template, which gives thumbnails but no basemap). Resumable: run it again
    after a cancel or a crash and it continues; with unchanged inputs a finished pack is returned as is.
    ``out_dir`` is new, empty or a pack not in use, and holds none of the inputs or ``protected`` paths
    (the open data, the pack in use): :func:`terrafind.core.outputs.check_pack_folder`.
    """
    from terrafind.core.outputs import check_pack_folder
    from terrafind.core.pack.subset import write_region_subset
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.search.index import index_paths, load_or_build_index

    _check_terms(imagery)
    imagery = _normalised(imagery)
    files = input_files(paths)
    out = check_pack_folder(Path(out_dir), [*files, *protected])
    out.mkdir(parents=True, exist_ok=True)
    key = _input_key(files, region, imagery, thumbnail_size)
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
    catalog = open_catalog(pack_files, progress=progress, cancel=cancel)

    # 2. the search index, saved in the pack in the index cache's own layout
    if "index" not in done:
        vi = load_or_build_index(catalog, cache_dir=out, progress=progress, cancel=cancel)
        finish("index", index_paths(vi.fingerprint, out)[0].relative_to(out).as_posix())

    # 3. thumbnails for every chip (from the user's cache where it has them, else cut now)
    thumbs_path = out / "thumbnails.sqlite"
    if "thumbnails" not in done or done["thumbnails"].get("missing"):
        info = _pack_thumbnails(catalog, thumbs_path, imagery, thumbnail_size, progress, cancel, files)
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
        out, files, region, imagery, thumbnail_size, key, done, problems + state.get("problems", [])
    )
    state_path.unlink(missing_ok=True)
    report(progress, 1, 1, "Field pack ready")
    return out


def _pack_thumbnails(catalog, path, imagery, size, progress, cancel, inputs) -> dict[str, Any]:
    from terrafind.core.imagery.admit import data_roots
    from terrafind.core.imagery.thumb_cache import ThumbCache
    from terrafind.core.imagery.thumbnails import ThumbnailService
    from terrafind.core.net.gate import data_key
    from terrafind.core.paths import cache_dir

    svc = ThumbnailService(path, size=size, max_cache_bytes=64 * 2**30)
    svc.cache.pin()
    try:
        # The pack's chips are the inputs' chips: their imagery is read as the inputs' (same permissions,
        # same folders), plus the imagery the user chose for the pack.
        roots = data_roots(inputs) or []
        dataset = data_key(inputs)
        if imagery:
            roots += _chosen_imagery(imagery, dataset)
            svc.set_imagery(svc.dataset_key(catalog), imagery)
        svc.treat_as(catalog, dataset, roots)
        user_cache = cache_dir() / "thumbnails.sqlite"
        if user_cache.exists() and user_cache.resolve() != path.resolve():
            keys = [k for k in (svc.key_of(catalog, r) for r in range(len(catalog))) if k]
            svc.cache.copy_from(ThumbCache(user_cache), keys)
        cached = svc.prefetch(catalog, range(len(catalog)), progress=progress, cancel=cancel)
        info: dict[str, Any] = {"cached": cached, "missing": len(catalog) - cached}
        if info["missing"]:
            info["why"] = svc.explain(catalog).sentence  # the sentence the app shows about this imagery
        if imagery and _pack_alias(imagery) != imagery:
            _rename_imagery(svc, catalog, imagery, _pack_alias(imagery))
        svc.cache.seal()  # self-contained: opened read-only and immutable where the pack is used
        return info
    finally:
        svc.close()


def _pack_alias(imagery: str) -> str:
    """The name a pack gives the local imagery its thumbnails were cut from: no path of this machine."""
    from terrafind.core.imagery.hosts import is_remote
    from terrafind.core.imagery.thumb_cache import PACK_IMAGERY
    from terrafind.core.imagery.xyz import is_template

    if is_remote(imagery) or is_template(imagery) or imagery.startswith(PACK_IMAGERY):
        return imagery
    return PACK_IMAGERY + (Path(imagery).name or "imagery")


def _rename_imagery(svc: Any, catalog: Any, imagery: str, alias: str) -> None:
    """Move the thumbnails cut from ``imagery`` to the keys the pack's ``alias`` gives them."""
    key = svc.dataset_key(catalog)
    rows = [r for r in range(len(catalog)) if not catalog.source_url(r)]  # chips that use the imagery
    old = [svc.key_of(catalog, r) for r in rows]
    svc.set_imagery(key, alias, must_exist=False)
    new = [svc.key_of(catalog, r) for r in rows]
    svc.cache.rekey([(a, b) for a, b in zip(old, new, strict=True) if a and b], alias)


def _scrub(text: str, paths: list[str]) -> str:
    """``text`` without the absolute paths of this machine (they would travel with the pack)."""
    for p in sorted({str(x) for x in paths if x}, key=len, reverse=True):
        for form in (p, str(Path(p).parent)):
            if len(form) > 1:
                text = text.replace(form, Path(form).name or form)
    home = str(Path.home())
    return text.replace(home, "~") if len(home) > 1 else text


def _chosen_imagery(imagery: str, dataset: str) -> list[Path]:
    """The user chose ``imagery`` for the pack: its folder may be read, its site fetched (this run)."""
    from terrafind.core.imagery.xyz import check_template, is_template
    from terrafind.core.net.gate import gate
    from terrafind.core.net.locations import Local, locate

    loc = check_template(imagery) if is_template(imagery) else locate(imagery)
    if isinstance(loc, Local):
        p = loc.path.expanduser().resolve()
        return [p if p.is_dir() else p.parent]
    gate().allow(loc.site, dataset, remember=False)
    return []


def _write_manifest(out, files, region, imagery, size, key, done, problems) -> None:
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
        "imagery": _pack_alias(imagery) if imagery else None,
        "thumbnail_size": size,
        "inputs": inputs,
        "parts": {
            "embeddings": sorted(f"embeddings/{n}" for n in done.get("embeddings", {})),
            "rows": sum(done.get("embeddings", {}).values()),
            "index": done.get("index"),
            "thumbnails": "thumbnails.sqlite" if "thumbnails" in done else None,
            "thumbnail_counts": done.get("thumbnails"),
            "basemap": done.get("basemap"),
        },
        "files": listed,
        "bytes_total": sum(e["bytes"] for e in listed.values()),
        "software": versions(),
        "problems": [_scrub(str(p), hidden) for p in problems],
    }
    write_json(out / MANIFEST, manifest)
