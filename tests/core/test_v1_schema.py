"""The Clay v1 schema from the seeds: class identifier, source model, loss, loss metric, source creator."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest
from synth import V1_CLASSES, write_clay_v1

from terrafind.core.cli.main import main
from terrafind.core.read import v1
from terrafind.core.read.reader import inspect, open_catalog


@pytest.fixture(scope="module")
def v1_file(tmp_path_factory):
    return write_clay_v1(tmp_path_factory.mktemp("v1") / "clay_v1.parquet", n=400, d=24)


@pytest.mark.parametrize(
    "names",
    [
        ["Universally Class Identifier", "source_model", "loss", "loss_metric", "source_creator"],
        ["universally_class_identifier", "Source Model", "LOSS", "loss-metric", "SourceCreator"],
        ["UCI", "sourceModel", "Loss", "LossMetric", "source creator"],
    ],
)
def test_columns_are_found_in_any_reasonable_spelling(names):
    found = v1.find_columns([*names, "embeddings", "geometry", "id"])
    assert found == dict(
        zip(["class_id", "source_model", "loss", "loss_metric", "source_creator"], names, strict=True)
    )
    assert v1.find_columns(["embeddings", "geometry", "lossy", "model"]) == {}


def test_catalog_summary_and_loss_per_chip(v1_file):
    cat = open_catalog(v1_file["path"])
    assert cat.adapter == "clay_v1"
    summary = v1.summarize(cat)
    assert summary.present and summary.metric == "MSE"
    assert (
        summary.first("source_model") == "clay-v1.5" and summary.first("source_creator") == "Clay Foundation"
    )
    assert summary.classes == len(set(V1_CLASSES[i] for i in v1_file["labels"]))
    loss = v1.chip_loss(cat)
    assert loss is not None and np.allclose(loss, v1_file["loss"], atol=1e-6)  # rows keep the file's order
    s = summary.loss
    assert s["count"] == 400 and s["max"] == pytest.approx(float(v1_file["loss"].max()), rel=1e-6)
    counts, edges = summary.loss_hist
    assert sum(counts) == 400 and len(edges) == v1.LOSS_BINS + 1
    lines = dict(summary.lines())
    assert (
        cat.model_name == "clay-v1.5"
        and lines["Made with"] == "clay-v1.5"
        and lines["Made by"] == "Clay Foundation"
    )
    assert lines["Loss"].startswith("MSE: median") and "Universally Class Identifier" in lines["Classes"]
    described = cat.describe()["v1"]
    assert described["metric"] == "MSE" and described["columns"]["loss"] == "loss"


def test_footer_values_and_missing_losses(tmp_path):
    info = write_clay_v1(tmp_path / "footer.parquet", n=100, d=16, footer_only=True)
    cat = open_catalog(info["path"])
    summary = v1.summarize(cat)
    assert summary.metric == "MSE" and summary.first("source_creator") == "Clay Foundation"
    table = pa.table({"loss": pa.array([0.1, None, float("nan"), 0.3]), "x": [1, 2, 3, 4]})
    s = v1.summarize_table(table)
    assert s.loss["count"] == 2 and s.loss["missing"] == 2
    assert v1.summarize_table(pa.table({"x": [1]})).present is False


def test_info_prints_the_v1_fields(v1_file, capsys):
    entry = inspect([v1_file["path"]])[0]
    assert entry["v1"]["values"]["loss_metric"][0][0] == "MSE"
    assert main(["info", str(v1_file["path"])]) == 0
    out = capsys.readouterr().out
    assert "Made with clay-v1.5" in out and "model     clay-v1.5" in out
    assert "Made by" in out and "Clay Foundation" in out and "MSE: median" in out and "Classes" in out
    assert main(["info", "--json", str(v1_file["path"])]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["v1"]["loss"]["max"] == pytest.approx(float(v1_file["loss"].max()), rel=1e-6)


def test_files_without_v1_fields_say_nothing_of_them(tmp_path, capsys):
    from synth import write_earth_index

    ei = write_earth_index(tmp_path / "ei.parquet", n=50, d=8)
    assert "v1" not in inspect([ei["path"]])[0]
    cat = open_catalog(ei["path"])
    assert cat.describe()["v1"] is None and v1.chip_loss(cat) is None
    assert main(["info", str(ei["path"])]) == 0
    assert "Loss" not in capsys.readouterr().out


def test_hits_filtered_and_classed_by_loss(v1_file, tmp_path):
    from terrafind.core.present.features import results_payload
    from terrafind.core.session import Session

    s = Session.open([v1_file["path"]])
    s.set_example(int(np.flatnonzero(v1_file["labels"] == 1)[0]), "positive")
    s.params["k"] = 150
    out = s.run_search()
    loss = v1_file["loss"]
    lo, hi = float(np.percentile(loss, 20)), float(np.percentile(loss, 80))
    s.set_loss_range(lo, hi)
    vis = s.visible()
    expected = [r for r in out.result.rows if lo <= loss[r] <= hi]
    assert vis.rows.tolist() == expected and 0 < len(expected) < len(out.result)
    path, n = s.export_hits(tmp_path / "hits.geojson")
    fc = json.loads(path.read_text())
    assert n == len(fc["features"]) == len(expected)
    assert fc["terrafind"]["visible"]["loss_range"] == [lo, hi]
    assert all(lo - 1e-6 <= f["properties"]["loss"] <= hi + 1e-6 for f in fc["features"])
    s.set_loss_range(None, lo)  # an open lower bound: the low-loss chips only
    assert all(loss[r] <= lo for r in s.visible().rows)
    s.set_loss_range(None, None)
    assert len(s.visible()) == len(out.result)
    with pytest.raises(Exception, match="empty"):
        s.set_loss_range(0.5, 0.1)
    # the map's classes: breaks at the region's own percentiles, the planted chips in the highest class
    breaks = v1.loss_breaks(s.catalog)
    assert np.allclose(breaks, np.quantile(loss.astype(np.float64), [0.99, 0.9, 0.5, 0.1]), rtol=1e-5)
    cls = v1.loss_class(loss[v1_file["planted"]], breaks)
    assert set(cls.tolist()) <= {0, 1} and cls[-1] == 0  # 6 planted of 400: the highest 4 are the top 1 %
    assert v1.loss_class(np.array([np.nan, -1.0]), breaks).tolist() == [-1, 4]
    payload = results_payload(s.catalog, out.result)
    legend = payload.fc["loss_legend"]
    assert legend["metric"] == "MSE" and len(legend["classes"]) == 5
    props = payload.fc["features"][0]["properties"]
    row = int(out.result.rows[0])
    assert props["loss"] == pytest.approx(float(loss[row])) and payload.items[0].loss == pytest.approx(
        float(loss[row])
    )
    assert props["loss_class"] == int(v1.loss_class(loss[[row]], breaks)[0])


def test_no_loss_no_filter(tmp_path):
    from synth import write_earth_index

    from terrafind.core.errors import InputError
    from terrafind.core.session import Session

    ei = write_earth_index(tmp_path / "ei.parquet", n=60, d=8)
    s = Session.open([ei["path"]])
    with pytest.raises(InputError, match="no loss"):
        s.set_loss_range(0.1, 0.2)
    s.set_example(3, "positive")
    out = s.run_search()
    from terrafind.core.present.features import results_payload

    fc = results_payload(s.catalog, out.result).fc
    assert "loss_legend" not in fc and "loss" not in fc["features"][0]["properties"]
