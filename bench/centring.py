"""Benchmark of centred similarity (issue 14): does taking the region's mean away spread the scores, and
does it cost any search quality? Run by hand (not a test); it prints Markdown tables for
docs/performance.md ("Centred similarity")::

    .venv/bin/python bench/centring.py                 # Clay v0 spread, demo and Pucallpa quality, index recall
    .venv/bin/python bench/centring.py --skip-index    # without the index recall run (a few minutes)

1. **Spread** on the real Clay v0 sample (../shared/data, 417 chips x 768-d): one click on each chip in
   turn, the top 400 hits' scores at the 10th/50th/90th percentile, plain cosine vs centred cosine (the
   median over all clicks, and the figures of one click), plus the same with a PCA whitening on top of
   centring (to see whether a whitening would add anything).
2. **Quality** where the truth is known: the demo region's precision@50 (3 example chips of open water /
   dense vegetation, 10 random example sets; tests/demo_quality.py) and the Pucallpa figures that are
   searches (tests/pucallpa_quality.py), plain vs centred.
3. **Index recall**: recall@100 of the hnswlib graph (core.search.index, default parameters) against the
   exact centred top 100, on a synthetic region with a planted common offset, for a graph built on the
   centred rows (what Terrafind does) and for a graph built on the plain rows queried with the centred
   query (what it would be without rebuilding).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
CLAY = ROOT.parent / "shared" / "data" / "clay-v0-embeddings" / "03WVN_20220610_20220610_v001.gpq"
if not CLAY.exists():
    CLAY = ROOT.parent.parent / "shared" / "data" / "clay-v0-embeddings" / CLAY.name


def _whitened(cat, keep: int = 64):
    """A centred-and-whitened copy of a small catalog's vectors (PCA to ``keep`` dims, unit variance)."""
    x = np.asarray(cat.plain[np.arange(len(cat))], np.float64)
    x = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    keep = min(keep, int(np.sum(s > 1e-9 * s[0])))
    w = x @ vt[:keep].T / s[:keep]
    return (w / np.linalg.norm(w, axis=1, keepdims=True)).astype(np.float32)


def spread() -> None:
    from terrafind.core.read.reader import open_catalog

    if not CLAY.exists():
        print("(Clay v0 sample not found: spread skipped)")
        return
    plain = open_catalog([CLAY])
    centred = plain.centred()
    spaces = {
        "plain cosine": np.asarray(plain.vectors[np.arange(len(plain))]),
        "centred cosine (Terrafind)": np.asarray(centred.vectors[np.arange(len(centred))]),
        "centred + whitened (PCA 64)": _whitened(plain),
    }
    print(f"\nClay v0 sample ({len(plain)} chips x {plain.dim}): top-400 scores of one click per chip\n")
    print("| scores | p10 | p50 | p90 | one click (chip 0): p10 / p50 / p90 | hits of 400 above 0.5 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, v in spaces.items():
        per = []
        above = []
        for row in range(len(v)):
            s = v @ v[row]
            s[row] = -np.inf
            top = np.sort(s)[::-1][:400]
            per.append(np.percentile(top, [10, 50, 90]))
            above.append(np.count_nonzero(top > 0.5))
        med = np.median(np.array(per), axis=0)
        one = per[0]
        print(f"| {name} | {med[0]:.3f} | {med[1]:.3f} | {med[2]:.3f} | "
              f"{one[0]:.3f} / {one[1]:.3f} / {one[2]:.3f} | {np.median(above):.0f} |")  # fmt: skip


def demo_quality(home: Path) -> None:
    from demo_quality import chip_class_shares, precision_at_k

    from terrafind.core.embed.demo import ensure_demo
    from terrafind.core.read.reader import open_catalog

    os.environ["TERRAFIND_HOME"] = str(home)
    region = ensure_demo()
    from dataclasses import replace

    plain = open_catalog(region.embeddings)
    whitened = replace(plain, vectors=_whitened(plain), store=None, norms=None)
    cats = {"plain": plain, "centred": plain.centred(), "whitened": whitened}
    shares = chip_class_shares(region.imagery_multiband, plain.ids)
    print(f"\nDemo region ({len(plain)} chips): precision@50 from 3 example chips, 10 random example sets\n")
    print(
        "| class | hit = share of class pixels | plain mean / worst | centred mean / worst | centred + whitened (PCA 64) mean / worst |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, share in shares.items():
        for hit in (0.5, 0.8):
            f = {k: precision_at_k(c, share, name, k=50, trials=10, seed=0, hit=hit) for k, c in cats.items()}
            cells = " | ".join(f"{f[k].mean:.3f} / {f[k].worst:.2f}" for k in cats)
            print(f"| {name} | >= {hit:.0%} | {cells} |")


PUCALLPA = [
    "water 1985 -> 2020, P@50",
    "detector 2010 -> 2020, precision",
    "detector 2010 -> 2020, recall",
    "P@100 cleared",
    "P@50 any 2000-2010",
    "history P@200 unusual",
]


def pucallpa() -> None:
    import pucallpa_quality as q

    with tempfile.TemporaryDirectory() as d:
        files, _ = q.build(Path(d))
        plain = q.measure(files, centred=False)
        centred = q.measure(files, centred=True)
    print(
        "\nPucallpa demo (8 Landsat dates): searches plain vs centred (comparisons of dates are the same)\n"
    )
    print("| figure | plain | centred |")
    print("|---|---:|---:|")
    for name in PUCALLPA:
        print(f"| {name} | {plain[name]:.2f} | {centred[name]:.2f} |")


def index_recall(rows: int, dim: int) -> None:
    import time

    from terrafind.core.catalog import Catalog
    from terrafind.core.search.exact import exact_topk
    from terrafind.core.search.index import build_index

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 200, rows)
    centres = rng.normal(size=(200, dim)) * 0.35
    offset = np.zeros(dim)
    offset[:8] = 3.0  # a common direction every chip shares (plain cosines 0.8-0.99)
    x = (offset + centres[labels] + rng.normal(size=(rows, dim)) * 0.3).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    import pyarrow as pa
    import shapely

    pts = shapely.points(rng.uniform(0, 1, rows), rng.uniform(0, 1, rows))
    plain = Catalog(x, np.array([str(i) for i in range(rows)], object), pts, pa.table({"a": np.zeros(rows)}))
    centred = plain.centred()
    t0 = time.perf_counter()
    on_centred = build_index(centred)
    t1 = time.perf_counter()
    on_plain = build_index(plain)
    t2 = time.perf_counter()
    qrows = rng.choice(rows, 60, replace=False)
    picks: list[np.ndarray] = []  # the chips each query is made of, to make the plain twin of each
    queries = [centred.vectors[int(r)] for r in qrows[:30]]
    picks += [np.array([r]) for r in qrows[:30]]
    for kind in labels[qrows[30:40]]:  # means of three chips of one kind, as people pick them
        three = rng.choice(np.flatnonzero(labels == kind), 3, replace=False)
        picks.append(three)
        v = centred.vectors[three].mean(axis=0)
        queries.append((v / np.linalg.norm(v)).astype(np.float32))
    for i in range(40, 58, 3):  # and means of three chips of different kinds (the hardest case)
        picks.append(qrows[i : i + 3])
        v = centred.vectors[qrows[i : i + 3]].mean(axis=0)
        queries.append((v / np.linalg.norm(v)).astype(np.float32))
    plain_queries = []
    for p in picks:
        v = plain.vectors[p].mean(axis=0)
        plain_queries.append((v / np.linalg.norm(v)).astype(np.float32))
    rec_c, rec_p, rec_c2, rec_base = [], [], [], []
    for q in queries:
        truth, _ = exact_topk(centred.vectors, q, 100)
        got_c, _ = on_centred.query(q, 100)
        rec_c.append(len(set(got_c[0]) & set(truth[0])) / 100)
        more = on_centred.candidates(q[None, :], 2 * on_centred.params.fetch_for(100, rows))[0]
        more = more[more >= 0]
        got_c2 = more[np.argsort(-(centred.vectors[more] @ q))[:100]]
        rec_c2.append(len(set(got_c2) & set(truth[0])) / 100)
        # a graph of the plain rows proposes candidates for the centred query; the centred view ranks them
        cand = on_plain.candidates(q[None, :], on_plain.params.fetch_for(100, rows))[0]
        cand = cand[cand >= 0]
        s = centred.vectors[cand] @ q
        got_p = cand[np.argsort(-s)[:100]]
        rec_p.append(len(set(got_p) & set(truth[0])) / 100)
        # the baseline: plain cosine throughout (plain graph, plain query, plain truth)
        qp = plain_queries[len(rec_base)]
        base_truth, _ = exact_topk(plain.vectors, qp, 100)
        got_b, _ = on_plain.query(qp, 100)
        rec_base.append(len(set(got_b[0]) & set(base_truth[0])) / 100)
    print(f"\nIndex recall@100 against exact centred search ({rows:,} x {dim} synthetic chips, planted offset, "
          f"{len(queries)} queries; default graph parameters)\n")  # fmt: skip
    print(
        "| graph built on | candidates | recall@100: chips | 3 of a kind | 3 of different kinds | worst | build s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    fetch = on_centred.params.fetch_for(100, rows)
    for name, rec, n, t in (
        ("centred rows (Terrafind)", rec_c, fetch, t1 - t0),
        ("centred rows (Terrafind)", rec_c2, 2 * fetch, t1 - t0),
        ("plain rows, centred query", rec_p, fetch, t2 - t1),
        ("plain rows, plain query (plain truth: before issue 14)", rec_base, fetch, t2 - t1),
    ):
        r = np.asarray(rec)
        print(f"| {name} | {n} | {r[:30].mean():.3f} | {r[30:40].mean():.3f} | {r[40:].mean():.3f} | "
              f"{r.min():.2f} | {t:.0f} |")  # fmt: skip


def scan_cost(rows: int, dim: int) -> None:
    """Exact top-100 of one query, plain rows vs the centred view, float32 and int8 (in memory)."""
    import time

    from terrafind.core.search.exact import exact_topk
    from terrafind.core.store.centred import CentredVectors
    from terrafind.core.store.codec import Int8Codec
    from terrafind.core.store.vectors import StoredVectors

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, dim)).astype(np.float32) + 2.0
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    mu = x.mean(axis=0)
    codec = Int8Codec.fit(x[:32768])
    codes, inv, _ = codec.encode(x)
    i8 = StoredVectors(codes, codec, inv)
    q = x[5]
    print(f"\nExact top-100 of one query over {rows:,} x {dim} (in memory; median of 7, ms)\n")
    print("| rows kept as | plain cosine | centred cosine |")
    print("|---|---:|---:|")
    for name, plain in (("float32", x), ("int8 codes", i8)):
        cells = []
        for v in (plain, CentredVectors(plain, mu)):
            if isinstance(v, CentredVectors):
                v.cnorm  # noqa: B018 - the per-row constant, made once (a store keeps it on disk)
            times = []
            for _ in range(7):
                t0 = time.perf_counter()
                exact_topk(v, q, 100)
                times.append(1000 * (time.perf_counter() - t0))
            cells.append(f"{np.median(times):.0f}")
        print(f"| {name} | {cells[0]} | {cells[1]} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--skip-index", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--scan-only", action="store_true", help="only the cost of an exact scan")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tf-bench-centre-") as tmp:
        os.environ["TERRAFIND_HOME"] = tmp
        if args.scan_only:
            scan_cost(1_000_000, args.dim)
            return
        spread()
        if not args.skip_quality:
            demo_quality(Path(tmp))
            pucallpa()
        if not args.skip_index:
            index_recall(args.rows, args.dim)


if __name__ == "__main__":
    main()
