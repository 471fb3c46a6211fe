"""Hostile corpus, projects (*.terrafind) from someone else: every field is checked for its type and size
as the file is read (core.project_fields). A field that cannot be used is one sentence ("damaged"); an
optional part in an odd shape (the view, saved results, parameters) is dropped and the rest opens. Found
by fuzzing: parameters, views and versions of the wrong kind reached the session and crashed the CLI and
the app."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from terrafind.core.errors import InputError
from terrafind.core.project import Project, load_project, save_project
from terrafind.core.session import DEFAULT_PARAMS, Session


@pytest.fixture
def base(tmp_path):
    from synth import write_earth_index

    data = write_earth_index(tmp_path / "data.parquet", n=100, d=8)["path"]
    s = Session.open([str(data)])
    s.set_example(0, "positive")
    s.set_example(5, "negative")
    path = save_project(s.to_project(), tmp_path / "base.terrafind")
    return json.loads(path.read_text()), tmp_path


def _write(tmp_path, data) -> str:
    path = tmp_path / "crafted.terrafind"
    path.write_text(json.dumps(data))
    return str(path)


def _cli(path: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "terrafind.core.cli.main", "search", path, "-k", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- kind 38: fields that cannot be used: one sentence -------------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        {"version": "1"},
        {"version": 1e308},
        {"sources": [{"path": "x"}]},
        {"sources": "data.parquet"},
        {"sources": ["x" * 5000]},
        {"examples": [7]},
        {"examples": [{"id": ["a"], "kind": "positive"}]},
        {"labels": [{"id": "a", "label": "<b>maybe</b>"}]},
        {"masked": {"a": 1}},
        {"params": [1, 2]},
        {"region": "the whole world"},
        {"dates": [1]},
        {"imagery": {"url": "x"}},
    ],
    ids=lambda c: next(iter(c)),
)
def test_kind38_unusable_fields_are_one_sentence(base, change):
    data, tmp_path = base
    path = _write(tmp_path, {**data, **change})
    with pytest.raises(InputError, match="damaged|newer Terrafind"):
        load_project(path)
    run = _cli(path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


# --- kind 39: optional parts of the wrong kind are dropped, the rest opens -------------------------------
def test_kind39_odd_parameters_view_and_results_are_dropped(base):
    data, tmp_path = base
    crafted = {
        **data,
        "params": {
            **data["params"],
            "k": 10**30,  # would size arrays
            "snap_m": "s3://b/x?endpoint_override=10.0.0.1",
            "threshold": float("inf"),
            "mode": {"x": 1},
            "auto": "yes",
            "neighbours": 7,  # a good one is kept
            "unknown": 1,
        },
        "view": {"lat": "0; alert(1)", "lon": 0, "zoom": 3},
        "results": {"ids": ["a", "b"], "scores": [0.5]},  # not the same length
    }
    path = tmp_path / "crafted.terrafind"
    path.write_text(json.dumps(crafted).replace("Infinity", "1e999"))
    proj = load_project(path)
    assert proj.view is None and proj.results is None
    s = Session.open(proj.sources)
    s.apply_project(proj)
    assert s.params == {**DEFAULT_PARAMS, "neighbours": 7}
    run = _cli(str(path))
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr


def test_a_projects_own_fields_round_trip(base):
    data, tmp_path = base
    data["view"] = {"lat": 37.3, "lon": -75.9, "zoom": 11}
    data["results"] = {"ids": ["chip-0-0000001"], "scores": [0.9], "mode": "mean", "k": 3}
    proj = load_project(_write(tmp_path, data))
    assert proj.view == {"lat": 37.3, "lon": -75.9, "zoom": 11.0}
    assert proj.results["ids"] == ["chip-0-0000001"] and proj.results["k"] == 3
    assert isinstance(Project.from_dict(data), Project)


def test_kind39b_other_dates_marks_of_the_wrong_shape_are_left_out():
    """Found by fuzzing a dated project: the marks of other dates were trusted to be lists of objects."""
    from terrafind.core.dates.marks import marks_from_dict

    marks = marks_from_dict(
        {
            "2019": {"examples": True, "labels": 1e308},
            "2021": {
                "examples": [
                    "",
                    7,
                    None,
                    {"id": ["x"], "kind": "positive"},
                    {"id": "c1", "kind": "positive"},
                ],
                "labels": [[1, 2], {"id": "c2", "label": "negative"}, {"id": "c3", "label": "<b>"}],
            },
        }
    )
    assert marks["2019"].is_empty()
    assert marks["2021"].examples == {"c1": "positive"} and marks["2021"].labels == {"c2": "negative"}
