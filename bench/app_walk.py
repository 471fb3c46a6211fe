"""Drive the real window through a whole task on a big region: open, index, search (mouse), label + refine,
export, pack a sub-region (issue 12: "the app opens a 10 M file, searches, labels, refines, exports and
packs a sub-region").

Run by hand or by ``bench/scale.py --selftest`` (never from tests)::

    TERRAFIND_HOME=<bench home> QT_QPA_PLATFORM=offscreen python bench/app_walk.py FILE OUTDIR [--no-pack]

Prints one JSON line: each step's time (ms), counts, the longest freeze of the window per step (a 20 ms
heartbeat timer's longest gap) and the peak memory of the app, its index process and its map page.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from terrafind.gui.map.web_scheme import register_scheme

register_scheme()  # before the QApplication, as the app does
app = QApplication(sys.argv)

import terrafind  # noqa: E402
from terrafind.core.types import Region  # noqa: E402
from terrafind.gui import errors  # noqa: E402
from terrafind.gui.controller import AppController  # noqa: E402
from terrafind.gui.main_window import MainWindow  # noqa: E402
from terrafind.gui.memory import peak_memory  # noqa: E402
from terrafind.gui.selftest import click_chip, dispose, wait_until  # noqa: E402

OURS = str(Path(terrafind.__file__).parent)  # as imported (the frames' file names), not resolved


def _where(frame) -> str:
    import traceback

    stack = traceback.extract_stack(frame)
    # our package's frames wherever it is installed from (an editable install's files are not under a
    # "terrafind" folder), else the innermost frames of all
    ours = [f for f in stack if f.filename.startswith(OURS)] or stack[-3:]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(ours[-6:]))


def _watch_stalls(ticks: list, step: list, after_s: float = 0.1) -> dict:
    """A watchdog thread: while the window's thread has not ticked for ``after_s``, note where it is, and
    when the watchdog itself was kept from running for 100 ms (some thread held the GIL: that freezes the
    window without a frame of the window's own), where every other thread was just before and just after.
    Counted per step, so that a freeze names its cause."""
    import sys
    import threading

    main = threading.main_thread().ident
    seen: dict = {}

    def stacks(skip: int) -> dict:
        names = {t.ident: t.name for t in threading.enumerate()}
        return {
            ("window" if i == main else names.get(i, str(i))): _where(f)
            for i, f in sys._current_frames().items()
            if i != skip
        }

    def count(key: str) -> None:
        per_step = seen.setdefault(step[0], {})
        per_step[key] = per_step.get(key, 0) + 1

    def watch() -> None:
        me = threading.get_ident()
        last, before = time.perf_counter(), stacks(me)
        while True:
            time.sleep(0.01)
            now, after = time.perf_counter(), stacks(me)
            if not step[0]:
                return
            if now - last > 0.1:  # starved of the GIL: who held it?
                for who, where in after.items():
                    if before.get(who) != where or who == "window":
                        count(
                            f"GIL held {round((now - last) * 1000)} ms; {who}: {before.get(who)} -> {where}"
                        )
            elif ticks and now - ticks[-1][0] > after_s:
                count(f"window: {after.get('window')}")
            last, before = now, after

    threading.Thread(target=watch, daemon=True).start()
    return seen


def main(path: str, out: Path, *, pack_part: bool = True) -> dict:
    asked: list = []
    errors.set_dialog_hook(lambda kind, title, text, detail: asked.append((kind, title)) or True)
    import shutil

    shutil.rmtree(out, ignore_errors=True)  # a pack left by an earlier walk would read as built at once
    out.mkdir(parents=True)
    w = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    w.resize(1400, 900)
    w.show()
    c = w.c
    problems: list[str] = []
    c.error.connect(lambda exc, tb: problems.append(f"{type(exc).__name__}: {exc}"))
    ticks: list[tuple[float, str]] = []
    step = ["page"]
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: ticks.append((time.perf_counter(), step[0])))
    heartbeat.start(20)
    report: dict = {"steps": {}, "counts": {}}
    stalled = _watch_stalls(ticks, step)

    def run(name: str, fn) -> None:
        step[0] = name
        t = time.perf_counter()
        fn()
        report["steps"][name] = round((time.perf_counter() - t) * 1000)

    def ok() -> bool:
        if problems:
            raise SystemExit(problems[-1])
        return True

    run("page", lambda: wait_until(lambda: w.map_view.ready, 60, "the map page"))
    run(
        "open",
        lambda: (
            w.open_path(path),
            wait_until(lambda: ok() and c.session.catalog is not None, 3600, "the data to open"),
        ),
    )
    cat = c.session.catalog
    report["counts"]["chips"] = len(cat)
    from terrafind.core.search.index import IndexParams, index_paths, index_root

    params = IndexParams.for_rows(len(cat))
    if index_paths(cat.fingerprint(extra=params.graph_key() + cat.space_key()), index_root(cat))[1].exists():
        run("index", lambda: wait_until(lambda: ok() and c.session.index is not None, 3600, "the index"))
        report["index"] = type(c.session.index).__name__
    else:  # still building (elsewhere or here): a person searches exactly meanwhile, so does the walk
        report["index"] = "building (searches exact)"
    wb, sb, eb, nb = cat.bounds
    row = cat.nearest((wb + eb) / 2, (sb + nb) / 2)

    def search() -> None:
        click_chip(w, row)
        wait_until(lambda: ok() and c.shown is not None and not c.runner.running("search"), 120, "results")

    run("search", search)
    report["counts"]["hits"] = len(c.shown.items)
    report["method"] = c.shown.result.method
    items = c.shown.items

    def label_and_refine() -> None:
        c.label(int(items[0].row), "positive")
        c.label(int(items[len(items) // 2].row), "negative")
        c.label(int(items[-1].row), "negative")
        old = c.shown
        c.set_learn(refine=True)
        wait_until(
            lambda: ok() and c.shown is not old and not c.runner.running("search"), 300, "refined hits"
        )

    run("label_refine", label_and_refine)
    report["refine"] = {"method": c.shown.result.method, "hits": len(c.shown.items)}

    def export() -> None:
        done: list = []
        c.data.export_hits(str(out / "hits.geojson"), "geojson", then=lambda p, n: done.append(n))
        wait_until(lambda: ok() and done, 120, "the export")
        report["counts"]["exported"] = done[0]

    run("export", export)
    lon, lat = (float(v) for v in cat.centroids[row])
    region = Region.from_bbox(lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05)  # ~11 x 11 km around it

    def pack() -> None:
        target = out / "pack"
        assert c.packs.prepare(str(target), region, [])
        wait_until(
            lambda: ok() and (target / "manifest.json").exists() and not c.runner.running("pack"),
            3600,
            "the pack",
        )
        report["pack"] = {
            "files": len([p for p in target.rglob("*") if p.is_file()]),
            "bytes": sum(p.stat().st_size for p in target.rglob("*") if p.is_file()),
        }

    if pack_part:
        run("pack", pack)
    heartbeat.stop()
    step[0] = ""  # the walk is over: closing the window is not a freeze
    stalls: dict[str, float] = {}
    for (a, _), (b, name) in zip(ticks, ticks[1:], strict=False):
        stalls[name] = max(stalls.get(name, 0.0), round((b - a) * 1000.0, 1))
    report["gui_max_stall_ms"] = stalls
    report["stall_stacks"] = stalled  # where the window's thread was during its long stalls
    report["memory"] = peak_memory()
    report["asked"] = [a[1] for a in asked]
    dispose(w)
    return report


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]), pack_part="--no-pack" not in sys.argv)), flush=True)
