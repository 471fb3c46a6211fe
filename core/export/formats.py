"""The export formats, registered in one place: a new format is one writer function and one ``register``.

A writer takes a GeoJSON FeatureCollection dict (RFC 7946, lon/lat, with the ``terrafind`` provenance
member) and a path, and writes that file. :func:`export_fc` resolves the format (``fmt`` or the suffix; no
suffix = GeoJSON), writes through :func:`terrafind.core.files.write_atomic` and turns OS errors into one
sentence. Where the provenance goes in each format:

* GeoJSON: the top-level member ``terrafind``.
* GeoPackage: the layer (``hits``, ``labels``, ``sites``) carries it as GDAL layer metadata item
  ``terrafind`` (a JSON string in the standard ``gpkg_metadata`` tables, shown in QGIS's layer properties).
* CSV: a sidecar ``<name>.terrafind.json`` beside the file. A comment header would break GDAL, QGIS and
  pandas, which read the first line as column names. The footprint is the ``WKT`` column (GDAL's CSV
  driver reads it as the geometry) and ``lon``/``lat`` are the centroid.
* GPX / KML: waypoints for phones (:mod:`terrafind.core.export.phones`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from terrafind.core.errors import InputError
from terrafind.core.export import phones
from terrafind.core.files import write_atomic

__all__ = [
    "Format",
    "FORMATS",
    "Writer",
    "register",
    "resolve",
    "name_for",
    "export_fc",
    "file_filters",
    "spreadsheet_safe",
    "DIGITS",
]

Writer = Callable[[dict, Path], None]
DIGITS = 7  # ~1 cm at the equator: more digits are noise, fewer would move chip corners


@dataclass(frozen=True)
class Format:
    """One way to write features: ``key`` ("geojson"), a label for dialogs, the file suffixes it owns
    (the first is the default) and its writer."""

    key: str
    label: str
    suffixes: tuple[str, ...]
    write: Writer

    @property
    def file_filter(self) -> str:
        """ "GeoJSON (*.geojson *.json)": a file dialog's filter."""
        return f"{self.label} ({' '.join('*' + s for s in self.suffixes)})"


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add (or replace) a format; its suffixes then resolve to it."""
    FORMATS[fmt.key] = fmt
    return fmt


def file_filters() -> dict[str, str]:
    """Dialog filter -> format key, in registration order (GeoJSON first)."""
    return {f.file_filter: f.key for f in FORMATS.values()}


def _by_suffix(suffix: str) -> Format | None:
    return next((f for f in FORMATS.values() if suffix.lower() in f.suffixes), None)


def _chosen(path: Path, fmt: str | None) -> Format:
    if fmt:
        key = fmt.lower().lstrip(".")
        chosen = FORMATS.get(key) or _by_suffix("." + key)
    else:
        chosen = _by_suffix(path.suffix or ".geojson")
    if chosen is None:
        known = ", ".join(s for f in FORMATS.values() for s in f.suffixes)
        raise InputError(f"Terrafind cannot write {path.name}: choose a file ending in one of {known}.")
    return chosen


def resolve(path: str | Path, fmt: str | None = None) -> tuple[Path, Format]:
    """The file that will be written and its format: ``fmt`` (a key or a suffix) when given, else the
    file's suffix; a path without a suffix gets the format's first. The suffix must agree with the format:
    InputError otherwise (a GPX file named ``data.parquet`` would replace the data), and for unknown
    formats."""
    path = Path(path)
    chosen = _chosen(path, fmt)
    if not path.suffix:
        path = path.with_suffix(chosen.suffixes[0])
    elif path.suffix.lower() not in chosen.suffixes:
        raise InputError(
            f"{path.name} does not end in {chosen.suffixes[0]}, the suffix of {chosen.label}: name the file "
            f"so, or choose the format its name says."
        )
    return path, chosen


def name_for(path: str | Path, fmt: str | None) -> str:
    """``path`` with the suffix of the format chosen in a save dialog: kept when it agrees, replaced when
    it is another export format's, added otherwise ("data.parquet" with GPX -> "data.parquet.gpx"), so the
    name always says what the file is and never names a file of another kind."""
    path = Path(path)
    chosen = _chosen(path, fmt)
    suffix = path.suffix.lower()
    if suffix in chosen.suffixes:
        return str(path)
    if suffix and _by_suffix(suffix) is not None:
        return str(path.with_suffix(chosen.suffixes[0]))
    return str(path) + chosen.suffixes[0]


def export_fc(
    fc: dict, path: str | Path, fmt: str | None = None, protected: Iterable[str | Path] = ()
) -> Path:
    """Write ``fc`` to ``path`` in its format, atomically; return the path written. ``protected`` are the
    open files and packs, which an export never replaces (:mod:`terrafind.core.outputs`)."""
    from terrafind.core.outputs import check_output_file

    target, chosen = resolve(path, fmt)
    check_output_file(target, chosen.key, protected)
    try:
        return write_atomic(lambda tmp: chosen.write(fc, tmp), target)
    except OSError as exc:
        raise InputError(
            f"Could not write {target}: {exc.strerror or exc}; choose another folder or free some space.",
            detail=repr(exc),
        ) from exc


# --- the writers ----------------------------------------------------------------------------------
def write_geojson(fc: dict, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(fc, fh, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _frame(fc: dict):
    """A GeoDataFrame of the features with nested values as JSON text (GPKG and CSV hold scalars only)."""
    import geopandas as gpd

    records = []
    for f in fc["features"]:
        props = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in f["properties"].items()}
        records.append(props)
    geoms = [shapely.geometry.shape(f["geometry"]) for f in fc["features"]]
    return gpd.GeoDataFrame(records, geometry=geoms, crs="EPSG:4326")


def write_gpkg(fc: dict, path: Path) -> None:
    import pyogrio

    gdf = _frame(fc)
    layer = fc.get("terrafind", {}).get("kind", "hits")
    meta = {"terrafind": json.dumps(fc.get("terrafind", {}), ensure_ascii=False)}
    # Columns that are all null have no type GDAL can infer: store them as text.
    for col in gdf.columns:
        if col != "geometry" and gdf[col].isna().all():
            gdf[col] = gdf[col].astype("string")
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", layer_metadata=meta)


def write_csv(fc: dict, path: Path) -> None:
    gdf = _frame(fc)
    centroids = shapely.centroid(gdf.geometry.values) if len(gdf) else np.array([])
    df = gdf.drop(columns="geometry")
    # Sites state their own point (inside the outline, where a centroid may fall outside): keep it.
    lon = df.pop("lon") if "lon" in df else (np.round(shapely.get_x(centroids), DIGITS) if len(gdf) else [])
    lat = df.pop("lat") if "lat" in df else (np.round(shapely.get_y(centroids), DIGITS) if len(gdf) else [])
    df.insert(0, "lon", lon)
    df.insert(1, "lat", lat)
    df["WKT"] = shapely.to_wkt(gdf.geometry.values, rounding_precision=DIGITS) if len(gdf) else []
    # The sidecar goes beside the file being written; write_atomic moves it into place with it.
    sidecar = path.with_name(f"{path.stem}.terrafind.json")
    sidecar.write_text(json.dumps(fc.get("terrafind", {}), indent=1), encoding="utf-8")
    import pandas as pd

    for col in df.columns:  # text cells only: numbers (a western longitude is -75.7) stay numbers
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].map(spreadsheet_safe)
    df.columns = [spreadsheet_safe(str(c)) for c in df.columns]
    # RFC 4180 line ends: a cell holding a carriage return is then quoted (with "\n" alone as the line
    # end it was not, and readers broke the row there).
    df.to_csv(path, index=False, lineterminator="\r\n")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet will not run (OWASP's rule for CSV injection): a value that starts with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, which spreadsheets show as
    text. Ids, names and notes come from data files, which anyone can write."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


register(Format("geojson", "GeoJSON", (".geojson", ".json"), write_geojson))
register(Format("gpkg", "GeoPackage", (".gpkg",), write_gpkg))
register(Format("csv", "CSV", (".csv",), write_csv))
register(Format("gpx", "GPX waypoints for phones", (".gpx",), phones.write_gpx_fc))
register(Format("kml", "KML", (".kml",), phones.write_kml_fc))
