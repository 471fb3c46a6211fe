"""File > Open several dates: the dialog fills in the dates files state, checks typed ones, and says why not."""

from __future__ import annotations

from synth import write_dated

from terrafind.gui.panels.dates_dialog import DatesDialog


def test_dates_are_filled_in_checked_and_returned(qtbot, tmp_path):
    d = write_dated(tmp_path / "a", years=(2019, 2023))
    dlg = DatesDialog(None, str(tmp_path))
    qtbot.addWidget(dlg)
    for p in d["paths"]:
        dlg.add(str(p))
    assert [dlg.table.item(n, 1).text() for n in range(2)] == ["2019", "2023"]  # read from the files
    dlg.add(str(tmp_path / "b.parquet"), "")
    dlg._accept()
    assert "Give the date of b.parquet" in dlg.error.text() and not dlg.result()
    dlg.table.item(2, 1).setText("last summer")
    dlg._accept()
    assert "write a year" in dlg.error.text()
    dlg.table.removeRow(2)
    dlg.table.item(1, 1).setText("2019")
    dlg._accept()
    assert "at least two different dates" in dlg.error.text()
    dlg.table.item(1, 1).setText("2023-06")
    dlg._accept()
    paths, dates = dlg.result_paths()
    assert dlg.result() and paths == [str(p) for p in d["paths"]]
    assert dates == {str(d["paths"][0]): "2019", str(d["paths"][1]): "2023-06"}
