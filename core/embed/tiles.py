"""Embedding a set of tiles into one file each, in one space: the filters are chosen once, then every tile
is an independent task (here one after another, or on a Dask cluster: :mod:`terrafind.core.cluster`).

``terrafind-cli embed TILE... --out-dir DIR``. The filters come from all the tiles together (as when they
are embedded into one file) or from an earlier file (``--like``), so every tile's vectors share one space
and the tiles open together, or as the shards of a region (:mod:`terrafind.core.shards`). ``DIR`` keeps
``embed-manifest.json``: what each tile's file was made from (the image's size and time, the filters'
SHA-256, the settings) and the SHA-256 of the file written; a rerun skips every tile whose entry still
matches, so a stopped run continues, and a tile that failed is named while the others finish.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from terrafind.core.embed.embedder import EmbedderParams, fit_embedder, like_settings, write_embeddings
from terrafind.core.embed.like import model_to_meta
from terrafind.core.embed.rcf import RCFModel
from terrafind.core.errors import InputError
from terrafind.core.files import sha256_file, write_text_atomic
from terrafind.core.progress import CancelToken, ProgressFn, report
from terrafind.core.tasks import Runner, Task, run_here

__all__ = ["TilesReport", "embed_tiles", "embed_tile", "MANIFEST"]

MANIFEST = "embed-manifest.json"


@dataclass
class TilesReport:
    """Files written, tiles skipped (finished before) and failed (name -> sentence)."""

    folder: Path
    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    sentence: str | None = None


def embed_tile(
    image: str, out: str, params: EmbedderParams, model: RCFModel, like: str | None,
    time_range: tuple[str, str] | None, *, cancel: CancelToken | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Embed one tile into ``out`` with the given filters (a task: everything it needs is in its
    arguments); return what the manifest records of it."""
    path = write_embeddings([image], out, params=params, model=model, like=like, time_range=time_range,
                            cancel=cancel)  # fmt: skip
    import pyarrow.parquet as pq

    return {"rows": int(pq.ParquetFile(path).metadata.num_rows), "sha256": sha256_file(path)}


def _names(images: Sequence[str]) -> list[str]:
    names, seen = [], set()
    for img in images:
        stem, i = Path(img).stem, 1
        name = stem
        while name in seen:
            i += 1
            name = f"{stem}-{i}"
        seen.add(name)
        names.append(name)
    return names


def _identity(image: str) -> dict[str, Any]:
    st = Path(image).stat()
    return {"image": str(Path(image).resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("tiles"), dict) else {"tiles": {}}
    except (OSError, ValueError):
        return {"tiles": {}}


def embed_tiles(
    images: Sequence[str | Path],
    out_dir: str | Path,
    *,
    params: EmbedderParams | None = None,
    like: str | Path | None = None,
    time_range: tuple[str, str] | None = None,
    runner: Runner = run_here,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> TilesReport:
    """Embed each image into ``out_dir/<name>.parquet`` with one filter bank (see the module docstring)."""
    paths = [str(Path(p)) for p in images]
    if not paths:
        raise InputError("No images were given to embed.")
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file; --out-dir takes a folder.")
    for p in paths:
        if Path(p).resolve().parent == folder.resolve() and Path(p).suffix.lower() == ".parquet":
            raise InputError(f"{Path(p).name} is in {folder}: give the embeddings another folder.")
    report(progress, 0, 1, "Choosing filters from the imagery")
    if like is not None:
        params, model = like_settings(like, params)
    else:
        params = params or EmbedderParams()
        model = fit_embedder(paths, params)
    folder.mkdir(parents=True, exist_ok=True)
    made_with = {
        "filters": model_to_meta(model)["sha256"],
        "params": asdict(params),
        "like": str(Path(like).resolve()) if like else None,
        "time_range": list(time_range) if time_range else None,
    }
    old = _read_manifest(folder)
    tiles: dict[str, Any] = dict(old["tiles"]) if old.get("made_with") == made_with else {}
    out = TilesReport(folder)
    todo = []
    for name, image in zip(_names(paths), paths, strict=True):
        target = folder / f"{name}.parquet"
        entry = tiles.get(name)
        if (
            entry
            and entry.get("source") == _identity(image)
            and target.exists()
            and sha256_file(target) == entry.get("sha256")
        ):
            out.skipped.append(name)
            continue
        tiles.pop(name, None)
        todo.append(Task(name, embed_tile, (image, str(target), params, model, str(like) if like else None, time_range),
                         weight=max(1, Path(image).stat().st_size)))  # fmt: skip

    def done(name: str, info: dict[str, Any]) -> None:
        image = next(t.args[0] for t in todo if t.name == name)
        tiles[name] = {"source": _identity(image), "file": f"{name}.parquet", **info}
        write_text_atomic(
            folder / MANIFEST, json.dumps({"made_with": made_with, "tiles": tiles}, indent=1, sort_keys=True)
        )
        out.written.append(name)

    if todo:
        result = runner(todo, label="Embedding tiles", progress=progress, cancel=cancel, on_done=done)
        out.failures = dict(result.failures)
        out.sentence = result.failure_sentence("tiles")
    return out
