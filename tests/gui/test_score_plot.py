"""The score histogram and its threshold line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from terrafind.gui.results.score_plot import ScorePlot, histogram_bins

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture
def plot(qtbot):
    widget = ScorePlot()
    widget.resize(800, 180)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.close()
    widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def scores(n: int = 400) -> np.ndarray:
    rng = np.random.default_rng(3)
    return np.concatenate([rng.normal(0.62, 0.05, n - n // 10), rng.normal(0.86, 0.03, n // 10)])


def test_bin_rule():
    assert [histogram_bins(n) for n in (0, 1, 24, 400, 401, 10_000)] == [0, 5, 5, 20, 21, 60]


def test_histogram_draws_every_score_in_the_computed_bins(plot):
    values = scores(400)
    plot.set_scores(values)
    edges, counts = plot.curve.getData()
    assert plot.bin_count() == 20 == len(counts) == len(edges) - 1
    assert counts.sum() == 400
    assert edges[0] == pytest.approx(values.min()) and edges[-1] == pytest.approx(values.max())
    assert plot.curve.opts["stepMode"] == "center" and plot.curve.opts["fillLevel"] == 0
    item = plot.getPlotItem()
    assert (
        item.getAxis("bottom").labelText == "score (centred cosine)"
        and item.getAxis("left").labelText == "chips"
    )
    plot.set_scores(np.array([0.7, 0.7, 0.7]))  # identical scores still make one visible bar
    assert plot.curve.getData()[1].sum() == 3
    plot.set_scores(np.array([]))
    assert plot.bin_count() == 0 and not plot.line.isVisible()


def test_dragging_the_line_emits_live_and_set_threshold_does_not(qtbot, plot):
    plot.set_scores(scores())
    with qtbot.waitSignal(plot.threshold_changed) as blocker:
        plot.line.setValue(0.71)  # what a mouse drag does, step by step
    assert blocker.args == [pytest.approx(0.71)]
    assert plot.threshold() == pytest.approx(0.71)
    with qtbot.assertNotEmitted(plot.threshold_changed):
        plot.set_threshold(0.6)
    assert plot.line.value() == pytest.approx(0.6)
    # The shell mirrors the value back into the plot: that must not echo.
    seen: list[float] = []
    plot.threshold_changed.connect(seen.append)
    plot.threshold_changed.connect(plot.set_threshold)
    for value in (0.65, 0.7, 0.75):
        plot.line.setValue(value)
    assert seen == [pytest.approx(v) for v in (0.65, 0.7, 0.75)]
    lo, hi = plot.hidden_region.getRegion()
    assert hi == pytest.approx(0.75) and lo < 0.75 and plot.hidden_region.isVisible()


def test_threshold_survives_new_scores_and_info_text(plot):
    plot.set_threshold(0.8)
    plot.set_scores(scores(2000))
    assert plot.line.value() == pytest.approx(0.8) and plot.threshold() == pytest.approx(0.8)
    plot.set_threshold(None)
    assert plot.threshold() is None and not plot.hidden_region.isVisible()
    assert plot.line.value() == pytest.approx(plot.curve.getData()[0][0])  # waits at the lowest score
    plot.set_threshold(0.78)
    plot.set_info("top 0.2 % of this region")
    assert plot.info_text() == "top 0.2 % of this region"
    ARTIFACTS.mkdir(exist_ok=True)
    plot.grab().save(str(ARTIFACTS / "score_plot.png"))


def test_region_is_drawn_behind_the_hits_and_the_line_says_its_share(qtbot, plot):
    from terrafind.core.search.percentiles import RegionPercentiles

    rng = np.random.default_rng(5)
    region_scores = np.sort(rng.normal(0.2, 0.15, 20_000).astype(np.float32))
    region = RegionPercentiles(region_scores, 100_000)  # a sample of 20k standing for 100k chips
    hits = region_scores[-200:]  # the best 200 of the sample
    plot.set_scores(hits, region=region)
    assert plot.log_counts and plot.getPlotItem().getAxis("left").labelText == "chips (log)"
    assert plot.hits_counts().sum() == 200
    region_counts = plot.region_counts()
    assert region_counts.sum() == pytest.approx(
        100_000 * np.mean(region_scores >= plot.curve.getData()[0][0]), rel=0.01
    )
    assert np.all(region_counts >= plot.hits_counts() - 1e-6)  # the hits are region chips too
    edges = plot.curve.getData()[0]
    assert edges[0] <= region.score_at(0.99) and edges[-1] == pytest.approx(hits.max())
    assert 1000.0 in plot.ticks() and 10.0 in plot.ticks()
    with qtbot.waitSignal(plot.threshold_changed):
        plot.line.setValue(float(region.score_at(0.01)))
    assert plot.line.label.format.endswith("top 1 %")
    assert plot.line_text(float(region.score_at(0.001))).endswith("top 0.1 %")
    plot.set_scores(np.array([0.7, 0.8]))  # without a region: linear counts, no share in the label
    assert not plot.log_counts and plot.getPlotItem().getAxis("left").labelText == "chips"
    assert "top" not in plot.line.label.format
    plot.set_scores(hits, region=region)
    plot.set_threshold(float(region.score_at(0.004)))
    plot.set_info("200 matches · 9 ms · exact · by similarity")
    ARTIFACTS.mkdir(exist_ok=True)
    plot.grab().save(str(ARTIFACTS / "score_plot_region.png"))
