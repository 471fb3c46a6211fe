"""Imagery remembered per dataset (keyed by its files, not the region) and the local files for a basemap."""

from __future__ import annotations

import json

import pytest

from terrafind.core import project as projects
from terrafind.core.errors import InputError
from terrafind.core.imagery import settings as imset


def test_remembered_per_dataset_by_resolved_sorted_sources(tmp_path, monkeypatch):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert imset.imagery_for([a]) is None
    imset.set_imagery_for([b, a], "/imagery/scene.tif")
    imset.set_imagery_for([a], "https://tiles.example.org/{z}/{x}/{y}.png")
    monkeypatch.chdir(tmp_path)
    # the same files in another order, one given relative to the working folder
    assert imset.imagery_for(["a.parquet", str(b)]) == "/imagery/scene.tif"
    assert imset.imagery_for([a]) == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert imset.imagery_for([b]) is None
    data = json.loads(imset.settings_path().read_text())
    assert data["format"] == "terrafind-imagery-settings" and len(data["datasets"]) == 2
    assert not list(imset.settings_path().parent.glob(".imagery.json.*"))  # no temporary file left over

    imset.set_imagery_for([a, b], None)
    assert imset.imagery_for([a, b]) is None
    assert imset.imagery_for([a]) is not None  # the other dataset keeps its imagery


def test_damaged_settings_forget_rather_than_fail(tmp_path):
    imset.settings_path().write_text("{not json")
    assert imset.imagery_for([tmp_path / "a.parquet"]) is None
    imset.set_imagery_for([tmp_path / "a.parquet"], "/x.vrt")  # rewrites a clean file
    assert imset.imagery_for([tmp_path / "a.parquet"]) == "/x.vrt"


def test_check_imagery_names_what_is_wrong(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="holds no GeoTIFF"):
        imset.check_imagery(str(empty))
    note = tmp_path / "notes.txt"
    note.write_text("hello")
    with pytest.raises(InputError, match="notes.txt is not imagery"):
        imset.check_imagery(str(note))
    (empty / "scene.tif").write_bytes(b"")
    imset.check_imagery(str(empty))
    imset.check_imagery("https://example.org/{z}/{x}/{y}.png")


def test_project_keeps_imagery_and_reads_old_files(tmp_path):
    proj = projects.Project(sources=["/d/a.parquet"], imagery="/img/mosaic")
    path = projects.save_project(proj, tmp_path / "p")
    assert projects.load_project(path).imagery == "/img/mosaic"
    old = proj.to_dict()
    del old["imagery"]  # a project written before the field existed
    (tmp_path / "old.terrafind").write_text(json.dumps(old))
    assert projects.load_project(tmp_path / "old.terrafind").imagery is None


def test_local_cogs_skip_remote_and_missing_and_cap(tmp_path):
    from synth import write_earth_index

    from terrafind.core.read.reader import open_catalog

    scenes = [tmp_path / f"s{i}.tif" for i in range(3)]
    for s in scenes:
        s.write_bytes(b"")
    folder = tmp_path / "mosaic"
    folder.mkdir()
    (folder / "m1.tif").write_bytes(b"")
    (folder / "readme.txt").write_text("not imagery")
    urls = [str(scenes[i % 3]) for i in range(40)]
    urls[0] = "https://example.org/remote.tif"
    urls[1] = str(tmp_path / "gone.tif")
    urls[2] = None
    info = write_earth_index(tmp_path / "e.parquet", n=40, d=8, extra_columns={"source_url": urls})
    cat = open_catalog([info["path"]])
    got = imset.local_cogs(cat)
    assert got == [s.resolve() for s in scenes]
    assert imset.local_cogs(cat, str(folder)) == [s.resolve() for s in scenes] + [
        (folder / "m1.tif").resolve()
    ]
    assert imset.local_cogs(cat, str(scenes[0])) == [s.resolve() for s in scenes]  # no duplicate
    assert imset.local_cogs(cat, "https://t.example.org/{z}/{x}/{y}.png", limit=2) == [
        s.resolve() for s in scenes[:2]
    ]
