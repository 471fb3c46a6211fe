"""Quality of the multi-year features on the Pucallpa demo, against the pixel truth (tests/pucallpa_truth.py).

Used by tests/core/test_pucallpa_quality.py (which holds the figures above thresholds) and by
bench/change.py (which prints them for docs/demo.md). Everything goes through the Session, as in the app.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pucallpa_truth as pt

from terrafind.core.embed.pucallpa import YEARS, embed_years
from terrafind.core.session import Session


def build(folder: Path) -> tuple[list[Path], float]:
    """The demo's embeddings (as the app builds them, without basemaps) and the seconds it took."""
    t0 = time.perf_counter()
    files = embed_years(folder, folder)
    return files, time.perf_counter() - t0


def _pixel_baseline(a: int, b: int) -> np.ndarray:
    """Change of the chip-mean bands (z-scored per date), L2: what pixels alone would rank."""
    c = pt.chip_indices()
    za = (c[a]["bands"] - c[a]["bands"].mean(0)) / c[a]["bands"].std(0)
    zb = (c[b]["bands"] - c[b]["bands"].mean(0)) / c[b]["bands"].std(0)
    return np.linalg.norm(za - zb, axis=1)


def measure(files: list[Path], *, centred: bool = True) -> dict[str, float]:
    """Every figure of docs/demo.md's table (name -> value); ``centred``: searches score centred cosines
    (the app's default, core.session_space), else plain cosines (bench/centring.py compares them)."""
    s = Session.open([str(f) for f in files], centred=centred)
    out: dict[str, float] = {}
    for a, b, tag in ((1985, 2020, ""), (2000, 2010, " 2000-2010")):
        s.set_date(str(b))
        r = s.run_change(str(a), str(b), k=10_000).result
        cells = pt.cell_of(s.catalog.ids[r.rows])
        truth = pt.pair_truth(a, b)
        cleared, anyc = truth["cleared"][cells], truth["any"][cells]
        score = r.scores.astype(np.float64)
        for n in (50, 100, 200):
            out[f"P@{n} cleared{tag}"] = pt.precision_at(score, cleared, n)
        out[f"P@100 any{tag}"] = pt.precision_at(score, anyc, 100)
        out[f"P@50 any{tag}"] = pt.precision_at(score, anyc, 50)
        out[f"recall@M cleared{tag}"] = pt.recall_at_m(score, cleared)
        out[f"AUC cleared{tag}"] = pt.auc(score, cleared)
        out[f"cleared chips{tag}"] = float(cleared.sum())
        land = truth["land"][cells]
        out[f"P@50 cleared, land only{tag}"] = pt.precision_at(score[land], cleared[land], 50)
        base = _pixel_baseline(a, b)
        all_cells = np.arange(len(truth["cleared"]))
        out[f"P@100 cleared, pixel baseline{tag}"] = pt.precision_at(base[all_cells], truth["cleared"], 100)
    out.update(_history(s))
    out.update(_travel(s))
    return out


def _history(s: Session) -> dict[str, float]:
    """Unusual for its own history, pooled over every (chip, year)."""
    truth = pt.history_truth()
    scores, hits = [], []
    for y in YEARS:
        s.set_date(str(y))
        r = s.run_change(after=str(y), kind="history", k=10_000).result
        scores.append(r.scores.astype(np.float64))
        hits.append(truth[y][pt.cell_of(s.catalog.ids[r.rows])])
    score, hit = np.concatenate(scores), np.concatenate(hits)
    return {
        "history P@50 unusual": pt.precision_at(score, hit, 50),
        "history P@200 unusual": pt.precision_at(score, hit, 200),
        "history AUC unusual": pt.auc(score, hit),
        "history share unusual": float(hit.mean()),
    }


def _travel(s: Session) -> dict[str, float]:
    """Examples shown on one year, searched on another (one space for all years), and a detector
    trained on 2010's labels checked on 2020's."""
    c = pt.chip_indices()
    s.set_date("1985")
    cat85 = s.catalog
    cells85 = pt.cell_of(cat85.ids)
    water85 = np.flatnonzero(c[1985]["water"][cells85] >= 0.95)
    picks = water85[np.linspace(0, len(water85) - 1, 3).astype(int)]  # three pieces of river, apart
    for r in picks:
        s.set_example(int(r), "positive")
    s.set_date("2020")
    s.params["k"] = 50
    r = s.run_search("plain").result
    water20 = c[2020]["water"][pt.cell_of(s.catalog.ids[r.rows])] >= 0.5
    out = {"water 1985 -> 2020, P@50": float(water20.mean())}
    s.set_date("1985")
    for r_ in picks:
        s.set_example(int(r_), None)
    # a user labels 2010: 12 chips cleared since 1985 (yes), 12 forest and 6 river chips (no); then 2020
    rng = np.random.default_rng(0)
    for year in (2010, 2020):
        s.set_date(str(year))
        cells = pt.cell_of(s.catalog.ids)
        t = pt.pair_truth(1985, year)
        cleared = np.flatnonzero(t["cleared"][cells])
        forest = np.flatnonzero((c[year]["nbr"][cells] > 0.36) & (c[year]["water"][cells] < 0.01))
        river = np.flatnonzero(c[year]["water"][cells] > 0.5)
        for row in rng.choice(cleared, 12, replace=False):
            s.set_label(int(row), "positive")
        for row in np.concatenate(
            [rng.choice(forest, 12, replace=False), rng.choice(river, 6, replace=False)]
        ):
            s.set_label(int(row), "negative")
    check = s.check_date("2020")
    out["detector 2010 -> 2020, precision"] = float(check.precision or 0.0)
    out["detector 2010 -> 2020, recall"] = float(check.recall or 0.0)
    return out
