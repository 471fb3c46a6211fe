"""Log files people can send when something goes wrong: one rotating file per program in the user's log folder.

``start_logging("terrafind")`` (the app) and ``start_logging("terrafind-cli")`` attach a
:class:`~logging.handlers.RotatingFileHandler` to the root logger: ``paths.log_dir() / "<program>.log"``, at
most 1 MB, three older files kept, so a laptop in the field never fills up with logs. One file per program,
because two processes rotating one file would lose lines. The first line of each run names the version and
the system. Help > Report a problem (:mod:`terrafind.core.report`) reads the last lines back.

The file is the user's own, on their machine; it may name their files. What leaves the machine is only the
report, which removes numbers, coordinates and file names (see there).
"""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
from pathlib import Path

import terrafind
from terrafind.core import paths

__all__ = ["start_logging", "log_file", "stop_logging", "MAX_BYTES", "BACKUPS"]

MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # whole seconds: "05,710" would read as a number to the report's scrubber


class _TerrafindFileHandler(logging.handlers.RotatingFileHandler):
    """Marks the handlers this module added, so a second start replaces rather than doubles them."""


def log_file(program: str = "terrafind") -> Path:
    """Where ``program`` writes its log (the folder is made if needed)."""
    return paths.log_dir() / f"{program}.log"


def start_logging(program: str, level: int = logging.INFO, max_bytes: int = MAX_BYTES) -> Path:
    """Send log records of ``level`` and above to ``program``'s rotating log file; returns its path.

    Safe to call again (tests, a second window): the earlier file handler is closed and replaced, so records
    go to the file of the current ``TERRAFIND_HOME``. A log folder that cannot be written is not an error:
    the program runs without a file (and says so on stderr once).
    """
    stop_logging()
    root = logging.getLogger()
    path = log_file(program)
    try:
        handler = _TerrafindFileHandler(path, maxBytes=max_bytes, backupCount=BACKUPS, encoding="utf-8")
    except OSError as exc:
        print(f"{program}: no log file ({exc.strerror or exc}).", file=sys.stderr)
        return path
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    handler.setLevel(level)
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    logging.getLogger("terrafind").info(
        "%s %s started: Python %s, %s %s",
        program,
        terrafind.__version__,
        platform.python_version(),
        platform.platform(terse=True),
        platform.machine(),
    )
    return path


def stop_logging() -> None:
    """Close and remove the file handlers :func:`start_logging` added."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _TerrafindFileHandler)]:
        root.removeHandler(handler)
        handler.close()
