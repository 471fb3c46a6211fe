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


def test_the_filter_decides_the_format_and_the_suffix_agrees(monkeypatch, tmp_path):
    """Issue 11: a typed suffix never lets one format be written under another's name (GeoJSON in x.kml,
    a GPX over data.parquet)."""
    answers = iter(
        [
            (str(tmp_path / "x.kml"), "GeoJSON (*.geojson)"),
            (str(tmp_path / "data.parquet"), "GPX (*.gpx)"),
            (str(tmp_path / "hits.geojson"), "GeoJSON (*.geojson)"),
            ("", ""),
        ]
    )
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a: next(answers)))
    formats = {**FORMATS, "GPX (*.gpx)": "gpx"}
    assert ask_save_path(_window([]), "Export", "hits.geojson", formats) == (
        str(tmp_path / "x.geojson"),
        "geojson",
    )
    assert ask_save_path(_window([]), "Export", "hits.geojson", formats) == (
        str(tmp_path / "data.parquet.gpx"),
        "gpx",
    )
    assert ask_save_path(_window([]), "Export", "hits.geojson", formats) == (
        str(tmp_path / "hits.geojson"),
        "geojson",
    )
    assert ask_save_path(_window([]), "Export", "hits.geojson", formats) is None
