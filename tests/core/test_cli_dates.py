"""terrafind-cli change, search --since and embed --date: two dates of a region from the command line."""

from __future__ import annotations

import json

from synth import write_dated

from terrafind.core.cli.main import main


def test_cli_change_writes_the_most_changed_chips_with_both_dates(tmp_path, capsys):
    d = write_dated(tmp_path / "data", years=(2017, 2023), cleared_at=2020)
    old, new = (str(p) for p in d["paths"])
    out = tmp_path / "change.geojson"
    assert main(["change", old, new, "-k", "24", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2017 → 2023" in text and "Wrote" in text
    feats = json.loads(out.read_text())["features"]
    assert len(feats) == 24 and {f["properties"]["date_before"] for f in feats} == {"2017"}
    ids = {f["properties"]["id"] for f in feats}
    assert ids == {f"chip-{i:05d}" for i in d["cleared"]}
    assert all(f["properties"]["id_before"] == f["properties"]["id"] for f in feats)
    # --threshold and --sites
    sites = tmp_path / "sites.csv"
    assert main(["change", old, new, "--threshold", "0.5", "--sites", "--out", str(sites)]) == 0
    assert "form 1 site(s)" in capsys.readouterr().out
    # files without a date: --dates names them; without it, one sentence says what to do
    plain = write_dated(tmp_path / "plain", years=(2017, 2023))
    for p in plain["paths"]:
        p.rename(p.with_name(p.name.replace("region_", "area-").replace("2017", "a").replace("2023", "b")))
    a, b = sorted(str(p) for p in (tmp_path / "plain").iterdir())
    _strip_dates(a), _strip_dates(b)
    assert main(["change", a, b, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "states no date; give both dates with --dates" in err and "Traceback" not in err
    assert main(["change", a, b, "--dates", "2017,2023", "--out", str(out)]) == 0


def _strip_dates(path: str) -> None:
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    emb = json.loads(t.schema.metadata[b"emb"])
    emb.pop("start_datetime"), emb.pop("end_datetime")
    meta = dict(t.schema.metadata)
    meta[b"emb"] = json.dumps(emb).encode()
    pq.write_table(t.replace_schema_metadata(meta), path)


def test_cli_search_since_writes_what_is_new_with_score_before(tmp_path, capsys):
    d = write_dated(tmp_path / "data", years=(2017, 2023), cleared_at=2020)
    old, new = (str(p) for p in d["paths"])
    lon, lat = d["centres"][d["cleared"][0]]
    out = tmp_path / "new.csv"
    args = ["search", new, "--at", f"{lon},{lat}", "--since", old, "--threshold", "0.8", "--out", str(out)]
    assert main(args) == 0
    assert "New since 2017: 23 chips" in capsys.readouterr().out
    import csv

    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 23 and all(float(r["score_before"]) < 0.8 <= float(r["score"]) for r in rows)
    assert {r["date_before"] for r in rows} == {"2017"} and {r["date_after"] for r in rows} == {"2023"}
