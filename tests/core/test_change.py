"""What changed, what is new, the timeline and the travelling detector, on dates with planted change."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from synth import write_dated

from terrafind.core.errors import InputError
from terrafind.core.search.visible import threshold_by
from terrafind.core.session import Session


@pytest.fixture
def dated(tmp_path):
    d = write_dated(tmp_path, years=(2017, 2019, 2021, 2023), n=400, cleared=24, cleared_at=2021,
                    blip_at=2019, blip=12)  # fmt: skip
    return d, Session.open(d["paths"])


def test_change_between_two_dates_puts_the_planted_clearing_first(dated):
    d, s = dated
    truth = set(d["cleared"].tolist())
    out = s.run_change("2017", "2023")
    r = out.result
    assert out.how == "change" and threshold_by(r) == "change"
    assert set(r.rows[:24].tolist()) == truth  # the 24 planted chips, and nothing else, on top
    assert np.all(np.diff(r.scores) <= 0) and 0 <= r.scores.min() and r.scores.max() <= 2
    assert len(r) == 400 and out.quality.startswith("2017 → 2023")
    x = r.extra
    assert set(x["date_before"]) == {"2017"} and set(x["date_after"]) == {"2023"}
    assert list(x["id_after"][:3]) == [str(s.catalog.ids[i]) for i in r.rows[:3]]
    # the order of the dates does not matter; between two cleared years nothing planted changed
    assert set(s.run_change("2023", "2017").result.rows[:24].tolist()) == truth
    later = s.run_change("2021", "2023").result
    assert len(truth & set(later.rows[:24].tolist())) <= 3  # chance alone
    # the threshold line filters changes, as it filters scores
    s.run_change("2017", "2023")
    s.params["threshold"] = float(r.scores[23])
    assert len(s.visible()) == 24


def test_unusual_for_its_own_history_finds_the_odd_year_not_the_lasting_change(dated):
    d, s = dated
    blips, _cleared = set(d["blip"].tolist()), set(d["cleared"].tolist())
    s.set_date("2019")
    out = s.run_change(after="2019", kind="history")
    top = set(out.result.rows[:12].tolist())
    assert top == blips
    assert out.result.extra["date_before"][0] == "2017"  # shown beside it: the date before
    # 2021 (the year of the clearing) is unusual too, but less than a one-year blip: it is like later years
    out = s.run_change(after="2021", kind="history")
    assert not blips & set(out.result.rows[:30].tolist())
    with pytest.raises(InputError, match="three or more dates"):
        Session.open(d["paths"][:2]).run_change(kind="history")


def test_a_change_stays_on_screen_when_the_date_switches(dated):
    d, s = dated
    out = s.run_change("2017", "2023")
    assert s.set_date("2017")
    moved = s.outcome
    assert moved is not None and moved.how == "change"
    assert np.array_equal(moved.result.rows, out.result.extra["row_before"])
    assert np.array_equal(moved.result.scores, out.result.scores)
    assert set(moved.result.extra["on"]) == {"2017"}
    s.set_date("2023")
    assert np.array_equal(s.outcome.result.rows, out.result.rows)
    # a search, by contrast, belongs to its date
    s.set_example(int(d["cleared"][0]), "positive")
    s.run_search()
    s.set_date("2021")
    assert s.outcome is None


def test_new_since_finds_what_looks_like_the_examples_now_and_did_not_then(dated):
    d, s = dated
    cleared = d["cleared"]
    s.set_example(int(cleared[0]), "positive")
    s.set_example(int(cleared[1]), "positive")
    s.params["k"] = 22  # the other 22 planted chips: the line falls at the weakest of them
    s.run_search()
    out = s.run_new(since="2017")
    r = out.result
    assert out.how == "new" and threshold_by(r) == "score"
    assert set(r.rows.tolist()) <= set(cleared.tolist()) - {int(cleared[0]), int(cleared[1])}
    assert len(r) >= 18
    line = s.detector().line
    assert np.all(r.scores >= line) and np.all(r.extra["score_before"] < line)
    assert "New since 2017" in out.quality
    # nothing is new since 2021: the clearing was there already (a line the user drew, clear of noise)
    s.run_search()
    s.params["threshold"] = 0.9
    assert s.detector().line == 0.9
    assert len(s.run_new(since="2021").result) == 0
    assert len(s.run_new(since="2019").result) == 22
    with pytest.raises(InputError, match="date before 2023"):
        s.new_query("2023")


def test_timeline_counts_hits_per_date_and_per_place(dated):
    from shapely.geometry import box

    from terrafind.core.change.timeline import run_timeline

    d, s = dated
    s.set_example(int(d["cleared"][0]), "positive")
    s.params["k"] = 23  # the other 23 planted chips
    s.run_search()
    counts = run_timeline(s.timeline_query())
    assert [c.date for c in counts] == ["2017", "2019", "2021", "2023"]
    assert counts[0].count <= 2 and counts[1].count <= 2 and 20 <= counts[3].count <= 26
    cell = counts[3].area_ha / counts[3].count
    assert cell > 1  # grid cells of a ~40 km region of 400 chips: ~2 km wide
    # inside a box around the cleared block only, and nowhere else
    c = d["centres"][d["cleared"]]
    where = box(c[:, 0].min() - 1e-6, c[:, 1].min() - 1e-6, c[:, 0].max() + 1e-6, c[:, 1].max() + 1e-6)
    inside = run_timeline(s.timeline_query(where, "the block"))
    assert inside[3].count == counts[3].count and inside[3].chips < 400


def test_a_detector_trained_on_some_dates_is_checked_on_another(dated):
    d, s = dated
    cleared, kinds = d["cleared"], d["labels"]
    others = np.setdiff1d(np.arange(400), cleared)
    # a few "not this" of every kind of land, as a user reviewing hits would give
    negatives = [others[kinds[others] == k][:4] for k in range(int(kinds.max()) + 1)]
    s.set_date("2021")
    for r in cleared[:4]:
        s.set_label(int(r), "positive")
    for r in np.concatenate([n[:2] for n in negatives]):
        s.set_label(int(r), "negative")
    s.set_date("2023")
    for r in cleared[10:16]:
        s.set_label(int(r), "positive")
    for r in np.concatenate([n[2:4] for n in negatives]):
        s.set_label(int(r), "negative")
    check = s.check_date("2023")
    assert check.trained_on == ("2021",) and check.n_train == 4 + 12
    assert check.precision == 1.0 and check.recall == 1.0
    assert 20 <= check.hits <= 30
    assert "checked on the 18 labels of 2023: precision 1.00" in check.sentence()
    # Refine on 2023 learns from 2021's labels too (as vectors of 2021)
    s.learn["refine"] = True
    out = s.run_search()
    assert out.how == "refine" and out.refine.n_pos == 10
    with pytest.raises(InputError, match="mark at least one chip right and one wrong at 2017"):
        s.check_date("2017")


def test_comparisons_export_both_dates_in_every_format(dated, tmp_path):
    import gpxpy

    d, s = dated
    s.run_change("2017", "2023", k=24)
    path, n = s.export_hits(tmp_path / "change.geojson")
    fc = json.loads(path.read_text())
    p = fc["features"][0]["properties"]
    assert n == 24 and "score" not in p and p["change"] > 0.5
    assert (
        (p["date_before"], p["date_after"]) == ("2017", "2023")
        and p["id_before"]
        and p["id_after"] == p["id"]
    )
    assert "row_before" not in p and "on" not in p
    rows = list(csv.DictReader(s.export_hits(tmp_path / "change.csv")[0].read_text().splitlines()))
    assert rows[0]["date_before"] == "2017" and float(rows[0]["change"]) > 0.5
    gpx = gpxpy.parse(s.export_hits(tmp_path / "change.gpx")[0].read_text())
    assert "from 2017 to 2023" in gpx.waypoints[0].description
    kml = s.export_hits(tmp_path / "change.kml")[0].read_text()
    assert '<Data name="date_before">' in kml and '<Data name="change">' in kml
    path, n_sites = s.export_sites(tmp_path / "sites.geojson")
    site = json.loads(path.read_text())["features"][0]["properties"]
    assert n_sites == 1 and site["chip_count"] == 24 and site["area_ha"] > 24 and site["best_change"] > 0.5
    assert site["date_before"] == "2017"
    # new since: score and score_before
    s.set_example(int(d["cleared"][0]), "positive")
    s.params["k"] = 30
    s.run_search()
    s.run_new(since="2017")
    path, _ = s.export_hits(tmp_path / "new.gpkg")
    import geopandas as gpd

    gdf = gpd.read_file(path)
    assert {"score", "score_before", "date_before", "date_after"} <= set(gdf.columns)
    assert (gdf["score_before"] < gdf["score"]).all()
