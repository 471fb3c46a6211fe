"""The text of a problem report: versions, system and the last log lines, with nothing of the user's data.

Help > Report a problem shows it for the person to read, complete and send. Field teams work on sensitive
places (nests, camps, illegal clearings), so the report must never carry where they looked: log lines pass
through :func:`scrub`, which removes every decimal number (coordinates, scores, bounds), every long integer
(projected coordinates, ids), file paths outside the installation (names of places and people), web
addresses (private tile servers, keys) and e-mail addresses. What stays is what a developer needs: the
versions, the system, the order of events, the exception types and the code's own file names and lines.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import terrafind
from terrafind.core.logs import log_file
from terrafind.core.versions import library_versions

__all__ = ["problem_report", "scrub", "last_lines", "how_installed"]

TAIL_LINES = 200
_TAIL_BYTES = 256 * 1024  # read no more than this from the end of each file

_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://[^\s'\"<>]*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# An absolute path (POSIX, ~, Windows drive or UNC), up to a quote, a bracket or the end of the line; may
# hold spaces ("/home/ana/Field work/a.gpx"), so it runs on until a character no path of ours ends before.
_PATH = re.compile(r"(?<![\w.:/\\])(?:~[/\\]|/|[A-Za-z]:[/\\]|\\\\)[^'\"<>|\n\r()\[\]{}]*")
# A decimal number that is not part of a dotted version (6.12.0): coordinates, bounds, scores.
# Where a path with spaces most likely ends: after a known file suffix (else it runs to the end of the line).
_SUFFIX_END = re.compile(
    r"\.(parquet|geoparquet|gpq|tiff?|vrt|gpkg|geojson|json|csv|gpx|kml|kmz|mbtiles|terrafind|png|jpe?g|zip"
    r"|txt|log|py|pyc|so|dll|dylib|ini|hnsw)(?=$|[\s,;:.!?])",
    re.IGNORECASE,
)
_DECIMAL = re.compile(r"(?<![\w.])[-+]?\d+[.,]\d+(?![\d.]*\.\d)(?:[eE][-+]?\d+)?")
_LONG_INT = re.compile(r"(?<![\w.])[-+]?\d{5,}(?![\w.])")


def _keep_roots() -> list[tuple[str, str]]:
    """Folders whose paths stay, shortened (the code's own files say where a bug is), longest first."""
    roots = {
        str(Path(terrafind.__file__).resolve().parent): "<terrafind>",
        str(Path(sys.prefix).resolve()): "<python>",
        str(Path(sys.base_prefix).resolve()): "<python>",
    }
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots[str(Path(bundle).resolve())] = "<app>"
    return sorted(roots.items(), key=lambda kv: -len(kv[0]))


def _path(match: re.Match[str], roots: list[tuple[str, str]]) -> str:
    whole = match.group(0)
    end = _SUFFIX_END.search(whole)
    text = whole[: end.end()] if end else whole.rstrip(" .,;:")
    rest = _PATH.sub(lambda m: _path(m, roots), whole[len(text) :])  # may hold another path
    normal = text.replace("\\", "/")
    for root, name in roots:
        root = root.replace("\\", "/")
        if normal == root or normal.startswith(root + "/"):
            return name + normal[len(root) :] + rest
    return (f"<file{Path(normal).suffix}>" if end else "<path>") + rest


def scrub(text: str) -> str:
    """``text`` without coordinates, numbers with a fraction, long numbers, paths, web or e-mail addresses."""
    roots = _keep_roots()
    text = _URL.sub(lambda m: f"<{m.group(1).lower()} address>", text)
    text = _EMAIL.sub("<e-mail>", text)
    text = _PATH.sub(lambda m: _path(m, roots), text)
    return _LONG_INT.sub("<n>", _DECIMAL.sub("<n>", text))


def last_lines(path: Path, count: int = TAIL_LINES) -> list[str]:
    """The last ``count`` lines of a rotating log: its file, and the one before it if that is too short."""
    lines: list[str] = []
    for file in (path, path.with_name(path.name + ".1")):
        try:
            with open(file, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - _TAIL_BYTES))
                chunk = f.read().decode("utf-8", errors="replace").splitlines()
        except OSError:
            continue
        lines = chunk[-(count - len(lines)) :] + lines
        if len(lines) >= count:
            break
    return lines[-count:]


def how_installed() -> str:
    if getattr(sys, "frozen", False):
        return "app bundle"
    root = Path(terrafind.__file__).resolve().parent
    return "source checkout" if (root / "pyproject.toml").exists() else "Python package"


def problem_report(program: str = "terrafind", extra: Mapping[str, str] | None = None) -> str:
    """The report: versions and system first (nothing personal), then the scrubbed last log lines.

    ``extra`` adds lines about the running program (the app passes Qt's version, its display platform and
    whether Chromium's sandbox is on); its values are scrubbed too.
    """
    out = [
        "Terrafind problem report",
        "Numbers, coordinates, file names and web addresses are removed from the log lines below;",
        "read it through before you send it.",
        "",
        "What happened (please describe what you did and what you saw):",
        "",
        "",
        "-- versions and system --",
        f"terrafind {terrafind.__version__} ({how_installed()})",
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        f"System: {platform.platform()} {platform.machine()}",
    ]
    libs = library_versions()
    libs.pop("terrafind", None)
    try:
        import rasterio

        libs["GDAL"] = rasterio.__gdal_version__
    except Exception:  # noqa: BLE001  (a report must be written even when a library is broken)
        pass
    out.append("Libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items()))
    out += [f"{key}: {scrub(str(value))}" for key, value in (extra or {}).items()]
    tail = last_lines(log_file(program))
    out += ["", f"-- last {len(tail)} lines of the {program} log --"]
    out += [scrub(line) for line in tail] or ["(the log is empty)"]
    return "\n".join(out) + "\n"
