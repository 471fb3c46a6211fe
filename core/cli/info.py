"""``terrafind-cli info PATH...``: what each file is (adapter, rows, dimensions, bbox, model, problems)."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("info", help="describe embeddings files", description=__doc__)
    p.add_argument("paths", nargs="+", metavar="PATH", help="GeoParquet file(s) or folder(s) of them")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    from terrafind.core.cli import add_network_args

    add_network_args(p)
    p.set_defaults(run=run)


def _model(model: Any) -> str:
    if not model:
        return "not stated"
    if isinstance(model, dict):
        inner: dict[str, Any] = model["model"] if isinstance(model.get("model"), dict) else model
        return str(inner.get("name") or inner.get("id") or json.dumps(model)[:80])
    return str(model)


def _bbox(box: Any) -> str:
    return ", ".join(f"{v:.5f}" for v in box) if box else "unknown"


def run(args: argparse.Namespace) -> int:
    from terrafind.core.errors import InputError
    from terrafind.core.read.reader import inspect

    paths = [*_regions(args.paths, quiet=args.json)]
    entries = inspect(paths)
    if args.json:
        print(json.dumps(entries, indent=1, default=str))
    else:
        for e in entries:
            print(e["path"])
            print(f"  adapter   {e['adapter'] or 'not usable'}")
            print(f"  rows      {e['rows'] if e['rows'] is not None else '?'}")
            print(f"  dims      {e['dim'] or '?'}")
            print(f"  bbox      {_bbox(e['bbox'])}  (W, S, E, N)")
            made_with = ((e.get("v1") or {}).get("values") or {}).get("source_model") or []
            model = _model(e["model"]) if e["model"] or not made_with else made_with[0][0]
            print(f"  model     {model}")
            if e["columns"]:
                print(f"  columns   {', '.join(e['columns'])}")
            for name, text in (e.get("v1") or {}).get("lines", []):  # the Clay v1 fields, when present
                print(f"  {name:<9} {text}")
            print(f"  problems  {'; '.join(e['problems']) if e['problems'] else 'none'}")
    unusable = [e for e in entries if e["adapter"] is None]
    if unusable:
        first = unusable[0]
        raise InputError(first["problems"][0] if first["problems"] else f"{first['path']} cannot be used.")
    return 0


def _regions(paths: list[str], *, quiet: bool) -> Any:
    """The paths, with a sharded region's folder replaced by its tiles (after a line about the region)."""
    from pathlib import Path

    from terrafind.core.shards.manifest import is_sharded, read_manifest, real_path

    for p in paths:
        if not is_sharded(p):
            yield p
            continue
        shards = read_manifest(Path(p))["shards"]
        if not quiet:
            dates = sorted({str(s.get("date")) for s in shards if s.get("date")})
            rows = sum(int(s.get("rows", 0)) for s in shards)
            print(f"{p}: a sharded region of {len(shards)} tile(s), {rows:,} chips"
                  + (f", dates {', '.join(dates)}" if dates else ""))  # fmt: skip
        yield from (str(real_path(Path(p), f["path"])) for s in shards for f in s["files"])
