"""The installer's parts that run on every system, checked here without building the whole app (.ci/run
builds it and smoke-tests the .run): icons, what the bundle leaves out, the launcher's two names, the Linux
self-installing file on a stand-in app, the hosted-CI workflow's structure."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALLER = ROOT / "installer"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, INSTALLER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_icons_for_every_system_from_the_svg(qapp, tmp_path):
    from PySide6.QtGui import QImageReader

    made = _load("make_icons").make_icons(tmp_path)
    sizes = {}
    for kind in ("ico", "icns"):
        reader = QImageReader(str(made[kind]))  # Qt reads both containers: an independent check
        sizes[kind] = []
        for i in range(reader.imageCount()):
            reader.jumpToImage(i)
            image = reader.read()
            assert not image.isNull() and image.pixelColor(128 * image.width() // 256, 100).alpha() > 0
            sizes[kind].append(image.width())
    assert sizes["ico"] == [16, 24, 32, 48, 64, 128, 256]
    assert sorted(set(sizes["icns"])) == [16, 32, 64, 128, 256, 512, 1024]
    assert made["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("dest", "kept"),
    [
        # Linux
        ("PySide6/Qt/lib/libQt6WebEngineCore.so.6", True),
        ("PySide6/Qt/lib/libQt6Charts.so.6", False),
        ("PySide6/Qt/qml/QtQuick/Controls/libqtquickcontrols2plugin.so", False),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6/Qt/translations/qtwebengine_locales/en-US.pak", True),
        ("PySide6/Qt/translations/qtwebengine_locales/de.pak", False),
        ("PySide6/Qt/resources/qtwebengine_devtools_resources.pak", False),
        ("PySide6/Qt/resources/qtwebengine_resources.pak", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/libexec/QtWebEngineProcess", True),
        ("pyarrow/libarrow_flight.so.2600", False),
        ("pyarrow/libarrow_dataset.so.2600", True),
        # Windows
        ("PySide6/Qt6WebEngineCore.dll", True),
        ("PySide6/QtWebEngineProcess.exe", True),
        ("PySide6/Qt6Charts.dll", False),
        ("PySide6\\Qt6Sql.dll", False),
        ("PySide6/qml/QtQuick/Controls/qtquickcontrols2plugin.dll", False),
        ("PySide6/translations/qtwebengine_locales/en-US.pak", True),
        ("PySide6/translations/qt_de.qm", False),
        ("PySide6/resources/qtwebengine_resources.debug.pak", False),
        ("PySide6/resources/qtwebengine_resources_200p.pak", True),
        ("pyarrow/arrow_flight.dll", False),
        # macOS
        (
            "PySide6/Qt/lib/QtWebEngineCore.framework/Helpers/QtWebEngineProcess.app/Contents/MacOS/QtWebEngineProcess",
            True,
        ),
        ("PySide6/Qt/lib/QtWebEngineCore.framework/Resources/icudtl.dat", True),
        ("PySide6/Qt/lib/QtWebEngineCore.framework/Resources/qtwebengine_locales/fr.pak", False),
        ("PySide6/Qt/lib/QtWebEngineCore.framework/Resources/qtwebengine_locales/en-US.pak", True),
        ("PySide6/Qt/lib/QtCharts.framework/Versions/A/QtCharts", False),
        ("PySide6/Qt/lib/QtWidgets.framework/Versions/A/QtWidgets", True),
        ("PySide6/QtCharts.abi3.so", False),
        ("PySide6/QtWidgets.abi3.so", True),
        ("pyarrow/libarrow_python_flight.2600.dylib", False),
        # ours
        ("resources/web/vendor/leaflet/leaflet.js", True),
        ("demo/demo_embeddings.parquet", True),
    ],
)
def test_bundle_trims_the_same_parts_on_every_system(dest, kept):
    assert _load("bundle_rules").keep(dest) is kept


def test_launcher_names():
    dispatch = _load("launcher").dispatch
    assert dispatch("terrafind", []) == ("app", [])
    assert dispatch("terrafind", ["--selftest"]) == ("app", ["--selftest"])
    assert dispatch("terrafind", ["cli", "info", "x.parquet"]) == ("cli", ["info", "x.parquet"])
    assert dispatch("terrafind-cli", ["info", "x.parquet"]) == ("cli", ["info", "x.parquet"])
    assert dispatch("terrafind-cli", ["app", "--selftest"]) == ("app", ["--selftest"])
    assert dispatch("terrafind-cli", ["--version"]) == ("cli", ["--version"])


def _fake_app(folder: Path) -> Path:
    """A stand-in for the one-folder app: a `terrafind` program that prints its arguments."""
    folder.mkdir(parents=True)
    program = folder / "terrafind"
    program.write_text('#!/bin/sh\necho "terrafind ran with: $*"\n')
    program.chmod(0o755)
    return folder


def _linux_files(tmp_path: Path) -> Path:
    stage = tmp_path / "stage"
    stage.mkdir()
    for name in ("install.sh", "terrafind.desktop", "terrafind-mime.xml"):
        shutil.copy2(INSTALLER / "linux" / name, stage / name)
    shutil.copy2(ROOT / "resources" / "icons" / "terrafind.svg", stage / "terrafind.svg")
    (stage / "terrafind.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (stage / "VERSION").write_text("9.9.9\n")
    _fake_app(stage / "terrafind")
    return stage


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux installer")
def test_linux_installer_registers_the_app_and_keeps_the_users_data(tmp_path):
    stage = _linux_files(tmp_path)
    home = tmp_path / "home"
    data = home / ".local" / "share"
    own = data / "terrafind" / "demo"  # the app's own data (platformdirs' user_data_dir): never touched
    own.mkdir(parents=True)
    (own / "keep.txt").write_text("the user's")
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    done = subprocess.run(
        ["sh", str(stage / "install.sh"), "--selftest"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "terrafind ran with: --selftest" in done.stdout
    app = data / "terrafind-app"
    assert (app / "current").resolve() == app / "9.9.9" and (app / "9.9.9" / "terrafind").exists()
    desktop = (data / "applications" / "terrafind.desktop").read_text()
    assert f'Exec="{app}/current/terrafind" %f' in desktop.splitlines()
    assert "MimeType=application/x-terrafind-project;" in desktop
    assert "*.terrafind" in (data / "mime" / "packages" / "terrafind.xml").read_text()
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "terrafind.svg").exists()
    if shutil.which("desktop-file-validate"):
        assert (
            subprocess.run(
                ["desktop-file-validate", "--no-hints", str(data / "applications" / "terrafind.desktop")]
            ).returncode
            == 0
        )
    if shutil.which("update-mime-database"):
        assert "application/x-terrafind-project:*.terrafind" in (data / "mime" / "globs2").read_text()

    done = subprocess.run(["sh", str(app / "uninstall.sh")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not app.exists() and not (data / "applications" / "terrafind.desktop").exists()
    assert (own / "keep.txt").read_text() == "the user's"


@pytest.mark.skipif(shutil.which("makeself") is None, reason="makeself (installer/build.sh installs it)")
def test_linux_run_file_checks_itself_installs_and_starts(tmp_path):
    app = _fake_app(tmp_path / "dist" / "terrafind")
    run = tmp_path / "Terrafind-9.9.9-linux-x86_64.run"
    png = tmp_path / "terrafind.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    subprocess.run(
        [
            "bash",
            str(INSTALLER / "linux" / "build_run.sh"),
            str(app),
            "9.9.9",
            str(run),
            str(png),
            str(ROOT / "resources" / "icons" / "terrafind.svg"),
        ],
        check=True,
        capture_output=True,
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["sh", str(run), "--quiet", "--", "--hello"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and "terrafind ran with: --hello" in done.stdout, done.stderr
    assert (tmp_path / "home" / ".local" / "share" / "terrafind-app" / "9.9.9" / "terrafind").exists()
    # A damaged download refuses to unpack (makeself's SHA-256).
    data = bytearray(run.read_bytes())
    data[-100] ^= 0xFF
    bad = tmp_path / "bad.run"
    bad.write_bytes(bytes(data))
    done = subprocess.run(
        ["sh", str(bad), "--quiet", "--", "--hello"], env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "terrafind ran with" not in done.stdout


def test_hosted_ci_workflow_builds_every_system_with_the_checked_in_scripts():
    yaml = pytest.importorskip("yaml")
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "bundles.yml").read_text())
    jobs = flow["jobs"]
    targets = {item["target"]: item["os"] for item in jobs["bundle"]["strategy"]["matrix"]["include"]}
    assert targets == {
        "windows-x86_64": "windows-2022",
        "macos-arm64": "macos-14",
        "macos-x86_64": "macos-15-intel",
    }
    assert jobs["linux"]["runs-on"] == "ubuntu-22.04"
    text = (ROOT / ".github" / "workflows" / "bundles.yml").read_text()
    for script in (
        "scripts/check_platforms.py",
        "scripts/fetch_web_assets.py",
        "installer/stage_demo.py",
        "installer/terrafind.spec",
        "installer/build.sh",
        "installer/linux/make_appdir.sh",
    ):
        assert script in text and (ROOT / script).exists(), script
    steps = " ".join(str(step.get("run", "")) for step in jobs["bundle"]["steps"])
    assert "--selftest" in steps and "New-NetFirewallRule" in steps and "sandbox-exec" in steps
