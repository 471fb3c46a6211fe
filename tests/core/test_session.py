"""The Session: one rule for the examples, one way to search, one rule for the visible hits, projects."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synth import write_earth_index

from terrafind.core.errors import InputError
from terrafind.core.search.run import run_query
from terrafind.core.session import Session
from terrafind.core.types import Region


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_earth_index(tmp_path_factory.mktemp("session") / "31TEST_2024.parquet", n=600, d=32, seed=5)


@pytest.fixture
def session(data):
    return Session.open([data["path"]])


def _rows(data, label, count, seed=0):
    rows = np.flatnonzero(data["labels"] == label)
    return [int(r) for r in np.random.default_rng(seed).choice(rows, count, replace=False)]


def test_the_examples_rule_clicked_examples_then_labels_clicked_wins(session):
    s = session
    s.set_example(3, "positive")
    s.set_example(8, "negative")
    s.set_label(11, "positive")
    s.set_label(8, "positive")  # a label on a clicked example: the click wins
    s.set_label(20, "negative")
    ex = s.search_examples()
    assert ex.positives == [3, 11] and ex.negatives == [8, 20]
    assert [(it.row, it.kind) for it in s.example_items()] == [
        (3, "positive"),
        (8, "negative"),
        (11, "positive"),
        (20, "negative"),
    ]
    with pytest.raises(InputError, match="either positive or negative"):
        s.set_example(1, "maybe")


def test_nothing_to_search_is_a_sentence():
    with pytest.raises(InputError, match="Open a file first"):
        Session().query()


def test_query_is_a_snapshot_and_how_follows_the_switches(session, data):
    s = session
    with pytest.raises(InputError, match="positive example"):
        s.query()
    pos = _rows(data, 1, 2)
    s.set_example(pos[0], "positive")
    assert s.how() == "plain"
    s.learn["refine"] = True
    assert s.how() == "plain"  # Refine needs a negative too
    s.set_label(_rows(data, 3, 1)[0], "negative")
    assert s.how() == "refine"
    q = s.query()
    s.set_example(pos[1], "positive")  # later changes do not reach a query already taken
    assert q.examples.positives == [pos[0]] and q.how == "refine"
    s.learn.update(refine=False, group=True)
    assert s.how() == "grouped"


def test_run_search_kinds_and_the_visible_rule(session, data):
    s = session
    pos, neg = _rows(data, 2, 3), _rows(data, 5, 2)
    for r in pos:
        s.set_example(r, "positive")
    masked = _rows(data, 2, 30, seed=9)
    masked = [r for r in masked if r not in pos][:5]
    s.set_masked(masked)
    plain = s.run_search()
    assert plain.how == "plain" and plain.result.probabilities is None
    got = {int(r) for r in plain.result.rows}
    assert not got & set(masked) and not got & set(pos)
    assert np.mean(data["labels"][plain.result.rows[:50]] == 2) > 0.9
    s.params["threshold"] = float(plain.result.scores[9])
    assert len(s.visible()) == 10
    for r in neg:
        s.set_label(r, "negative")
    s.learn["refine"] = True
    refined = s.run_search()
    assert refined.how == "refine" and refined.review is not None and "Checked on your" in refined.quality
    # A similarity threshold means nothing for probabilities: it was dropped with the kind change.
    assert s.params["threshold_by"] == "probability" and s.params["threshold"] is None
    probs = refined.result.probabilities
    s.params["threshold"] = float(np.sort(probs)[-7])
    assert len(s.visible()) == int((probs >= s.params["threshold"]).sum())
    assert not s.labels_changed_since_refine()
    s.set_label(_rows(data, 6, 1)[0], "negative")
    assert s.labels_changed_since_refine()


def test_app_and_cli_paths_give_the_same_hits(session, data):
    s = session
    for r in _rows(data, 4, 2):
        s.set_example(r, "positive")
    worker = run_query(s.snapshot().query())  # the app: a query taken on the GUI thread, run in a worker
    cli = s.run_search()  # the CLI: the same session searching on its own thread
    assert worker.result.rows.tolist() == cli.result.rows.tolist()


def test_export_hits_sites_and_labels_follow_the_visible_hits(session, data, tmp_path):
    s = session
    with pytest.raises(InputError, match="Search first"):
        s.export_hits(tmp_path / "none.geojson")
    for r in _rows(data, 0, 2):
        s.set_example(r, "positive")
    out = s.run_search()
    s.params["threshold"] = float(out.result.scores[24])
    path, n = s.export_hits(tmp_path / "hits.geojson")
    fc = json.loads(path.read_text())
    assert n == len(fc["features"]) == 25
    share = out.share_of(s.params["threshold"])
    assert fc["terrafind"]["visible"] == {
        "threshold": s.params["threshold"],
        "by": "score",
        "top_share": share,
    }
    assert 25 / len(s.catalog) <= share <= 30 / len(s.catalog)  # the hits, and the examples above them
    sites_path, n_sites = s.export_sites(tmp_path / "sites.geojson")
    sites = json.loads(sites_path.read_text())
    assert (
        n_sites == len(sites["features"])
        and sum(f["properties"]["chip_count"] for f in sites["features"]) == 25
    )
    labels_path, n_labels = s.export_labels(tmp_path / "labels.csv")
    assert n_labels == 2 and labels_path.read_text().count("positive") == 2


def test_project_round_trip_by_id_on_another_region(session, data):
    s = session
    rows = _rows(data, 7, 3)
    s.set_example(rows[0], "positive")
    s.set_label(rows[1], "negative")
    s.set_masked([rows[2]])
    s.params.update(k=40, mode="max")
    s.learn.update(group=True, sites=True)
    s.run_search()
    proj = s.to_project()
    assert proj.examples == [{"id": str(data["ids"][rows[0]]), "kind": "positive"}]
    assert len(proj.results["ids"]) == 40

    # The same data opened on a region around the chips: other rows, the same chips by id.
    cat = s.catalog
    lons, lats = cat.centroids[rows, 0], cat.centroids[rows, 1]
    region = Region.from_bbox(lons.min() - 0.02, lats.min() - 0.02, lons.max() + 0.02, lats.max() + 0.02)
    other = Session.open([data["path"]], region)
    assert len(other.catalog) < len(cat)
    missing = other.apply_project(proj)
    ids = other.catalog.ids
    assert [str(ids[r]) for r in other.examples] == [str(data["ids"][rows[0]])]
    assert [str(ids[r]) for r in other.labels] == [str(data["ids"][rows[1]])]
    assert list(other.masked.values()) == [str(data["ids"][rows[2]])]
    assert other.params["k"] == 40 and other.params["mode"] == "max"
    assert other.learn["group"] and other.learn["sites"] and not other.learn["refine"]
    saved = other.saved_outcome(proj)
    assert saved is not None and len(saved.result) + len(missing) <= 40 + len(missing)
    assert all(str(ids[r]) in proj.results["ids"] for r in saved.result.rows)


def test_snapshot_owns_its_dicts(session):
    s = session
    s.set_example(1, "positive")
    snap = s.snapshot()
    s.set_example(2, "positive")
    s.params["k"] = 7
    assert snap.examples == {1: "positive"} and snap.params["k"] == 200
    assert snap.catalog is s.catalog
