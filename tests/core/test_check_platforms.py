"""scripts/check_platforms.py: how it reads pip's answers (the real run against the index is in .ci/run)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("check_platforms", ROOT / "scripts" / "check_platforms.py")
cp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cp)


class FakePip:
    """Answers `pip install --dry-run` like pip: no wheel for the names in ``no_wheel``; a report otherwise."""

    def __init__(self, no_wheel: set[str], sdist: set[str] = frozenset()):
        self.no_wheel, self.sdist, self.calls = no_wheel, sdist, []

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        self.calls.append(args)
        reqs = [a for a in args if a[0].isalpha() and "==" in a]
        for req in reqs:
            if cp.req_name(req) in self.no_wheel:
                err = f"ERROR: No matching distribution found for {req.split('==')[0]}\n"
                return subprocess.CompletedProcess(args, 1, "", err)
        report = Path(args[args.index("--report") + 1])
        install = [
            {
                "metadata": {"name": cp.req_name(r)},
                "download_info": {
                    "url": f"https://x/{r}.tar.gz" if cp.req_name(r) in self.sdist else f"https://x/{r}.whl"
                },
            }
            for r in reqs
        ]
        report.write_text(json.dumps({"install": install}))
        return subprocess.CompletedProcess(args, 0, "", "")


REQS = ["PySide6-Essentials==6.12.0", "hnswlib==0.8.0", "numpy==2.0", "gpxpy==1.6"]


def test_every_failing_package_is_named_not_just_the_first(tmp_path, monkeypatch):
    fake = FakePip({"hnswlib", "gpxpy"})
    monkeypatch.setattr(cp, "pip", fake)
    failing, count = cp.resolve(REQS, ["win_amd64"], "3.11", tmp_path, tmp_path, [])
    assert failing == ["hnswlib", "gpxpy"] and count == 2
    last = fake.calls[-1]
    assert "--only-binary=:all:" in last and last[last.index("--platform") + 1] == "win_amd64"
    assert last[last.index("--abi") + 1] == "cp311" and "hnswlib==0.8.0" not in last


def test_all_wheels_pass_and_a_source_archive_in_the_report_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(cp, "pip", FakePip(set()))
    assert cp.resolve(REQS, ["macosx_14_0_arm64"], "3.11", tmp_path, tmp_path, []) == ([], 4)
    monkeypatch.setattr(cp, "pip", FakePip(set(), sdist={"numpy"}))
    assert cp.resolve(REQS, ["macosx_14_0_arm64"], "3.11", tmp_path, tmp_path, [])[0] == [
        "numpy (not a wheel)"
    ]


def test_a_dependency_without_a_wheel_and_other_errors_are_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(
        cp,
        "pip",
        lambda *a: subprocess.CompletedProcess(
            a, 1, "", "ERROR: No matching distribution found for libfoo\n"
        ),
    )
    assert cp.resolve(REQS, ["win_amd64"], "3.11", tmp_path, tmp_path, []) == (["libfoo (a dependency)"], 0)
    monkeypatch.setattr(cp, "pip", lambda *a: subprocess.CompletedProcess(a, 1, "", "ERROR: network down\n"))
    assert cp.resolve(REQS, ["win_amd64"], "3.11", tmp_path, tmp_path, []) == (["ERROR: network down"], 0)


def test_platform_floors_are_the_ones_the_dependencies_need():
    # PySide6 6.12: manylinux_2_34 and macOS 14; rasterio 1.4.4's only Intel Mac wheel: macOS 15.
    assert "manylinux_2_34_x86_64" in cp.PLATFORMS["linux-x86_64"]
    assert cp.PLATFORMS["macos-arm64"] == ["macosx_14_0_arm64"]
    assert cp.PLATFORMS["macos-x86_64"] == ["macosx_15_0_x86_64"]
    assert cp.PLATFORMS["windows-x86_64"] == ["win_amd64"]
