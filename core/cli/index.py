"""``terrafind-cli index PATH...``: build (or check and reuse) the cached search index, with a progress bar."""

from __future__ import annotations

import argparse
import time
from typing import Any

from terrafind.core.cli import add_input_args, progress_for, session_from_args

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("index", help="build the cached search index", description=__doc__)
    add_input_args(p)
    p.add_argument("--rebuild", action="store_true", help="build anew even when a valid index is cached")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from terrafind.core.search.index import IndexParams, index_paths, index_root, load_or_build_index

    session = session_from_args(args, progress_for(always=True))
    catalog = session.catalog
    params = IndexParams.for_rows(len(catalog))
    index_file, sidecar = index_paths(
        catalog.fingerprint(extra=params.graph_key() + catalog.space_key()), index_root(catalog)
    )
    if args.rebuild:
        for p in (index_file, sidecar):
            p.unlink(missing_ok=True)
    t0 = time.perf_counter()
    vi = load_or_build_index(catalog, params=params, progress=progress_for(always=True))
    how = "reused from the cache" if vi.from_cache else "built"
    graph = f", graph on {vi.projection.dims} dimensions" if vi.projection is not None else ""
    print(f"Index of {len(vi):,} chips ({catalog.dim}-d{graph}) {how} in {time.perf_counter() - t0:.1f} s.")
    if index_file.exists():
        print(f"Saved at {index_file}")
    return 0
