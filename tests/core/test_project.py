from __future__ import annotations

import json
import os

import pytest

from terrafind.core import project as P
from terrafind.core.errors import InputError


def _sample() -> P.Project:
    return P.Project(
        sources=["/data/a.parquet"],
        region={"bbox": [-76.0, 37.0, -75.0, 38.0], "polygon_wkt": None},
        examples=[{"id": "c1", "kind": "positive"}, {"id": "c9", "kind": "negative"}],
        labels=[{"id": "c4", "label": "negative"}],
        params={"mode": "mean", "k": 200, "threshold": 0.5},
        results={"ids": ["c2", "c3"], "scores": [0.9, 0.8], "mode": "mean", "k": 200},
        view={"lon": -75.5, "lat": 37.5, "zoom": 11},
    )


def test_round_trip_and_suffix(tmp_path):
    path = P.save_project(_sample(), tmp_path / "mine")
    assert path.name == "mine.terrafind"
    back = P.load_project(path)
    assert back == _sample()
    assert json.loads(path.read_text())["format"] == "terrafind-project"


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = P.save_project(_sample(), tmp_path / "p.terrafind")
    before = path.read_text()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    changed = _sample()
    changed.labels.append({"id": "c5", "label": "positive"})
    with pytest.raises(InputError, match="No space left"):
        P.save_project(changed, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.terrafind"]  # no temp file left behind


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "damaged"),
        (json.dumps({"format": "other"}), "not a Terrafind project"),
        (json.dumps({"format": "terrafind-project", "version": 99}), "newer Terrafind"),
        (
            json.dumps(
                {"format": "terrafind-project", "version": 1, "labels": [{"id": "a", "label": "maybe"}]}
            ),
            "damaged",
        ),
    ],
)
def test_bad_files_say_so(tmp_path, text, match):
    path = tmp_path / "bad.terrafind"
    path.write_text(text)
    with pytest.raises(InputError, match=match):
        P.load_project(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        P.load_project(tmp_path / "nope.terrafind")


def test_recovery_lifecycle(terrafind_home):
    assert P.recovery_pending() is None
    P.write_recovery(_sample())
    pending = P.recovery_pending()
    assert pending is not None and str(pending).startswith(str(terrafind_home))
    assert P.load_project(pending).labels == [{"id": "c4", "label": "negative"}]
    P.finish_session(_sample())
    assert P.recovery_pending() is None
    assert P.load_project(P.last_session_path()) == _sample()


def test_finish_empty_session_keeps_previous_last_session(terrafind_home):
    P.finish_session(_sample())
    P.write_recovery(P.Project())
    P.finish_session(P.Project())
    assert P.load_project(P.last_session_path()).sources == ["/data/a.parquet"]


def test_masks_and_learn_toggles_round_trip_and_old_files_still_load(tmp_path):
    proj = _sample()
    proj.masked = ["c7", "c8"]
    proj.learn = {"refine": True, "group": False, "sites": True, "gallery": "review"}
    back = P.load_project(P.save_project(proj, tmp_path / "learned"))
    assert back.masked == ["c7", "c8"]
    assert back.learn == {"refine": True, "group": False, "sites": True, "gallery": "review"}
    # A file written before masks and toggles existed: no such keys at all.
    old = _sample().to_dict()
    del old["masked"], old["learn"]
    (tmp_path / "old.terrafind").write_text(json.dumps(old))
    loaded = P.load_project(tmp_path / "old.terrafind")
    assert loaded.masked == [] and loaded.learn == {}
    assert loaded.examples == _sample().examples
    # Unknown or odd values are made safe, not trusted.
    odd = dict(old, learn={"refine": 1, "gallery": "<b>", "extra": True}, masked=[5])
    (tmp_path / "odd.terrafind").write_text(json.dumps(odd))
    loaded = P.load_project(tmp_path / "odd.terrafind")
    assert loaded.learn == {"refine": True, "group": False, "sites": False, "gallery": "best"}
    assert loaded.masked == ["5"]
