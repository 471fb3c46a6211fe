"""Which similarity a session's scores are: centred on the region's mean (the default) or plain cosine.

One rule for the app, the CLI and field packs (:func:`region_mean`): the mean a region is centred on is

* a field pack's recorded mean (``manifest.json`` "centre": the mean of the region the pack was made
  from, so a pack scores exactly as the app did when it made it);
* with several dates, the row-weighted mean of every date's own mean: one space for all years, so
  examples of 1985 search 2020 as before, and one region's shards would be joined the same way;
* else the catalog's own mean (its store's ``mu``, written with the store).

Every catalog of the session (each date's) is then made centred on that mean
(:meth:`terrafind.core.catalog.Catalog.centred`), before any index is loaded: an index belongs to one
space (its fingerprint holds the mean), so switching the setting loads or builds the other space's index.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "region_mean",
    "apply_space",
    "SpaceVerbs",
    "pack_mean",
    "CENTRED_DEFAULT",
    "saved_centred",
    "save_centred",
]

CENTRED_DEFAULT = True
_PREFERENCE = "similarity.json"  # in config_dir(): the person's choice, shared by the app and the CLI


def saved_centred() -> bool:
    """The saved choice (the app's Scores setting; the CLI's default too), else :data:`CENTRED_DEFAULT`."""
    import json

    from terrafind.core.paths import config_dir

    try:
        value = json.loads((config_dir() / _PREFERENCE).read_text(encoding="utf-8")).get("centred")
    except (OSError, ValueError, AttributeError):
        return CENTRED_DEFAULT
    return value if isinstance(value, bool) else CENTRED_DEFAULT


def save_centred(on: bool) -> None:
    """Remember the choice (best effort: a read-only settings folder only loses it)."""
    import json

    from terrafind.core.files import write_text_atomic
    from terrafind.core.paths import config_dir

    try:
        write_text_atomic(config_dir() / _PREFERENCE, json.dumps({"centred": bool(on)}))
    except OSError:
        pass


def pack_mean(pack: Any, dim: int) -> np.ndarray | None:
    """The mean recorded in a field pack's manifest (None when absent or not of ``dim`` finite numbers)."""
    entry = (getattr(pack, "manifest", None) or {}).get("centre") if pack is not None else None
    if not isinstance(entry, dict) or not isinstance(entry.get("mean"), list):
        return None
    try:
        mu = np.asarray(entry["mean"], np.float32)
    except (TypeError, ValueError):
        return None
    return mu if mu.shape == (dim,) and np.all(np.isfinite(mu)) else None


def region_mean(catalogs: list[Any], pack: Any = None) -> np.ndarray:
    """The mean the region of ``catalogs`` (one, or one per date) is centred on (module docstring)."""
    dim = catalogs[0].dim
    recorded = pack_mean(pack, dim)
    if recorded is not None:
        return recorded
    sizes = np.array([len(c) for c in catalogs], np.float64)
    if len(catalogs) == 1 or sizes.sum() == 0:
        return catalogs[0].own_mean()
    means = np.stack([c.own_mean().astype(np.float64) for c in catalogs])
    return (sizes @ means / sizes.sum()).astype(np.float32)


def apply_space(data: Any, centred: bool) -> None:
    """Make the catalogs of opened data (``terrafind.core.session.OpenedData``) centred or plain, in place:
    its catalog and, with several dates, every date's (their indexes are dropped: another space)."""
    slices = list(data.dates.slices) if data.dates is not None else []
    catalogs = [s.catalog for s in slices] or [data.catalog]
    if centred:
        mu = region_mean([c for c in catalogs if len(c)] or catalogs, data.pack)
        made = {id(c): c.centred(mu) for c in catalogs}
    else:
        made = {id(c): c.uncentred() for c in catalogs}
    for s in slices:
        new = made[id(s.catalog)]
        if new is not s.catalog:
            s.catalog, s.index = new, None
    data.catalog = made.get(id(data.catalog), data.catalog)


class SpaceVerbs:
    """Mixed into Session: switch centred similarity on or off for the open data."""

    catalog: Any
    index: Any
    dates: Any
    pack: Any
    outcome: Any
    sample_check: Any
    centred: bool

    def set_centred(self, on: bool) -> bool:
        """Score in centred cosine (True) or plain cosine; True when the open data changed space (the
        results go, the index must be loaded again for the new space: the app's index job does)."""
        self.centred = bool(on)
        if self.catalog is None or self.catalog.is_centred == bool(on):
            return False
        from types import SimpleNamespace

        old = [self.index, *(sl.index for sl in (self.dates.slices if self.dates is not None else []))]
        data = SimpleNamespace(catalog=self.catalog, dates=self.dates, pack=self.pack)
        apply_space(data, bool(on))
        self.catalog, self.index = data.catalog, None
        for index in {id(i): i for i in old if i is not None}.values():
            if hasattr(index, "close"):  # a graph in a process of its own (the other space's): let it go
                index.close()
        self.outcome, self.sample_check = None, None
        return True
