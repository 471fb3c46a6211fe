"""Chip thumbnails cut from the imagery the model saw, cached on disk, safe to ask for offline.

Flow for one chip: cache hit -> PNG at once. Otherwise find the chip's imagery (the row's
``source_url`` or the imagery configured for the dataset); none -> "no imagery configured" placeholder.
Then the imagery must be admitted (:mod:`terrafind.core.imagery.admit`, the network gate): offline ->
"no imagery offline"; a site or folder the user has not allowed for this data -> "not allowed" (the site
is remembered in :attr:`ThumbnailService.blocked` so that the app can ask); a refused location -> an
error placeholder. A remote source whose host is known to be down -> "no imagery offline" without
touching the network. Otherwise cut, store, return. Remote cuts run in a small pool and the caller waits
at most ``remote_wait`` seconds, so a stalled link costs one wait and then marks the host down (see
:mod:`terrafind.core.imagery.hosts`).

``dataset_key`` for :meth:`ThumbnailService.set_imagery` is ``catalog.fingerprint()``.
Cache key: sha256(source | footprint bounds rounded to 1e-6 | band choice | size | pad | stretch version).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terrafind.core.errors import InputError
from terrafind.core.imagery.admit import Admitted, admit, catalog_key, data_roots
from terrafind.core.imagery.cut import STRETCH_VERSION, DatasetPool, cut_mosaic, list_folder, lonlat_bounds
from terrafind.core.imagery.hosts import HostBreaker, configure_gdal, host_of, is_remote
from terrafind.core.imagery.png import encode_png, placeholder_png
from terrafind.core.imagery.rasters import open_raster
from terrafind.core.imagery.thumb_cache import PACK_IMAGERY, ThumbCache
from terrafind.core.imagery.xyz import cut_xyz, is_template
from terrafind.core.net.gate import NotAllowed, Offline, gate
from terrafind.core.net.locations import Local, Refused, locate_local
from terrafind.core.progress import CancelToken, ProgressFn, check, report

__all__ = ["Thumbnail", "ThumbnailService", "thumbnail_key"]

BANDS = "auto"  # band choice by description; part of the cache key so a future choice can change it

_TEXT = {
    "offline": ("NO IMAGERY", "OFFLINE"),
    "unreachable": ("IMAGERY NOT", "REACHABLE"),
    "no-imagery": ("NO IMAGERY", "CONFIGURED"),
    "outside": ("OUTSIDE", "THE IMAGE"),
    "blocked": ("NOT", "ALLOWED"),
    "error": ("IMAGERY", "ERROR"),
}
_MARK = {
    "offline": "offline",
    "unreachable": "offline",
    "no-imagery": "none",
    "outside": "outside",
    "blocked": "blocked",
    "error": "error",
}


@dataclass
class Thumbnail:
    """A PNG ready to show; ``status`` says whether it is imagery ("ok") or which placeholder it is."""

    png: bytes
    status: str  # "ok" | "offline" | "unreachable" | "no-imagery" | "outside" | "blocked" | "error"
    message: str = ""


def thumbnail_key(source: str, bounds: Sequence[float], size: int, pad: float) -> str:
    """The cache key of one chip's thumbnail (see the module docstring)."""
    b = ",".join(f"{v:.6f}" for v in bounds)
    text = f"{source}|{b}|{BANDS}|{size}|{pad:.3f}|{STRETCH_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()


class ThumbnailService:
    """Thumbnails for catalog rows. Thread-safe: the GUI calls it from its thumbnail worker pool."""

    def __init__(
        self,
        cache_path: Path | None = None,
        *,
        size: int = 128,
        max_cache_bytes: int = 512 * 2**20,
        pad: float = 0.25,
        remote_wait: float = 4.0,
        down_seconds: float = 60.0,
        read_only: bool = False,
    ) -> None:
        if cache_path is None:
            from terrafind.core.paths import cache_dir

            cache_path = cache_dir() / "thumbnails.sqlite"
        # read_only: a cache made elsewhere (a field pack's), never written (terrafind.core.pack.check)
        self.cache = ThumbCache(Path(cache_path), max_bytes=max_cache_bytes, read_only=read_only)
        self.size = int(size)
        self.pad = float(pad)
        self.remote_wait = float(remote_wait)
        self.breaker = HostBreaker(down_seconds=down_seconds)
        self.pool = DatasetPool()
        self._imagery: dict[str, str] = {}
        self._folders: dict[str, list[tuple[str, tuple[float, float, float, float]]]] = {}
        self._fingerprints: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._data: weakref.WeakKeyDictionary[Any, tuple[str, list[Path] | None]] = (
            weakref.WeakKeyDictionary()
        )
        # Sites and folders a thumbnail was refused for, waiting for the user's answer (site -> the refusal,
        # whose ``site`` and ``dataset`` say what "Allow" grants).
        self.blocked: dict[str, NotAllowed] = {}
        self._lock = threading.Lock()
        self._online = True
        self._remote = cf.ThreadPoolExecutor(max_workers=4, thread_name_prefix="terrafind-remote-thumb")
        self._placeholders: dict[tuple[str, int], bytes] = {}

    # --- settings ----------------------------------------------------------------------------------
    @property
    def online(self) -> bool:
        """False = never touch the network: uncached remote thumbnails come back as placeholders."""
        return self._online

    @online.setter
    def online(self, value: bool) -> None:
        was = self._online
        self._online = bool(value)
        if self._online and not was:
            self.breaker.reset()  # back online: try every host again, with GDAL's failures forgotten

    def set_imagery(self, dataset_key: str, source: str | None, *, must_exist: bool = True) -> None:
        """Imagery for a dataset without ``source_url``: a local COG or VRT, a folder of COGs (mosaic),
        a remote COG URL, or an XYZ template ``https://.../{z}/{x}/{y}.png``. None removes it.

        A local path that is not there is accepted when the cache holds thumbnails cut from it (a field
        pack whose imagery stayed at home: they are found by this same source name), or with
        ``must_exist=False``; otherwise it raises :class:`InputError`."""
        with self._lock:
            if not source:
                self._imagery.pop(dataset_key, None)
                return
            source = str(source).strip()
            if not (is_remote(source) or is_template(source)):
                try:
                    loc = locate_local(source)
                except Refused as exc:
                    if must_exist:
                        raise InputError(exc.message) from None
                    self._imagery[dataset_key] = source  # a name only (e.g. a field pack's imagery)
                    return
                path = loc.path
                if must_exist and not path.exists() and not self.cache.has_source(str(path.resolve())):
                    raise InputError(f"The imagery {source} does not exist: choose a COG, a VRT or a folder.")
                source = str(path.resolve())
            self._imagery[dataset_key] = source

    def imagery(self, dataset_key: str) -> str | None:
        return self._imagery.get(dataset_key)

    def dataset_key(self, catalog: Any) -> str:
        """``catalog.fingerprint()``, remembered per catalog (hashing can take milliseconds)."""
        key = self._fingerprints.get(catalog)
        if key is None:
            key = catalog.fingerprint()
            self._fingerprints[catalog] = key
        return key

    def explain(self, catalog: Any) -> Any:
        """Where ``catalog``'s thumbnails come from and why they cannot be made, when they cannot
        (:func:`terrafind.core.imagery.explain.explain_imagery`: the one sentence every panel shows)."""
        from terrafind.core.imagery.explain import explain_imagery

        chosen = self._imagery.get(self.dataset_key(catalog)) if catalog is not None else None
        dataset = self.data_of(catalog)[0] if catalog is not None else ""
        return explain_imagery(
            catalog,
            chosen,
            online=self._online and gate().online,
            is_down=self.breaker.known_down,
            allowed=lambda source: gate().would_allow(source, dataset),
        )

    def data_of(self, catalog: Any) -> tuple[str, list[Path] | None]:
        """(permission key, the data's own folders) of a catalog, remembered per catalog."""
        got = self._data.get(catalog)
        if got is None:
            got = (catalog_key(catalog), data_roots(getattr(catalog, "sources", []) or []))
            self._data[catalog] = got
        return got

    def treat_as(self, catalog: Any, dataset: str, roots: list[Path] | None) -> None:
        """Read ``catalog``'s imagery as that of another dataset (its permission key and folders): a field
        pack being built is the region of its inputs, whose imagery lies beside the inputs."""
        self._data[catalog] = (dataset, roots)

    def source_of(self, catalog: Any, row: int) -> str | None:
        """The imagery a chip is cut from: its ``source_url``, else the dataset's configured imagery."""
        return catalog.source_url(row) or self._imagery.get(self.dataset_key(catalog))

    def key_of(self, catalog: Any, row: int, size: int | None = None) -> str | None:
        source = self.source_of(catalog, row)
        if source is None:
            return None
        return thumbnail_key(source, catalog.footprints[row].bounds, size or self.size, self.pad)

    # --- asking for thumbnails ------------------------------------------------------------------
    def placeholder(self, status: str, message: str = "", size: int | None = None) -> Thumbnail:
        s = size or self.size
        png = self._placeholders.get((status, s))
        if png is None:
            png = placeholder_png(s, _TEXT[status], _MARK[status])
            self._placeholders[(status, s)] = png
        return Thumbnail(png, status, message)

    def cached(self, catalog: Any, row: int) -> Thumbnail | None:
        """The thumbnail if it is in the disk cache, else None. Never reads imagery or the network."""
        key = self.key_of(catalog, row)
        if key is None:
            return None
        got = self.cache.get(key)
        if got is None:
            return None
        png, status = got
        if status != "ok":
            return self.placeholder(status, "This chip lies outside its image.")
        return Thumbnail(png, status)

    def thumbnail(self, catalog: Any, row: int, *, size: int | None = None) -> Thumbnail:
        """The thumbnail of one row: from the cache, else cut from imagery, else a placeholder."""
        size = int(size or self.size)
        source = self.source_of(catalog, row)
        if source is None:
            return self.placeholder("no-imagery", self.explain(catalog).sentence, size)
        footprint = catalog.footprints[row]
        key = thumbnail_key(source, footprint.bounds, size, self.pad)
        got = self.cache.get(key)
        if got is not None:
            if got[1] != "ok":
                return self.placeholder(got[1], "This chip lies outside its image.", size)
            return Thumbnail(got[0], got[1])
        if source.startswith(PACK_IMAGERY):
            return self.placeholder("no-imagery", "This chip's thumbnail is not in the field pack.", size)
        if not self._online and (is_remote(source) or is_template(source)):
            return self._offline(source, size)  # this service works offline: not even a permission check
        dataset, roots = self.data_of(catalog)
        try:
            adm = admit(source, dataset=dataset, roots=roots)
        except Offline:
            return self._offline(source, size)
        except NotAllowed as exc:
            with self._lock:
                self.blocked[exc.site] = exc
            return self._blocked(source, exc, size)
        except Refused as exc:
            return self.placeholder("error", exc.message, size)
        if adm.kind in ("local", "folder"):
            return self._render(adm, footprint, size, key, dataset)
        return self._remote_thumbnail(adm, footprint, size, key, dataset)

    def _offline(self, source: str, size: int) -> Thumbnail:
        """The placeholder of a remote chip that cannot be cut now, with explain_imagery's sentence."""
        from terrafind.core.imagery.explain import explain_sources

        origin = "chosen" if source in self._imagery.values() else "data"
        # offline, or this host was just found not answering
        online = self._online and gate().online
        why = explain_sources([source], origin, online=online, is_down=lambda _host: True)
        return self.placeholder("offline" if not online else "unreachable", why.sentence, size)

    def _blocked(self, source: str, exc: NotAllowed, size: int) -> Thumbnail:
        """The placeholder of a chip whose imagery waits for the person's "Allow" (explain's sentence for
        an address; the gate's own for a folder outside the data's)."""
        if not is_remote(source):
            return self.placeholder("blocked", exc.message, size)
        from terrafind.core.imagery.explain import explain_sources

        origin = "chosen" if source in self._imagery.values() else "data"
        why = explain_sources([source], origin, online=True, allowed=lambda _s: False)
        return self.placeholder("blocked", why.sentence, size)

    def _remote_thumbnail(
        self, adm: Admitted, footprint: Any, size: int, key: str, dataset: str
    ) -> Thumbnail:
        source = adm.source
        host = host_of(source)
        if not self._online or self.breaker.is_down(host):
            return self._offline(source, size)
        future = self._remote.submit(self._render, adm, footprint, size, key, dataset)
        try:
            thumb = future.result(timeout=self.remote_wait)
        except cf.TimeoutError:
            # A stalled link: stop waiting, mark the host down. The read goes on in the pool and its
            # thumbnail lands in the cache if it ever arrives.
            self.breaker.failed(host, timed_out=True)
            return self._offline(source, size)
        if thumb.status == "error" and self.breaker.failed(host):
            return self._offline(source, size)
        return thumb

    def _render(self, adm: Admitted, footprint: Any, size: int, key: str, dataset: str) -> Thumbnail:
        """Cut, encode and cache one thumbnail (runs on the caller's or a remote-pool thread)."""
        configure_gdal()
        source = adm.source
        try:
            if adm.kind == "template":
                cut = cut_xyz(source, footprint, size, pad=self.pad, dataset=dataset)
            else:
                cut = cut_mosaic(self._datasets_for(adm, footprint, dataset), footprint, size, pad=self.pad)
        except Offline:
            return self._offline(source, size)
        except NotAllowed as exc:
            return self._blocked(source, exc, size)
        except Exception as exc:  # noqa: BLE001 - any imagery failure becomes a placeholder + message
            self.pool.drop(source)
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            return self.placeholder("error", f"Could not read the imagery {source} ({reason}).", size)
        if cut.status == "outside":
            self.cache.put(key, b"", "outside", source)
            return self.placeholder("outside", "This chip lies outside its image.", size)
        png = encode_png(cut.rgb)
        self.cache.put(key, png, "ok", source)
        return Thumbnail(png, "ok")

    def _in_folder(self, path: str, folder: str, dataset: str) -> Any:
        """A file of an admitted folder mosaic, opened with its single driver (VRTs checked first)."""
        return self.pool.get(
            path, lambda: open_raster(Local(Path(path)), roots=[Path(folder)], dataset=dataset)
        )

    def _datasets_for(self, adm: Admitted, footprint: Any, dataset: str) -> list[Any]:
        if adm.kind == "folder":
            folder = str(adm.loc.path) if isinstance(adm.loc, Local) else adm.source
            return [
                self._in_folder(p, folder, dataset)
                for p in self._folder_candidates(folder, footprint, dataset)
            ]
        return [self.pool.get(adm.source, lambda: open_raster(adm.loc, dataset=dataset))]

    def _folder_candidates(self, folder: str, footprint: Any, dataset: str = "") -> list[str]:
        """Files of a folder mosaic that overlap the chip, the one covering most of it first."""
        import shapely

        files = self._folders.get(folder)
        if files is None:
            files = []
            for p in list_folder(Path(folder)):
                try:
                    files.append((str(p), lonlat_bounds(self._in_folder(str(p), folder, dataset))))
                except Exception:  # noqa: BLE001 - a broken file in a folder is skipped, not fatal
                    continue
            self._folders[folder] = files
        ranked = []
        for name, b in files:
            overlap = footprint.intersection(shapely.box(*b)).area
            if overlap > 0:
                ranked.append((-overlap, name))
        return [name for _, name in sorted(ranked)]

    def prefetch(
        self,
        catalog: Any,
        rows: Sequence[int],
        *,
        workers: int | None = None,
        progress: ProgressFn | None = None,
        cancel: CancelToken | None = None,
    ) -> int:
        """Make sure the thumbnails of ``rows`` are cached, roughly in the given order (put visible rows
        and the top results first). Returns how many are now cached; offline, remote rows are skipped.

        ``workers`` threads cut at once; by default 4 when any row's imagery is remote (hides network
        latency) and 1 for local imagery (reads already use the disk and both cores well)."""
        check(cancel)
        rows = [int(r) for r in rows]
        total = len(rows)
        todo = []
        for row in rows:
            key = self.key_of(catalog, row)
            if key is not None and not self.cache.has(key):
                todo.append(row)
        done = total - len(todo) - sum(1 for r in rows if self.source_of(catalog, r) is None)
        report(progress, total - len(todo), total, "Thumbnails")
        if workers is None:
            remote = any(
                is_remote(s) or is_template(s) for s in {self.source_of(catalog, r) or "" for r in todo}
            )
            workers = 4 if remote else 1

        def one(row: int) -> bool:
            return self.thumbnail(catalog, row).status in ("ok", "outside")

        finished = total - len(todo)
        if workers <= 1:
            for row in todo:
                check(cancel)
                done += one(row)
                finished += 1
                if finished % 16 == 0 or finished == total:
                    report(progress, finished, total, "Thumbnails")
            return done
        with cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="terrafind-prefetch") as pool:
            pending = set()
            queue = iter(todo)
            try:
                for row in queue:  # keep a short queue so the order of ``rows`` is (roughly) kept
                    pending.add(pool.submit(one, row))
                    if len(pending) < 2 * workers:
                        continue
                    finished_now, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                    for f in finished_now:
                        done += f.result()
                        finished += 1
                    report(progress, finished, total, "Thumbnails")
                    check(cancel)
                for f in cf.as_completed(pending):
                    done += f.result()
                    finished += 1
                    report(progress, finished, total, "Thumbnails")
                    check(cancel)
            except BaseException:
                for f in pending:
                    f.cancel()
                raise
        return done

    def close(self) -> None:
        """Stop the remote pool (without waiting for stalled reads) and close this thread's handles."""
        self._remote.shutdown(wait=False, cancel_futures=True)
        self.pool.close_thread()
        self.cache.close()
