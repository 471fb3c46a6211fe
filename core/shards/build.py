"""Building the shards of a region: one search index per tile, recorded in the manifest as each finishes.

:func:`update_region` plans one shard per input file, skips every shard that is finished (its files and
index still match the hashes in the manifest), builds the others with a runner (here, one after another,
or on a Dask cluster: ``partial(terrafind.core.cluster.tasks.run_tasks, run)``) and writes the manifest
after each shard, so a stopped run keeps what finished. A tile that fails is reported by its name and the
others still finish. Each shard's index is written through :func:`terrafind.core.files.write_atomic` (a
private temporary name, renamed when complete), so no half-written index is ever taken for a shard.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terrafind.core.errors import InputError
from terrafind.core.progress import CancelToken, ProgressFn, report
from terrafind.core.shards import manifest as M
from terrafind.core.tasks import Runner, Task, run_here

__all__ = [
    "RegionReport",
    "plan_shards",
    "build_shard",
    "build_in_space",
    "shard_finished",
    "update_region",
    "SHARDS_DIR",
]

SHARDS_DIR = "shards"


@dataclass
class RegionReport:
    """What a run did: shards built, skipped (finished before) and failed (name -> sentence)."""

    root: Path
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    sentence: str | None = None  # the failures in one sentence, or None


def _name(path: str, taken: set[str]) -> str:
    stem = Path(path).name.split(".")[0] or "tile"
    name, i = stem, 1
    while name in taken:
        i += 1
        name = f"{stem}-{i}"
    taken.add(name)
    return name


def plan_shards(paths: Sequence[str | Path], known: list[dict[str, Any]], root: Path) -> dict[str, str]:
    """Shard name -> file for every input file: a file the manifest already has keeps its shard's name,
    a new one is named by its file name (made unique)."""
    from terrafind.core.read.sources import resolve_paths

    by_file = {M.real_path(root, f["path"]).resolve(): s["name"] for s in known for f in s.get("files", [])}
    taken = {str(s["name"]) for s in known}
    plan: dict[str, str] = {}
    for _, p in resolve_paths([str(x) for x in paths]):
        name = by_file.get(Path(p).resolve()) or _name(p, taken)
        plan[name] = str(Path(p).resolve())
    return plan


def build_shard(name: str, path: str, root: str, *, cancel: CancelToken | None = None) -> dict[str, Any]:
    """Read ``path`` into the shard's own region store (the app cache's layout, in the shard's folder) and
    build its search index there (or find both, checked); return its manifest entry. Runs in this process
    or on a cluster worker: everything it needs is in its arguments."""
    from terrafind.core.dates.detect import file_date
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.search.index import IndexParams, index_paths, index_root, load_or_build_index

    region = Path(root)
    identity = M.file_identity(path)  # before reading: a file changed meanwhile gets a new key next time
    folder = region / SHARDS_DIR / name
    catalog = open_catalog([path], store_root=folder, cancel=cancel)
    if len(catalog) == 0:
        raise InputError(f"{Path(path).name} holds no usable chips.")
    params = IndexParams.for_rows(len(catalog))
    vi = load_or_build_index(catalog, params=params, cancel=cancel)
    index_file, sidecar = index_paths(vi.fingerprint, index_root(catalog))
    if not sidecar.exists():
        raise InputError(f"The index of {name} could not be written in {folder}: check the disk.")
    store = Path(catalog.store.folder)
    for old in store.parent.iterdir():  # the store of the tile's earlier content, if any
        if old.is_dir() and old != store and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    return {
        "name": name,
        "files": [{"path": M.stored_path(region, path), **identity}],
        "key": M.shard_key([identity], params.graph_key()),
        "rows": len(catalog),
        "dim": catalog.dim,
        "bbox": [round(v, 9) for v in catalog.bounds],
        "date": file_date(path).label,
        "model": catalog.model_name,
        "store": M.stored_path(region, store),
        "store_sha256": M.sha256_file(store / "meta.json"),
        "index": M.stored_path(region, index_file),
        "sidecar_sha256": M.sha256_file(sidecar),
        "fingerprint": vi.fingerprint,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def shard_finished(root: Path, entry: dict[str, Any]) -> bool:
    """True when a shard's files are unchanged and its store and index match their hashes (the store's
    ``meta.json`` and the index's sidecar by SHA-256, then the index file's size and the checksums of every
    64 MB recorded in the sidecar)."""
    from terrafind.core.search.index import IndexParams
    from terrafind.core.search.index_files import file_sums

    try:
        identities = [M.file_identity(M.real_path(root, f["path"])) for f in entry["files"]]
        if M.shard_key(identities, IndexParams.for_rows(int(entry["rows"])).graph_key()) != entry.get("key"):
            return False
        if M.sha256_file(M.real_path(root, entry["store"]) / "meta.json") != entry.get("store_sha256"):
            return False
        index_file = M.real_path(root, entry["index"])
        sidecar = index_file.with_suffix(".json")
        if M.sha256_file(sidecar) != entry.get("sidecar_sha256"):
            return False
        meta = json.loads(sidecar.read_text())
        return index_file.stat().st_size == meta.get("size") and file_sums(
            index_file, None, None
        ) == meta.get("sums")
    except (OSError, ValueError, KeyError, TypeError, InputError):
        return False


def update_region(
    paths: Sequence[str | Path],
    root: str | Path,
    *,
    runner: Runner = run_here,
    rebuild: bool = False,
    centred: bool = False,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> RegionReport:
    """Make ``root`` a sharded region of ``paths`` (added to the shards it has): build the missing or
    changed shards with ``runner``, skip the finished ones (``rebuild``: build all again). ``centred``:
    then also every shard's index in the space of centred cosine on the region's mean (what the app and
    terrafind-cli search score in by default; see :func:`build_in_space`)."""
    region = Path(root)
    if region.exists() and not region.is_dir():
        raise InputError(f"{region} is a file; give a folder for the sharded region.")
    region.mkdir(parents=True, exist_ok=True)
    _clear_leftovers(region)
    known = M.read_manifest(region)["shards"]
    plan = plan_shards(paths, known, region)
    entries = {str(s["name"]): s for s in known}
    out = RegionReport(region)
    todo: list[Task] = []
    for i, (name, path) in enumerate(plan.items()):
        report(progress, i, len(plan), "Checking finished shards")
        entry = entries.get(name)
        if entry is not None and not rebuild and shard_finished(region, entry):
            out.skipped.append(name)
        else:
            todo.append(
                Task(name, build_shard, (name, path, str(region)), weight=max(1, Path(path).stat().st_size))
            )

    report(progress, len(plan), len(plan), "Checking finished shards")

    def done(name: str, entry: dict[str, Any]) -> None:
        entries[name] = entry
        M.write_manifest(region, list(entries.values()))  # after each shard: a stopped run keeps it
        out.built.append(name)

    if todo:
        result = runner(todo, label="Indexing tiles", progress=progress, cancel=cancel, on_done=done)
        out.failures = dict(result.failures)
        out.sentence = result.failure_sentence("tiles")
    elif not (region / M.MANIFEST).exists():
        M.write_manifest(region, list(entries.values()))
    out.rows = sum(int(e.get("rows", 0)) for e in entries.values())
    if centred and entries and not out.failures:
        _centred_indexes(region, list(entries.values()), runner, progress, cancel)
    return out


def _centred_indexes(
    region: Path, entries: list[dict[str, Any]], runner: Runner, progress: ProgressFn | None,
    cancel: CancelToken | None,
) -> None:  # fmt: skip
    """Every shard's index centred on the region's mean, computed exactly as opening the region computes
    it (the same rows, the same function: the same bits, so the app finds these indexes). The mean moves
    when tiles are added, so these follow it; the shards' stores and plain indexes are kept."""
    from types import SimpleNamespace

    from terrafind.core.session_space import apply_space
    from terrafind.core.shards.open import open_sharded

    sh = open_sharded(region, progress=progress, cancel=cancel)
    data = SimpleNamespace(catalog=sh.catalog, dates=sh.dates, pack=None)
    apply_space(data, True)
    mean = data.catalog.centre
    tasks = [
        Task(
            str(e["name"]), build_in_space, (str(e["name"]), str(region), mean), weight=max(1, int(e["rows"]))
        )
        for e in entries
    ]
    result = runner(tasks, label="Indexing tiles (centred)", progress=progress, cancel=cancel)
    if result.failures:
        raise InputError(result.failure_sentence("tiles") or "Indexing the tiles (centred) failed.")


def build_in_space(name: str, root: str, mean: Any, *, cancel: CancelToken | None = None) -> str:
    """Build (or find, checked) shard ``name``'s index with scores centred on ``mean`` (a task); return its
    fingerprint."""
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.search.index import load_or_build_index

    region = Path(root)
    entry = next(e for e in M.read_manifest(region)["shards"] if e["name"] == name)
    files = [str(M.real_path(region, f["path"])) for f in entry["files"]]
    catalog = open_catalog(files, store_root=region / SHARDS_DIR / name, cancel=cancel)
    return str(load_or_build_index(catalog.centred(mean), cancel=cancel).fingerprint)


def _clear_leftovers(region: Path) -> None:
    """Temporary folders of writes that never finished (a killed worker): never a shard, safe to remove."""
    shards = region / SHARDS_DIR
    if not shards.is_dir():
        return
    for tmp in [*shards.glob("*/regions/*/index/.*.tmp"), *shards.glob("*/regions/.*")]:
        if tmp.is_dir() and time.time() - tmp.stat().st_mtime > 3600:  # not one being written now
            shutil.rmtree(tmp, ignore_errors=True)
