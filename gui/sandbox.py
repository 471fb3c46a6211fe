"""Whether Chromium's sandbox can start here, decided before QtWebEngine loads.

QtWebEngine's renderers run in Chromium's namespace sandbox, which needs unprivileged user namespaces. It
cannot start (the map stays blank: "No usable sandbox!") when:

* the process is root (Chromium refuses);
* Ubuntu 23.10+/24.04 restricts unprivileged user namespaces through AppArmor
  (``kernel.apparmor_restrict_unprivileged_userns = 1``) and no AppArmor profile grants them to us: an app
  unpacked into the user's home or an AppImage has none, while the system's Chrome does;
* the kernel turns them off (``kernel.unprivileged_userns_clone = 0`` on older Debian kernels,
  ``user.max_user_namespaces = 0``).

Then the app turns the sandbox off for its own process and says so in the log. The map only ever shows the
app's own pages and the user's own imagery (every outside request goes through the network gate), which is
why running it without the sandbox is acceptable where the system forbids it. A person can always decide
with ``QTWEBENGINE_DISABLE_SANDBOX`` (0 or 1) themselves.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["sandbox_blocker"]


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def sandbox_blocker(proc: Path = Path("/proc"), euid: int | None = None) -> str | None:
    """Why Chromium's sandbox cannot start on this machine (one phrase for the log), or None when it can."""
    if euid is None:
        euid = os.geteuid() if hasattr(os, "geteuid") else -1
    if euid == 0:
        return "running as root"
    if not sys.platform.startswith("linux") and proc == Path("/proc"):
        return None
    if _read(proc / "sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        # Confined by a profile of our own (a packaged install may ship one): that profile decides.
        label = (
            _read(proc / "self/attr/apparmor/current") or _read(proc / "self/attr/current") or "unconfined"
        )
        if label.split(" ")[0] == "unconfined":
            return "AppArmor restricts unprivileged user namespaces (Ubuntu 23.10 and newer)"
    if _read(proc / "sys/kernel/unprivileged_userns_clone") == "0":
        return "the kernel does not allow unprivileged user namespaces"
    if _read(proc / "sys/user/max_user_namespaces") == "0":
        return "user namespaces are switched off (user.max_user_namespaces = 0)"
    return None
