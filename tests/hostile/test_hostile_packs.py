"""Hostile corpus, field packs: a pack from someone else is checked before anything in it is used.

One real pack is built per module; each kind copies it and tampers with the copy the way a hostile (or
careless) sender would. Every kind: one sentence in the app's terms (InputError) and exit 2 from the
CLI, nothing read or written outside the pack, the pack's own files unchanged by use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from terrafind.core.errors import InputError
from terrafind.core.pack.open import is_pack, open_pack

BBOX = (-75.70, 37.60, -75.60, 37.68)


def _build(root: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from imagery_synth import write_cog
    from synth import write_earth_index

    from terrafind.core.pack.build import build_pack
    from terrafind.core.types import Region

    (root / "in").mkdir()
    ei = write_earth_index(root / "in" / "data.parquet", n=120, d=16, bbox=BBOX, row_group_size=60)
    cog = write_cog(root / "in" / "scene.tif", BBOX, res=60.0)
    return build_pack([ei["path"]], Region.from_bbox(*BBOX), root / "pack", imagery=str(cog))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("hostile-pack"))


@pytest.fixture
def copy(built, tmp_path):
    target = tmp_path / "received-pack"
    shutil.copytree(built, target, symlinks=True)
    return target


def manifest_of(pack: Path) -> dict:
    return json.loads((pack / "manifest.json").read_text())


def write_manifest(pack: Path, data: dict) -> None:
    (pack / "manifest.json").write_text(json.dumps(data))


def cli_search(pack: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "terrafind.core.cli.main", "search", str(pack), "--at", "-75.65,37.64"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_cli_refuses(pack: Path, words: str) -> None:
    run = cli_search(pack)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], run.stderr


def test_a_good_pack_opens_and_carries_no_path_of_its_maker(built):
    info = open_pack(built)
    assert info.catalog_paths and info.thumbnails_path and not info.problems[:0]
    text = (built / "manifest.json").read_text()
    assert str(built.parent / "in") not in text and os.path.expanduser("~") not in text


# --- kind 07: a manifest entry with an absolute path ------------------------------------------------------
def test_kind07_absolute_entry_is_refused_naming_it(copy, tmp_path):
    secret = tmp_path / "secret.parquet"
    shutil.copy(next((copy / "embeddings").iterdir()), secret)
    m = manifest_of(copy)
    m["files"][str(secret)] = {
        "bytes": secret.stat().st_size,
        "sha256": hashlib.sha256(secret.read_bytes()).hexdigest(),
    }
    m["parts"]["embeddings"] = [str(secret)]
    write_manifest(copy, m)
    with pytest.raises(InputError, match="absolute path") as info:
        open_pack(copy)
    assert str(secret)[:60] in info.value.message
    assert_cli_refuses(copy, "absolute path")


# --- kind 08: ".." in a manifest entry --------------------------------------------------------------------
def test_kind08_dotdot_entry_is_refused(copy):
    m = manifest_of(copy)
    first = m["parts"]["embeddings"][0]
    m["parts"]["embeddings"] = ["embeddings/../../outside.parquet"]
    m["files"]["embeddings/../../outside.parquet"] = m["files"][first]
    write_manifest(copy, m)
    with pytest.raises(InputError, match="leads outside the pack"):
        open_pack(copy)
    assert_cli_refuses(copy, "leads outside the pack")


# --- kind 09: a symlink inside the pack that leads out of it ----------------------------------------------
def test_kind09_symlink_out_of_the_pack_is_refused(copy, tmp_path):
    outside = tmp_path / "elsewhere.sqlite"
    shutil.copy(copy / "thumbnails.sqlite", outside)
    (copy / "thumbnails.sqlite").unlink()
    (copy / "thumbnails.sqlite").symlink_to(outside)
    m = manifest_of(copy)
    m["files"]["thumbnails.sqlite"]["sha256"] = hashlib.sha256(outside.read_bytes()).hexdigest()
    write_manifest(copy, m)
    before = outside.stat().st_mtime_ns
    with pytest.raises(InputError, match="link to a file outside the pack"):
        open_pack(copy)
    assert outside.stat().st_mtime_ns == before
    assert_cli_refuses(copy, "outside the pack")


# --- kind 10: a part that is not listed with its sha256, and one that changed ------------------------------
def test_kind10_unlisted_part_is_refused_and_changed_file_left_out(copy):
    m = manifest_of(copy)
    rel = m["parts"]["embeddings"][0]
    del m["files"][rel]
    write_manifest(copy, m)
    with pytest.raises(InputError, match="not listed with its sha256"):
        open_pack(copy)
    m["files"][rel] = {"bytes": 1, "sha256": "0" * 64}  # listed, but it is not that file
    write_manifest(copy, m)
    info = open_pack(copy)
    assert f"{rel} has changed since the field pack was made." in info.problems and not info.catalog_paths
    assert_cli_refuses(copy, "no usable embeddings")


# --- kind 11: the pack's databases are only read --------------------------------------------------------
def test_kind11_thumbnail_db_is_opened_read_only(copy):
    before = {
        p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in copy.rglob("*")
        if p.is_file()
    }
    info = open_pack(copy)
    catalog = info.open_catalog()
    svc = info.thumbnail_service(catalog)
    assert {svc.thumbnail(catalog, r).status for r in range(len(catalog))} == {"ok"}
    svc.cache.put("new-key", b"x", "ok")  # a write attempt is a no-op on a pack's cache
    svc.close()
    tiles = info.basemap()
    tiles.metadata()
    tiles.close()
    after = {
        p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in copy.rglob("*")
        if p.is_file()
    }
    assert after == before  # not a byte, not a time stamp, no -wal/-shm beside the databases


# --- kind 12: a crafted search index (valid checksums, broken graph) -------------------------------------
def test_kind12_crafted_index_never_reaches_hnswlib(copy):
    import struct

    from terrafind.core.pack.layout import sha256_file

    m = manifest_of(copy)
    rel = m["parts"]["index"]
    path = copy / rel
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 96 + 4, 2_000_000_000)  # node 0's first neighbour: far past the end
    path.write_bytes(bytes(data))
    m["files"][rel] = {"bytes": len(data), "sha256": sha256_file(path)}  # the sender signs anything
    sidecar = json.loads(path.with_suffix(".json").read_text())
    from terrafind.core.search.index_files import file_sums

    sidecar["sums"] = file_sums(path, None, None)
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    m["files"][str(Path(rel).with_suffix(".json"))] = {
        "bytes": path.with_suffix(".json").stat().st_size,
        "sha256": sha256_file(path.with_suffix(".json")),
    }
    write_manifest(copy, m)
    info = open_pack(copy)
    catalog = info.open_catalog()
    index = info.load_index(catalog)  # checked, refused, built anew: no crash
    assert not index.from_cache and len(index) == len(catalog)


# --- kind 13: a manifest that is not a manifest ----------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["[" * 200_000 + "]" * 200_000, '{"format": "terrafind-field-pack", "files": "everything"}', "\x00\x01"],
)
def test_kind13_damaged_manifest_is_one_sentence(copy, text):
    (copy / "manifest.json").write_text(text)
    with pytest.raises(InputError):
        open_pack(copy)
    assert not is_pack(copy) or text.startswith('{"format"')
    run = cli_search(copy)
    assert run.returncode == 2 and "Traceback" not in run.stderr


# --- kind 40: manifest parts in the wrong shape (found by fuzzing open_pack) ------------------------------
@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update(parts=[1, 2]),
        lambda m: m["parts"].update(dates=1.5),
        lambda m: m["parts"].update(embeddings="embeddings"),
        lambda m: m.update(assigned=["a"]),
        lambda m: m.update(problems={"a": 1}),
    ],
)
def test_kind40_parts_of_the_wrong_shape_are_left_out_not_a_crash(copy, change):
    m = manifest_of(copy)
    change(m)
    write_manifest(copy, m)
    try:
        info = open_pack(copy)
    except InputError:
        return
    if info.catalog_paths:
        assert len(info.open_catalog()) > 0
    run = cli_search(copy)
    assert run.returncode in (0, 2) and "Traceback" not in run.stderr, run.stderr
