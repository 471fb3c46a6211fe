"""Export hits and labels as files other tools open: GeoJSON (default), GeoPackage, CSV.

Every format is made from one RFC 7946 FeatureCollection (lon/lat, footprints as counter-clockwise
polygons) whose top-level member ``terrafind`` records provenance: input files, model, mode, examples, k,
threshold, app version and time. Where that provenance goes in the other formats:

* GeoPackage: the layer ``hits`` (or ``labels``) carries it as GDAL layer metadata item ``terrafind`` (a
  JSON string, stored in the standard ``gpkg_metadata`` tables, visible in QGIS's layer properties).
* CSV: a sidecar ``<name>.terrafind.json`` beside the file. A comment header would break GDAL, QGIS and
  pandas, which all read the first line as column names. The footprint is the ``WKT`` column (GDAL's CSV
  driver reads it as the geometry) and ``lon``/``lat`` are the centroid.

Writes are atomic: each writer fills a temporary file in the target folder, which then replaces the target
in one ``os.replace``, so an interrupted export never leaves half a file where a good one was.
Formats are a registry: another module adds one with ``WRITERS[".kml"] = write_kml`` (a function
``(feature_collection, path) -> None``).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

import terrafind
from terrafind.core.catalog import Catalog, _json_safe
from terrafind.core.errors import InputError
from terrafind.core.types import SearchResult

__all__ = [
    "WRITERS",
    "Writer",
    "hits_feature_collection",
    "labels_feature_collection",
    "export_hits",
    "export_labels",
    "write_atomic",
    "writer_for",
    "provenance",
]

Writer = Callable[[dict, Path], None]
_FIXED = ("id", "rank", "score", "label", "matched_example", "date", "source_url", "probability")
_DIGITS = 7  # ~1 cm at the equator: more digits are noise, fewer would move chip corners


def _utc_now() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def provenance(catalog: Catalog, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Where the data came from and which app made the file (the ``terrafind`` member)."""
    out: dict[str, Any] = {
        "app": "Terrafind",
        "version": terrafind.__version__,
        "created": _utc_now(),
        "inputs": [
            {"path": s.path, "size": s.size, "adapter": s.adapter, "rows_read": s.rows_read}
            for s in catalog.sources
        ],
        "adapter": catalog.adapter,
        "model": _json_safe(catalog.model) if catalog.model else None,
        "model_name": catalog.model_name,
        "region": catalog.region.to_dict() if catalog.region else None,
        "chips_searched": len(catalog),
    }
    out.update(_json_safe(extra or {}))
    return out


def _geometries(catalog: Catalog, rows: np.ndarray) -> list[dict[str, Any]]:
    """RFC 7946 geometries of the footprints: exterior rings counter-clockwise, coordinates rounded."""
    geoms = shapely.orient_polygons(catalog.footprints[rows], exterior_cw=False)
    return [json.loads(g) for g in shapely.to_geojson(geoms)] if len(rows) else []


def _round(coords: Any) -> Any:
    if isinstance(coords, list):
        return [_round(c) for c in coords]
    return round(float(coords), _DIGITS)


def _features(catalog: Catalog, rows: np.ndarray, fixed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One Feature per row: the fixed properties first, then the catalog attributes (clashes prefixed)."""
    if catalog.attributes.num_columns and len(rows):
        attrs = catalog.attributes.take(rows).to_pylist()
    else:  # a table without columns gives no per-row dicts
        attrs = [{} for _ in range(len(rows))]
    feats = []
    for geom, props, extra in zip(_geometries(catalog, rows), fixed, attrs, strict=True):
        for name, value in extra.items():
            key = name if name not in props else f"data_{name}"
            props.setdefault(key, _json_safe(value))
        geom["coordinates"] = _round(geom["coordinates"])
        feats.append({"type": "Feature", "id": props["id"], "geometry": geom, "properties": props})
    return feats


def hits_feature_collection(
    catalog: Catalog,
    result: SearchResult,
    *,
    threshold: float | None = None,
    labels: dict[int, str] | None = None,
    extra_provenance: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The hits of ``result`` (score >= ``threshold`` when given) as a GeoJSON FeatureCollection dict.

    Properties: id, rank (1 = best), score, label (from ``labels`` by row, else null), matched_example (id of
    the positive chip the hit matched in mode "max", else null), date, source_url, probability (when a
    classifier re-ranked), then every catalog attribute.
    """
    keep = np.ones(len(result), bool) if threshold is None else result.scores >= float(threshold)
    idx = np.flatnonzero(keep)
    rows = result.rows[idx]
    labels = labels or {}
    fixed = []
    for rank, (i, row) in enumerate(zip(idx.tolist(), rows.tolist(), strict=True), start=1):
        m = int(result.matched[i]) if len(result.matched) else -1
        props: dict[str, Any] = {
            "id": str(catalog.ids[row]),
            "rank": rank,
            "score": round(float(result.scores[i]), 6),
            "label": labels.get(row),
            # matched indexes positives (chip rows first, then raw vectors, which have no id).
            "matched_example": str(catalog.ids[result.positives[m]])
            if 0 <= m < len(result.positives)
            else None,
            "date": catalog.date(row),
            "source_url": catalog.source_url(row),
        }
        if result.probabilities is not None:
            props["probability"] = round(float(result.probabilities[i]), 6)
        fixed.append(props)
    search_info = {
        "mode": result.mode,
        "method": result.method,
        "k": result.k,
        "threshold": threshold if threshold is not None else result.threshold,
        "examples": {
            "positives": [str(catalog.ids[r]) for r in result.positives],
            "negatives": [str(catalog.ids[r]) for r in result.negatives],
        },
        "hits": int(len(rows)),
    }
    return {
        "type": "FeatureCollection",
        "features": _features(catalog, rows, fixed),
        "terrafind": provenance(catalog, {"kind": "hits", "search": search_info, **(extra_provenance or {})}),
    }


def labels_feature_collection(
    catalog: Catalog, positives: Iterable[int], negatives: Iterable[int]
) -> dict[str, Any]:
    """The user's labelled chips as a FeatureCollection: property ``label`` is "positive" or "negative"."""
    pos, neg = [int(r) for r in positives], [int(r) for r in negatives]
    rows = np.array(pos + neg, dtype=np.int64)
    if len(rows) and (rows.min() < 0 or rows.max() >= len(catalog)):
        raise InputError(
            "A labelled chip is not in the loaded data; reopen the data the labels were made on."
        )
    fixed = [
        {
            "id": str(catalog.ids[r]),
            "label": lab,
            "date": catalog.date(r),
            "source_url": catalog.source_url(r),
        }
        for r, lab in zip(rows.tolist(), ["positive"] * len(pos) + ["negative"] * len(neg), strict=True)
    ]
    info = {"kind": "labels", "positives": len(pos), "negatives": len(neg)}
    return {
        "type": "FeatureCollection",
        "features": _features(catalog, rows, fixed),
        "terrafind": provenance(catalog, info),
    }


# --- writers --------------------------------------------------------------------------------------


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
    df.insert(0, "lon", np.round(shapely.get_x(centroids), _DIGITS) if len(gdf) else [])
    df.insert(1, "lat", np.round(shapely.get_y(centroids), _DIGITS) if len(gdf) else [])
    df["WKT"] = shapely.to_wkt(gdf.geometry.values, rounding_precision=_DIGITS) if len(gdf) else []
    sidecar = path.parent / f"{_final_stem(path)}.terrafind.json"
    write_atomic(lambda p: p.write_text(json.dumps(fc.get("terrafind", {}), indent=1)), sidecar)
    df.to_csv(path, index=False)


WRITERS: dict[str, Writer] = {
    ".geojson": write_geojson,
    ".json": write_geojson,
    ".gpkg": write_gpkg,
    ".csv": write_csv,
}

# Waypoints for phones (GPX, KML) come from terrafind.core.export.phones (issue 7); it imports this module only inside
# functions, so the import cycle is harmless.
from terrafind.core.export.phones import write_gpx_fc, write_kml_fc  # noqa: E402

WRITERS.update({".gpx": write_gpx_fc, ".kml": write_kml_fc})


def _final_stem(path: Path) -> str:
    """The stem of the file being written, also when ``path`` is the temporary name of it."""
    name = path.name
    if name.startswith(".") and ".tmp-" in name:
        name = name[1:].split(".tmp-")[0]
    return Path(name).stem


def write_atomic(write: Callable[[Path], object], path: Path) -> Path:
    """Run ``write(tmp)`` on a temporary file beside ``path`` and move it into place only when it succeeded."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder (os.replace is atomic only within one filesystem) and same suffix (drivers look at it).
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-journal"), tmp.with_name(tmp.name + "-wal")):
            leftover.unlink(missing_ok=True)
    return path


def writer_for(path: str | Path, fmt: str | None = None) -> tuple[Path, Writer]:
    """The file that will be written (no suffix = GeoJSON) and its writer; InputError for unknown formats."""
    path = Path(path)
    key = (fmt if fmt.startswith(".") else f".{fmt}").lower() if fmt else path.suffix.lower() or ".geojson"
    if not path.suffix:
        path = path.with_suffix(key)
    writer = WRITERS.get(key.lower())
    if writer is None:
        known = ", ".join(sorted(WRITERS))
        raise InputError(f"Terrafind cannot write {path.name}: choose a file ending in one of {known}.")
    return path, writer


def _export(fc: dict, path: str | Path, fmt: str | None) -> Path:
    target, writer = writer_for(path, fmt)
    try:
        return write_atomic(lambda tmp: writer(fc, tmp), target)
    except OSError as exc:
        raise InputError(
            f"Could not write {target}: {exc.strerror or exc}; choose another folder or free some space.",
            detail=repr(exc),
        ) from exc


def export_hits(
    catalog: Catalog,
    result: SearchResult,
    path: str | Path,
    *,
    fmt: str | None = None,
    threshold: float | None = None,
    labels: dict[int, str] | None = None,
    extra_provenance: dict[str, Any] | None = None,
) -> Path:
    """Write the hits to ``path`` (format from ``fmt`` or the suffix; none = GeoJSON); return the path."""
    fc = hits_feature_collection(
        catalog, result, threshold=threshold, labels=labels, extra_provenance=extra_provenance
    )
    return _export(fc, path, fmt)


def export_labels(
    catalog: Catalog,
    positives: Iterable[int],
    negatives: Iterable[int],
    path: str | Path,
    *,
    fmt: str | None = None,
) -> Path:
    """Write the user's examples (label "positive"/"negative") to ``path``; return the path."""
    return _export(labels_feature_collection(catalog, positives, negatives), path, fmt)
