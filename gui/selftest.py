"""``terrafind --selftest [PATH]``: the whole loop in the real window, timed, as one JSON line.

Steps: page (map ready), open (PATH or the demo region), pan (the map moves to a chip), click (a real
mouse click on the map at the chip's centre -> the example is registered), results (from that same mouse
event -> results drawn: map, gallery and plot agree), popup (a real click on the centre of a mid-ranked
result opens that result's popup and adds no example; reported as ``"popup": {"clicked_rank",
"shown_rank"}``), label (top result "Not this"), search_again (the labelled chip is gone), export (hits to a
temporary GeoJSON, read back). ``click`` and ``results`` are measured from the mouse event (results
include the search). The JSON also reports the longest freeze of the window per step and the peak memory
of the app and of its map page (``memory``). Exit 0 when all pass; otherwise the JSON names the failed step
and the exit code is 1. Nothing is written to the user's session files.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

__all__ = ["run_selftest", "SelftestError", "wait_until", "click_chip", "page_value", "dispose"]

TIMEOUTS = {
    "page": 60,
    "open": 1800,  # a first open of 10 M chips reads and caches ~7 GB
    "index": 600,
    "pan": 20,
    "click": 20,
    "results": 60,
    "popup": 20,
    "label": 10,
    "search_again": 30,
    "export": 30,
}


class SelftestError(RuntimeError):
    pass


def wait_until(pred: Callable[[], object], timeout: float, what: str) -> object:
    """Run the event loop until ``pred()`` is truthy; raise SelftestError after ``timeout`` seconds."""
    app = QApplication.instance()
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SelftestError(f"timed out after {timeout:.0f} s waiting for {what}")
        app.processEvents(QEventLoop.AllEvents, 20)
        time.sleep(0.002)


def page_value(map_view, expr: str, timeout: float = 10.0):
    """Evaluate ``expr`` in the map page and return its JSON value."""
    box: list = []
    map_view.eval_json(expr, box.append)
    wait_until(lambda: box, timeout, f"the page to answer {expr[:40]}")
    return box[0]


def click_chip(
    window, row: int, *, zoom: int = 13, modifier=Qt.NoModifier, clicked: dict | None = None
) -> tuple[int, int]:
    """Centre the map on ``row``'s chip and click its centre with the real mouse (QTest on the focus proxy).
    ``clicked["at"]`` gets the time of the mouse event (time.perf_counter)."""
    catalog = window.c.session.catalog
    lon, lat = (float(v) for v in catalog.centroids[row])
    m = window.map_view
    point = None
    for _attempt in range(5):
        m.set_view(lon, lat, zoom)
        point = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait until the view has settled on the chip
            p = page_value(m, f"(p => [p.x, p.y])(TF.map.latLngToContainerPoint([{lat}, {lon}]))")
            if p and point == p:
                break
            point = p
            _pause(0.15)
        if not point:
            raise SelftestError("the map did not report where the chip is")
        # A view can still move after it settled (a big region's map fits its bounds once its coverage
        # has arrived, seconds after the open at 10 M chips): click only where the map, asked just now,
        # puts this very chip; else centre it again.
        _pause(0.3)
        x, y = (int(round(v)) for v in point)
        at = page_value(m, f"(c => [c.lng, c.lat])(TF.map.containerPointToLatLng([{x}, {y}]))")
        if at and catalog.chip_at(float(at[0]), float(at[1])) == row:
            break
    else:
        raise SelftestError("the map kept moving away from the chip to click")
    target = m.view.focusProxy() or m.view
    pos = QPoint(int(round(point[0])), int(round(point[1])))
    QTest.mouseMove(target, pos)
    if clicked is not None:
        clicked["at"] = time.perf_counter()
    QTest.mouseClick(target, Qt.LeftButton, modifier, pos)
    return pos.x(), pos.y()


def _pause(seconds: float) -> None:
    app = QApplication.instance()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents(QEventLoop.AllEvents, 20)
        time.sleep(0.002)


def run_selftest(app: QApplication, path: str | None, *, screenshot: str | None = None) -> int:
    from terrafind.gui import errors
    from terrafind.gui.controller import AppController
    from terrafind.gui.main_window import MainWindow

    dialogs: list[tuple] = []
    errors.set_dialog_hook(lambda kind, title, text, detail: dialogs.append((kind, text, detail)) or True)
    problems: list[str] = []
    window = MainWindow(AppController(autosave=False), restore_geometry=False, online=False)
    window.c.error.connect(lambda exc, tb: problems.append(f"{type(exc).__name__}: {exc}"))
    window.resize(1400, 900)
    window.show()
    # The GUI thread must never stall: a 20 ms timer records its ticks, the longest gap is reported.
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: ticks.append((time.perf_counter(), step)))
    heartbeat.start(20)
    c, m = window.c, window.map_view
    report: dict = {"selftest": "terrafind", "ok": False, "steps": {}, "counts": {}}
    step = "page"
    state: dict = {}

    def timed(name: str, fn: Callable[[], object]) -> object:
        nonlocal step
        step = name
        t0 = time.perf_counter()
        out = fn()
        report["steps"][name] = round((time.perf_counter() - t0) * 1000.0, 1)
        return out

    def no_problem() -> bool:
        if problems:
            raise SelftestError(problems[-1])
        return False

    def results_seen(min_rows: int = 1):
        no_problem()
        return c.shown is not None and c.shown is not state.get("old") and len(c.shown.items) >= min_rows

    try:
        timed("page", lambda: wait_until(lambda: m.ready, TIMEOUTS["page"], "the map page"))

        def open_data():
            if path:
                window.open_path(path)
            else:
                c.data.open_demo()
            wait_until(
                lambda: no_problem() or c.session.catalog is not None, TIMEOUTS["open"], "the data to open"
            )
            report["counts"]["chips"] = len(c.session.catalog)

        timed("open", open_data)

        def index():
            """A region whose search index is already saved gets it before the click (it loads in the
            background in seconds); one that has none searches exactly, as a person would at first."""
            from terrafind.core.search.exact import EXACT_MAX_ROWS
            from terrafind.core.search.index import IndexParams, index_paths, index_root

            cat = c.session.catalog
            report["index"] = "not needed"
            if len(cat) <= EXACT_MAX_ROWS:
                return
            report["index"] = "building (searches exact)"
            params = IndexParams.for_rows(len(cat))
            if index_paths(cat.fingerprint(extra=params.graph_key() + cat.space_key()), index_root(cat))[
                1
            ].exists():
                wait_until(
                    lambda: no_problem() or c.session.index is not None, TIMEOUTS["index"], "the index"
                )
                report["index"] = "loaded from the app cache"

        timed("index", index)

        def click():
            cat = c.session.catalog
            w, s, e, n = cat.bounds
            row = cat.nearest((w + e) / 2, (s + n) / 2)
            state["row"] = row
            clicked: dict = {}
            click_chip(window, row, clicked=clicked)
            state["mouse"] = clicked["at"]
            wait_until(
                lambda: no_problem() or row in c.session.examples,
                TIMEOUTS["click"],
                "the click to add an example",
            )
            state["registered"] = time.perf_counter()

        timed("click", click)
        # From the mouse event: "click" until the example is registered; "pan" is the rest (map moves).
        report["steps"]["pan"] = round(
            report["steps"]["click"] - (state["registered"] - state["mouse"]) * 1000, 1
        )
        report["steps"]["click"] = round((state["registered"] - state["mouse"]) * 1000.0, 1)

        def results():
            wait_until(results_seen, TIMEOUTS["results"], "search results")
            n = len(c.shown.items)
            wait_until(lambda: window.results_panel.visible_count() == n, 10, "the gallery")
            wait_until(lambda: window.score_plot.bin_count() > 0, 10, "the score plot")
            on_map = wait_until(
                lambda: (page_value(m, "TF.counts()") or {}).get("results") == n or None,
                10,
                "results on the map",
            )
            state["drawn"] = time.perf_counter()
            if c.runner.running("search"):  # the first results were the best so far of a long scan
                report["results_streamed"] = True
                # the finished search is shown in the same slot that ends its job
                wait_until(
                    lambda: no_problem() or not c.runner.running("search"), TIMEOUTS["results"], "all results"
                )
                n = len(c.shown.items)
                wait_until(lambda: window.results_panel.visible_count() == n, 10, "the gallery")
                wait_until(
                    lambda: (page_value(m, "TF.counts()") or {}).get("results") == n or None,
                    10,
                    "results on the map",
                )
                report["steps"]["results_final"] = round((time.perf_counter() - state["mouse"]) * 1000.0, 1)
            counts = page_value(m, "TF.counts()")
            report["counts"].update(
                results_on_map=counts.get("results"),
                gallery_rows=window.results_panel.visible_count(),
                histogram_bins=window.score_plot.bin_count(),
            )
            return on_map

        timed("results", results)
        report["steps"]["results"] = round((state["drawn"] - state["mouse"]) * 1000.0, 1)

        def popup():
            items = c.shown.items
            clicked = items[len(items) // 2]  # a mid-ranked hit: overlapping better and worse ones around it
            examples = dict(c.session.examples)
            click_chip(window, int(clicked.row))
            shown = wait_until(
                lambda: no_problem() or page_value(m, "TF.popupRow()") is not None,
                TIMEOUTS["popup"],
                "a popup",
            )
            row = page_value(m, "TF.popupRow()")
            ranks = {int(it.row): it.rank for it in items}
            report["popup"] = {"clicked_rank": clicked.rank, "shown_rank": ranks.get(int(row), -1)}
            m.run_js("TF.map.closePopup()")
            if not shown or int(row) != int(clicked.row):
                raise SelftestError(f"clicking result #{clicked.rank} opened #{ranks.get(int(row), row)}")
            if dict(c.session.examples) != examples:
                raise SelftestError("clicking a result added an example")

        timed("popup", popup)
        if screenshot:
            _pause(1.0)  # thumbnails and map tiles arrive
            window.grab().save(screenshot)

        def label():
            top = int(c.shown.items[0].row)
            state["top"] = top
            state["old"] = c.shown
            c.label(top, "negative")
            wait_until(lambda: c.session.labels.get(top) == "negative", TIMEOUTS["label"], "the label")

        timed("label", label)

        def search_again():
            if not c.search_now():
                raise SelftestError("the search did not start")
            wait_until(results_seen, TIMEOUTS["search_again"], "the second search")
            rows = {int(it.row) for it in c.shown.items}
            if state["top"] in rows:
                raise SelftestError("the chip labelled 'Not this' came back in the results")

        timed("search_again", search_again)

        def export():
            out = Path(tempfile.mkdtemp(prefix="terrafind-selftest-")) / "hits.geojson"
            done: list = []
            if not c.data.export_hits(str(out), "geojson", then=lambda p, n: done.append(n)):
                raise SelftestError("there was nothing to export")
            wait_until(lambda: no_problem() or done, TIMEOUTS["export"], "the export")
            features = json.loads(out.read_text())["features"]
            visible = len(c.session.visible() or ())
            if len(features) != visible:
                raise SelftestError(f"exported {len(features)} features, expected {visible}")
            report["counts"]["exported_features"] = len(features)
            report["export_path"] = str(out)

        timed("export", export)
        report["counts"]["outside_requests"] = len(m.external_requests)
        report["ok"] = True
    except Exception as exc:  # noqa: BLE001 - the failed step is the report
        report["failed_step"] = step
        report["error"] = f"{type(exc).__name__}: {exc}"
    if dialogs:
        report["dialogs"] = [d[1] for d in dialogs]
    heartbeat.stop()
    stalls: dict[str, float] = {}
    for (a, _), (b, name) in zip(ticks, ticks[1:], strict=False):
        stalls[name] = max(stalls.get(name, 0.0), round((b - a) * 1000.0, 1))
    report["gui_max_stall_ms"] = stalls
    report["total_ms"] = round(
        sum(v for k, v in report["steps"].items() if k not in ("results", "results_final")), 1
    )
    from terrafind.gui.memory import peak_memory

    report["memory"] = peak_memory()
    print(json.dumps(report), flush=True)
    dispose(window)
    sys.stdout.flush()
    return 0 if report["ok"] else 1


def dispose(window) -> None:
    """Close and delete the window now: a QWebEnginePage alive at interpreter exit segfaults (rc 139)."""
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
