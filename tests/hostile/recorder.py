"""A tiny HTTP server on 127.0.0.1 that records every request (method, path, Authorization) and answers
404: the witness of "nothing was sent" and "no credentials arrived". Started and stopped by the test."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Handler(http.server.BaseHTTPRequestHandler):
    seen: list[dict[str, str | None]]

    def log_message(self, *args) -> None:
        pass

    def _record(self) -> None:
        self.server.seen.append(  # type: ignore[attr-defined]
            {"method": self.command, "path": self.path, "auth": self.headers.get("Authorization")}
        )
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = do_POST = _record


@contextmanager
def recorder() -> Iterator[tuple[int, list[dict[str, str | None]]]]:
    """(port, requests seen) of a recording server that lives for the ``with`` block."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
