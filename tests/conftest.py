"""Shared test set-up: the suite runs in a profile of its own, and every test gets its own Terrafind home.

Two layers, because some state outlives a test:

* At import (before Qt, QtWebEngine or platformdirs are used) ``HOME`` and the XDG folders point into a
  temporary folder for the whole run: Qt's QSettings and QStandardPaths, QtWebEngine's profile, file
  dialogs' history and anything a module-scoped fixture writes before the per-test home exists land there,
  never in the real user's ``~/.config``, ``~/.cache`` or ``~/.local/share``
  (tests/test_profile_isolation.py proves it).
* Each test gets its own ``TERRAFIND_HOME`` (``terrafind_home``), so no test sees another's config or cache.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/synth.py, tests/shared_data.py

# In a module of their own: a test that imports them from `conftest` would get tests/gui/conftest.py
# whenever the whole suite runs (both are the module `conftest`).
from suite_profile import PROFILE_VARS, REAL_PROFILE, SUITE_HOME  # noqa: E402,F401

for _var, _sub in PROFILE_VARS.items():
    (SUITE_HOME / _sub).mkdir(parents=True, exist_ok=True)
    os.environ[_var] = str(SUITE_HOME / _sub)
os.environ.pop("TERRAFIND_HOME", None)  # a user's own redirect must not leak in either

from shared_data import ROOT, SHARED_DATA, shared_file  # noqa: E402,F401  (re-exported for fixtures)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SUITE_HOME, ignore_errors=True)


@pytest.fixture(autouse=True)
def terrafind_home(tmp_path, monkeypatch):
    home = tmp_path / "terrafind-home"
    monkeypatch.setenv("TERRAFIND_HOME", str(home))
    yield home
    from terrafind.core.net.gate import gate

    gate().reset_session()  # grants of one test never help the next
    gate().online = True


@pytest.fixture
def allow_sites():
    """``allow_sites(url, ...)``: let this test's process fetch from those sites (and plain http, which the
    local test servers speak), as a user who allowed them would."""
    from terrafind.core.net.gate import gate
    from terrafind.core.net.locations import locate

    def allow(*urls: str) -> None:
        gate().set_allow_http(True)
        for url in urls:
            text = url.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0")
            gate().allow(locate(text).site, "*", remember=False)

    return allow


@pytest.fixture
def ei_file(tmp_path):
    """A small Earth Index-layout file (500 chips x 384-d, polygons), with its ground truth."""
    from synth import write_earth_index

    return write_earth_index(tmp_path / "31TEST_2024-01-01_2025-01-01.parquet", n=500, d=384)
