"""Shared test set-up: every test gets its own Terrafind home, so no user's config or cache leaks in."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/synth.py, tests/shared_data.py

from shared_data import ROOT, SHARED_DATA, shared_file  # noqa: E402,F401  (re-exported for fixtures)


@pytest.fixture(autouse=True)
def terrafind_home(tmp_path, monkeypatch):
    home = tmp_path / "terrafind-home"
    monkeypatch.setenv("TERRAFIND_HOME", str(home))
    return home


@pytest.fixture
def ei_file(tmp_path):
    """A small Earth Index-layout file (500 chips x 384-d, polygons), with its ground truth."""
    from synth import write_earth_index

    return write_earth_index(tmp_path / "31TEST_2024-01-01_2025-01-01.parquet", n=500, d=384)
