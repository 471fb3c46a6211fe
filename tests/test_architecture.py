"""The seam between core and gui (ARCHITECTURE.md section 1), checked in fresh interpreters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_importing_core_loads_no_gui_libraries():
    code = (
        "import sys, pkgutil, importlib, terrafind.core as core\n"
        "for m in pkgutil.iter_modules(core.__path__):\n"
        "    importlib.import_module('terrafind.core.' + m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in {'PySide6', 'pyqtgraph', 'folium', 'gui', 'shiboken6'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"core pulled in: {out.stdout.strip()}"


def _imported_top_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_gui_never_imports_data_libraries():
    forbidden = {"pyarrow", "hnswlib", "rasterio", "geopandas"}
    offenders = {}
    for path in sorted((ROOT / "gui").rglob("*.py")):
        bad = _imported_top_modules(path) & forbidden
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert not offenders, f"gui must reach data only through core: {offenders}"


def test_core_never_imports_qt_in_source():
    forbidden = {"PySide6", "pyqtgraph", "folium", "gui", "shiboken6"}
    offenders = {}
    for path in sorted((ROOT / "core").rglob("*.py")):
        bad = _imported_top_modules(path) & forbidden
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert not offenders, offenders
