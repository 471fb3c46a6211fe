"""Entry point of the frozen app.

    terrafind [PATH|PROJECT]        the app (a GeoParquet file, a folder of them or a .terrafind project)
    terrafind --selftest [PATH]     the self test (prints one JSON line)
    terrafind cli COMMAND ...       the command line (`terrafind cli search ...`, Linux and macOS)
    terrafind-cli COMMAND ...       the command line on Windows, where terrafind.exe has no console
    terrafind-cli app [ARGS]        the app from a console (Windows: `terrafind-cli app --selftest` prints)

One program behind both names: which one was started (the executable's name) decides.
"""

from __future__ import annotations

import os
import sys


def program_name() -> str:
    return os.path.splitext(
        os.path.basename(sys.executable if getattr(sys, "frozen", False) else sys.argv[0])
    )[0].lower()


def dispatch(program: str, argv: list[str]) -> tuple[str, list[str]]:
    """``("cli" | "app", arguments)`` for the program name and its arguments."""
    if program == "terrafind-cli":
        return ("app", argv[1:]) if argv[:1] == ["app"] else ("cli", argv)
    return ("cli", argv[1:]) if argv[:1] == ["cli"] else ("app", argv)


def run() -> int:
    which, args = dispatch(program_name(), sys.argv[1:])
    if which == "cli":
        from terrafind.core.cli.main import main as cli_main

        return cli_main(args)
    from terrafind.gui.app import main

    return main(args)


if __name__ == "__main__":
    sys.exit(run())
