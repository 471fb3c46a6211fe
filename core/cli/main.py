"""``terrafind-cli``: the app's verbs for scripts and terminals (info, search, index, ...).

Each verb is a module in :mod:`terrafind.core.cli` with ``register(subparsers)``; the list there decides what
exists. Exit codes: 0 success, 2 bad input (one sentence on stderr, no traceback), 130 cancelled (Ctrl-C).
A traceback means a bug, not bad input.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
from collections.abc import Sequence

import terrafind
from terrafind.core.cli import COMMANDS
from terrafind.core.errors import Cancelled, TerrafindError

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 2, 130
EXIT_CLOSED_PIPE = (
    141  # what a shell reports for a program ended by SIGPIPE (128 + 13), as `yes | head` gives
)

log = logging.getLogger("terrafind.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="terrafind-cli",
        description="Search satellite-image embeddings by example, offline.",
    )
    parser.add_argument("--version", action="version", version=f"terrafind {terrafind.__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"terrafind.core.cli.{name}").register(subparsers)
    return parser


_NEGATIVE_LIST = re.compile(r"^-\d[\d.,eE+\-\s]*$")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--at -75.7,37.4`` -> ``--at=-75.7,37.4``: argparse takes a value starting with "-" (every
    western longitude) for an option name unless it is a plain number."""
    out: list[str] = []
    for arg in argv:
        if (
            out
            and out[-1].startswith("--")
            and "=" not in out[-1]
            and _NEGATIVE_LIST.match(arg)
            and "," in arg
        ):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit code (the console script passes it to ``sys.exit``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2), message already printed
        return int(exc.code or 0)
    from terrafind.core.logs import start_logging

    start_logging("terrafind-cli")
    log.info("command %s", args.command)  # the verb only: arguments name places and files
    try:
        from terrafind.core.cli import apply_network_args

        apply_network_args(args)
        code = int(args.run(args) or EXIT_OK)
        sys.stdout.flush()  # here, not at exit, so a closed pipe is caught below
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except TerrafindError as exc:
        log.warning("%s: %s", type(exc).__name__, exc.message)
        print(f"terrafind-cli: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        log.warning("out of memory")
        print(
            "terrafind-cli: this computer ran out of memory; choose a smaller region (--bbox).",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except (Cancelled, KeyboardInterrupt):
        log.info("cancelled")
        print("\nterrafind-cli: cancelled.", file=sys.stderr)
        return EXIT_CANCELLED
    except Exception:
        log.exception("unexpected error")  # a bug: the traceback goes to the log and to the terminal
        raise


def _closed_pipe() -> int:
    """The reader went away (``terrafind-cli search ... | head``): stop quietly, as other tools do.

    Python would flush stdout again at exit and print "Exception ignored ... BrokenPipeError", so stdout is
    pointed at the null device first (the recipe in Python's signal documentation).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (stdout replaced): nothing left to flush
        pass
    return EXIT_CLOSED_PIPE


if __name__ == "__main__":
    sys.exit(main())
