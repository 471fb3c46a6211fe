"""The second demo region: Pucallpa in the Peruvian Amazon at 8 dates, 1985-2020 (real Landsat imagery).

``ensure_pucallpa()`` builds, once, under ``data_dir()/demo-pucallpa`` (in a temporary folder renamed into
place, like the first demo): per year a clean 4-band COG (band names SWIR1/NIR/Red/Green, the year as
its date), a false-colour display COG (SWIR1, NIR, Red as red, green, blue: vegetation green, bare ground
pink, water dark) for thumbnails and an MBTiles basemap of that year, and the year's embeddings. The
filters are drawn from 1985 and every later year is embedded --like it, so all eight share one space;
drawn from 1985 they also separate clearing best here (docs/demo.md: fitted on all years, the top of
the change list holds half as much clearing). Chips are 8 px (~720 m) every 8 px: 4,089 per year.

The imagery ships in ``resources/demo/pucallpa`` (public domain USGS pixels from an MIT-licensed
repository, see its SOURCE.md); the build takes a few seconds on 2 cores.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from terrafind.core import paths
from terrafind.core.embed.demo import build_then_swap, current_stamp
from terrafind.core.embed.embedder import EmbedderParams, write_embeddings
from terrafind.core.errors import TerrafindError
from terrafind.core.progress import CancelToken, ProgressFn, check, report

__all__ = [
    "YEARS",
    "PUCALLPA_PARAMS",
    "PUCALLPA_ATTRIBUTION",
    "PucallpaDemo",
    "source_dir",
    "pucallpa_demo",
    "ensure_pucallpa",
    "embed_years",
]

YEARS = (1985, 1990, 1995, 2000, 2005, 2010, 2015, 2020)
BANDS = ("SWIR1", "NIR", "Red", "Green")
BUILDER_VERSION = 1
PUCALLPA_ATTRIBUTION = "Landsat imagery courtesy of the U.S. Geological Survey (via opengeos/data)"
PUCALLPA_HINT = (
    "Pucallpa, 1985-2020: switch years above the map, or Dates > What changed to see the forest cleared"
)
# Measured on this scene (docs/demo.md): 8 px chips every 8 px, 128 filters of 3 px, responses at every pixel.
PUCALLPA_PARAMS = EmbedderParams(k=128, patch=3, chip=8, stride=8, seed=0, step=1, min_valid=0.5)
STAMP = "build.json"


@dataclass(frozen=True)
class PucallpaDemo:
    """The built demo: per year (label "1985"...) its embeddings, display imagery and basemap."""

    folder: Path
    embeddings: dict[str, Path]
    display: dict[str, Path]
    basemaps: dict[str, Path | None]
    attribution: str
    hint: str
    bbox: tuple[float, float, float, float]

    @property
    def files(self) -> list[str]:
        return [str(self.embeddings[y]) for y in sorted(self.embeddings)]


def source_dir() -> Path:
    """The shipped imagery (``resources/demo/pucallpa``)."""
    folder = paths.resources_dir() / "demo" / "pucallpa"
    if not all((folder / f"{y}.tif").is_file() for y in YEARS):
        raise TerrafindError(f"The Pucallpa imagery is missing from {folder}: reinstall Terrafind.")
    return folder


def _folder() -> Path:
    return paths.data_dir() / "demo-pucallpa"


def pucallpa_demo() -> PucallpaDemo | None:
    """The built demo when present and current, else None (reads one small JSON file)."""
    folder = _folder()
    stamp = current_stamp(folder, BUILDER_VERSION)
    if stamp is None:
        return None
    years = [str(y) for y in YEARS]
    emb = {y: folder / f"pucallpa_{y}.parquet" for y in years}
    display = {y: folder / f"display_{y}.tif" for y in years}
    basemaps = {
        y: (folder / stamp["basemaps"][y]) if stamp.get("basemaps", {}).get(y) else None for y in years
    }
    needed = [*emb.values(), *display.values(), *(b for b in basemaps.values() if b is not None)]
    if not all(p.is_file() for p in needed):
        return None
    bbox = tuple(float(v) for v in stamp["bbox"])
    return PucallpaDemo(folder, emb, display, basemaps, PUCALLPA_ATTRIBUTION, PUCALLPA_HINT, bbox)  # type: ignore[arg-type]


def ensure_pucallpa(*, progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> PucallpaDemo:
    """The Pucallpa demo, built first when missing or out of date (a few seconds)."""
    demo = pucallpa_demo()
    if demo is not None:
        return demo
    final = _folder()

    def build(work: Path) -> dict:
        return _build(work, final, progress=progress, cancel=cancel)

    build_then_swap(final, "demo-pucallpa-build", build, pucallpa_demo)
    demo = pucallpa_demo()
    if demo is None:  # pragma: no cover - only if another process replaced it with something broken
        raise RuntimeError(f"the Pucallpa demo built in {final} does not check out")
    return demo


def _write_cogs(year: int, work: Path) -> tuple[Path, Path]:
    """The year's clean 4-band COG and its false-colour display COG."""
    import rasterio
    import rasterio.shutil
    from rasterio.enums import ColorInterp
    from rasterio.io import MemoryFile

    with rasterio.Env(CPL_LOG="/dev/null"), rasterio.open(source_dir() / f"{year}.tif") as src:
        data, profile = src.read(), src.profile  # (the files' odd TIFF header warns on every open)
    base = dict(driver="GTiff", crs=profile["crs"], transform=profile["transform"], width=data.shape[2],
                height=data.shape[1], dtype="uint8", nodata=0, tiled=True, blockxsize=256, blockysize=256)  # fmt: skip
    out = {}
    for name, arr, desc in (
        ("landsat", data, BANDS),
        ("display", data[:3], ("SWIR1 (shown as red)", "NIR (shown as green)", "Red (shown as blue)")),
    ):
        path = work / f"{name}_{year}.tif"
        with MemoryFile() as mem:
            with mem.open(**base, count=arr.shape[0]) as tmp:
                tmp.write(arr)
                tmp.descriptions = desc
                tmp.update_tags(ACQUISITION_YEAR=str(year), SOURCE=PUCALLPA_ATTRIBUTION)
                if name == "display":
                    tmp.colorinterp = [ColorInterp.red, ColorInterp.green, ColorInterp.blue]
            with mem.open() as tmp:
                rasterio.shutil.copy(tmp, str(path), driver="COG", compress="DEFLATE", predictor="2",
                                     overview_resampling="average")  # fmt: skip
        out[name] = path
    return out["landsat"], out["display"]


def embed_years(
    work: Path, final: Path, *, progress: ProgressFn | None = None, cancel: CancelToken | None = None
) -> list[Path]:
    """Every year's COGs and embeddings into ``work`` (paths inside name ``final``): 1985 fits the filters,
    the later years are embedded in its space. Returns the embeddings files, oldest first."""
    from terrafind.core.embed.like import model_from_meta

    model = None
    out = []
    for i, year in enumerate(YEARS):
        check(cancel)
        report(progress, i, len(YEARS), f"Embedding Pucallpa {year}")
        landsat, display = _write_cogs(year, work)
        emb = work / f"pucallpa_{year}.parquet"
        first = final / f"pucallpa_{YEARS[0]}.parquet"
        write_embeddings(
            [landsat], emb, params=PUCALLPA_PARAMS, model=model, like=first if model is not None else None,
            source_urls=[str((final / display.name).resolve())],
            dataset_paths=[str((final / landsat.name).resolve())],
            time_range=(f"{year}-01-01T00:00:00Z", f"{year}-12-31T23:59:59Z"), cancel=cancel,
        )  # fmt: skip
        if model is None:  # the later years in 1985's space (exactly what embed --like does)
            import pyarrow.parquet as pq

            meta = json.loads(pq.read_schema(emb).metadata[b"emb"])
            model = model_from_meta(meta["model"]["filters"])
        out.append(emb)
    return out


def _build(work: Path, final: Path, *, progress: ProgressFn | None, cancel: CancelToken | None) -> dict:
    """Every file into ``work``, naming paths inside the embeddings as they will be in ``final``."""
    import pyarrow.parquet as pq

    from terrafind.core.imagery.basemap import build_mbtiles

    t0 = time.perf_counter()
    files = embed_years(
        work, final, progress=lambda d, t, label: report(progress, d, 2 * t, label), cancel=cancel
    )
    basemaps: dict[str, str] = {}
    for i, year in enumerate(YEARS):
        check(cancel)
        report(progress, len(YEARS) + i, 2 * len(YEARS), f"Basemap of {year}")
        try:
            build_mbtiles(work / f"display_{year}.tif", work / f"basemap_{year}.mbtiles", cancel=cancel)
            basemaps[str(year)] = f"basemap_{year}.mbtiles"
        except TerrafindError:
            pass  # thumbnails still come from the display COG; the map shows outlines only
    report(progress, 1, 1, "Pucallpa ready")
    boxes = [json.loads(pq.read_schema(f).metadata[b"geo"])["columns"]["geometry"]["bbox"] for f in files]
    b = np.array(boxes, float)
    return {
        "builder_version": BUILDER_VERSION,
        "folder": str(final.resolve()),
        "bbox": [float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())],
        "basemaps": basemaps,
        "years": [str(y) for y in YEARS],
        "seconds": round(time.perf_counter() - t0, 2),
        "attribution": PUCALLPA_ATTRIBUTION,
    }
