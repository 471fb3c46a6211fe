"""What the user exports: hits, labels and sites as FeatureCollections with their provenance, written in
any registered format (:mod:`terrafind.core.export.formats`: GeoJSON, GeoPackage, CSV, GPX, KML).

Every file is made from one RFC 7946 FeatureCollection (lon/lat, footprints as counter-clockwise polygons)
whose top-level member ``terrafind`` records provenance: input files, model, mode, examples, k, threshold,
app version and time.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

import terrafind
from terrafind.core.catalog import Catalog, _json_safe
from terrafind.core.errors import InputError
from terrafind.core.export.formats import DIGITS, export_fc
from terrafind.core.search.sites import Site, sites_feature_collection
from terrafind.core.search.visible import CHANGE_MODES, visible_mask
from terrafind.core.types import SearchResult

__all__ = [
    "hits_feature_collection",
    "labels_feature_collection",
    "export_hits",
    "export_labels",
    "export_sites",
    "provenance",
    "search_info",
]


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
        # which scores these are: "centred cosine" (the region's mean taken away first) or "cosine"
        "similarity": catalog.similarity(),
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
    return round(float(coords), DIGITS)


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
    tops: np.ndarray | None = None,
) -> dict[str, Any]:
    """The hits of ``result`` at or above ``threshold`` (the visible rule, :mod:`terrafind.core.search.visible`:
    probability when a classifier re-ranked, else score) as a GeoJSON FeatureCollection dict.

    Properties: id, rank (1 = best), score, label (from ``labels`` by row, else null), matched_example (id of
    the positive chip the hit matched in mode "max", else null), date, source_url, probability (when a
    classifier re-ranked), top_share (when ``tops`` is given, one per hit of ``result``: the share of the
    region scoring as high, 0.001 = "top 0.1 %", :mod:`terrafind.core.search.percentiles`), then every
    catalog attribute.
    """
    keep = visible_mask(result, threshold)
    idx = np.flatnonzero(keep)
    rows = result.rows[idx]
    labels = labels or {}
    fixed = []
    score_name = score_key(result)
    extra = {k: np.asarray(v) for k, v in (result.extra or {}).items() if k in EXPORTED_EXTRA}
    for rank, (i, row) in enumerate(zip(idx.tolist(), rows.tolist(), strict=True), start=1):
        m = int(result.matched[i]) if len(result.matched) else -1
        props: dict[str, Any] = {
            "id": str(catalog.ids[row]),
            "rank": rank,
            score_name: round(float(result.scores[i]), 6),
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
        if tops is not None:
            props["top_share"] = round(float(tops[i]), 6)
        for name, values in extra.items():  # both dates of a comparison (terrafind.core.change)
            props[name] = _json_safe(round(float(values[i]), 6) if values.dtype.kind == "f" else values[i])
        fixed.append(props)
    info = search_info(catalog, result, threshold if threshold is not None else result.threshold)
    info["hits"] = int(len(rows))
    return {
        "type": "FeatureCollection",
        "features": _features(catalog, rows, fixed),
        "terrafind": provenance(catalog, {"kind": "hits", "search": info, **(extra_provenance or {})}),
    }


# Per-hit columns of a comparison across dates that exports carry (row numbers are internal).
EXPORTED_EXTRA = ("date_before", "date_after", "id_before", "id_after", "score_before")


def score_key(result: SearchResult) -> str:
    """The name of the hits' score in exports: "change" for a comparison of dates, else "score"."""
    return "change" if result.mode in CHANGE_MODES else "score"


def search_info(catalog: Catalog, result: SearchResult, threshold: float | None) -> dict[str, Any]:
    """How ``result`` was searched, for provenance: mode, method, k, threshold and the examples' ids."""
    return {
        "mode": result.mode,
        "method": result.method,
        "k": result.k,
        "threshold": threshold,
        "examples": {
            "positives": [str(catalog.ids[r]) for r in result.positives],
            "negatives": [str(catalog.ids[r]) for r in result.negatives],
        },
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


def export_hits(
    catalog: Catalog,
    result: SearchResult,
    path: str | Path,
    *,
    fmt: str | None = None,
    threshold: float | None = None,
    labels: dict[int, str] | None = None,
    extra_provenance: dict[str, Any] | None = None,
    tops: np.ndarray | None = None,
    protected: Iterable[str | Path] = (),
    blur_km: float | None = None,
) -> Path:
    """Write the hits to ``path`` (format from ``fmt`` or the suffix; none = GeoJSON); return the path.
    Never over the data's own files or ``protected`` ones (:mod:`terrafind.core.outputs`). ``blur_km``
    snaps them to a grid of that size and drops what identifies a chip (:mod:`terrafind.core.export.blur`)."""
    fc = hits_feature_collection(
        catalog, result, threshold=threshold, labels=labels, extra_provenance=extra_provenance, tops=tops
    )
    return export_fc(_blurred(fc, blur_km), path, fmt, _guarded(catalog, protected))


def export_labels(
    catalog: Catalog,
    positives: Iterable[int],
    negatives: Iterable[int],
    path: str | Path,
    *,
    fmt: str | None = None,
    protected: Iterable[str | Path] = (),
    blur_km: float | None = None,
) -> Path:
    """Write the user's examples (label "positive"/"negative") to ``path``; return the path."""
    fc = labels_feature_collection(catalog, positives, negatives)
    return export_fc(_blurred(fc, blur_km), path, fmt, _guarded(catalog, protected))


def export_sites(
    catalog: Catalog,
    sites: list[Site],
    path: str | Path,
    *,
    fmt: str | None = None,
    result: SearchResult | None = None,
    extra_provenance: dict[str, Any] | None = None,
    protected: Iterable[str | Path] = (),
    blur_km: float | None = None,
) -> Path:
    """Write sites (:func:`terrafind.core.search.sites.merge_sites`) in any export format, with the same
    provenance as a hits export (``kind`` = "sites"). Returns the path written."""
    info: dict[str, Any] = {"kind": "sites", "sites": len(sites)}
    if result is not None:
        info["search"] = search_info(catalog, result, result.threshold)
    info.update(extra_provenance or {})
    fc = sites_feature_collection(catalog, sites, provenance=provenance(catalog, info), result=result)
    return export_fc(_blurred(fc, blur_km), path, fmt, _guarded(catalog, protected))


def _blurred(fc: dict[str, Any], blur_km: float | None) -> dict[str, Any]:
    from terrafind.core.export.blur import blur_fc

    return fc if blur_km is None else blur_fc(fc, blur_km)


def _guarded(catalog: Catalog, protected: Iterable[str | Path]) -> list[str | Path]:
    """What an export must not replace: the catalog's own files and whatever else is open."""
    return [*(s.path for s in catalog.sources), *protected]
