"""Thumbnails of every chip of a pack, cut once at home so that the field needs no imagery and no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["pack_thumbnails", "pack_alias"]


def pack_thumbnails(
    catalog: Any, path: Any, imagery: Any, size: int, progress: Any, cancel: Any, inputs: Any
) -> dict[str, Any]:
    """Thumbnails of every chip of ``catalog`` into the pack's cache ``path`` (from the user's cache where
    it has them, else cut now) as the imagery of ``inputs`` (the files the chips come from); returns the
    counts cached and missing (and why). The cache is sealed, and local imagery renamed to the pack's
    alias (no path of this machine travels)."""
    from terrafind.core.imagery.admit import data_roots
    from terrafind.core.imagery.thumb_cache import ThumbCache
    from terrafind.core.imagery.thumbnails import ThumbnailService
    from terrafind.core.net.gate import data_key
    from terrafind.core.paths import cache_dir

    svc = ThumbnailService(path, size=size, max_cache_bytes=64 * 2**30)
    svc.cache.pin()
    try:
        # The pack's chips are the inputs' chips: their imagery is read as the inputs' (same permissions,
        # same folders), plus the imagery the user chose for the pack.
        roots = data_roots(inputs) or []
        dataset = data_key(inputs)
        if imagery:
            roots += _chosen_imagery(imagery, dataset)
            svc.set_imagery(svc.dataset_key(catalog), imagery)
        svc.treat_as(catalog, dataset, roots)
        user_cache = cache_dir() / "thumbnails.sqlite"
        if user_cache.exists() and user_cache.resolve() != path.resolve():
            keys = [k for k in (svc.key_of(catalog, r) for r in range(len(catalog))) if k]
            svc.cache.copy_from(ThumbCache(user_cache), keys)
        cached = svc.prefetch(catalog, range(len(catalog)), progress=progress, cancel=cancel)
        info: dict[str, Any] = {"cached": cached, "missing": len(catalog) - cached}
        if info["missing"]:
            info["why"] = svc.explain(catalog).sentence  # the sentence the app shows about this imagery
        if imagery and pack_alias(imagery) != imagery:
            _rename_imagery(svc, catalog, imagery, pack_alias(imagery))
        svc.cache.seal()  # self-contained: opened read-only and immutable where the pack is used
        return info
    finally:
        svc.close()


def pack_alias(imagery: str) -> str:
    """The name a pack gives the local imagery its thumbnails were cut from: no path of this machine."""
    from terrafind.core.imagery.hosts import is_remote
    from terrafind.core.imagery.thumb_cache import PACK_IMAGERY
    from terrafind.core.imagery.xyz import is_template

    if is_remote(imagery) or is_template(imagery) or imagery.startswith(PACK_IMAGERY):
        return imagery
    return PACK_IMAGERY + (Path(imagery).name or "imagery")


def _rename_imagery(svc: Any, catalog: Any, imagery: str, alias: str) -> None:
    """Move the thumbnails cut from ``imagery`` to the keys the pack's ``alias`` gives them."""
    key = svc.dataset_key(catalog)
    rows = [r for r in range(len(catalog)) if not catalog.source_url(r)]  # chips that use the imagery
    old = [svc.key_of(catalog, r) for r in rows]
    svc.set_imagery(key, alias, must_exist=False)
    new = [svc.key_of(catalog, r) for r in rows]
    svc.cache.rekey([(a, b) for a, b in zip(old, new, strict=True) if a and b], alias)


def _chosen_imagery(imagery: str, dataset: str) -> list[Path]:
    """The user chose ``imagery`` for the pack: its folder may be read, its site fetched (this run)."""
    from terrafind.core.imagery.xyz import check_template, is_template
    from terrafind.core.net.gate import gate
    from terrafind.core.net.locations import Local, locate

    loc = check_template(imagery) if is_template(imagery) else locate(imagery)
    if isinstance(loc, Local):
        p = loc.path.expanduser().resolve()
        return [p if p.is_dir() else p.parent]
    gate().allow(loc.site, dataset, remember=False)
    return []
