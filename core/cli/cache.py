"""``terrafind-cli cache [--clear [KEY...]]``: the app cache of opened regions: what it holds, its size, clearing.

Every region Terrafind opens keeps its vectors, chips and search index in the app cache, so the next open
of the same files (by the app or the CLI) takes a moment instead of a full read. Clearing frees the disk
space; a cleared region is read again on its next open.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cache", help="list or clear the app cache of opened regions", description=__doc__
    )
    p.add_argument(
        "--clear",
        nargs="*",
        metavar="KEY",
        help="delete these regions' caches (every region's when no KEY is given)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from terrafind.core.errors import InputError
    from terrafind.core.store.layout import clear_stores, list_stores, regions_dir
    from terrafind.core.units import human_bytes

    if args.clear is not None:
        known = {i.key for i in list_stores()}
        unknown = [k for k in args.clear if k not in known]
        if unknown:
            raise InputError(f"No region in the app cache has the key {unknown[0]}: see terrafind-cli cache.")
        freed = clear_stores(args.clear or None)
        print(f"Freed {human_bytes(freed)} in {regions_dir()}.")
        return 0
    stores = list_stores()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "key": s.key,
                        "files": list(s.files),
                        "rows": s.rows,
                        "bytes": s.size,
                        "index": s.has_index,
                        "last_used": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(s.used)),
                    }
                    for s in stores
                ],
                indent=1,
            )
        )
        return 0
    total = sum(s.size for s in stores)
    print(f"App cache: {len(stores)} region(s), {human_bytes(total)} in {regions_dir()}")
    for s in stores:
        files = ", ".join(s.files[:3]) + (f" and {len(s.files) - 3} more" if len(s.files) > 3 else "")
        used = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.used))
        index = "index" if s.has_index else "no index yet"
        print(f"  {s.key}  {human_bytes(s.size):>9}  {s.rows:>11,} chips  {index:<12}  used {used}  {files}")
    return 0
