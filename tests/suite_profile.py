"""The suite's own profile folder (tests/conftest.py points HOME and the XDG folders into it).

A module of its own (not conftest) so tests can import it by a name no other conftest shadows.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SUITE_HOME = Path(tempfile.mkdtemp(prefix="terrafind-suite-home-"))
PROFILE_VARS = {
    "HOME": "home",
    "XDG_CONFIG_HOME": "home/.config",
    "XDG_CACHE_HOME": "home/.cache",
    "XDG_DATA_HOME": "home/.local/share",
    "XDG_STATE_HOME": "home/.local/state",
}
REAL_PROFILE = {var: os.environ.get(var) for var in PROFILE_VARS}  # what the user had (for the proof)
