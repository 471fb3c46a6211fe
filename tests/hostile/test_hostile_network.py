"""Hostile corpus, network: addresses from files never choose where Terrafind goes or what it sends.

Each kind asserts one clear sentence (exit 2 from the CLI), no request at the recording server on
127.0.0.1 (so nothing, and no credential, left), and that normal use still works afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from recorder import recorder

from terrafind.core.net.gate import NotAllowed, Offline, gate
from terrafind.core.net.locations import Local, Refused, Remote, locate

FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "terrafind.core.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def one_sentence(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("terrafind-cli: "), stderr
    return lines[0]


# --- kind 1: the s3 endpoint_override credential leak ----------------------------------------------------
def test_kind01_s3_endpoint_override_sends_nothing_and_no_keys(tmp_path):
    with recorder() as (port, seen):
        leak = f"s3://bucket/x.parquet?endpoint_override=127.0.0.1:{port}&scheme=http"
        # The vector is real: pyarrow's own from_uri signs with the user's keys and sends them there.
        import pyarrow.fs as pafs

        os.environ.update(FAKE_KEYS)
        try:
            fs, path = pafs.FileSystem.from_uri(leak)
            try:
                fs.get_file_info(path)
            except OSError:
                pass
        finally:
            for k in FAKE_KEYS:
                os.environ.pop(k, None)
        assert any((r["auth"] or "").startswith("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEKEY") for r in seen)
        seen.clear()
        for command in (["info", leak], ["search", leak, "--at", "0,0"], ["index", leak]):
            run = cli(*command, env=FAKE_KEYS)
            assert run.returncode == 2
            assert "options after '?'" in one_sentence(run.stderr)
        assert seen == []  # not one request, so no key, reached the server


def test_kind01b_project_sources_with_endpoint_override(tmp_path):
    from terrafind.core.project import Project, load_project, save_project
    from terrafind.core.session import Session

    with recorder() as (port, seen):
        path = save_project(
            Project(sources=[f"s3://bucket/x.parquet?endpoint_override=127.0.0.1:{port}&scheme=http"]),
            tmp_path / "from-a-stranger.terrafind",
        )
        proj = load_project(path)
        with pytest.raises(Refused, match="options after"):
            Session.open(proj.sources)
        assert seen == []


def test_kind02_gs_with_query_options_and_userinfo():
    for text in (
        "gs://bucket/x.parquet?endpoint_override=evil.example:80",
        "gs://user:pass@bucket/x.parquet",
        "https://user:secret@example.org/x.parquet",
        "https://example.org/x.parquet#frag",
    ):
        with pytest.raises(Refused):
            locate(text)


# --- kind 3: addresses GDAL or pyarrow would fetch though they do not look like http ---------------------
@pytest.mark.parametrize(
    "text",
    [
        "/vsicurl/http://127.0.0.1:1/x.tif",
        "/vsicurl_streaming/http://127.0.0.1:1/x.tif",
        "/VSICURL/http://127.0.0.1:1/x.tif",
        "/vsizip//vsicurl/http://127.0.0.1:1/x.zip/a.tif",
        "/vsis3_streaming/bucket/a.tif",
        "/vsiaz/container/a.tif",
        "/vsimem/x.tif",
        "zip+https://127.0.0.1:1/a.zip!/a.tif",
        "tar+http://127.0.0.1:1/a.tar",
        "ftp://127.0.0.1:1/a.tif",
        "az://container/a.tif",
        "abfs://container/a.tif",
        "hdfs://namenode/a.parquet",
        "file://server/share/a.tif",
        "\\\\server\\share\\a.tif",
        "//server/share/a.tif",
        "WMS:http://127.0.0.1:1/wms",
        "GPKG:/tmp/a.gpkg:layer",
        "<GDAL_WMS><Service name='TMS'><ServerUrl>http://127.0.0.1:1/${z}</ServerUrl></Service></GDAL_WMS>",
        "vrt:///tmp/a.tif?bands=1",
        "https://127.0.0.1:1/a.tif\nhttps://other",
    ],
)
def test_kind03_gdal_and_pyarrow_only_forms_are_refused(text):
    with pytest.raises(Refused) as info:
        locate(text)
    assert len(info.value.message) < 400 and "\n" not in info.value.message


def test_kind03b_whitespace_and_case_are_normalised_not_trusted():
    loc = locate("   HTTPS://Example.ORG/a.tif  ")
    assert (
        isinstance(loc, Remote)
        and loc.site == "https://example.org"
        and loc.url == "https://example.org/a.tif"
    )
    assert isinstance(locate(" S3://Bucket-1/a.tif"), Remote)
    assert isinstance(locate("C:\\data\\a.tif"), Local) and isinstance(locate("~/a.tif"), Local)
    assert isinstance(locate("file:///tmp/a.tif"), Local)


# --- kind 4: source_url values while offline: nothing leaves, whatever their shape -----------------------
def test_kind04_source_urls_while_offline_reach_nothing(tmp_path):
    from corpus import make_catalog

    from terrafind.core.imagery.thumbnails import ThumbnailService

    with recorder() as (port, seen):
        shapes = [
            f"  http://127.0.0.1:{port}/a.tif",
            f"HTTP://127.0.0.1:{port}/b.tif",
            f"/vsicurl_streaming/http://127.0.0.1:{port}/c.tif",
            f"zip+http://127.0.0.1:{port}/d.zip",
            f"ftp://127.0.0.1:{port}/e.tif",
            f"https://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png",
            f"file://127.0.0.1:{port}/f.tif",
        ]
        gate().set_allow_http(True)
        gate().allow(f"http://127.0.0.1:{port}", "*", remember=False)  # even allowed: offline wins
        gate().online = False
        svc = ThumbnailService(tmp_path / "t.sqlite", remote_wait=1.0)
        svc.online = True  # the service alone would go: the gate must stop it
        cat = make_catalog(len(shapes), shapes)
        statuses = {svc.thumbnail(cat, i).status for i in range(len(shapes))}
        assert statuses <= {"offline", "error"}
        with pytest.raises(Offline):
            gate().check(f"http://127.0.0.1:{port}/a.tif")
        svc.close()
        assert seen == []


def test_kind05_file_named_hosts_wait_for_an_allow(tmp_path):
    from corpus import make_catalog

    from terrafind.core.imagery.thumbnails import ThumbnailService

    with recorder() as (port, seen):
        gate().set_allow_http(True)
        url = f"http://127.0.0.1:{port}/scene.tif"
        cat = make_catalog(2, [url, url])
        svc = ThumbnailService(tmp_path / "t.sqlite", remote_wait=2.0)
        t = svc.thumbnail(cat, 0)
        assert t.status == "blocked" and "not allowed" in t.message
        assert f"http://127.0.0.1:{port}" in svc.blocked and seen == []
        with pytest.raises(NotAllowed):
            gate().check(url, dataset="")
        gate().allow(f"http://127.0.0.1:{port}", "")  # the person's answer, remembered per dataset
        assert svc.thumbnail(cat, 1).status in ("error", "unreachable", "offline")  # 404 from the witness
        assert seen and all(r["auth"] is None for r in seen)  # anonymous
        svc.close()


# --- kind 6: tile templates written by someone else ------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "https://t.example.org/{z}/{x:>2000000000}/{y}.png",
        "https://t.example.org/{z}/{x}/{y}.png{0.__class__}",
        "https://{s}.t.example.org/{z}/{x}/{y}.png",
        "file:///tmp/{z}/{x}/{y}.png",
        "ftp://t.example.org/{z}/{x}/{y}.png",
    ],
)
def test_kind06_tile_templates_are_filled_by_fixed_substitution_only(template):
    import tracemalloc

    from terrafind.core.imagery.settings import check_imagery
    from terrafind.core.imagery.xyz import tile_url

    tracemalloc.start()
    with pytest.raises(Refused):
        check_imagery(template)
    url = tile_url(template, 3, 4, 5)  # never str.format: a format spec is just text
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5_000_000 and len(url) < 200


# --- kind 32: remote GeoParquet over https(http) the person typed: read by Range requests, anonymously -----
def test_kind32_remote_parquet_is_read_anonymously_through_the_gate(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
    from imagery_synth import serve_dir
    from synth import write_earth_index

    write_earth_index(tmp_path / "remote.parquet", n=120, d=8)
    base, server = serve_dir(tmp_path)
    try:
        gate().set_allow_http(True)  # the person's setting (network.json); the typed address is their choice
        run = cli("info", f"{base}/remote.parquet", env=FAKE_KEYS)
        assert run.returncode == 0, run.stderr
        assert "rows      120" in run.stdout
        run = cli("info", f"{base}/remote.parquet", "--offline")
        assert run.returncode == 2 and "offline" in one_sentence(run.stderr)
    finally:
        server.shutdown()


# --- kind 33: a field pack's imagery on a host, while the CLI runs --offline ---------------------------
def test_kind33_cli_offline_sends_nothing(tmp_path):
    from synth import write_earth_index

    data = write_earth_index(tmp_path / "d.parquet", n=60, d=8)["path"]
    with recorder() as (port, seen):
        run = cli(
            "pack",
            str(data),
            "--bbox=-75.95,37.25,-75.55,37.65",
            "--imagery",
            f"https://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png",
            "--out",
            str(tmp_path / "pack"),
            "--offline",
        )
        assert run.returncode == 0, run.stderr
        assert "thumbnails could not be made" in run.stdout and seen == []


def test_kind35_only_a_marked_bucket_is_signed():
    """GDAL signs requests with this computer's cloud keys under the one bucket the person marked; every
    other bucket (those a file names) stays anonymous."""
    import ctypes

    from terrafind.core.imagery import hosts

    lib = hosts._gdal_library()
    if lib is None or not hasattr(lib, "VSIGetPathSpecificOption"):
        pytest.skip("this GDAL has no path-specific options")
    hosts.configure_gdal()
    get = lib.VSIGetPathSpecificOption
    get.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]
    get.restype = ctypes.c_char_p
    assert hosts.sign_bucket("/vsis3/terrafind-test-marked/")
    marked = get(b"/vsis3/terrafind-test-marked/scene.tif", b"AWS_NO_SIGN_REQUEST", b"YES")
    other = get(b"/vsis3/someone-elses/scene.tif", b"AWS_NO_SIGN_REQUEST", b"unset")
    assert marked == b"NO" and other == b"YES"
    assert hosts.sign_bucket("/vsis3/terrafind-test-marked/", False)  # the mark taken back
    assert get(b"/vsis3/terrafind-test-marked/scene.tif", b"AWS_NO_SIGN_REQUEST", b"unset") == b"YES"
