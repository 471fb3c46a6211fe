"""The verbs of ``terrafind-cli``, one module each, plus argument helpers they share.

To add a verb, write ``core/commands/<name>.py`` with ``register(subparsers)`` (which sets
``run=<function(args) -> int>`` as a default) and add ``"<name>"`` to ``COMMANDS``. Modules are imported
when the parser is built; keep heavy imports (hnswlib, geopandas) inside the run function.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = [
    "COMMANDS",
    "lonlat",
    "bbox",
    "add_input_args",
    "add_network_args",
    "apply_network_args",
    "session_from_args",
    "two_dates_session",
    "wants_centred",
    "progress_for",
]

COMMANDS: list[str] = ["info", "search", "unusual", "change", "index", "embed", "pack", "cache"]


def _numbers(text: str, count: int, what: str) -> list[float]:
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return values


def lonlat(text: str) -> tuple[float, float]:
    """``LON,LAT`` (longitude first, in degrees)."""
    lon, lat = _numbers(text, 2, "LON,LAT (two numbers, longitude first)")
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise argparse.ArgumentTypeError(f"{text!r} is not a longitude,latitude pair in degrees")
    return lon, lat


def bbox(text: str) -> tuple[float, float, float, float]:
    """``W,S,E,N`` in degrees."""
    w, s, e, n = _numbers(text, 4, "W,S,E,N (four numbers)")
    return w, s, e, n


def add_input_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="GeoParquet file(s), folder(s) of them, a field pack folder, or a .terrafind project",
    )
    parser.add_argument("--bbox", type=bbox, metavar="W,S,E,N", help="only load chips in this lon/lat box")
    parser.add_argument("--embedding-column", metavar="NAME", help="the vector column, when not detected")
    parser.add_argument("--chip-size", type=float, metavar="METRES", help="chip size of point-only data")
    parser.add_argument(
        "--similarity",
        choices=("centred", "cosine"),
        help="what scores are: cosine centred on the region's mean, or plain cosine (default: the app's "
        "Scores setting, centred unless changed there)",
    )
    add_network_args(parser)


def add_network_args(parser: argparse.ArgumentParser) -> None:
    """--offline and --allow: where this run may go. Addresses typed as PATH or --imagery are the user's
    choice and allowed for the run; sites and folders a data file names need --allow (or an "Allow"
    given in the app, which is remembered per dataset)."""
    group = parser.add_argument_group("network")
    group.add_argument("--offline", action="store_true", help="never use the network in this run")
    group.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="SITE",
        help="let imagery the data names come from SITE (https://host, s3://bucket) or a local FOLDER "
        "in this run (repeatable)",
    )


def apply_network_args(args: argparse.Namespace) -> None:
    """Set the network gate for this run from --offline / --allow and the addresses typed as PATHs."""
    from terrafind.core.net.gate import gate
    from terrafind.core.net.locations import Local, Remote, locate

    g = gate()
    if getattr(args, "offline", False):
        g.online = False
    typed = [*(getattr(args, "paths", None) or []), getattr(args, "imagery", None) or ""]
    for text in [*getattr(args, "allow", []), *typed]:
        if not text:
            continue
        loc = locate(text.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
        if isinstance(loc, Remote):
            g.allow(loc.site, "*", remember=False)
        elif isinstance(loc, Local) and text in getattr(args, "allow", []):
            folder = loc.path.expanduser().resolve()
            if not folder.is_dir():
                from terrafind.core.errors import InputError

                raise InputError(f"--allow {text}: {folder} is not a folder.")
            g.allow(str(folder), "*", remember=False)


def progress_for(always: bool = False) -> Any:
    """A progress bar on stderr when a person watches it (or ``always``), else None."""
    from terrafind.core.progress import TextProgress

    return TextProgress() if always or sys.stderr.isatty() else None


def wants_centred(args: argparse.Namespace) -> bool:
    """--similarity, else the app's saved Scores setting: the CLI scores as the app does."""
    from terrafind.core.session_space import saved_centred

    chosen = getattr(args, "similarity", None)
    return saved_centred() if chosen is None else chosen == "centred"


def session_from_args(args: argparse.Namespace, progress: Any = None) -> Any:
    """A :class:`terrafind.core.session.Session` on the data named by ``paths`` (files, folders or one
    field pack) / ``--bbox`` / ``--embedding-column`` / ``--chip-size``: the app opens data the same way."""
    from terrafind.core.session import Session
    from terrafind.core.types import Region

    region = Region.from_bbox(*args.bbox) if args.bbox else None
    if len(args.paths) == 1 and str(args.paths[0]).endswith(".terrafind"):
        return _project_session(args, region, progress)
    return Session.open(
        args.paths,
        region,
        embedding_column=args.embedding_column,
        chip_size_m=args.chip_size,
        centred=wants_centred(args),
        progress=progress,
    )


def _project_session(args: argparse.Namespace, region: Any, progress: Any) -> Any:
    """A session on a project's data with its examples, labels, masks and sensitivity (a project marked
    sensitive opens locked: see --unlock). Its data's addresses are a file's, not typed: they need --allow."""
    from terrafind.core.errors import InputError
    from terrafind.core.project import load_project
    from terrafind.core.session import Session
    from terrafind.core.types import Region

    proj = load_project(args.paths[0])
    if not proj.sources:
        raise InputError(f"The project {args.paths[0]} names no data file to open.")
    if region is None and proj.region:
        region = Region.from_dict(proj.region)
    session = Session.open(
        proj.sources,
        region,
        embedding_column=args.embedding_column,
        chip_size_m=args.chip_size,
        centred=wants_centred(args),
        progress=progress,
    )
    missing = session.apply_project(proj)
    if missing:
        print(f"note: {len(missing)} saved chips are not in the data (e.g. {missing[0]}).")
    return session


def _side_date(paths: list[str], given: str | None, what: str) -> str:
    """The one date of the files ``paths`` (OLD or NEW): ``given``, else the date they state."""
    from terrafind.core.dates.detect import check_label, file_date
    from terrafind.core.errors import InputError
    from terrafind.core.read.sources import resolve_paths

    if given:
        return check_label(given)
    found = {file_date(p).label for _, p in resolve_paths(paths)}
    if len(found) == 1 and None not in found:
        return str(found.pop())
    if None in found:
        raise InputError(
            f"{what} states no date; give both dates with --dates OLD_DATE,NEW_DATE (e.g. 2019,2024)."
        )
    raise InputError(
        f"{what} holds several dates ({', '.join(sorted(map(str, found)))}); give one date's files."
    )


def two_dates_session(
    args: argparse.Namespace, old: list[str], new: list[str], progress: Any = None
) -> tuple[Any, str, str]:
    """(session, old date, new date) on the files ``old`` and ``new`` opened as two dates of one region,
    the new date on the map (``--dates``, ``--bbox``, ``--embedding-column``, ``--chip-size`` apply)."""
    from terrafind.core.errors import InputError
    from terrafind.core.session import Session
    from terrafind.core.types import Region

    given = [d.strip() for d in args.dates.split(",")] if getattr(args, "dates", None) else [None, None]
    if len(given) != 2:
        raise InputError(f"--dates takes two dates, OLD and NEW (e.g. 2019,2024), not {args.dates!r}.")
    before = _side_date(old, given[0], "OLD (" + ", ".join(old) + ")")
    after = _side_date(new, given[1], "NEW (" + ", ".join(new) + ")")
    if before == after:
        raise InputError(
            f"OLD and NEW are both of {before}; give their dates with --dates OLD_DATE,NEW_DATE."
        )
    assigned = {str(p): before for p in old} | {str(p): after for p in new}
    region = Region.from_bbox(*args.bbox) if args.bbox else None
    session = Session.open([*old, *new], region, dates=assigned, centred=wants_centred(args), embedding_column=args.embedding_column,
                           chip_size_m=args.chip_size, progress=progress)  # fmt: skip
    session.set_date(after)
    return session, before, after
