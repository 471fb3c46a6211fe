"""Which library builds are installed, by distribution: the index cache and packs key on them."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from synth import chip_polygons, clustered_vectors, grid_layout

import terrafind
from terrafind.core.catalog import Catalog
from terrafind.core.pack.layout import versions
from terrafind.core.search.index import IndexParams, index_paths, load_or_build_index
from terrafind.core.versions import build_of, distribution_of, library_versions


def test_hnswlib_comes_from_the_wheel_distribution():
    # The module is `hnswlib`; the distribution with binary wheels for every platform is chroma-hnswlib.
    assert distribution_of("hnswlib") == ("chroma-hnswlib", "0.7.6")
    assert build_of("hnswlib") == "chroma-hnswlib 0.7.6"
    assert distribution_of("no_such_module_here") is None
    assert build_of("no_such_module_here") == "no_such_module_here (no distribution metadata)"


def test_library_versions_name_distributions():
    found = library_versions()
    assert found["terrafind"] == terrafind.__version__
    assert found["chroma-hnswlib"] == "0.7.6" and "hnswlib" not in found
    assert found["PySide6-Essentials"].startswith("6.")
    assert library_versions(("no-such-distribution",)) == {}
    # A field pack records the same names.
    assert versions()["chroma-hnswlib"] == "0.7.6" and "gdal" in versions()


def test_an_index_saved_by_another_hnswlib_build_is_rebuilt(tmp_path):
    # Upstream hnswlib and chroma-hnswlib cannot read each other's files: same version number or not,
    # a cache from the other build must be rebuilt, never loaded.
    n, d = 600, 16
    centres, half, labels = grid_layout(n, seed=3)
    v = clustered_vectors(n, d, labels, seed=3)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    catalog = Catalog(
        v,
        np.array([f"c{i}" for i in range(n)], dtype=object),
        chip_polygons(centres, half),
        pa.table({"n": np.arange(n)}),
    )
    params = IndexParams(chunk_rows=300, ef_construction=32)
    vi = load_or_build_index(catalog, params=params, cache_dir=tmp_path)
    _, sidecar = index_paths(vi.fingerprint, tmp_path)
    meta = json.loads(sidecar.read_text())
    assert meta["hnswlib"] == "chroma-hnswlib 0.7.6"
    assert load_or_build_index(catalog, params=params, cache_dir=tmp_path).from_cache
    sidecar.write_text(json.dumps(dict(meta, hnswlib="hnswlib 0.7.6")))
    again = load_or_build_index(catalog, params=params, cache_dir=tmp_path)
    assert not again.from_cache and again.query(v[7], 1)[0][0, 0] == 7
