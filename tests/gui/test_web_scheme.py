"""The terrafind:// scheme serves only what was registered: traversal, absolute and unknown paths are 404."""

from __future__ import annotations

import json

import pytest
from mapkit import js, open_map_view

from terrafind.gui.map.web_scheme import HOST, SchemeHandler, safe_path, scheme_handler

EVIL = [
    "/../secret.txt",
    "/files/../secret.txt",
    "/files/..",
    "/files/./a.txt",
    "/files//a.txt",
    "//etc/passwd",
    "/etc/passwd",
    "/files/a.txt/",
    "/files\\..\\secret.txt",
    "/files/%2e%2e/secret.txt",
    "",
    "/",
    "/thumb/",
    "/thumb/../secret.txt",
    "/thumb/..",
]


@pytest.fixture
def handler(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.txt").write_text("hello")
    (tmp_path / "secret.txt").write_text("top secret")
    h = SchemeHandler()
    h.add_tree("/files", tmp_path / "files")
    h.add_bytes("/hello.json", b"{}")
    h.add_provider("/thumb/", lambda rest: (rest.encode(), "text/plain"))
    return h


def test_registered_routes_are_served(handler):
    assert handler.resolve(HOST, "/files/a.txt") == (b"hello", "text/plain")
    assert handler.resolve(HOST, "/hello.json") == (b"{}", "application/json")
    assert handler.resolve(HOST, "/thumb/12.png") == (b"12.png", "text/plain")


@pytest.mark.parametrize("path", EVIL)
def test_traversal_absolute_and_unknown_paths_are_refused(handler, path):
    assert handler.resolve(HOST, path) is None


def test_other_hosts_and_bad_registrations_are_refused(handler):
    assert handler.resolve("evil", "/files/a.txt") is None
    for bad in ("/../x", "relative.txt", "/a//b", "/a/./b"):
        with pytest.raises(ValueError):
            handler.add_bytes(bad, b"")
    with pytest.raises(ValueError):
        handler.add_provider("/no-trailing-slash", lambda rest: None)
    assert safe_path("/vendor/leaflet/images/layers-2x.png")


def test_provider_errors_are_404_not_crashes(handler):
    handler.add_provider("/boom/", lambda rest: 1 / 0)
    assert handler.resolve(HOST, "/boom/x.png") is None


def test_one_handler_per_profile(qapp):
    assert scheme_handler() is scheme_handler()


@pytest.fixture
def map_view(qtbot):
    yield from open_map_view(qtbot)


def test_through_the_page(qtbot, map_view, tmp_path):
    """Real requests from the page: registered routes 200, everything else 404, thumbnails from a pool."""
    (tmp_path / "pub").mkdir()
    (tmp_path / "pub" / "ok.txt").write_text("fine")
    (tmp_path / "secret.txt").write_text("top secret")
    handler = map_view.scheme_handler
    handler.add_tree("/pub", tmp_path / "pub")
    handler.add_provider(
        "/thumb/", lambda rest: (b"\x89PNG-fake-" + rest.encode(), "image/png"), threaded=True
    )
    urls = [
        "/pub/ok.txt",
        "/pub/../secret.txt",
        "/pub/%2e%2e/secret.txt",
        "/pub/..%2fsecret.txt",
        "/pub/%2e%2e%2fsecret.txt",
        "/pub/%252e%252e/secret.txt",
        "/" + str(tmp_path / "secret.txt").lstrip("/"),
        "/nothing/here.js",
        "/thumb/5.png",
        "terrafind://other/pub/ok.txt",
    ]
    map_view.run_js(
        "window.__fetched = {}; "
        + json.dumps(urls)
        # A failed job gives fetch() a 404 whose body never ends (QtWebEngine 6.12): read 200 bodies only.
        + ".forEach(u => fetch(u).then(r => r.status === 200 ? r.text().then(t => [200, t]) : [r.status, ''])"
        ".catch(e => [0, String(e)])"
        ".then(v => { window.__fetched[u] = v; }))"
    )
    qtbot.waitUntil(lambda: len(js(qtbot, map_view, "window.__fetched")) == len(urls), timeout=10_000)
    got = js(qtbot, map_view, "window.__fetched")
    assert got.pop("/pub/ok.txt") == [200, "fine"]
    assert got.pop("/thumb/5.png") == [200, "\ufffdPNG-fake-5.png"]
    assert {url: status for url, (status, _) in got.items()} == dict.fromkeys(got, 404)
    assert "/pub/ok.txt" in handler.served
