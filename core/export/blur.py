"""Exports for sensitive places: locations blurred to a grid, or no locations at all.

Some finds put people in danger when their place leaks (a poaching camp, an illegal mine). Two ways to
share without precise coordinates:

* :func:`blur_fc` snaps every hit or site to the cell of a square grid (1, 5 or 10 km, or any size the
  person picks) that holds its centre, and merges the hits of a cell into one feature: the cell's outline,
  how many hits it holds and the best rank, score and probability among them. Ids, dates, source files,
  thumbnails, attributes and matched examples are dropped (any of them can lead back to the exact chip),
  and so is the provenance that names files, the region or examples.
* :func:`label_set_table` keeps the labels with their embeddings only (as Tessera's embedding explorer
  offers): a colleague can train on them, nobody can place them on a map.

Grid cells are equal in size on the ground: rows of ``km`` in latitude, and in each row columns of
``km`` at the row's middle latitude. The same hit always lands in the same cell, so two blurred exports of
the same place agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely

__all__ = ["BLUR_CHOICES_KM", "blur_fc", "cell_of", "label_set_table"]

BLUR_CHOICES_KM = (1.0, 5.0, 10.0)
KM_PER_DEGREE = 111.32


def cell_of(lon: float, lat: float, km: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the grid cell of side ``km`` that holds (lon, lat)."""
    dlat = km / KM_PER_DEGREE
    row = math.floor((lat + 90.0) / dlat)
    south = -90.0 + row * dlat
    mid = min(89.9, abs(south + dlat / 2))
    dlon = km / (KM_PER_DEGREE * max(math.cos(math.radians(mid)), 0.01))
    col = math.floor((lon + 180.0) / dlon)
    west = -180.0 + col * dlon
    return (round(west, 6), round(south, 6), round(west + dlon, 6), round(south + dlat, 6))


def _best(values: list[Any], better) -> Any:
    known = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    return better(known) if known else None


def blur_fc(fc: dict[str, Any], km: float) -> dict[str, Any]:
    """``fc`` (hits or sites) with its features merged into grid cells of ``km`` (see the module doc)."""
    if not (isinstance(km, (int, float)) and 0.1 <= km <= 1000):
        from terrafind.core.errors import InputError

        raise InputError("Blur locations to a grid of 0.1 to 1000 km (1, 5 or 10 km are usual).")
    cells: dict[tuple[float, float, float, float], list[dict[str, Any]]] = {}
    for feat in fc.get("features") or []:
        geom = feat.get("geometry")
        if not geom:
            continue
        p = shapely.geometry.shape(geom).representative_point()
        cells.setdefault(cell_of(p.x, p.y, float(km)), []).append(feat.get("properties") or {})
    features = []
    ordered = sorted(cells.items(), key=lambda kv: _best([p.get("rank") for p in kv[1]], min) or 0)
    for n, (cell, props) in enumerate(ordered, start=1):
        labels = [p.get("label") for p in props if p.get("label")]
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(shapely.box(*cell)),
                "properties": {
                    "rank": n,
                    "hits": len(props),
                    "best_rank": _best([p.get("rank") for p in props], min),
                    "score": _best([p.get("score", p.get("best_score")) for p in props], max),
                    "probability": _best(
                        [p.get("probability", p.get("best_probability")) for p in props], max
                    ),
                    "positive_labels": labels.count("positive"),
                    "negative_labels": labels.count("negative"),
                    "cell_km": float(km),
                },
            }
        )
    info = fc.get("terrafind") or {}
    kept = {k: info[k] for k in ("app", "version", "created", "kind", "model_name") if k in info}
    kept["blurred_km"] = float(km)
    kept["note"] = "Locations snapped to a grid; ids, dates, files and examples left out."
    return {"type": "FeatureCollection", "features": features, "terrafind": kept}


def label_set_table(vectors: np.ndarray, labels: Sequence[str], model: dict[str, Any] | None) -> Any:
    """A pyarrow Table of ``label`` and ``embedding`` (float32, fixed size) with the model in its footer
    (``emb``): no id, no geometry, nothing that places a chip."""
    import json

    import pyarrow as pa

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = vectors.shape
    table = pa.table(
        {
            "label": pa.array(list(labels), pa.string()),
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), d),
        }
    )
    meta = {
        b"terrafind": json.dumps(
            {"kind": "label set", "count": n, "dim": d, "note": "embeddings and labels only, no places"}
        ).encode()
    }
    inner = (model or {}).get("model") if isinstance((model or {}).get("model"), dict) else None
    if inner:  # which model made the vectors (its id and name only: a footer may also name files)
        meta[b"emb"] = json.dumps(
            {"model": {k: str(inner[k]) for k in ("id", "name") if k in inner}}
        ).encode()
    return table.replace_schema_metadata(meta)
