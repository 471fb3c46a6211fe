"""``terrafind``: the desktop app's entry point.

    terrafind                 the last session, else the demo region
    terrafind PATH            a GeoParquet file, a folder of them, or a *.terrafind project
    terrafind --selftest [PATH]   open, click, search, label, export in the real window; print one JSON line

Order matters here: environment defaults, then QtWebEngineWidgets and the URL scheme, then QApplication.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

__all__ = ["main", "parse_args"]

log = logging.getLogger("terrafind")


def parse_args(argv: list[str]) -> argparse.Namespace:
    import terrafind

    parser = argparse.ArgumentParser(prog="terrafind", description="Search the Earth by example, offline.")
    parser.add_argument("--version", action="version", version=f"terrafind {terrafind.__version__}")
    parser.add_argument(
        "path", nargs="?", help="a GeoParquet file, a folder of them, or a .terrafind project"
    )
    parser.add_argument(
        "--selftest",
        nargs="?",
        const="",
        default=None,
        metavar="PATH",
        help="run the self test on PATH (the demo region when omitted) and exit",
    )
    parser.add_argument(
        "--screenshot", metavar="PNG", help="with --selftest: save the window with results here"
    )
    # Qt's own options (-platform, --webEngineArgs) pass through untouched
    args, _qt_args = parser.parse_known_args(argv)
    return args


def _env_defaults() -> None:
    from terrafind.gui.sandbox import sandbox_blocker

    if "QTWEBENGINE_DISABLE_SANDBOX" not in os.environ:
        # Chromium will not start its sandbox as root or where user namespaces are forbidden (Ubuntu 24.04's
        # AppArmor rule): the map would stay blank. Everywhere else field users keep the sandbox on.
        reason = sandbox_blocker()
        if reason:
            os.environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
            log.warning("The QtWebEngine sandbox is turned off for this process: %s.", reason)
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")


def main(argv: list[str] | None = None) -> int:
    import multiprocessing

    # A big region's search graph lives in a child process (core/search/server.py): in the frozen app
    # that child starts as this same program, and this returns at once there to run it instead.
    multiprocessing.freeze_support()
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="terrafind: %(message)s")
    args = parse_args(argv)
    from terrafind.core.logs import start_logging

    start_logging("terrafind")  # the user's log folder; Help > Report a problem shows its last lines
    _env_defaults()

    import PySide6.QtWebEngineWidgets  # noqa: F401  (must be imported before the QApplication exists)
    from PySide6.QtWidgets import QApplication

    from terrafind.gui.map.web_scheme import register_scheme

    register_scheme()
    app = QApplication.instance() or QApplication(
        [sys.argv[0], *[a for a in argv if a.startswith("-platform")]]
    )
    app.setApplicationName("Terrafind")
    app.setOrganizationName("Terrafind")

    if args.selftest is not None:
        from terrafind.gui.selftest import run_selftest

        return run_selftest(app, args.selftest or None, screenshot=args.screenshot)

    from terrafind.gui import errors
    from terrafind.gui.main_window import MainWindow
    from terrafind.gui.startup import start_session

    window = MainWindow()
    restore = errors.install_hooks(window.reporter)
    window.show()
    start_session(window, args.path)
    try:
        return int(app.exec())
    finally:
        restore()
        from terrafind.gui.selftest import dispose

        dispose(window)


if __name__ == "__main__":
    sys.exit(main())
