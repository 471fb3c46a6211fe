"""scripts/fetch_web_assets.py: hash pinning, safe unpacking, idempotence, offline message, TopoJSON decoding."""

from __future__ import annotations

import importlib.util
import io
import json
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("fetch_web_assets", ROOT / "scripts" / "fetch_web_assets.py")
fwa = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fwa)


def make_tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


TGZ = make_tgz(
    {
        "package/dist/lib.js": b"var L = 1;",
        "package/dist/images/a.png": b"png-a",
        "package/dist/images/sub/deep.png": b"deep",
        "package/LICENSE": b"licence text",
        "package/../../evil.txt": b"evil",
        "package/src/other.js": b"not wanted",
    }
)
PIN = {
    "version": "1.0.0",
    "integrity": fwa.sri(TGZ),
    "license": "MIT",
    "files": {"dist/lib.js": "lib.js", "dist/images/*": "images/", "LICENSE": "LICENSE"},
}


def test_pins_are_sha512_of_exact_versions():
    pins = json.loads((ROOT / "scripts" / "web_assets.json").read_text())
    for name in ("leaflet", "leaflet-draw", "jquery", "world-atlas"):
        pin = pins["packages"][name]
        assert pin["integrity"].startswith("sha512-") and len(pin["integrity"]) == 95
        assert pin["version"].count(".") == 2 and pin["version"][0] not in "^~>"
    assert pins["packages"]["leaflet"]["version"] == "1.9.4"


def test_unpacks_only_listed_files_and_writes_manifest(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(fwa, "download", lambda url: calls.append(url) or TGZ)
    assert fwa.fetch_package("demo", PIN, tmp_path, "https://registry.example", log=lambda m: None)
    folder = tmp_path / "demo"
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert files == ["LICENSE", "MANIFEST.json", "images/a.png", "lib.js"]
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    assert manifest["version"] == "1.0.0" and manifest["integrity"] == PIN["integrity"]
    assert calls == ["https://registry.example/demo/-/demo-1.0.0.tgz"]

    # Second run: nothing downloaded. A changed file: fetched again.
    assert not fwa.fetch_package("demo", PIN, tmp_path, "https://registry.example", log=lambda m: None)
    assert len(calls) == 1
    (folder / "lib.js").write_text("tampered")
    assert fwa.fetch_package("demo", PIN, tmp_path, "https://registry.example", log=lambda m: None)
    assert (folder / "lib.js").read_bytes() == b"var L = 1;"


def test_a_build_reuses_a_current_copy_and_never_a_tampered_one(tmp_path, monkeypatch):
    # The wheel build copies the checkout's verified assets instead of downloading them again.
    calls = []
    monkeypatch.setattr(fwa, "download", lambda url: calls.append(url) or TGZ)
    quiet = {"log": lambda m: None}
    checkout, build = tmp_path / "checkout", tmp_path / "build"
    fwa.fetch_package("demo", PIN, checkout, "https://registry.example", **quiet)
    (checkout / "demo" / "stray.js").write_text("not listed in the manifest")
    assert fwa.fetch_package("demo", PIN, build, "https://registry.example", reuse=checkout, **quiet)
    assert len(calls) == 1  # copied, not downloaded
    assert sorted(p.name for p in (build / "demo").rglob("*") if p.is_file()) == [
        "LICENSE",
        "MANIFEST.json",
        "a.png",
        "lib.js",
    ]
    # A copy whose file no longer matches its manifest is not reused: the pinned tarball is fetched.
    (checkout / "demo" / "lib.js").write_text("tampered")
    other = tmp_path / "other"
    assert fwa.fetch_package("demo", PIN, other, "https://registry.example", reuse=checkout, **quiet)
    assert len(calls) == 2 and (other / "demo" / "lib.js").read_bytes() == b"var L = 1;"


def test_hash_mismatch_installs_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(fwa, "download", lambda url: TGZ + b"x")
    with pytest.raises(fwa.FetchError, match="does not match the pinned hash"):
        fwa.fetch_package("demo", PIN, tmp_path, "https://registry.example", log=lambda m: None)
    assert not (tmp_path / "demo").exists()


def test_missing_listed_file_is_an_error(tmp_path, monkeypatch):
    pin = dict(PIN, files={"dist/gone.js": "gone.js"})
    monkeypatch.setattr(fwa, "download", lambda url: TGZ)
    with pytest.raises(fwa.FetchError, match="dist/gone.js"):
        fwa.fetch_package("demo", pin, tmp_path, "https://registry.example", log=lambda m: None)


def test_offline_gives_one_actionable_sentence(tmp_path, capsys):
    # Port 9 on loopback: connection refused at once, no outside traffic.
    code = fwa.main(["--dest", str(tmp_path), "--registry", "http://127.0.0.1:9"])
    assert code == 1
    err = capsys.readouterr().err
    assert "Could not download" in err and "fetch_web_assets.py" in err and "Traceback" not in err


def test_topojson_decoding_quantized_arcs_and_reversal():
    # Two squares sharing an edge (arc 1); arcs are delta-encoded, then scaled and translated.
    topology = {
        "type": "Topology",
        "transform": {"scale": [0.5, 0.25], "translate": [10, 20]},
        "arcs": [
            [[2, 0], [-2, 0], [0, 4], [2, 0]],  # (2,0)->(0,0)->(0,4)->(2,4)
            [[2, 4], [0, -4]],  # shared edge (2,4)->(2,0)
            [[2, 4], [2, 0], [0, -4], [-2, 0]],  # (2,4)->(4,4)->(4,0)->(2,0)
        ],
        "objects": {
            "things": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "arcs": [[0, 1]], "id": "A", "properties": {"name": "West"}},
                    {"type": "MultiPolygon", "arcs": [[[2, ~1]]], "properties": {"name": "East"}},
                ],
            }
        },
    }
    fc = fwa.topology_to_geojson(topology, "things", decimals=5)
    west, east = fc["features"]
    assert west["id"] == "A" and west["properties"] == {"name": "West"}
    assert west["geometry"]["coordinates"] == [[[11, 20], [10, 20], [10, 21], [11, 21], [11, 20]]]
    assert east["geometry"]["type"] == "MultiPolygon"
    assert east["geometry"]["coordinates"] == [[[[11, 21], [12, 21], [12, 20], [11, 20], [11, 21]]]]


def test_antimeridian_rings_do_not_cross_the_world():
    topology = {
        "type": "Topology",
        "arcs": [[[179, 60], [-179, 60], [-179, 62], [179, 62], [179, 60]]],
        "objects": {"x": {"type": "Polygon", "arcs": [[0]]}},
    }
    fc = fwa.topology_to_geojson(topology, "x")
    polygons = fc["features"][0]["geometry"]["coordinates"]
    assert len(polygons) == 2  # once near +180, once shifted to near -180
    for polygon in polygons:
        xs = [x for x, _ in polygon[0]]
        assert max(xs) - min(xs) == pytest.approx(2)


def test_vendored_basemap_when_fetched():
    vendor = ROOT / "resources" / "web" / "vendor" / "basemap"
    if not (vendor / "countries.geojson").exists():
        pytest.skip("web assets not fetched (scripts/fetch_web_assets.py)")
    fc = json.loads((vendor / "countries.geojson").read_text())
    names = {f["properties"].get("name") for f in fc["features"]}
    assert {"Kenya", "Brazil", "France"} <= names and len(fc["features"]) > 200
