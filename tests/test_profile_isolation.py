"""The suite never writes into the real user's profile (config, cache, data, Qt's settings).

tests/conftest.py points HOME and the XDG folders at a temporary folder before anything else runs. The
proof runs a probe test (a window that remembers a recent file and the dismissed demo hint from a
module-scoped fixture, a default QSettings, a map page) in a child pytest whose "real" home is a folder
we watch, and checks that nothing in that folder changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from suite_profile import PROFILE_VARS, SUITE_HOME

ROOT = Path(__file__).resolve().parents[1]


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
    }


def test_this_run_uses_its_own_profile():
    import platformdirs

    for var in PROFILE_VARS:
        assert Path(os.environ[var]).is_relative_to(SUITE_HOME), var
    assert Path.home().is_relative_to(SUITE_HOME)
    assert Path(platformdirs.user_config_dir("terrafind")).is_relative_to(SUITE_HOME)
    assert Path(platformdirs.user_cache_dir("terrafind")).is_relative_to(SUITE_HOME)
    assert Path(platformdirs.user_data_dir("terrafind")).is_relative_to(SUITE_HOME)


@pytest.mark.webengine
def test_a_run_leaves_the_real_profile_untouched(tmp_path):
    real = tmp_path / "real-home"
    for sub in (".config", ".cache", ".local/share"):
        (real / sub).mkdir(parents=True)
    (real / ".config" / "keep.txt").write_text("the user's own file")
    before = _tree(real)
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS and k != "TERRAFIND_HOME"}
    env.update(HOME=str(real), QT_QPA_PLATFORM="offscreen")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/gui/profile_probe.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "1 passed" in run.stdout
    assert _tree(real) == before  # not one file added, changed or removed
