"""The one gate every network access passes: thumbnails, XYZ tiles, remote GeoParquet, the map's basemaps.

Rules (the user decides where Terrafind goes, never a file):

* **Offline** means no packet at all: :meth:`NetGate.check` refuses every remote address.
* A **site** (``https://host[:port]``, ``s3://bucket``...) is contacted only when the user allowed it for
  the data at hand: by choosing it (typing an address, opening a remote file), or by answering "Allow"
  when a file names it (like a browser asking about a site). Permissions are kept per dataset in
  ``config_dir()/network.json``; a run of the CLI may add grants that last only as long as the process.
* Plain ``http://`` is refused unless the user switched "allow unencrypted http" on.
* **Credentials** (the user's own cloud keys) are used only for a bucket the user marked for them; every
  other request is anonymous (:func:`uses_credentials`).
* **Local files** named by a file (``source_url``, a project's imagery) must lie under the dataset's own
  folder or a folder the user allowed for that dataset, and be regular files (:meth:`NetGate.check_local`).

The gate keeps a short log (tests read it: "no request left while offline").
"""

from __future__ import annotations

import json
import stat
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terrafind.core.errors import TerrafindError
from terrafind.core.net.locations import Local, Refused, Remote, locate

__all__ = [
    "NetGate",
    "NotAllowed",
    "Offline",
    "gate",
    "data_key",
    "settings_path",
    "BASEMAP_SITES",
]

FORMAT = "terrafind-network"
# The online basemaps the map page offers (terrafind.gui.map.map_view.ONLINE_LAYERS): shown only online,
# fetched only when the user picks one of them in the layer switcher.
BASEMAP_SITES = ("https://server.arcgisonline.com", "https://tile.openstreetmap.org")


class Offline(TerrafindError):
    """A remote address was asked for while Terrafind works offline."""


class NotAllowed(TerrafindError):
    """A file named a site (or folder) the user has not allowed for this data. ``site`` and ``dataset``
    say what an "Allow" answer would grant."""

    def __init__(self, message: str, *, site: str, dataset: str) -> None:
        super().__init__(message)
        self.site = site
        self.dataset = dataset


def settings_path() -> Path:
    from terrafind.core.paths import config_dir

    return config_dir() / "network.json"


def data_key(sources: Iterable[str | Path]) -> str:
    """The key permissions are kept under: the data's files (resolved, sorted), one per line. The same
    files in any region share it; data built in memory (no files) has the key ""."""
    out = []
    for s in sources:
        text = str(s)
        try:
            out.append(text if isinstance(locate(text), Remote) else str(Path(text).expanduser().resolve()))
        except Refused:
            out.append(text)
    return "\n".join(sorted(out))


@dataclass
class _State:
    allow_http: bool
    datasets: dict[str, dict[str, list[str]]]
    credentials: list[str]


def _empty() -> _State:
    return _State(False, {}, [])


class NetGate:
    """See the module docstring. Thread-safe; one per process (:func:`gate`)."""

    def __init__(self) -> None:
        self.online = True
        self._lock = threading.Lock()
        self._loaded: tuple[str, int] | None = None
        self._state = _empty()
        self._grants: set[tuple[str, str]] = set()  # (site or folder, dataset or "*") for this process only
        self.log: deque[dict[str, str]] = deque(maxlen=500)

    # --- settings --------------------------------------------------------------------------------------
    def _current(self) -> _State:
        """The saved permissions, read again when the file (or the config folder) changed."""
        path = settings_path()
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            mtime = -1
        key = (str(path), mtime)
        if self._loaded != key:
            self._state = _read(path) if mtime >= 0 else _empty()
            self._loaded = key
        return self._state

    def _save(self, state: _State) -> None:
        from terrafind.core.files import write_text_atomic

        data = {
            "format": FORMAT,
            "allow_http": state.allow_http,
            "datasets": state.datasets,
            "credentials": sorted(set(state.credentials)),
        }
        write_text_atomic(settings_path(), json.dumps(data, indent=1, sort_keys=True))
        self._loaded = None

    @property
    def allow_http(self) -> bool:
        with self._lock:
            return self._current().allow_http

    def set_allow_http(self, on: bool) -> None:
        with self._lock:
            state = self._current()
            state.allow_http = bool(on)
            self._save(state)

    # --- permissions -----------------------------------------------------------------------------------
    def allowed(self, site: str, dataset: str = "") -> bool:
        """Did the user allow ``site`` (or a folder) for ``dataset``?"""
        with self._lock:
            if (site, dataset) in self._grants or (site, "*") in self._grants:
                return True
            entry = self._current().datasets.get(dataset) or {}
            return site in (entry.get("sites") or []) or site in (entry.get("folders") or [])

    def would_allow(self, address: str, dataset: str = "") -> bool:
        """Would :meth:`check` let ``address`` through for ``dataset`` (online or not)? No log, no error."""
        try:
            remote = locate(address.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
        except Refused:
            return False
        if not isinstance(remote, Remote):
            return True
        if remote.scheme == "http" and not self.allow_http:
            return False
        return self.allowed(remote.site, dataset)

    def allow(self, site: str, dataset: str = "", *, remember: bool = True) -> None:
        """Allow ``site`` (an address's site or a folder) for ``dataset``; ``remember`` keeps it in
        ``network.json``, else it lasts as long as the process (the CLI's command-line choices)."""
        with self._lock:
            if not remember:
                self._grants.add((site, dataset))
                return
            state = self._current()
            entry = state.datasets.setdefault(dataset, {"sites": [], "folders": []})
            kind = "sites" if "://" in site else "folders"
            values = entry.setdefault(kind, [])
            if site not in values:
                values.append(site)
            self._save(state)

    def forget(self, site: str, dataset: str = "") -> None:
        with self._lock:
            self._grants.discard((site, dataset))
            state = self._current()
            entry = state.datasets.get(dataset) or {}
            changed = False
            for kind in ("sites", "folders"):
                if site in (entry.get(kind) or []):
                    entry[kind].remove(site)
                    changed = True
            if changed:
                self._save(state)

    def sites(self, dataset: str) -> list[str]:
        """The sites and folders allowed for ``dataset`` (saved ones)."""
        with self._lock:
            entry = self._current().datasets.get(dataset) or {}
            return list(entry.get("sites") or []) + list(entry.get("folders") or [])

    def session_state(self) -> dict[str, Any]:
        """This process's choices (online, the run's grants), for a worker process to take over
        (:meth:`apply_session`): a cluster task goes exactly where this run may go."""
        with self._lock:
            return {"online": self.online, "grants": sorted(self._grants)}

    def apply_session(self, state: dict[str, Any]) -> None:
        """Take over another process's :meth:`session_state` (grants last as long as this process)."""
        with self._lock:
            self.online = bool(state.get("online", True))
            self._grants.update((str(s), str(d)) for s, d in state.get("grants", []))

    def reset_session(self) -> None:
        """Forget this process's grants (tests; the CLI between runs in one process)."""
        with self._lock:
            self._grants.clear()

    # --- credentials -----------------------------------------------------------------------------------
    def uses_credentials(self, site: str) -> bool:
        """True only for a bucket the user marked to be read with their own cloud credentials."""
        with self._lock:
            return site in self._current().credentials

    def credential_sites(self) -> list[str]:
        """The buckets marked to be read with the person's own cloud credentials."""
        with self._lock:
            return list(self._current().credentials)

    def set_credentials(self, site: str, on: bool) -> None:
        if not site.startswith(("s3://", "gs://")):
            raise Refused("Cloud credentials can only be set for an s3:// or gs:// bucket.")
        with self._lock:
            state = self._current()
            creds = set(state.credentials)
            creds.add(site) if on else creds.discard(site)
            state.credentials = sorted(creds)
            self._save(state)

    # --- the checks ------------------------------------------------------------------------------------
    def check(self, address: str | Remote, *, dataset: str = "", purpose: str = "data") -> Remote:
        """The plain :class:`Remote` for ``address`` when it may be fetched now for ``dataset``;
        raises :class:`Offline`, :class:`NotAllowed` or :class:`Refused` (one sentence each) otherwise.
        Every network access in Terrafind calls this first."""
        remote = address if isinstance(address, Remote) else locate(address)
        if not isinstance(remote, Remote):
            raise Refused(f"{address} is a local file, not an address.")
        verdict = "allowed"
        try:
            if not self.online:
                verdict = "offline"
                raise Offline(f"Terrafind is working offline, so {remote.site} was not contacted.")
            if remote.scheme == "http" and not self.allow_http:
                verdict = "http"
                raise NotAllowed(
                    f"{remote.site} is plain, unencrypted http, which is switched off; allow http in the "
                    "network settings to use it.",
                    site=remote.site,
                    dataset=dataset,
                )
            if not self.allowed(remote.site, dataset):
                verdict = "not allowed"
                raise NotAllowed(
                    f"This data reads {purpose} from {remote.site}, which you have not allowed; nothing was "
                    "sent there.",
                    site=remote.site,
                    dataset=dataset,
                )
        finally:
            self.log.append({"site": remote.site, "purpose": purpose, "dataset": dataset, "verdict": verdict})
        return remote

    def check_page(self, url: str) -> bool:
        """May the map page load ``url``? Only the fixed online basemaps, only while online."""
        try:
            remote = locate(url)
        except Refused:
            return False
        ok = self.online and isinstance(remote, Remote) and remote.site in BASEMAP_SITES
        self.log.append(
            {
                "site": getattr(remote, "site", url),
                "purpose": "basemap",
                "dataset": "*",
                "verdict": "allowed" if ok else "blocked",
            }
        )
        return bool(ok)

    def check_local(
        self,
        text: str | Path,
        *,
        roots: Sequence[str | Path] | None,
        dataset: str = "",
        what: str = "imagery",
    ) -> Path:
        """A local ``text`` named by a file, as a resolved path that may be read: a regular file under one
        of ``roots`` (the data's own folders) or a folder the user allowed for ``dataset``. Relative paths
        are taken from the first root. ``roots`` None means the caller trusts the path (the user chose it).
        Raises :class:`Refused` or :class:`NotAllowed` with one sentence."""
        loc = locate(str(text))
        if not isinstance(loc, Local):
            raise Refused(f"{text} is an address, not a local file.")
        path = loc.path
        if roots is not None and not path.is_absolute() and roots:
            path = Path(roots[0]) / path
        try:
            real = path.resolve(strict=True)
            mode = real.stat().st_mode
        except (OSError, RuntimeError):
            raise Refused(f"The {what} {_name(path)} does not exist on this computer.") from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise Refused(f"The {what} {_name(path)} is not a regular file.")
        if roots is None:
            return real
        folders = [Path(r).resolve() for r in roots] + [
            Path(f) for f in self.sites(dataset) if "://" not in f
        ]
        folders += [Path(s) for s, d in self._grants if d in (dataset, "*") and "://" not in s]
        if any(real == f or real.is_relative_to(f) for f in folders):
            return real
        folder = str(real.parent)
        raise NotAllowed(
            f"This data names {what} in {folder}, outside its own folder, which you have not allowed; "
            "nothing was read there.",
            site=folder,
            dataset=dataset,
        )


def _name(path: Path) -> str:
    return path.name or str(path)


def _read(path: Path) -> _State:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return _empty()  # absent or damaged: nothing allowed (the user is asked again)
    if not isinstance(data, dict):
        return _empty()
    datasets: dict[str, dict[str, list[str]]] = {}
    raw = data.get("datasets")
    for key, entry in raw.items() if isinstance(raw, dict) else []:
        if isinstance(key, str) and isinstance(entry, dict):
            datasets[key] = {
                kind: [str(v) for v in entry.get(kind) or [] if isinstance(v, str)]
                for kind in ("sites", "folders")
            }
    creds = data.get("credentials")
    return _State(
        bool(data.get("allow_http") is True),
        datasets,
        [str(c) for c in creds if isinstance(c, str)] if isinstance(creds, list) else [],
    )


_GATE = NetGate()


def gate() -> NetGate:
    """The process's gate."""
    return _GATE
