"""How much memory the app has used at most: this process, its map page's processes and the search
index's process (the self test).

Peak resident memory is what decides whether a region fits on a laptop. Linux keeps it per process
(``VmHWM`` in ``/proc/<pid>/status``); QtWebEngine renders the map in child processes, and a big region's
search graph lives in a process of its own (terrafind.core.search.server): both are counted apart.
Elsewhere the process's own peak from ``getrusage`` (children unknown: None).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["peak_memory"]


def _hwm_kb(pid: int | str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (walking /proc once)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, parent in parents.items() if parent == p]
        found += kids
        todo += kids
    return found


def _is_web(pid: int) -> bool:
    try:
        return b"QtWebEngine" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def peak_memory() -> dict[str, float | None]:
    """``{"peak_rss_gb": this process, "web_peak_rss_gb": the map page's processes together,
    "index_peak_rss_gb": the search index's process (0 when there is none)}`` (None where unknown)."""
    if sys.platform.startswith("linux"):
        own = _hwm_kb("self")
        kids = _children(os.getpid())
        web = [_hwm_kb(p) or 0 for p in kids if _is_web(p)]
        other = [_hwm_kb(p) or 0 for p in kids if not _is_web(p)]
        return {
            "peak_rss_gb": None if own is None else round(own / 1e6, 3),
            "web_peak_rss_gb": round(sum(web) / 1e6, 3),
            "index_peak_rss_gb": round(sum(other) / 1e6, 3),
        }
    try:
        import resource
    except ImportError:  # Windows
        return {"peak_rss_gb": None, "web_peak_rss_gb": None, "index_peak_rss_gb": None}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1e9 if sys.platform == "darwin" else 1e6  # bytes on macOS, kilobytes elsewhere
    return {"peak_rss_gb": round(peak / scale, 3), "web_peak_rss_gb": None, "index_peak_rss_gb": None}
