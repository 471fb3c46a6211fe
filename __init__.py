"""Terrafind: search the Earth by example, offline.

Installed, this folder is the ``terrafind`` package: ``terrafind.core`` (the engine, no Qt) and
``terrafind.gui`` (the desktop app). In a checkout the folders stay at the top of the repository and
``pip install -e .`` maps them under this one name (pyproject.toml, ``package-dir``).
"""

__version__ = "0.1.0"
