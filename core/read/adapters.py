"""Which columns of an embeddings GeoParquet file hold what: the adapters.

An adapter is a rule that looks only at a file's footer (schema, ``geo`` and ``emb`` metadata, file name) and
says where the embedding, the chip id and the footprint are. Known layouts are checked first, most specific
first; anything else falls to the ``generic`` rule:

* ``major_tom``   -- ``unique_id`` + ``embedding`` + (``centre_lat``/``centre_lon`` or ``geometry``).
* ``clay_v0``     -- ``embeddings`` + ``index`` + ``source_url`` (files ``MGRS_date_date_vNNN.gpq``).
  Ids are ``"<file stem>:<index>"`` because ``index`` restarts at 0 in every file; the stem keeps the id of
  a chip the same whichever other files are open with it (saved labels refer to ids).
* ``clay_v1``     -- ``embeddings`` + ``geometry`` (optional ``item_id``, ``datetime``).
* ``earth_index`` -- ``id`` + ``embedding`` + ``geometry`` (``emb`` JSON in the footer when present).
* ``generic``     -- the one list/fixed_size_list column of floats (or the column the user names), the first
  id-like column (:data:`ID_NAMES`), else ``"<file stem>:<row number>"``.

Every column that is not the id, the embedding, the geometry or the GeoParquet ``bbox`` covering is kept as
an attribute (for popups and export).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import pyarrow as pa

from terrafind.core.errors import InputError

__all__ = ["Layout", "detect", "ID_NAMES", "model_id", "is_vector_type"]

# Names that commonly hold a chip id, in order of preference.
ID_NAMES = ("id", "chip_id", "chipid", "tile_id", "unique_id", "item_id", "uid", "fid", "index", "key")
GEOMETRY_NAMES = ("geometry", "geom", "wkb_geometry", "the_geom", "footprint")
LONLAT_NAMES = (
    ("centre_lon", "centre_lat"),
    ("center_lon", "center_lat"),
    ("lon", "lat"),
    ("longitude", "latitude"),
)
# GeoParquet: a missing "crs" key means OGC:CRS84.
CRS84 = "OGC:CRS84"


@dataclass
class Layout:
    """Where things are in one file, as decided by an adapter from the footer alone."""

    adapter: str
    embedding: str
    id_column: str | None
    id_from_stem: bool  # ids are "<stem>:<value>" (clay_v0 index, or the row number when id_column is None)
    geometry: str | None  # a WKB / WKT / GeoArrow point column
    geometry_encoding: str  # "WKB", "WKT" or "point" (struct x, y)
    lonlat: tuple[str, str] | None  # point columns used when there is no geometry column
    crs: Any  # PROJJSON dict, "OGC:CRS84", an authority string, or None (unknown: assume lon/lat)
    file_bbox: tuple[float, float, float, float] | None  # from the "geo" metadata, in the file's CRS
    covering: dict[str, str] | None  # GeoParquet 1.1 bbox covering: {"xmin": "bbox.xmin", ...}
    covering_column: str | None
    attributes: list[str]
    model: dict[str, Any] | None
    dim_hint: int | None  # fixed_size_list size, or the emb metadata "embedding.dim"
    value_type: pa.DataType = field(default_factory=pa.float32)
    quantization: Any = None  # terrafind.core.read.quant.Quantization: integer codes -> values
    problem: str | None = None  # e.g. integer embeddings that state no quantization


def _json_meta(meta: dict[bytes, bytes] | None, key: bytes) -> dict[str, Any] | None:
    if not meta or key not in meta:
        return None
    if len(meta[key]) > 16 << 20:
        return None  # far larger than any real metadata: ignored like unreadable metadata
    try:
        value = json.loads(meta[key])
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def is_vector_type(t: pa.DataType, *, floats_only: bool = True) -> bool:
    """True for list / large_list / fixed_size_list of floats (or of numbers when ``floats_only`` is False)."""
    if not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)):
        return False
    vt = t.value_type
    return pa.types.is_floating(vt) or (not floats_only and pa.types.is_integer(vt))


def _is_byte_list(t: pa.DataType | None) -> bool:
    return t is not None and is_vector_type(t, floats_only=False) and t.value_type in (pa.int8(), pa.uint8())


def model_id(model: dict[str, Any] | None) -> str | None:
    """The model identifier in ``emb`` metadata (``model.id``, else ``model.name``, else a string ``model``)."""
    if not model:
        return None
    inner = model.get("model")
    if isinstance(inner, dict):
        v = inner.get("id") or inner.get("name")
        return str(v) if v else None
    if isinstance(inner, str):
        return inner
    return None


def _type_of(schema: pa.Schema, name: str) -> pa.DataType | None:
    i = schema.get_field_index(name)
    if i < 0:
        return None
    t = schema.field(i).type
    return t.storage_type if isinstance(t, pa.ExtensionType) else t  # geoarrow.wkb etc. by their storage


def _find_geometry(schema: pa.Schema, geo: dict[str, Any] | None) -> tuple[str | None, str, Any, Any, Any]:
    """(column, encoding, crs, bbox, covering) of the primary geometry."""
    if geo and isinstance(geo.get("columns"), dict):
        primary = geo.get("primary_column") or next(iter(geo["columns"]), None)
        primary = primary if isinstance(primary, str) else None  # a file's metadata: any JSON at all
        col = geo["columns"].get(primary) if primary is not None else None
        col = col if isinstance(col, dict) else {}
        if primary is not None and primary in schema.names:
            enc = str(col.get("encoding", "WKB"))
            crs = col["crs"] if "crs" in col else CRS84
            return primary, enc, crs, col.get("bbox"), col.get("covering")
    for name in GEOMETRY_NAMES:
        t = _type_of(schema, name)
        if t is None:
            continue
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            return name, "WKB", None, None, None
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return name, "WKT", None, None, None
        if pa.types.is_struct(t) and {"x", "y"} <= {t.field(i).name for i in range(t.num_fields)}:
            return name, "point", None, None, None
    return None, "WKB", None, None, None


def _find_lonlat(names: list[str]) -> tuple[str, str] | None:
    for lon, lat in LONLAT_NAMES:
        if lon in names and lat in names:
            return lon, lat
    return None


def _find_id(schema: pa.Schema, exclude: set[str]) -> str | None:
    for name in ID_NAMES:
        t = _type_of(schema, name)
        if name in exclude or t is None:
            continue
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t):
            return name
    return None


def _columns_text(schema: pa.Schema) -> str:
    return ", ".join(schema.names) if schema.names else "no columns at all"


def _pick_embedding(schema: pa.Schema, wanted: str | None, known: str | None, label: str) -> str:
    """The embedding column: the one the user named, else the adapter's, else the only float-list column."""
    if wanted:
        t = _type_of(schema, wanted)
        if t is None:
            raise InputError(
                f"{label} has no column named '{wanted}' to use as the embedding; found: {_columns_text(schema)}."
            )
        if not is_vector_type(t, floats_only=False):
            raise InputError(
                f"The column '{wanted}' in {label} is {t}, not a list of numbers, so it cannot be the embedding."
            )
        return wanted
    if known:
        return known
    candidates = [f.name for f in schema if is_vector_type(f.type)]
    if not candidates:  # quantized embeddings: the one list of 8-bit integers
        candidates = [f.name for f in schema if _is_byte_list(_type_of(schema, f.name))]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputError(
            f"{label} has no embedding column (a list of numbers per chip); found: {_columns_text(schema)}."
        )
    raise InputError(
        f"{label} has several columns that could be the embedding ({', '.join(candidates)}): "
        "name the one to use."
    )


def _which_adapter(names: set[str], schema: pa.Schema) -> tuple[str, str | None]:
    """(adapter, embedding column) from column names alone."""

    def vec(name: str) -> bool:
        t = _type_of(schema, name)
        return t is not None and is_vector_type(t, floats_only=False)

    if (
        "unique_id" in names
        and vec("embedding")
        and ({"centre_lat", "centre_lon"} <= names or "geometry" in names)
    ):
        return "major_tom", "embedding"
    if vec("embeddings") and "index" in names and "source_url" in names:
        return "clay_v0", "embeddings"
    if vec("embeddings") and "geometry" in names:
        return "clay_v1", "embeddings"
    if "id" in names and vec("embedding") and "geometry" in names:
        return "earth_index", "embedding"
    return "generic", None


def detect(schema: pa.Schema, path: str, *, embedding_column: str | None = None) -> Layout:
    """Choose the adapter for a file from its Arrow schema (with metadata) and its path."""
    label = PurePosixPath(path).name
    meta = schema.metadata or {}
    geo = _json_meta(meta, b"geo")
    model = _json_meta(meta, b"emb")
    names = set(schema.names)
    adapter, known_emb = _which_adapter(names, schema)
    if embedding_column and embedding_column != known_emb:
        adapter, known_emb = "generic", None
    emb = _pick_embedding(schema, embedding_column, known_emb, label)

    geom, enc, crs, bbox, covering = _find_geometry(schema, geo)
    enc = enc.upper() if enc.upper() in ("WKB", "WKT") else enc.lower()
    if geom and enc not in ("WKB", "WKT", "point"):
        raise InputError(
            f"{label} stores its geometry as '{enc}', which Terrafind cannot read yet; "
            "write the file with WKB geometry (the GeoParquet default)."
        )
    lonlat = _find_lonlat(schema.names)
    if adapter == "major_tom" and lonlat is None:
        lonlat = ("centre_lon", "centre_lat") if {"centre_lon", "centre_lat"} <= names else None
    if geom is None and lonlat is None:
        raise InputError(
            f"{label} has no geometry column and no longitude/latitude columns, so its chips cannot be placed on "
            f"the map; found: {_columns_text(schema)}."
        )

    id_col: str | None
    if adapter == "clay_v0":
        id_col, from_stem = "index", True
    elif adapter == "major_tom":
        id_col, from_stem = "unique_id", False
    elif adapter == "earth_index":
        id_col, from_stem = "id", False
    else:
        id_col = _find_id(schema, {emb, geom or ""})
        from_stem = id_col is None

    cov_map: dict[str, str] | None = None
    cov_col: str | None = None
    if isinstance(covering, dict) and isinstance(covering.get("bbox"), dict):
        b = covering["bbox"]
        try:
            cov_map = {k: ".".join(b[k]) for k in ("xmin", "ymin", "xmax", "ymax")}
            cov_col = b["xmin"][0]
        except (KeyError, TypeError):
            cov_map = None
    if cov_col is None and "bbox" in names and pa.types.is_struct(_type_of(schema, "bbox")):
        cov_col = "bbox"  # an undeclared covering: still not an attribute worth showing

    t = _type_of(schema, emb)
    assert t is not None  # _pick_embedding checked it
    dim_hint = t.list_size if pa.types.is_fixed_size_list(t) else None
    if dim_hint is None and model and isinstance(model.get("embedding"), dict):
        d = model["embedding"].get("dim")
        dim_hint = int(d) if isinstance(d, int) and d > 0 else None
    from terrafind.core.read.quant import parse_quantization

    quant, problem = parse_quantization(model, schema, t.value_type, dim_hint, label)

    used = {emb, geom, cov_col, *(quant.columns if quant is not None else ())}
    if adapter != "clay_v0":  # clay_v0 keeps "index" visible: the id is derived from it
        used.add(id_col)
    attributes = [n for n in schema.names if n not in used]
    file_bbox: tuple[float, float, float, float] | None = None
    if isinstance(bbox, list) and len(bbox) >= 4:
        # A 3-D bbox is [xmin, ymin, zmin, xmax, ymax, zmax].
        vals = bbox if len(bbox) == 4 else [bbox[0], bbox[1], bbox[3], bbox[4]]
        try:
            file_bbox = (float(vals[0]), float(vals[1]), float(vals[2]), float(vals[3]))
        except (TypeError, ValueError):
            file_bbox = None
    return Layout(
        adapter=adapter,
        embedding=emb,
        id_column=id_col,
        id_from_stem=from_stem,
        geometry=geom,
        geometry_encoding=enc,
        lonlat=lonlat if geom is None or adapter == "major_tom" else None,
        crs=crs,
        file_bbox=file_bbox,
        covering=cov_map,
        covering_column=cov_col,
        attributes=attributes,
        model=model,
        dim_hint=dim_hint,
        value_type=t.value_type,
        quantization=quant,
        problem=problem,
    )
