"""``terrafind --selftest PATH`` as a user (or the installer) runs it: a separate process, one JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.webengine


def _run(args, home, timeout=180):
    env = dict(os.environ, TERRAFIND_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "terrafind.gui.app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _report(proc) -> dict:
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, proc.stdout + proc.stderr[-2000:]
    return json.loads(lines[0])


def test_selftest_on_a_synthetic_file(tmp_path):
    from synth import write_earth_index

    data = write_earth_index(tmp_path / "synthetic.parquet", n=800, d=32, overlap=2.0)
    shot = tmp_path / "selftest.png"
    proc = _run(["--selftest", str(data["path"]), "--screenshot", str(shot)], tmp_path / "home")
    report = _report(proc)
    assert proc.returncode == 0, report
    assert report["ok"] is True
    assert set(report["steps"]) == {
        "page",
        "open",
        "index",
        "pan",
        "click",
        "results",
        "popup",
        "label",
        "search_again",
        "export",
    }
    # a real click on the centre of a mid-ranked hit (chips overlap by half) opens that very hit
    assert report["popup"]["clicked_rank"] == report["popup"]["shown_rank"] == 101
    counts = report["counts"]
    assert counts["results_on_map"] == counts["gallery_rows"] == 200
    assert counts["histogram_bins"] > 0
    assert counts["exported_features"] == 200
    assert counts["outside_requests"] == 0
    # measured from the mouse event: the example is registered first, the results drawn after the search
    steps = report["steps"]
    assert 0 < steps["click"] < steps["results"] and report["index"] == "not needed"
    assert report["memory"]["peak_rss_gb"] > 0.1 and report["memory"]["web_peak_rss_gb"] > 0
    assert shot.stat().st_size > 10_000
    # the self test leaves no session behind for the next start
    assert not list((tmp_path / "home").glob("data/*.terrafind"))


def test_selftest_names_the_failed_step(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_text("not parquet")
    proc = _run(["--selftest", str(bad)], tmp_path / "home")
    report = _report(proc)
    assert proc.returncode == 1
    assert report["ok"] is False and report["failed_step"] == "open"
    assert "broken.parquet" in report["error"]
