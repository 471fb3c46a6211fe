"""The real public samples in ../shared/data, for tests that skip cleanly when they are absent.

A module of its own (not conftest) so tests can import it by a name no other conftest shadows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Beside the checkout (/work/main -> /work/shared), or one level up for a worktree (/work/wt/NAME).
SHARED_DATA = next(
    (p / "shared" / "data" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "data").is_dir()),
    ROOT.parent / "shared" / "data",
)


def shared_file(*parts: str) -> Path:
    """A file from ../shared/data, or skip the test cleanly when the samples are not beside the checkout."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"sample data not present: {path}")
    return path
