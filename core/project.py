"""A Terrafind project: what the user opened, showed, labelled and found, saved as ``*.terrafind`` JSON.

Chips are stored by **id**, not by row: rows depend on the region and the reader, ids survive both. Files
are written atomically (a temporary file in the same folder, fsync, then ``os.replace``) so a crash while
saving leaves the previous version intact, never half a file.

Besides the files the user saves, the app keeps two files under ``data_dir()``:

- ``recovery.terrafind``: rewritten on every change while the app runs, deleted on a clean exit. If it is
  there when the app starts, the last session ended badly and :func:`recovery_pending` returns it.
- ``last-session.terrafind``: written on a clean exit; ``terrafind`` with no arguments reopens it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from terrafind.core.errors import InputError
from terrafind.core.files import write_text_atomic
from terrafind.core.paths import data_dir

__all__ = [
    "Project",
    "save_project",
    "load_project",
    "recovery_path",
    "last_session_path",
    "write_recovery",
    "recovery_pending",
    "clear_recovery",
    "keep_recovery",
    "finish_session",
    "SUFFIX",
]

SUFFIX = ".terrafind"
FORMAT = "terrafind-project"
VERSION = 1


@dataclass
class Project:
    """Everything needed to bring a session back.

    ``examples`` are ``{"id": chip id, "kind": "positive"|"negative"}`` (clicked on the map);
    ``labels`` are ``{"id": chip id, "label": "positive"|"negative"}`` (given to results);
    ``results`` is ``{"ids": [...], "scores": [...], "mode", "k", "method", "elapsed_ms"}`` or None;
    ``view`` is ``{"lon", "lat", "zoom"}`` or None; ``region`` is :meth:`terrafind.core.types.Region.to_dict` or None;
    ``imagery`` is the imagery the user configured for the data (see :mod:`terrafind.core.imagery.settings`) or None;
    ``masked`` are the ids of chips under imported "exclude" places (never shown in results);
    ``learn`` is ``{"refine": bool, "group": bool, "sites": bool, "gallery": "best"|"review"}``.
    Both are absent from files written before they existed: those load with no masks and all off.
    """

    sources: list[str] = field(default_factory=list)
    region: dict[str, Any] | None = None
    examples: list[dict[str, str]] = field(default_factory=list)
    labels: list[dict[str, str]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] | None = None
    view: dict[str, float] | None = None
    saved_from: str | None = None  # the *.terrafind path this session last saved to or opened from
    imagery: str | None = None  # imagery configured for the data (COG, VRT, folder or XYZ template)
    masked: list[str] = field(default_factory=list)
    learn: dict[str, Any] = field(default_factory=dict)
    # Several dates (terrafind.core.dates): {"current": date on the map, "marks": other dates' examples and
    # labels (terrafind.core.dates.marks.marks_to_dict), "assigned": {path: date}, "learn_from": [...]}
    dates: dict[str, Any] | None = None
    # Sensitive places (core.session_sensitive): precise coordinates leave only after the person unlocks
    # them in a session; the unlock itself is never saved.
    sensitive: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["format"] = FORMAT
        data["version"] = VERSION
        data["written_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, name: str = "project") -> Project:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"{name} is not a Terrafind project file.")
        # A project may come from someone else: every field is checked for its type and size here, so
        # what the session is given is what Terrafind itself would have written (core.project_fields).
        from terrafind.core.project_fields import (
            clean_dict,
            clean_results,
            clean_view,
            ids,
            optional_text,
            texts,
        )

        try:
            version = data.get("version", 0)
            if not isinstance(version, int) or isinstance(version, bool):
                raise ValueError(f"version {version!r}")
            if version > VERSION:
                raise InputError(f"{name} was saved by a newer Terrafind; update Terrafind to open it.")
            return cls(
                sources=texts(data.get("sources"), "sources"),
                region=clean_dict(data.get("region"), "region"),
                examples=[{"id": i, "kind": _kind(e["kind"])} for i, e in ids(data.get("examples"))],
                labels=[{"id": i, "label": _kind(e["label"])} for i, e in ids(data.get("labels"))],
                params=clean_dict(data.get("params"), "params") or {},
                results=clean_results(data.get("results")),
                view=clean_view(data.get("view")),
                saved_from=optional_text(data.get("saved_from")),
                imagery=optional_text(data.get("imagery")),  # absent in older files
                masked=texts(data.get("masked"), "masked"),  # absent in older files too
                learn=_learn(data.get("learn")),
                dates=clean_dict(data.get("dates"), "dates"),  # absent before dates
                sensitive=data.get("sensitive") is True,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{name} is damaged and cannot be opened.", detail=repr(exc)) from None

    def is_empty(self) -> bool:
        return not (self.sources or self.examples or self.labels)


LEARN_DEFAULTS: dict[str, Any] = {"refine": False, "group": False, "sites": False, "gallery": "best"}


def _learn(value: Any) -> dict[str, Any]:
    """The learn toggles of a file, defaults for what it lacks; unknown keys are dropped. None or {}
    (older files) stay {}: nothing was saved, all off."""
    if not isinstance(value, dict) or not value:
        return {}
    out: dict[str, Any] = {k: bool(value.get(k, d)) for k, d in LEARN_DEFAULTS.items() if k != "gallery"}
    out["gallery"] = "review" if value.get("gallery") == "review" else "best"
    return out


def _kind(value: Any) -> str:
    if value not in ("positive", "negative"):
        raise ValueError(f"unknown kind {value!r}")
    return str(value)


def save_project(project: Project, path: str | Path, protected: Iterable[str | Path] = ()) -> Path:
    """Write ``project`` to ``path`` (``.terrafind`` added when missing), atomically; never over an open
    file, inside a pack in use, or over a file that is not a project (:mod:`terrafind.core.outputs`)."""
    from terrafind.core.outputs import check_output_file

    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_name(path.name + SUFFIX)
    check_output_file(path, "project", protected)
    try:
        write_text_atomic(path, json.dumps(project.to_dict(), indent=1))
    except OSError as exc:
        raise InputError(f"Could not save the project to {path}: {exc.strerror or exc}.") from exc
    return path


def load_project(path: str | Path) -> Project:
    """Read a ``*.terrafind`` file; a missing, unreadable or damaged file raises :class:`InputError`."""
    from terrafind.core.limits import MAX_PROJECT_BYTES

    path = Path(path)
    try:
        if path.exists() and not path.is_file():  # a pipe or a device would be read for ever
            raise InputError(f"{path.name} is not an ordinary file, so it is not read.")
        if path.exists() and path.stat().st_size > MAX_PROJECT_BYTES:
            raise InputError(f"The project file {path.name} is far too large to be a Terrafind project.")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"The project file {path} does not exist.") from exc
    except OSError as exc:
        raise InputError(f"Could not read the project file {path}: {exc.strerror or exc}.") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"The project file {path.name} is damaged (not text).", detail=str(exc)) from exc
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: a file of nested brackets
        raise InputError(
            f"The project file {path.name} is damaged (not valid JSON).", detail=str(exc)
        ) from None
    return Project.from_dict(data, name=f"The file {path.name}")


def recovery_path() -> Path:
    return data_dir() / f"recovery{SUFFIX}"


def last_session_path() -> Path:
    return data_dir() / f"last-session{SUFFIX}"


def write_recovery(project: Project) -> Path:
    """Autosave: called on every change while the app runs."""
    return save_project(project, recovery_path())


def recovery_pending() -> Path | None:
    """The recovery file of a session that did not end cleanly, or None."""
    path = recovery_path()
    return path if path.exists() else None


def keep_recovery(reason: str) -> Path | None:
    """Move the recovery file aside, never deleting it (its data could not be opened: a USB stick not
    mounted, a file moved): ``data_dir()/sessions/recovery-<reason>-<time>.terrafind``. The next autosave
    then starts a new recovery file instead of writing over the saved work. Returns where it went."""
    path = recovery_path()
    if not path.exists():
        return None
    folder = data_dir() / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"recovery-{reason}-{time.strftime('%Y%m%d-%H%M%S')}{SUFFIX}"
    n = 2
    while target.exists():
        target = folder / f"recovery-{reason}-{time.strftime('%Y%m%d-%H%M%S')}-{n}{SUFFIX}"
        n += 1
    path.replace(target)
    return target


def clear_recovery() -> None:
    recovery_path().unlink(missing_ok=True)


def finish_session(project: Project | None) -> None:
    """A clean exit: keep the session as the last one (reopened by ``terrafind``) and drop the recovery file."""
    if project is not None and not project.is_empty():
        save_project(project, last_session_path())
    clear_recovery()
