"""Several dates of one region: dates found, files grouped, chips matched, marks per date, projects."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from synth import write_dated, write_earth_index

from terrafind.core.dates.detect import check_label, file_date, plan_dates, span_label
from terrafind.core.dates.region import display_labels
from terrafind.core.errors import InputError
from terrafind.core.project import Project
from terrafind.core.session import Session, open_data


def test_span_labels_read_like_people_say_them():
    d = dt.date
    assert span_label(d(2024, 1, 1), d(2025, 1, 1)) == "2024"  # STAC's year
    assert span_label(d(2024, 1, 1), d(2024, 12, 31)) == "2024"
    assert span_label(d(2024, 6, 1), d(2024, 6, 30)) == "2024-06"
    assert span_label(d(2024, 6, 15), d(2024, 6, 15)) == "2024-06-15"
    assert span_label(d(2024, 3, 1), d(2024, 9, 30)) == "2024-03-01..2024-09-30"
    assert check_label(" 2020 ") == "2020" and check_label("2020-06") == "2020-06"
    with pytest.raises(InputError, match="write a year"):
        check_label("last summer")
    assert display_labels(["1985", "1990-06-15"]) == {"1985": "1985", "1990-06-15": "1990"}
    assert display_labels(["2020-01-01", "2020-06-01"]) == {
        "2020-01-01": "2020-01-01",
        "2020-06-01": "2020-06-01",
    }


def test_file_dates_from_footer_column_name_and_the_user(tmp_path):
    d = write_dated(tmp_path / "a", years=(2019, 2021))
    assert file_date(str(d["paths"][0])).label == "2019"  # emb span
    assert file_date(str(d["paths"][0])).how == "footer"
    ei = write_earth_index(tmp_path / "33PXP_2021-01-01_2021-12-31_v001.gpq", n=20, d=8, emb_meta=False)
    assert file_date(str(ei["path"])).label == "2021"  # Clay's name
    one = write_dated(tmp_path / "b", years=(2019, 2021, 2023), one_file=True)
    fd = file_date(str(one["paths"][0]))
    assert fd.how == "several" and fd.values == ["2019-06-15", "2021-06-15", "2023-06-15"]
    # the user's date wins, for a file or for the folder holding it
    assert file_date(str(d["paths"][0]), {str(d["paths"][0]): "2020-05"}).label == "2020-05"
    assert file_date(str(d["paths"][1]), {str(tmp_path / "a"): "2030"}).label == "2030"


def test_one_snapshot_stays_one_and_undated_files_say_so(tmp_path, ei_file):
    assert not plan_dates([str(ei_file["path"])]).is_dated()
    d = write_dated(tmp_path, years=(2019, 2021))
    nodate = write_earth_index(tmp_path / "plain.parquet", n=20, d=32, emb_meta=False)
    plan = plan_dates([str(p) for p in d["paths"]] + [str(nodate["path"])])
    assert not plan.is_dated() and "plain.parquet states no date" in plan.note
    opened = open_data([*d["paths"], nodate["path"]])
    assert opened.dates is None and any("states no date" in p for p in opened.catalog.problems)


def test_open_dates_by_file_and_by_date_column(tmp_path):
    write_dated(tmp_path / "files", years=(2023, 2019, 2021))
    opened = open_data([str(tmp_path / "files")])
    assert opened.dates.labels == ["2019", "2021", "2023"]
    assert opened.catalog is opened.dates.get("2023").catalog and opened.catalog.period == "2023"
    assert (
        opened.dates.match("2019", "2023").by == "id" and opened.dates.match("2019", "2023").sentence is None
    )
    one = write_dated(tmp_path / "one", years=(2019, 2021), one_file=True)
    dated = open_data(one["paths"]).dates
    assert dated.labels == ["2019-06-15", "2021-06-15"]
    cats = [s.catalog for s in dated.slices]
    assert [len(c) for c in cats] == [one["n"], one["n"]]
    # each date's chips keep their own vectors, and each date is a catalog (and index) of its own
    assert cats[0].fingerprint() != cats[1].fingerprint()
    assert not np.allclose(cats[0].vectors[one["cleared"]], cats[1].vectors[one["cleared"]])
    assert cats[0].norms is not None and len(cats[0].norms) == one["n"]


def test_chips_match_by_place_and_grids_that_do_not_line_up_get_a_sentence(tmp_path):
    same = open_data(write_dated(tmp_path / "a", years=(2019, 2021), same_ids=False)["paths"]).dates
    m = same.match("2019", "2021")
    assert m.by == "place" and m.sentence is None and np.array_equal(m.a_to_b, np.arange(len(m.a_to_b)))
    off = open_data(write_dated(tmp_path / "b", years=(2019, 2021), same_ids=False, shift=0.7)["paths"]).dates
    m = off.match("2019", "2021")
    n = int(np.count_nonzero(m.a_to_b >= 0))
    assert 0 < n < len(m.a_to_b)  # shifted by 0.7 chip: most find no twin within half a chip
    assert "not on the same grid" in m.sentence and f"{n:,} of the" in m.sentence
    assert m.reversed().a_to_b is m.b_to_a


def test_dates_of_different_models_do_not_open_together(tmp_path):
    d = write_dated(tmp_path, years=(2019, 2021))
    t = pq.read_table(d["paths"][1])
    emb = json.loads(t.schema.metadata[b"emb"])
    emb["model"]["id"] = "another_model"
    meta = dict(t.schema.metadata)
    meta[b"emb"] = json.dumps(emb).encode()
    pq.write_table(t.replace_schema_metadata(meta), d["paths"][1])
    with pytest.raises(InputError, match="model"):
        open_data(d["paths"])


def test_switching_dates_keeps_each_dates_marks_and_searches_learn_across_dates(tmp_path):
    d = write_dated(tmp_path, years=(2019, 2021, 2023))
    s = Session.open(d["paths"])
    assert s.date == "2023" and s.date_labels() == ["2019", "2021", "2023"]
    cleared = d["cleared"]
    s.set_example(int(cleared[0]), "positive")
    s.set_label(int(cleared[1]), "positive")
    s.set_label(int(d["blip"][0]) if len(d["blip"]) else 300, "negative")
    ids = {str(s.catalog.ids[r]) for r in s.examples} | {str(s.catalog.ids[r]) for r in s.labels}
    assert s.set_date("2019") and s.catalog is s.dates.get("2019").catalog
    assert s.examples == {} and s.labels == {}
    assert {i.chip_id for i in s.example_items() if i.date == "2023"} == ids
    ex = s.search_examples()
    assert ex.positives == [] and len(ex.positive_vectors) == 2 and len(ex.negative_vectors) == 1
    assert s.has_positive() and s.can_refine()
    # the 2023 examples searched on 2019: what looks like cleared land at 2019 (nothing was cleared yet)
    outcome = s.run_search()
    assert outcome.result.scores.max() < 0.9
    s.learn_from = ["2021"]  # learning from another date only: the 2023 marks are not used
    assert s.search_examples().is_empty()
    s.learn_from = None
    s.set_date("2023")
    assert set(s.examples.values()) == {"positive"} and len(s.labels) == 2


def test_project_round_trip_keeps_the_date_and_every_dates_marks(tmp_path):
    d = write_dated(tmp_path, years=(2019, 2021, 2023))
    s = Session.open(d["paths"])
    s.set_example(int(d["cleared"][0]), "positive")
    s.set_date("2021")
    s.set_label(5, "negative")
    s.set_learn_from(["2021", "2023"])
    proj = Project.from_dict(json.loads(json.dumps(s.to_project().to_dict())))
    assert proj.dates["current"] == "2021" and list(proj.dates["marks"]) == ["2023"]
    back = Session.open(proj.sources)
    missing = back.apply_project(proj)
    assert missing == [] and back.date == "2021" and back.labels == {5: "negative"}
    assert back.learn_from == ["2021", "2023"]
    assert [(i.kind, i.date) for i in back.example_items()] == [("negative", "2021"), ("positive", "2023")]
    # older projects (no dates) still open
    old = proj.to_dict()
    del old["dates"]
    assert Project.from_dict(old).dates is None
