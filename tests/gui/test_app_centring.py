"""Centred similarity in the running window (issue 14): the scores are centred cosines by default, the
window says so (plot axis, plot words, Data panel), and Scores in the search controls switches to plain
cosine and back, searching again; the choice is remembered for the next run and the CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel
from windowkit import app_window

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
pytestmark = pytest.mark.webengine
N, D = 600, 32


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from synth import grid_layout, write_earth_index

    _, _, labels = grid_layout(N, n_clusters=3)
    rng = np.random.default_rng(0)
    offset = np.zeros(D)
    offset[0] = 20.0  # every chip leans the same way: plain cosines all above 0.97
    vecs = offset + rng.normal(size=(3, D))[labels] * 0.25 + rng.normal(size=(N, D)) * 0.1
    folder = tmp_path_factory.mktemp("centring")
    truth = write_earth_index(folder / "planted.parquet", n=N, d=D, n_clusters=3, vectors=vecs)
    return truth["path"], labels


@pytest.fixture(scope="module")
def window(qapp):
    with app_window() as w:
        yield w


def _new_payload(qtbot, w, old, timeout=15000):
    qtbot.waitUntil(lambda: w.c.shown is not None and w.c.shown is not old, timeout=timeout)
    return w.c.shown


def _panel_text(w) -> str:
    return " ".join(lab.text() for lab in w.dataset_panel.findChildren(QLabel))


def test_centred_scores_are_said_and_switch_to_plain_cosine_and_back(qtbot, window, data):
    from terrafind.core.session_space import saved_centred

    w = window
    path, labels = data
    w.open_path(str(path))
    qtbot.waitUntil(lambda: w.c.session.catalog is not None and w.map_view.ready, timeout=30000)
    s = w.c.session
    assert s.catalog.is_centred and w.controls.centred()
    assert "cosine centred on the region's mean" in _panel_text(w)
    row = int(np.flatnonzero(labels == 0)[0])
    w.c.add_example(row, "positive")
    centred = _new_payload(qtbot, w, None)
    axis = w.score_plot.getPlotItem().getAxis("bottom")
    assert axis.labelText == "score (centred cosine)"
    assert "by centred cosine" in w.score_plot.info.toPlainText()
    scores = centred.result.scores
    region = centred.outcome.percentiles.sample  # the histogram's grey region: spread over the scale
    assert region.min() < 0.0 and region.max() > 0.7 and scores.min() > 0.5
    ARTIFACTS.mkdir(exist_ok=True)
    qtbot.wait(300)
    assert w.grab().save(str(ARTIFACTS / "centring-centred.png"))

    # a person chooses plain cosine: the data changes space and the search runs again
    combo = w.controls.similarity_combo
    combo.setCurrentIndex(1)
    combo.activated.emit(1)
    plain = _new_payload(qtbot, w, centred)
    assert not s.catalog.is_centred and not saved_centred()
    assert plain.outcome.percentiles.sample.min() > 0.97  # everything alike: why centring is the default
    assert axis.labelText == "score (cosine)"
    assert "plain cosine" in _panel_text(w)
    qtbot.wait(300)
    assert w.grab().save(str(ARTIFACTS / "centring-plain.png"))

    combo.setCurrentIndex(0)
    combo.activated.emit(0)
    again = _new_payload(qtbot, w, plain)
    assert s.catalog.is_centred and saved_centred() and w.controls.centred()
    np.testing.assert_allclose(again.result.scores, scores, atol=1e-6)
