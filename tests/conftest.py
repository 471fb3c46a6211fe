"""Shared test set-up: every test gets its own Terrafind home, so no user's config or cache leaks in."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/synth.py


@pytest.fixture(autouse=True)
def terrafind_home(tmp_path, monkeypatch):
    home = tmp_path / "terrafind-home"
    monkeypatch.setenv("TERRAFIND_HOME", str(home))
    return home


def shared_file(*parts: str) -> Path:
    """A file from ../shared/data, or skip the test cleanly when the samples are not beside the checkout."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"sample data not present: {path}")
    return path


@pytest.fixture
def ei_file(tmp_path):
    """A small Earth Index-layout file (500 chips x 384-d, polygons), with its ground truth."""
    from synth import write_earth_index

    return write_earth_index(tmp_path / "31TEST_2024-01-01_2025-01-01.parquet", n=500, d=384)
