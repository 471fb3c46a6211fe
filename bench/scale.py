"""A landscape on a laptop: every figure of issue 12's goals table at 1 M or 10 M chips, next to its goal.

Run by hand (never from tests); the 10 M case takes an hour or more and ~20 GB of disk::

    nice .venv/bin/python bench/scale.py --rows 1e6 --dir /tmp/tf-scale-1m
    nice .venv/bin/python bench/scale.py --rows 1e7 --dir /tmp/tf-scale-10m --selftest > 10m.txt 2>&1 &

Phases, each in a child process of its own so that its peak memory is its own (VmHWM):

``gen``     the synthetic region (bench/scale_data.py: Earth Index layout, written streaming) and the exact
            float32 top-100 of 200 queries (100 "coherent": 1-3 chips of one patch; 100 "random": the
            mean of 1-3 unrelated chips);
``bare``    a bare pyarrow read of the vector column (the fastest of one thread and two), the yardstick;
``open``    the first open: read + write the app cache (``open_catalog``), then exact searches;
``index``   the index built from the cache, with exact searches *while it builds*, then indexed queries
            (latency, recall@100 against the exact float32 answer per query kind) and exact recall;
``reopen``  a new process opens the same region (page cache warm, then cold), searches exactly at once,
            loads the index afterwards;
``cli``     ``terrafind-cli search`` twice (the second answered from the app cache);
``selftest`` (with --selftest) ``terrafind --selftest FILE``: click -> example, click -> results drawn,
            the window's longest freeze, peak memory of the app (window, index process, map page);
``walk``    (with --selftest) bench/app_walk.py: the real window opens the file, waits for its index,
            searches, labels and refines, exports and packs a sub-region (times, freezes, memory).

A phase that fails is recorded with its error and the others still run; the table says "not measured"
for a figure whose phase did not run (and lists those phases) rather than printing nan.

Figures are written to DIR/results.json as they come (phases can be re-run alone with --phases) and
printed as a Markdown table for docs/performance.md. The bench keeps its own app cache in DIR/home.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

GOALS = {  # (1 M, 10 M)
    "open_ratio": (1.1, 1.1),
    "reopen_s": (1.0, 5.0),
    "peak_gb": (1.5, 6.0),
    "query_ms": (5.0, 50.0),
    "recall": (0.95, 0.95),
    "exact_building_ms": (150.0, 2000.0),
    "freeze_ms": (100.0, 100.0),
    "click_ms": (300.0, 500.0),
}


def _peak_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


def _rss_gb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1e6
    return float("nan")


def _truth(args) -> dict:
    z = np.load(args.truth, allow_pickle=False)
    return {
        "queries": z["queries"],
        "rows": z["top_rows"],
        "kinds": z["kinds"],
        "groups": [np.array(json.loads(g), np.int64) for g in z["groups"]],
    }


def _recall(found: np.ndarray, truth: np.ndarray, k: int = 100) -> float:
    return len(np.intersect1d(found[:k], truth[:k])) / k


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# --- children: one phase each, printing one JSON line --------------------------------------------------


def child_bare(args) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    path = str(args.file)
    meta = pq.ParquetFile(path).metadata
    t = time.perf_counter()
    n = sum(b.num_rows for b in pq.ParquetFile(path).iter_batches(batch_size=65_536, columns=["embedding"]))
    one = time.perf_counter() - t

    def group(g: int) -> int:
        with open(path, "rb") as fh:
            return pq.ParquetFile(fh).read_row_group(g, columns=["embedding"]).num_rows

    t = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        n2 = sum(pool.map(group, range(meta.num_row_groups)))
    two = time.perf_counter() - t
    assert n == n2 == meta.num_rows
    out = {
        "bare_1thread_s": one,
        "bare_2threads_s": two,
        "bare_s": min(one, two),
        "bare_peak_gb": _peak_gb(),
    }
    if meta.num_rows <= 2_000_000:  # pyarrow's whole-column read (bench/core.py's yardstick); never at 10 M
        t = time.perf_counter()
        table = pq.read_table(path, columns=["embedding"])
        out["read_table_s"] = time.perf_counter() - t
        del table
    return out


def _searches(catalog, truth, *, index=None, limit: int | None = None) -> dict:
    """search() as the app runs it, from each query's example rows: times and recall per kind."""
    from terrafind.core.search.query import search
    from terrafind.core.types import Examples

    out: dict = {}
    for kind in ("coherent", "random"):
        idx = [i for i, k in enumerate(truth["kinds"]) if k == kind][:limit]
        times, recalls, methods = [], [], []
        for i in idx:
            t = time.perf_counter()
            r = search(catalog, Examples(positives=[int(x) for x in truth["groups"][i]]), k=100, index=index)
            times.append((time.perf_counter() - t) * 1000)
            methods.append(r.method)
            # the examples themselves are left out of results: leave them out of the truth too
            want = [x for x in truth["rows"][i] if x not in set(truth["groups"][i].tolist())]
            recalls.append(len(np.intersect1d(r.rows[: len(want)], want)) / max(1, len(want)))
        # with an index, examples far apart are scored exactly (core.search.query._far_apart): apart
        graph = [t for t, m in zip(times, methods, strict=True) if m == "index"]
        exact = [t for t, m in zip(times, methods, strict=True) if m != "index"]
        out[kind] = {
            "ms_p50": _pct(times, 50),
            "ms_p90": _pct(times, 90),
            "recall": float(np.mean(recalls)),
            "n": len(idx),
            "graph_n": len(graph),
            "graph_ms_p50": _pct(graph, 50) if graph else None,
            "graph_ms_p90": _pct(graph, 90) if graph else None,
            "exact_n": len(exact),
            "exact_ms_p50": _pct(exact, 50) if exact else None,
        }
    return out


def child_open(args) -> dict:
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.search.exact import exact_topk
    from terrafind.core.store.layout import clear_stores

    clear_stores()
    t = time.perf_counter()
    cat = open_catalog(args.file)
    open_s = time.perf_counter() - t
    peak_open = _peak_gb()
    truth = _truth(args)
    first = []
    q = truth["queries"][0]
    t = time.perf_counter()
    exact_topk(cat.vectors, q, 100, partial=lambda r, s, done, n: first.append(time.perf_counter() - t))
    full = time.perf_counter() - t
    exact = _searches(cat, truth, limit=args.exact_queries)
    sizes = {k: v for k, v in cat.store.meta["sizes"].items()}
    return {
        "open_s": open_s,
        "open_peak_gb": peak_open,
        "exact": exact,
        "exact_first_results_s": first[0] if first else full,
        "exact_full_s": full,
        "store_sizes": sizes,
        "store_bytes": cat.store.size(),
        "clipped": cat.store.meta.get("clipped"),
        "code": cat.store.code,
        "peak_gb": _peak_gb(),
    }


def child_index(args) -> dict:
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.search.index import IndexParams, index_root, load_or_build_index

    cat = open_catalog(args.file)
    truth = _truth(args)
    params = IndexParams(**json.loads(args.params)) if args.params else IndexParams.for_rows(len(cat))
    state: dict = {"done": False, "progress": (0, 1)}
    during: list[float] = []

    def build() -> None:
        t = time.perf_counter()
        state["vi"] = load_or_build_index(
            cat, params=params, progress=lambda d, n, _: state.update(progress=(d, n))
        )
        state["build_s"] = time.perf_counter() - t
        state["done"] = True

    worker = threading.Thread(target=build)
    worker.start()
    from terrafind.core.search.query import search
    from terrafind.core.types import Examples

    i = 0
    while not state["done"]:  # a person searching while the index builds: exact answers meanwhile
        time.sleep(args.search_every)
        if state["done"]:
            break
        g = truth["groups"][i % len(truth["groups"])]
        t = time.perf_counter()
        search(cat, Examples(positives=[int(x) for x in g]), k=100)
        during.append((time.perf_counter() - t) * 1000)
        i += 1
    worker.join()
    vi = state["vi"]
    with_index = _searches(cat, truth, index=vi)
    folder = index_root(cat) / "index"
    return {
        "params": params.__dict__,
        "from_cache": bool(vi.from_cache),
        "build_s": state["build_s"],
        "exact_while_building_ms_p50": _pct(during, 50),
        "exact_while_building_ms_p90": _pct(during, 90),
        "exact_while_building_n": len(during),
        "indexed": with_index,
        "index_bytes": sum(p.stat().st_size for p in folder.glob("*.hnsw")),
        "rss_after_gb": _rss_gb(),
        "peak_gb": _peak_gb(),
    }


def _evict(folder: Path) -> None:
    """Drop the store's pages from the page cache (first-touch figures), touching no other file."""
    for p in folder.rglob("*"):
        if p.is_file():
            fd = os.open(p, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def child_reopen(args) -> dict:
    from terrafind.core.read.reader import open_catalog
    from terrafind.core.search.index import load_cached_index
    from terrafind.core.search.query import search
    from terrafind.core.store.layout import list_stores
    from terrafind.core.types import Examples

    if args.cold:
        for store in list_stores():  # the region's store and any cut from it (a pack's part)
            _evict(store.folder)
    t0 = time.perf_counter()
    cat = open_catalog(args.file)
    open_s = time.perf_counter() - t0
    truth = _truth(args)
    ex = Examples(positives=[int(x) for x in truth["groups"][0]])
    t = time.perf_counter()
    search(cat, ex, k=100)
    first_search_s = time.perf_counter() - t
    t = time.perf_counter()
    vi = load_cached_index(cat)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    search(cat, ex, k=100, index=vi)
    return {
        "reopen_s": open_s,
        "first_exact_search_s": first_search_s,
        "index_load_s": load_s,
        "index_found": vi is not None,
        "first_indexed_search_ms": (time.perf_counter() - t) * 1000,
        "peak_gb": _peak_gb(),
    }


CHILDREN = {"bare": child_bare, "open": child_open, "index": child_index, "reopen": child_reopen}


# --- the parent: phases, results, table --------------------------------------------------------------


def _run_child(args, phase: str, *extra: str) -> dict:
    env = dict(os.environ, TERRAFIND_HOME=str(args.dir / "home"))
    cmd = [
        sys.executable,
        __file__,
        "--child",
        phase,
        "--rows",
        str(args.rows),
        "--dir",
        str(args.dir),
        *extra,
    ]
    if args.params:
        cmd += ["--params", args.params]
    print(
        f"[{time.strftime('%H:%M:%S')}] {phase} {' '.join(extra)} (load {os.getloadavg()[0]:.1f})", flush=True
    )
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-4000:], file=sys.stderr, flush=True)
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise PhaseFailed(f"exit {out.returncode}: {last[:300]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run_cli(args) -> dict:
    env = dict(os.environ, TERRAFIND_HOME=str(args.dir / "home"))
    exe = Path(sys.executable).parent / "terrafind-cli"  # the venv this bench runs in
    truth = _truth(args)
    import pyarrow.parquet as pq
    from scale_data import centroids

    lon, lat = centroids(truth["groups"][0][:1])[0]
    out = {}
    for run in ("first", "second"):
        t = time.perf_counter()
        proc = subprocess.run(
            [
                str(exe),
                "search",
                str(args.file),
                "--at",
                f"{lon},{lat}",
                "-k",
                "100",
                "--out",
                str(args.dir / "hits.geojson"),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        out[f"{run}_s"] = time.perf_counter() - t
        out[f"{run}_rc"] = proc.returncode
        out[f"{run}_tail"] = proc.stdout.strip().splitlines()[:2]
    out["rows"] = pq.ParquetFile(args.file).metadata.num_rows
    return out


def _window_env(args) -> dict:
    """The environment of the app's window run by the bench: its own home, no display needed."""
    return dict(
        os.environ,
        TERRAFIND_HOME=str(args.dir / "home"),
        QT_QPA_PLATFORM="offscreen",
        QTWEBENGINE_DISABLE_SANDBOX="1",
    )


def _run_selftest(args) -> dict:
    env = _window_env(args)
    exe = Path(sys.executable).parent / "terrafind"
    proc = subprocess.run(
        [str(exe), "--selftest", str(args.file)], env=env, capture_output=True, text=True, timeout=7200
    )
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{")), "{}")
    report = json.loads(line)
    report["rc"] = proc.returncode
    return report


def _run_walk(args) -> dict:
    """bench/app_walk.py in the real window: open, index, search, label + refine, export, pack a part."""
    env = _window_env(args)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "app_walk.py"), str(args.file), str(args.dir / "walk")],
        env=env,
        capture_output=True,
        text=True,
        timeout=7200,
    )
    line = next((ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{")), None)
    if proc.returncode != 0 or line is None:
        print(proc.stderr[-4000:], file=sys.stderr, flush=True)
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PhaseFailed(f"exit {proc.returncode}: {last[:300]}")
    return json.loads(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=float, default=1e6)
    ap.add_argument("--dir", type=Path, default=None, help="work folder (data, app cache, results)")
    ap.add_argument("--phases", default="gen,bare,open,index,reopen,cli", help="comma-separated")
    ap.add_argument(
        "--selftest",
        action="store_true",
        help="also run terrafind --selftest and bench/app_walk.py on the file",
    )
    ap.add_argument("--params", default="", help="IndexParams as JSON (default: IndexParams.for_rows)")
    ap.add_argument("--exact-queries", type=int, default=None, help="exact searches per kind (default: all)")
    ap.add_argument("--search-every", type=float, default=2.0, help="seconds between searches while building")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.rows = int(args.rows)
    args.dir = (args.dir or Path(f"/tmp/tf-scale-{args.rows}")).resolve()
    args.dir.mkdir(parents=True, exist_ok=True)
    args.file = args.dir / f"region_{args.rows}.parquet"
    args.truth = args.dir / f"truth_{args.rows}.npz"
    if args.child:
        print(json.dumps(CHILDREN[args.child](args), default=float), flush=True)
        return
    results_path = args.dir / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    phases = args.phases.split(",") + (["selftest", "walk"] if args.selftest else [])

    def keep(name: str, value: dict) -> None:
        results[name] = value
        results_path.write_text(json.dumps(results, indent=1, default=float))

    for phase in phases:
        try:
            if phase == "gen":
                if not args.file.exists() or not args.truth.exists():
                    from scale_data import write_region

                    t = time.perf_counter()
                    write_region(args.rows, args.file, args.truth)
                    keep("gen", {"s": time.perf_counter() - t, "parquet_bytes": args.file.stat().st_size})
            elif phase == "reopen":
                keep("reopen_warm", _run_child(args, "reopen"))
                keep("reopen_cold", _run_child(args, "reopen", "--cold"))
            elif phase == "cli":
                keep("cli", _run_cli(args))
            elif phase == "selftest":
                keep("selftest", _run_selftest(args))
            elif phase == "walk":
                keep("walk", _run_walk(args))
            else:
                extra = ["--exact-queries", str(args.exact_queries)] if args.exact_queries else []
                extra += ["--search-every", str(args.search_every)] if phase == "index" else []
                got = _run_child(args, phase, *extra)
                old = results.get(phase, {})
                if (
                    phase == "index"
                    and got.get("from_cache")
                    and "build_s" in old
                    and not old.get("from_cache")
                ):
                    # the graph was built by an earlier run (queries measured again now): keep that run's
                    # build figures, which a load from the app cache cannot give
                    for k in [k for k in old if k.startswith(("build_s", "exact_while_building"))]:
                        got[k] = old[k]
                    got["build_measured_earlier"] = True
                keep(phase, got)
        except PhaseFailed as exc:  # the table says which phase failed; the others still run
            keep(phase, {"error": str(exc)})
    keep("load_avg", {"at_end": os.getloadavg()})
    print(table(results, args.rows))


class PhaseFailed(RuntimeError):
    pass


NA = "not measured"


def _f(value: object, spec: str, unit: str = "") -> str:
    """A figure, or NA when its phase did not run (never "nan": a missing figure must read as missing)."""
    if not isinstance(value, int | float) or value != value:
        return NA
    return f"{value:{spec}}{unit}"


def table(r: dict, rows: int) -> str:
    """The goals table (measured next to goal) from results.json; phases that did not run or failed are
    named under it."""
    col = 0 if rows < 5_000_000 else 1
    g = {k: v[col] for k, v in GOALS.items()}

    def get(*path, default=float("nan")):
        node = r
        for p in path:
            if not isinstance(node, dict) or p not in node:
                return default
            node = node[p]
        return node

    bare, first = get("bare", "bare_s"), get("open", "open_s")
    st = r.get("selftest", {})
    steps = st.get("steps", {})
    stalls = st.get("gui_max_stall_ms", {})
    freeze_steps = {
        k: stalls[k] for k in ("open", "index", "click", "results", "search_again") if k in stalls
    }
    freeze = max(freeze_steps.values()) if freeze_steps else float("nan")
    freeze_at = max(freeze_steps, key=freeze_steps.get) if freeze_steps else ""
    peaks = [get(k, "peak_gb") for k in ("open", "index", "reopen_warm")]
    peaks = [p for p in peaks if p == p]
    peak = max(peaks) if peaks else float("nan")
    mem = st.get("memory", {})
    app_gb = (mem.get("peak_rss_gb") or float("nan")) + (mem.get("index_peak_rss_gb") or 0.0)
    exact = get("open", "exact", default={})
    lines = [
        f"| figure ({rows:,} x 384) | goal | measured |",
        "| --- | --- | --- |",
        f"| first open of GeoParquet -> searchable (exact) | <= {g['open_ratio']}x bare read | "
        f"{_f(first / bare, '.2f', 'x')} ({_f(first, '.1f', ' s')}; bare pyarrow read of the vectors {_f(bare, '.1f', ' s')}, "
        f"the faster of one thread streaming and two threads reading row groups"
        + (
            f"; {first / get('bare', 'read_table_s'):.2f}x pq.read_table's {get('bare', 'read_table_s'):.1f} s"
            if "read_table_s" in r.get("bare", {})
            else ""
        )
        + ") |",
        f"| reopen (app cache) -> searchable | <= {g['reopen_s']:.0f} s | {_f(get('reopen_warm', 'reopen_s'), '.2f', ' s')} warm, "
        f"{_f(get('reopen_cold', 'reopen_s'), '.2f', ' s')} cold page cache; first exact search then "
        f"{_f(get('reopen_warm', 'first_exact_search_s'), '.2f', ' s')} / {_f(get('reopen_cold', 'first_exact_search_s'), '.2f', ' s')}; "
        f"index loaded after in {_f(get('reopen_warm', 'index_load_s'), '.1f', ' s')} warm / {_f(get('reopen_cold', 'index_load_s'), '.1f', ' s')} cold |",
        f"| peak memory: open + index + searching | <= {g['peak_gb']} GB | {_f(peak, '.2f', ' GB')} (first open "
        f"{_f(get('open', 'peak_gb'), '.2f')}, build + queries {_f(get('index', 'peak_gb'), '.2f')}, reopen {_f(get('reopen_warm', 'peak_gb'), '.2f')}) |",
        f"| ... with the window (terrafind --selftest) | <= {g['peak_gb']} GB | {_f(app_gb, '.2f', ' GB')} (app "
        f"{_f(mem.get('peak_rss_gb'), '.2f')} + index process {_f(mem.get('index_peak_rss_gb'), '.2f')}) + "
        f"{_f(mem.get('web_peak_rss_gb'), '.2f', ' GB')} map page |",
    ]
    for kind in ("coherent", "random"):
        lines.append(
            f"| top-100 with the index, {kind} queries | <= {g['query_ms']:.0f} ms, recall@100 >= {g['recall']} | "
            f"recall {_f(get('index', 'indexed', kind, 'recall'), '.3f')}; "
            f"{_f(get('index', 'indexed', kind, 'graph_n'), '.0f')} by the graph in "
            f"{_f(get('index', 'indexed', kind, 'graph_ms_p50'), '.1f', ' ms')} p50 / "
            f"{_f(get('index', 'indexed', kind, 'graph_ms_p90'), '.1f', ' ms')} p90, "
            f"{_f(get('index', 'indexed', kind, 'exact_n'), '.0f')} with examples far apart scored exactly in "
            f"{_f(get('index', 'indexed', kind, 'exact_ms_p50'), '.0f', ' ms')} p50 |"
        )
    for kind in ("coherent", "random"):
        lines.append(
            f"| exact search (int8 app cache), {kind} | recall vs float32 | {_f(exact.get(kind, {}).get('recall'), '.3f')}, "
            f"{_f(exact.get(kind, {}).get('ms_p50'), '.0f', ' ms')} p50 with no build running |"
        )
    walk = r.get("walk", {})
    lines += [
        f"| exact search while the index builds | {'<= 150 ms' if col == 0 else 'streamed, first results <= 2 s'} | "
        f"{_f(get('index', 'exact_while_building_ms_p50'), '.0f', ' ms')} p50 / {_f(get('index', 'exact_while_building_ms_p90'), '.0f', ' ms')} p90 "
        f"({_f(get('index', 'exact_while_building_n'), 'd')} searches); streamed scan: first results "
        f"{_f(get('open', 'exact_first_results_s'), '.2f', ' s')}, all {_f(get('open', 'exact_full_s'), '.2f', ' s')} |",
        f"| longest window freeze during open / search | < {g['freeze_ms']:.0f} ms | {_f(freeze, '.0f', ' ms')}"
        f"{f' ({freeze_at})' if freeze_at else ''} |",
        f"| click on the map -> example registered | | {_f(steps.get('click'), '.0f', ' ms')} |",
        f"| click on the map -> results drawn (map, gallery, plot) | <= {g['click_ms']:.0f} ms | {_f(steps.get('results'), '.0f', ' ms')} |",
        f"| index build (from the app cache) | | {_f(get('index', 'build_s') / 60, '.1f', ' min')} "
        f"({json.dumps(get('index', 'params', default={}))[:120]}) |",
        f"| on disk | | GeoParquet {_f(get('gen', 'parquet_bytes') / 1e9, '.2f', ' GB')}; app cache "
        f"{_f(get('open', 'store_bytes') / 1e9, '.2f', ' GB')}; index {_f(get('index', 'index_bytes') / 1e9, '.2f', ' GB')} |",
        f"| terrafind-cli search, first / second run | | {_f(get('cli', 'first_s'), '.1f', ' s')} / {_f(get('cli', 'second_s'), '.1f', ' s')} |",
        "| the app walk: open, search, label + refine, export, pack a sub-region | | "
        + (
            ", ".join(f"{k} {v / 1000:.1f} s" for k, v in walk.get("steps", {}).items())
            + f"; longest freeze {max(walk.get('gui_max_stall_ms', {'-': float('nan')}).values()):.0f} ms"
            if walk.get("steps")
            else NA
        )
        + " |",
    ]
    failed = [f"{k}: {v['error']}" for k, v in r.items() if isinstance(v, dict) and "error" in v]
    missing = [
        k
        for k in ("gen", "bare", "open", "index", "reopen_warm", "reopen_cold", "cli", "selftest", "walk")
        if k not in r
    ]
    if failed:
        lines.append("\nFailed phases: " + "; ".join(failed))
    if missing:
        lines.append(f"\nNot run (results.json has no figures for them): {', '.join(missing)}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
