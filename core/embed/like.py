"""The filter bank in the file's footer, and embedding new imagery "like" an earlier file.

Two images embedded separately get filters drawn from each image, so their vectors do not share a space
(measured on the Pucallpa Landsat series: a search for 1985 water finds 2020 water with P@50 0.94-0.98
in a shared space and 0.00-0.01 with separate fits, docs/demo.md). So every file the built-in embedder
writes carries exactly what :func:`terrafind.core.embed.rcf` applies: the whitened weights and biases
(float32, base64), the band means and spreads (JSON numbers: Python's repr round-trips a float64), the
threshold and the patch size, under ``emb.model.filters``. ``terrafind-cli embed IMAGE --like FILE``
reads them back with the settings in ``emb.model.params`` and embeds IMAGE with them: the vectors are
then bit-identical to those the earlier run would have made of IMAGE (a test holds it).

Not stored: the sample patches and the ZCA matrix (the whitening is folded into the weights), and no
seed to refit from (the files move, and ``eigh`` may differ across BLAS builds).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from terrafind.core.embed.rcf import RCFModel
from terrafind.core.errors import InputError

__all__ = [
    "FILTERS_FORMAT",
    "model_to_meta",
    "model_from_meta",
    "LikeSettings",
    "read_like",
    "check_like",
    "scale_warnings",
]

FILTERS_FORMAT = 1


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def model_to_meta(model: RCFModel) -> dict[str, Any]:
    """The filter bank as JSON-ready values (about 26 KB for 128 filters of 4 bands x 3 x 3)."""
    weights = np.ascontiguousarray(model.weights, dtype="<f4")
    return {
        "format": FILTERS_FORMAT,
        "dtype": "<f4",
        "shape": list(weights.shape),
        "weights": _b64(weights),
        "bias": _b64(model.bias),
        "sha256": hashlib.sha256(weights.tobytes()).hexdigest(),
        "band_mean": [float(v) for v in model.band_mean],
        "band_std": [float(v) for v in model.band_std],
        "threshold": float(model.threshold),
        "patch": int(model.patch),
    }


def model_from_meta(meta: dict[str, Any], *, label: str = "the file") -> RCFModel:
    """The :class:`RCFModel` stored by :func:`model_to_meta`; InputError when it is damaged."""
    try:
        if int(meta.get("format", 0)) > FILTERS_FORMAT:
            raise InputError(f"The filters in {label} were stored by a newer Terrafind; update Terrafind.")
        k, width = (int(v) for v in meta["shape"])
        raw = base64.b64decode(meta["weights"], validate=True)
        if meta.get("sha256") and hashlib.sha256(raw).hexdigest() != meta["sha256"]:
            raise ValueError("checksum of the weights does not match")
        weights = np.frombuffer(raw, dtype="<f4").reshape(k, width).astype(np.float32)
        bias = np.frombuffer(base64.b64decode(meta["bias"], validate=True), dtype="<f4").astype(np.float32)
        mean = np.asarray(meta["band_mean"], np.float64)
        std = np.asarray(meta["band_std"], np.float64)
        patch = int(meta["patch"])
        if len(bias) != k or width != len(mean) * patch * patch or len(std) != len(mean):
            raise ValueError("the sizes of weights, bias and band statistics disagree")
        return RCFModel(mean, std, weights, bias, float(meta["threshold"]), patch)
    except InputError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"The filters stored in {label} are damaged; embed the earlier imagery again.",
                         detail=repr(exc)) from exc  # fmt: skip


@dataclass
class LikeSettings:
    """What ``--like FILE`` reuses: the embedder settings (``emb.model.params``), the filter bank and the
    band names, read from FILE's footer."""

    path: Path
    settings: dict[str, Any]
    model: RCFModel
    band_names: list[str]


def read_like(path: str | Path, model_id: str) -> LikeSettings:
    """The settings and filters of an earlier file written by the embedder ``model_id`` (footer only)."""
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        meta = pq.read_schema(p).metadata or {}
    except FileNotFoundError:
        raise InputError(f"{p} does not exist: give the earlier embeddings file to embed like.") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{p.name} is not a GeoParquet file Terrafind can read.", detail=str(exc)) from exc
    try:
        emb = json.loads(meta.get(b"emb", b"{}"))
    except ValueError:
        emb = {}
    model_meta = emb.get("model") if isinstance(emb, dict) else None
    if not isinstance(model_meta, dict) or model_meta.get("id") != model_id:
        raise InputError(
            f"{p.name} was not made by Terrafind's embedder, so there are no filters to reuse; "
            "give a file made by terrafind-cli embed."
        )
    filters = model_meta.get("filters")
    settings = model_meta.get("params")
    if not isinstance(filters, dict) or not isinstance(settings, dict):
        raise InputError(
            f"{p.name} was made by an older Terrafind that did not store its filters; "
            "embed the earlier imagery again, then embed the new imagery --like it."
        )
    model = model_from_meta(filters, label=p.name)
    if int(settings.get("k", -1)) != model.k or int(settings.get("patch", -1)) != model.patch:
        raise InputError(f"The filters stored in {p.name} do not match its settings; embed it again.")
    return LikeSettings(p, settings, model, [str(b) for b in settings.get("band_names") or []])


def scale_warnings(model: RCFModel, means: np.ndarray, name: str) -> list[str]:
    """Sentences when an image's band means lie far outside what the filters were made on (e.g. 16-bit
    reflectance against filters made on 8-bit imagery): its vectors would not be comparable."""
    out = []
    for i, (m_new, m_old, s_old) in enumerate(zip(means, model.band_mean, model.band_std, strict=False)):
        if abs(float(m_new) - float(m_old)) > 4.0 * float(s_old):
            out.append(
                f"Band {i + 1} of {name} averages {float(m_new):.4g} but the filters were made on imagery "
                f"averaging {float(m_old):.4g} (spread {float(s_old):.3g}): the images may be on different "
                "scales, and their embeddings would not be comparable."
            )
    return out


def check_like(
    model: RCFModel,
    sources: list[Any],
    indexes: list[list[int]],
    seed: int,
    like: str | Path | None,
    warn: Callable[[str], None] | None,
) -> None:
    """Refuse imagery the reused filters cannot apply to (another band count); ``warn`` about imagery that
    looks unlike what they were made on (other band names, values on another scale)."""
    from terrafind.core.embed.raster import sample_windows

    names = ", ".join(Path(s.name).name for s in sources)
    bands = min(len(i) for i in indexes)
    made_on = f" of {Path(like).name}" if like else ""
    if bands != len(model.band_mean):
        raise InputError(
            f"{names} has {bands} bands but the filters{made_on} were made on {len(model.band_mean)}; "
            "choose the same bands (--bands) as the earlier imagery."
        )
    if warn is None:
        return
    src0 = sources[0]
    mine = [src0.descriptions[i - 1] or f"band {i}" for i in indexes[0]]
    stored = _band_names(like)
    if stored and stored != mine:
        warn(
            f"The bands of {names} are named {', '.join(mine)} but the filters{made_on} were made on "
            f"{', '.join(stored)}: check that the bands are the same, in the same order."
        )
    windows = sample_windows(sources, indexes, seed)
    values = [d[:, v] for d, v in windows if v.any()]
    if values:
        means = np.concatenate(values, axis=1).astype(np.float64).mean(axis=1)
        for text in scale_warnings(model, means, names):
            warn(text)


def _band_names(like: str | Path | None) -> list[str]:
    """The band names stored with the filters of ``like`` (footer only), or [] when unknown."""
    import pyarrow.parquet as pq

    if like is None:
        return []
    try:
        emb = json.loads((pq.read_schema(like).metadata or {}).get(b"emb", b"{}"))
        return [str(b) for b in emb["model"]["params"]["band_names"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []
