"""What the panels and the map page are given: GeoJSON-like dicts and plain items built from a Catalog.

Built in worker threads (the search job calls :func:`results_payload`) because 5,000 footprints take tens
of milliseconds to turn into coordinates, which must not happen on the GUI thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.geometry

from terrafind.core.limits import MAX_MAP_TEXT
from terrafind.core.present.items import ExampleItem, ResultItem
from terrafind.core.search.visible import CHANGE_MODES

__all__ = [
    "geometries",
    "results_payload",
    "examples_fc",
    "footprints_fc",
    "footprints_json",
    "ResultsPayload",
    "RawJSON",
    "ShownResults",
    "show_outcome",
]


def shown(text: Any) -> Any:
    """A data string as the map and the lists show it: at most :data:`MAX_MAP_TEXT` characters (a file may
    hold ids or dates of any length; the page draws every one of them)."""
    if isinstance(text, str) and len(text) > MAX_MAP_TEXT:
        return text[: MAX_MAP_TEXT - 1] + "…"
    return text


def _round(coords: np.ndarray) -> list[list[float]]:
    # 6 decimals = 0.1 m: plenty for chips, and the JSON handed to the page is a third shorter.
    return np.round(coords, 6).tolist()


def geometries(footprints: np.ndarray) -> list[dict[str, Any]]:
    """GeoJSON geometries of shapely footprints; a fast path for plain polygons (the usual chip)."""
    if len(footprints) == 0:
        return []
    types = shapely.get_type_id(footprints)
    simple = bool(np.all(types == 3)) and bool(np.all(shapely.get_num_interior_rings(footprints) == 0))
    if not simple:
        return [shapely.geometry.mapping(g) for g in footprints]
    coords, index = shapely.get_coordinates(footprints, return_index=True)
    cuts = np.flatnonzero(np.diff(index)) + 1
    return [{"type": "Polygon", "coordinates": [_round(part)]} for part in np.split(coords, cuts)]


@dataclass
class ResultsPayload:
    """A search result made ready for the screen: map features, gallery items, scores for the plot."""

    result: Any  # terrafind.core.types.SearchResult
    fc: dict[str, Any]
    items: list[ResultItem]
    scores: np.ndarray
    fc_json: str | None = None  # ``fc`` already encoded for the page (RawJSON), made in the worker


def results_payload(
    catalog,
    result,
    labels: dict[int, str] | None = None,
    tops: np.ndarray | None = None,
    ranks: np.ndarray | None = None,
) -> ResultsPayload:
    """Map FeatureCollection (properties row, rank, score, top, id, date, probability, matched) and gallery
    items; the collection also carries ``stride`` (see :func:`terrafind.core.catalog.Catalog.stride`).

    ``matched`` is the id of the example a hit matched best, when the search knows (mode "max", grouped
    and refined searches). ``tops`` is each hit's share of the region scoring as high
    (:mod:`terrafind.core.search.percentiles`), when known. ``ranks`` are the hits' ranks when ``result``
    is a part of a search (a random sample to check: each tile keeps its rank in the whole search)."""
    labels = labels or {}
    rows = np.asarray(result.rows, dtype=np.int64)
    scores = np.asarray(result.scores, dtype=np.float32)
    probs = result.probabilities
    names = [str(catalog.ids[int(p)]) for p in result.positives]
    matched = np.asarray(result.matched, np.int64) if result.matched is not None else np.zeros(0, np.int64)
    if len(matched) != len(rows):
        matched = np.full(len(rows), -1, np.int64)
    geoms = geometries(catalog.footprints[rows])
    centres = catalog.centroids[rows] if len(rows) else np.zeros((0, 2))
    # The Clay v1 loss of each hit and its class on the region's loss scale, when the data has a loss.
    from terrafind.core.read import v1

    all_loss = v1.chip_loss(catalog)
    breaks = v1.loss_breaks(catalog) if all_loss is not None else None
    losses = all_loss[rows] if all_loss is not None else None
    loss_cls = v1.loss_class(losses, breaks) if losses is not None and breaks is not None else None
    features, items = [], []
    pairs = _pairs(result)
    kind = "change" if result.mode in CHANGE_MODES else "score"
    if str(result.mode).startswith("unusual-"):  # unusual places: the score is a loss or a novelty
        kind = str(result.mode).split("-", 1)[1]
    for i, row in enumerate(rows.tolist()):
        chip_id = shown(str(catalog.ids[row]))
        date = shown(catalog.date(row))
        prob = None if probs is None else float(probs[i])
        score = float(scores[i])
        m = int(matched[i])
        example = shown(names[m]) if 0 <= m < len(names) else None
        top = None if tops is None else float(tops[i])
        loss = None if losses is None or not np.isfinite(losses[i]) else float(losses[i])
        props_loss = {} if losses is None else {"loss": loss, "loss_class": int(loss_cls[i])}  # type: ignore[index]
        rank = i + 1 if ranks is None else int(ranks[i])
        features.append(
            {
                "type": "Feature",
                "geometry": geoms[i],
                "properties": {
                    "row": row,
                    "rank": rank,
                    "score": score,  # exact: a line set as a share sits exactly on a hit's score
                    "top": None if top is None else round(top, 6),
                    "id": chip_id,
                    "date": date,
                    "probability": prob,
                    "matched": example,
                    **props_loss,
                    **(pairs[i][3] if pairs else {}),
                },
            }
        )
        lon, lat = (float(v) for v in centres[i])
        item = ResultItem(
            row, rank, score, chip_id, date, lon, lat, prob, labels.get(row), example, top, loss
        )
        if pairs:
            item.before, item.after, item.score_before = pairs[i][0], pairs[i][1], pairs[i][2]
            item.date = item.after[0]
        item.kind = kind
        items.append(item)
    # The spacing of the chips' centres: the map draws each hit as this centre cell of its chip, so
    # overlapping chips never hide each other (see resources/web/chips.js).
    fc: dict[str, Any] = {"type": "FeatureCollection", "stride": list(catalog.stride), "features": features}
    if losses is not None:
        fc["loss_legend"] = v1.loss_legend(catalog)
    return ResultsPayload(result, fc, items, scores, encode(fc))


def _pairs(result) -> list[tuple[tuple[str, int], tuple[str, int], float | None, dict[str, Any]]] | None:
    """Per hit of a comparison across dates: (before, after, score before, popup properties)."""
    x = result.extra
    if not x or "date_before" not in x:
        return None
    out = []
    sb = x.get("score_before")
    for i in range(len(result.rows)):
        before = (str(x["date_before"][i]), int(x["row_before"][i]))
        after = (str(x["date_after"][i]), int(x["row_after"][i]))
        then = None if sb is None else float(sb[i])
        props = {
            "date_before": before[0],
            "date_after": after[0],
            "score_before": None if then is None else round(then, 5),
        }
        out.append((before, after, then, props))
    return out


class RawJSON(str):
    """JSON text encoded already (in a worker: 100k footprints take ~0.5 s to encode), passed to the page as
    it is. Only for text made by ``json.dumps``: it is spliced into the script unquoted."""


@dataclass
class ShownResults:
    """A search outcome (:class:`terrafind.core.search.run.SearchOutcome`) made ready for the screen: the
    ranked hits (``best``) and, after Refine, the review queue, each as map features and gallery items."""

    outcome: Any
    best: ResultsPayload
    review: ResultsPayload | None = None

    @property
    def result(self) -> Any:
        return self.outcome.result

    @property
    def items(self) -> list[ResultItem]:
        return self.best.items

    @property
    def how(self) -> str:
        return str(self.outcome.how)

    @property
    def fc(self) -> dict[str, Any]:
        return self.best.fc

    @property
    def scores(self) -> np.ndarray:
        return self.best.scores


def show_outcome(catalog, outcome, labels: dict[int, str] | None = None) -> ShownResults:
    """Map features and gallery items of ``outcome``'s hits (and review queue), built in a worker."""
    best = results_payload(catalog, outcome.result, labels, outcome.tops())
    review = None
    if outcome.review is not None:
        review = results_payload(catalog, outcome.review, labels, outcome.tops(outcome.review))
    return ShownResults(outcome, best, review)


_CHUNK = 500  # features per json.dumps call


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by null (strict JSON has no such numbers)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    """Strict JSON (the page parses it with JSON.parse, never as script): a stray NaN becomes null."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False)


def encode(fc: dict[str, Any]) -> str:
    """``fc`` as compact JSON text the map page takes as it is.

    Encoded in chunks: ``json.dumps`` is one C call that holds the GIL throughout (75 ms for 14k footprints
    measured), and the GUI thread needs the GIL for every Python slot and paint, so one call froze the window
    although it ran in a worker. A chunk of 500 features holds it ~3 ms.
    """
    features = fc.get("features")
    if not isinstance(features, list) or len(features) <= _CHUNK:
        return RawJSON(_dumps(fc))
    head = _dumps({k: v for k, v in fc.items() if k != "features"})
    parts = [_dumps(features[i : i + _CHUNK])[1:-1] for i in range(0, len(features), _CHUNK)]
    sep = "," if head != "{}" else ""
    return RawJSON(head[:-1] + sep + '"features":[' + ",".join(parts) + "]}")


def examples_fc(catalog, items: list[ExampleItem]) -> dict[str, Any]:
    """Example chips for the map (properties kind, row, id); examples of other dates are not on it."""
    items = [it for it in items if it.row >= 0]
    if catalog is None or not items:
        return {"type": "FeatureCollection", "features": []}
    geoms = geometries(catalog.footprints[np.array([it.row for it in items], dtype=np.int64)])
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": g,
                "properties": {"kind": it.kind, "row": it.row, "id": shown(it.chip_id)},
            }
            for it, g in zip(items, geoms, strict=True)
        ],
    }


def footprints_json(catalog, limit: int = 200_000) -> str:
    """:func:`footprints_fc` encoded (RawJSON), built as text for plain polygons.

    Why text: 14k chips as dicts and lists are ~110k container objects, whose allocation set off a full
    garbage collection (60-80 ms holding the GIL, so the window froze) and whose ``json.dumps`` held the
    GIL 75 ms more. Floats and strings are not tracked by the collector, and this loop lets the GIL go.
    """
    n = min(len(catalog), limit)
    footprints = catalog.footprints[:n]
    types = shapely.get_type_id(footprints) if n else np.zeros(0)
    if not n or not (np.all(types == 3) and np.all(shapely.get_num_interior_rings(footprints) == 0)):
        return encode(footprints_fc(catalog, limit))
    coords, index = shapely.get_coordinates(footprints, return_index=True)
    flat = np.round(coords, 6).ravel().tolist()
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(index)) + 1, [len(index)]]).tolist()
    features: list[str] = []
    for c0 in range(0, n, _CHUNK):  # C loops (map, join) over one chunk at a time: short GIL holds
        c1 = min(n, c0 + _CHUNK)
        v0 = bounds[c0]
        # repr of a float is what json.dumps writes; 6 decimals as in _round
        numbers = list(map(repr, flat[2 * v0 : 2 * bounds[c1]]))
        points = [f"[{x},{y}]" for x, y in zip(numbers[0::2], numbers[1::2], strict=True)]
        features.extend(
            '{"type":"Feature","geometry":{"type":"Polygon","coordinates":[['
            + ",".join(points[bounds[i] - v0 : bounds[i + 1] - v0])
            + ']]},"properties":{"row":'
            + str(i)
            + "}}"
            for i in range(c0, c1)
        )
    return RawJSON('{"type":"FeatureCollection","features":[' + ",".join(features) + "]}")


def footprints_fc(catalog, limit: int = 200_000) -> dict[str, Any]:
    """All loaded chips' footprints (the faint layer the map shows when zoomed in); capped for huge catalogs."""
    n = min(len(catalog), limit)
    geoms = geometries(catalog.footprints[:n])
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": g, "properties": {"row": i}} for i, g in enumerate(geoms)
        ],
    }
