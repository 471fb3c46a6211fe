"""Benchmark of the core engine: open, exact search, hnswlib build / reopen / query / recall, memory.

Run by hand (not a test); it prints a Markdown table for docs/performance.md::

    .venv/bin/python bench/core.py                 # 100k and 1M chips x 384-d (1M: ~10 min, ~8 GB RAM)
    .venv/bin/python bench/core.py --sizes 100k    # quick run (~1 min)
    .venv/bin/python bench/core.py --switch        # exact-search time against N, for EXACT_MAX_ROWS

Data: clustered synthetic vectors in the Earth Index layout (tests/synth.py), written once to bench/out/
(git-ignored). Each size runs in its own process so that peak RSS belongs to that size alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SIZES = {"100k": 100_000, "300k": 300_000, "1m": 1_000_000}
DIM = 384
N_QUERIES = 50


def _status_gb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1e6  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _peak_rss_gb() -> float:
    return _status_gb("VmHWM")


def _reset_peak() -> None:
    """Linux: writing 5 to clear_refs resets the peak RSS, so the bare-read baseline does not count."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def structured_vectors(labels: np.ndarray, d: int, seed: int = 0) -> np.ndarray:
    """Unit vectors with the structure of real embeddings (as in research/perf-baseline.md): clusters of
    sub-clusters in a 32-d latent space, mapped to d dimensions with a decaying spectrum, 20 % isotropic
    noise, 3 % outliers. tests/synth.py's isotropic clusters put every in-cluster pair at the same cosine,
    a worst case for any graph index that real data does not show (both are measured: --data)."""
    rng = np.random.default_rng(seed)
    n, latent, n_sub = len(labels), 32, 8
    c = int(labels.max()) + 1
    centres = rng.standard_normal((c, latent)).astype(np.float32) * 1.5
    subs = centres[:, None, :] + rng.standard_normal((c, n_sub, latent)).astype(np.float32) * 0.6
    spread = rng.uniform(0.15, 0.5, size=(c, latent)).astype(np.float32)  # anisotropic
    spectrum = (1.0 / np.sqrt(1.0 + np.arange(latent))).astype(np.float32)
    mix = rng.standard_normal((latent, d)).astype(np.float32) * spectrum[:, None]
    out = np.empty((n, d), np.float32)
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        lab = labels[s:e]
        z = (
            subs[lab, rng.integers(0, n_sub, e - s)]
            + rng.standard_normal((e - s, latent)).astype(np.float32) * spread[lab]
        )
        x = z @ mix
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        noise = rng.standard_normal((e - s, d)).astype(np.float32)
        x += 0.2 * noise / np.linalg.norm(noise, axis=1, keepdims=True)
        outliers = rng.random(e - s) < 0.03
        x[outliers] = rng.standard_normal((int(outliers.sum()), d)).astype(np.float32)
        out[s:e] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def data_file(n: int, kind: str = "structured") -> Path:
    """The synthetic Earth Index-layout file of n chips, written once to bench/out/.

    ``kind="synth"`` is tests/synth.write_earth_index as is; ``"structured"`` is the same layout (id,
    embedding fixed_size_list<float32>[384], WKB polygons, geo + emb metadata) with structured vectors."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from synth import EMB_META, chip_polygons, grid_layout, write_earth_index

    path = OUT / f"ei_{kind}_{n}x{DIM}.parquet"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    if kind == "synth":
        write_earth_index(tmp, n=n, d=DIM, n_clusters=50, row_group_size=65_536)
    else:
        written = write_earth_index(tmp, n=1000, d=DIM)  # borrow its metadata layout
        meta = pq.read_schema(tmp).metadata
        centres, half, labels = grid_layout(n, n_clusters=50)
        vecs = structured_vectors(labels, DIM) * np.float32(1.7)  # real products are not unit length
        polys = chip_polygons(centres, half)
        geo = json.loads(meta[b"geo"])
        import shapely

        geo["columns"]["geometry"]["bbox"] = shapely.total_bounds(polys).tolist()
        emb = json.loads(json.dumps(EMB_META))
        emb["embedding"]["dim"] = DIM
        table = pa.table(
            {
                "id": pa.array([f"chip-{i:07d}" for i in range(n)], pa.string()),
                "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1)), DIM),
                "geometry": pa.array(shapely.to_wkb(polys)),
            }
        ).replace_schema_metadata({b"geo": json.dumps(geo).encode(), b"emb": json.dumps(emb).encode()})
        del written, vecs
        pq.write_table(table, tmp, row_group_size=65_536, compression="zstd")
    os.replace(tmp, path)
    return path


def bare_read(path: Path) -> np.ndarray:
    """The floor: pyarrow reads the embedding column and its child buffer becomes one (N, d) matrix."""
    import pyarrow.parquet as pq

    col = pq.read_table(path, columns=["embedding"]).column("embedding")
    out = np.empty((len(col), DIM), np.float32)
    pos = 0
    for chunk in col.chunks:
        vals = chunk.flatten().to_numpy(zero_copy_only=True).reshape(-1, DIM)
        out[pos : pos + len(vals)] = vals
        pos += len(vals)
    return out


def make_queries(vectors: np.ndarray, seed: int = 7) -> np.ndarray:
    """Queries that are not rows: a chip's vector plus noise, and normalised means of 3 neighbouring chips
    (rows r, r+1, r+2 sit side by side on the grid, as a user's examples of one thing would)."""
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(vectors) - 2, size=N_QUERIES)[:, None] + np.arange(3)[None, :]
    single = (
        vectors[rows[: N_QUERIES // 2, 0]]
        + rng.standard_normal((N_QUERIES // 2, DIM)).astype(np.float32) * 0.02
    )
    means = vectors[rows[N_QUERIES // 2 :]].mean(axis=1)
    q = np.concatenate([single, means]).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def recall(approx: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(a, t)) / len(t) for a, t in zip(approx, truth, strict=True)]))


def _finish_open_times(res: dict, open_catalog, path: Path, times: list[float], repeats: int) -> None:
    """Time the bare column read and more opens, alternating, so that other jobs on the machine weigh on
    both alike (the ratio is the figure that matters)."""
    bare: list[float] = []
    for _ in range(repeats):
        t = time.perf_counter()
        bare_read(path)
        bare.append(time.perf_counter() - t)
        if open_catalog is not None and times:
            from terrafind.core.store.layout import clear_stores

            clear_stores()  # a first open each time (a reopen maps the app cache: bench/scale.py)
            t = time.perf_counter()
            open_catalog([path])
            times.append(time.perf_counter() - t)
    res["bare_read_s"] = statistics.median(bare)
    if times:
        res["open_s"] = statistics.median(times)
        res["open_min_s"], res["bare_read_min_s"] = min(times), min(bare)


def run_one(label: str, kind: str, reuse_index: bool, skip_index: bool) -> dict:
    """All measurements for one size, in this process."""
    from terrafind.core.catalog import Catalog  # noqa: F401 - imported before timing so import cost is not counted
    from terrafind.core.search.exact import exact_topk
    from terrafind.core.search.index import IndexParams, build_index, load_or_build_index

    n = SIZES[label]
    path = data_file(n, kind)
    res: dict = {"size": label, "data": kind, "n": n, "dim": DIM, "load_start": os.getloadavg()[0]}
    repeats = 3 if n <= 300_000 else 2
    # The bare read comes last: Arrow's allocator keeps freed memory, which would count as our peak.
    res["baseline_rss_gb"] = _status_gb("VmRSS")
    try:
        from terrafind.core.read.reader import open_catalog
    except ImportError:
        open_catalog = None
    catalog = None
    open_times: list[float] = []
    if open_catalog is not None:
        try:
            # One open now (its memory is what the app holds); more timed opens at the end, since each
            # leaves freed-but-kept allocator memory behind that would inflate the peak.
            t = time.perf_counter()
            catalog = open_catalog([path])
            open_times = [time.perf_counter() - t]
        except Exception as exc:  # a reader still in the making must not stop the index figures
            res.pop("open_s", None)
            res["open_error"] = repr(exc)[:200]
    if (
        catalog is None
    ):  # without terrafind.core.read.reader: build the catalog from the bare read (no open time)
        import pyarrow as pa
        import shapely

        from terrafind.core.catalog import Catalog

        v = bare_read(path)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        catalog = Catalog(
            v,
            np.arange(n).astype(str).astype(object),
            shapely.points(np.zeros((n, 2))),
            pa.table({"i": np.arange(n)}),
        )
    res["open_peak_rss_gb"] = _peak_rss_gb()
    res["after_open_rss_gb"] = _status_gb("VmRSS")
    vectors = catalog.vectors
    queries = make_queries(vectors)
    for k in (100, 1000):
        times = [_median_ms(lambda q=q, k=k: exact_topk(vectors, q, k), 1) for q in queries[:20]]
        res[f"exact_top{k}_ms"], res[f"exact_top{k}_min_ms"] = statistics.median(times), min(times)
    truth = exact_topk(vectors, queries, 1000)[0]
    if skip_index:
        _finish_open_times(res, open_catalog, path, open_times if "open_error" not in res else [], repeats)
        return res
    params = IndexParams()
    cache = OUT / "cache"
    if not reuse_index:
        t = time.perf_counter()
        vi = build_index(catalog, params=params)
        res["build_s"] = time.perf_counter() - t
        from terrafind.core.search.index import _save, index_paths

        index_file, sidecar = index_paths(vi.fingerprint, cache)
        _save(vi, index_file, sidecar)
        res["index_file_gb"] = index_file.stat().st_size / 1e9
        del vi
    t = time.perf_counter()
    vi = load_or_build_index(catalog, params=params, cache_dir=cache)
    res["reopen_s"] = time.perf_counter() - t
    res["reopened_from_cache"] = vi.from_cache
    del vi
    t = time.perf_counter()
    vi = load_or_build_index(catalog, params=params, cache_dir=cache)
    res["reopen_s"] = min(res["reopen_s"], time.perf_counter() - t)  # best of 2: other jobs share the disk
    from terrafind.core.search.index import index_paths

    res["index_file_gb"] = index_paths(vi.fingerprint, cache)[0].stat().st_size / 1e9
    for k in (100, 1000):
        rows = np.concatenate([vi.query(q, k)[0] for q in queries])
        times = [_median_ms(lambda q=q, k=k, vi=vi: vi.query(q, k), 1) for q in queries]
        res[f"hnsw_top{k}_ms"], res[f"hnsw_top{k}_min_ms"] = statistics.median(times), min(times)
        res[f"recall@{k}"] = recall(rows, truth[:, :k])
    res["peak_rss_gb"] = _peak_rss_gb()
    res["vectors_gb"] = vectors.nbytes / 1e9
    res["rss_ratio"] = res["peak_rss_gb"] / (res["vectors_gb"] + res["index_file_gb"])
    del vi
    _finish_open_times(res, open_catalog, path, open_times if "open_error" not in res else [], repeats)
    res["load_end"] = os.getloadavg()[0]
    return res


def _matrix(path: Path) -> np.ndarray:
    """The unit vectors as the app holds them (terrafind.core.read.reader). Measured here: a matrix filled while the
    Arrow table of the bare read was alive scanned ~2x slower (median) than the reader's, likely for
    want of transparent huge pages, so the sweeps use the reader's."""
    try:
        from terrafind.core.read.reader import open_catalog

        return open_catalog([path]).vectors
    except ImportError:
        v = bare_read(path)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v


def switch_point() -> list[dict]:
    """Exact top-100 ms against N (slices of the 1M matrix): where exact stops being imperceptible."""
    from terrafind.core.search.exact import exact_topk

    v = _matrix(data_file(1_000_000))
    queries = make_queries(v)
    out = []
    for n in (25_000, 50_000, 100_000, 200_000, 300_000, 500_000, 750_000, 1_000_000):
        m = v[:n]
        times = [_median_ms(lambda q=q, m=m: exact_topk(m, q, 100), 1) for q in queries[:20]]
        # The minimum is what the machine can do; the median shows what other jobs on it cost us.
        row = {
            "n": n,
            "median_ms": statistics.median(times),
            "min_ms": min(times),
            "load": os.getloadavg()[0],
        }
        out.append(row)
        print(
            f"{n:>9,d}  exact top-100 median {row['median_ms']:7.1f} ms, min {row['min_ms']:7.1f} ms"
            f"  (load {row['load']:.1f})",
            flush=True,
        )
    return out


def contention() -> list[dict]:
    """Exact top-100 over 500k x 384 while an hnswlib index builds in a background thread (the app's
    situation until its index is ready): terrafind.core.search.exact's own split vs OpenBLAS's threads."""
    import threading

    import hnswlib

    from terrafind.core.search import exact

    v = _matrix(data_file(1_000_000))[:500_000]
    q = make_queries(v)[:15]
    stop = threading.Event()

    def build() -> None:
        idx = hnswlib.Index(space="ip", dim=DIM)
        idx.init_index(max_elements=200_000, ef_construction=200, M=16)
        idx.set_num_threads(2)
        for s in range(0, 200_000, 10_000):
            if stop.is_set():
                return
            idx.add_items(v[s : s + 10_000])

    def blas_threads() -> None:  # the plain version: one blocked scan, OpenBLAS's own 2 threads
        for qq in q:
            for s in range(0, len(v), exact.DEFAULT_BLOCK_ROWS):
                np.argpartition(-(v[s : s + exact.DEFAULT_BLOCK_ROWS] @ qq), 99)

    out = []
    for busy in (False, True):
        worker = threading.Thread(target=build) if busy else None
        if worker:
            worker.start()
            time.sleep(1.0)
        for name, fn in (
            ("split (terrafind.core.search.exact)", lambda: [exact.exact_topk(v, qq, 100) for qq in q]),
            ("OpenBLAS threads", blas_threads),
        ):
            t = time.perf_counter()
            fn()
            ms = (time.perf_counter() - t) * 1000 / len(q)
            row = {"index_building": busy, "method": name, "ms": ms, "load": os.getloadavg()[0]}
            out.append(row)
            print(
                f"index building: {busy!s:5}  {name:20} {ms:7.1f} ms/query  (load {row['load']:.1f})",
                flush=True,
            )
        if worker:
            stop.set()
            worker.join()
    return out


def table(results: list[dict]) -> str:
    def f(r: dict, key: str, fmt: str = "{:.2f}") -> str:
        if key not in r:
            return "n/a"
        lo = key[: -len("_ms")] + "_min_ms" if key.endswith("_ms") else key[: -len("_s")] + "_min_s"
        text = fmt.format(r[key])
        return f"{text} (min {fmt.format(r[lo])})" if lo != key and lo in r else text

    lines = [
        "| measure | target | " + " | ".join(f"{r['size']} x 384 ({r['data']})" for r in results) + " |",
        "|---|---|" + "---|" * len(results),
    ]
    rows = [
        ("bare pyarrow read of the column (s, median (min))", "", "bare_read_s", "{:.2f}"),
        ("open_catalog (s, median (min))", "", "open_s", "{:.2f}"),
        ("open / bare read", "<= 1.25", None, None),
        ("exact top-100 (ms/query, median (min))", "<= 120 at 1M", "exact_top100_ms", "{:.1f}"),
        ("exact top-1000 (ms/query, median (min))", "", "exact_top1000_ms", "{:.1f}"),
        ("index build (s)", "", "build_s", "{:.0f}"),
        ("index file (GB)", "", "index_file_gb", "{:.2f}"),
        ("cached index reopen, checks included (s, best of 2)", "<= 3 at 1M", "reopen_s", "{:.2f}"),
        ("hnswlib top-100 (ms/query, median (min))", "<= 2", "hnsw_top100_ms", "{:.2f}"),
        ("recall@100 vs exact", ">= 0.97", "recall@100", "{:.3f}"),
        ("hnswlib top-1000 (ms/query, median (min))", "", "hnsw_top1000_ms", "{:.2f}"),
        ("recall@1000 vs exact", "", "recall@1000", "{:.3f}"),
        ("RSS before open: interpreter + libraries (GB)", "", "baseline_rss_gb", "{:.2f}"),
        ("peak RSS while opening (GB)", "", "open_peak_rss_gb", "{:.2f}"),
        ("RSS with the catalog open (GB)", "", "after_open_rss_gb", "{:.2f}"),
        ("peak RSS, open to last query (GB)", "", "peak_rss_gb", "{:.2f}"),
        ("peak RSS / (vectors + index)", "<= 1.3", "rss_ratio", "{:.2f}"),
        ("load average (start / end)", "", None, None),
    ]
    for name, target, key, fmt in rows:
        cells = []
        for r in results:
            if name == "open / bare read":
                cells.append(
                    f"{r['open_s'] / r['bare_read_s']:.2f} (of minima {r['open_min_s'] / r['bare_read_min_s']:.2f})"
                    if "open_min_s" in r
                    else "n/a"
                )
            elif name.startswith("load average"):
                cells.append(
                    f"{r.get('load_start', 0):.1f} / {r.get('load_end', r.get('load_start', 0)):.1f}"
                )
            else:
                cells.append(f(r, key, fmt))
        lines.append(f"| {name} | {target} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100k,1m", help="comma list of: " + ", ".join(SIZES))
    ap.add_argument("--reuse-index", action="store_true", help="reopen the index cached by an earlier run")
    ap.add_argument("--skip-index", action="store_true", help="only open and exact search")
    ap.add_argument("--switch", action="store_true", help="measure exact time against N (switch point)")
    ap.add_argument("--data", default="structured", choices=["structured", "synth"], help="vector kind")
    ap.add_argument("--contention", action="store_true", help="exact search while an index builds")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.data, args.reuse_index, args.skip_index)))
        return
    if args.contention:
        json.dump(contention(), open(OUT / "contention.json", "w"), indent=1)
        return
    if args.switch:
        json.dump(switch_point(), open(OUT / "switch.json", "w"), indent=1)
        return
    results = []
    for label in args.sizes.lower().split(","):
        cmd = [sys.executable, __file__, "--one", label, "--data", args.data]
        cmd += ["--reuse-index"] if args.reuse_index else []
        cmd += ["--skip-index"] if args.skip_index else []
        print(f"running {label} ...", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, TERRAFIND_HOME=home)
            out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            sys.exit(f"{label} failed:\n{out.stderr}")
        res = json.loads(out.stdout.strip().splitlines()[-1])
        json.dump(res, open(OUT / f"core-{args.data}-{label}.json", "w"), indent=1)
        results.append(res)
    print(f"cores: {os.cpu_count()}, numpy {np.__version__}")
    print(table(results))


if __name__ == "__main__":
    main()
