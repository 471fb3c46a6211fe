"""Which builds of Terrafind's libraries are installed, by the name people and pip know them by.

A module's import name is not always its distribution's name: ``import hnswlib`` comes from the
``chroma-hnswlib`` wheels (they ship binaries for Windows, macOS and Linux; upstream ``hnswlib`` is a source
archive only). Saved index files of the two are not interchangeable, so caches key on the distribution
*and* its version, looked up through the module rather than a hard-coded name.
"""

from __future__ import annotations

import functools
import importlib.metadata as md

__all__ = ["distribution_of", "library_versions", "build_of"]

# What the support report and a field pack's manifest list: distribution names, or an import name whose
# distribution is looked up (hnswlib).
REPORTED = (
    "terrafind",
    "PySide6-Essentials",
    "PySide6-WebEngine",
    "numpy",
    "pyarrow",
    "geopandas",
    "rasterio",
    "shapely",
    "pyproj",
    "hnswlib",
)


@functools.cache
def distribution_of(module: str) -> tuple[str, str] | None:
    """``(distribution name, version)`` of the installed distribution that provides ``module``, or None.

    ``packages_distributions`` maps top-level import names to distributions; when several provide the
    module (a broken environment), the first with readable metadata wins, in a stable order. Cached: the
    first call reads every installed distribution's file list (~0.2 s).
    """
    for name in sorted(md.packages_distributions().get(module, [])):
        try:
            return md.metadata(name)["Name"], md.version(name)
        except md.PackageNotFoundError:
            continue
    return None


def library_versions(names: tuple[str, ...] = REPORTED) -> dict[str, str]:
    """``{distribution name: version}`` for those of ``names`` that are installed; a name that is no
    distribution is taken as an import name (``hnswlib`` -> ``chroma-hnswlib``)."""
    out: dict[str, str] = {}
    for name in names:
        if name == "terrafind":  # the package's own: the frozen app carries no metadata for it
            import terrafind

            out[name] = terrafind.__version__
            continue
        try:
            out[name] = md.version(name)
            continue
        except md.PackageNotFoundError:
            pass
        found = distribution_of(name)
        if found is not None:
            out[found[0]] = found[1]
    return out


def build_of(module: str) -> str:
    """``"chroma-hnswlib 0.7.6"``: the distribution and version behind ``module``, for cache keys."""
    found = distribution_of(module)
    return " ".join(found) if found else f"{module} (no distribution metadata)"
