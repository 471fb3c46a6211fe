"""Build hook: every wheel ships the offline map's web assets (Leaflet, Leaflet.draw, jQuery, Natural Earth).

They are third-party files, so the repository and the sdist hold only their pins
(``scripts/web_assets.json``); building a wheel runs ``scripts/fetch_web_assets.py``, which downloads each
pinned npm tarball, checks its sha512 against the pin and writes the listed files into the wheel's
``terrafind/resources/web/vendor/``. A checkout's own copy is reused when its hashes match (no download).
``TERRAFIND_WEB_ASSETS=DIR`` names another verified copy to reuse (offline builds). An editable install
reads ``resources/`` from the checkout, where ``scripts/dev.sh setup`` fetches them.

It also lists the packages (found, not typed: a new subpackage cannot be forgotten). Everything else is in
pyproject.toml.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildPyWithWebAssets(build_py):
    def find_package_modules(self, package, package_dir):
        # The checkout root is the package folder `terrafind`: this script is not one of its modules.
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if not (package == "terrafind" and m[1] == "setup")]

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        spec = importlib.util.spec_from_file_location(
            "fetch_web_assets", ROOT / "scripts" / "fetch_web_assets.py"
        )
        assert spec is not None and spec.loader is not None
        fetch = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fetch)
        reuse = Path(os.environ.get("TERRAFIND_WEB_ASSETS") or ROOT / "resources" / "web" / "vendor")
        dest = Path(self.build_lib) / "terrafind" / "resources" / "web" / "vendor"
        argv = ["--dest", str(dest)] + (["--reuse", str(reuse)] if reuse.is_dir() else [])
        if fetch.main(argv) != 0:
            raise SystemExit("Could not fetch the map's web assets for the wheel (see the message above).")


def packages() -> list[str]:
    """``terrafind`` (the checkout root) and every package below core/ and gui/, under that name."""
    found = find_packages(where=str(ROOT), include=["core", "core.*", "gui", "gui.*"])
    return ["terrafind", *sorted(f"terrafind.{name}" for name in found)]


setup(packages=packages(), cmdclass={"build_py": BuildPyWithWebAssets})
