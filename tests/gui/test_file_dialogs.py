"""The shared save dialog: the chosen filter's extension is added to a bare name, kept otherwise."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from PySide6.QtWidgets import QFileDialog

from terrafind.gui.dialogs import ask_save_path, start_dir

FORMATS = {"GeoJSON (*.geojson)": "geojson", "GPX for phones (*.gpx)": "gpx"}


def _window(recent):
    return SimpleNamespace(settings=SimpleNamespace(recent=lambda: recent))


def test_start_dir_is_the_latest_files_folder(tmp_path):
    assert start_dir(_window([str(tmp_path / "a.parquet")])) == str(tmp_path)
    assert start_dir(_window([])) == str(Path.home())


def test_bare_name_gets_the_chosen_extension(monkeypatch, tmp_path):
    asked = {}

    def fake(parent, title, start, filters):
        asked.update(title=title, start=start, filters=filters)
        return str(tmp_path / "hits"), "GPX for phones (*.gpx)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake))
    assert ask_save_path(_window([]), "Export hits", "hits.geojson", FORMATS) == (
        str(tmp_path / "hits.gpx"),
        "gpx",
    )
    assert asked["filters"] == "GeoJSON (*.geojson);;GPX for phones (*.gpx)"


def test_typed_extension_is_kept_and_cancel_gives_none(monkeypatch, tmp_path):
    answers = iter([(str(tmp_path / "x.kml"), "GeoJSON (*.geojson)"), ("", "")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: next(answers)))
    assert ask_save_path(_window([]), "Export", "hits.geojson", FORMATS) == (
        str(tmp_path / "x.kml"),
        "geojson",
    )
    assert ask_save_path(_window([]), "Export", "hits.geojson", FORMATS) is None
