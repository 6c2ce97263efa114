"""Security: text chosen by a registry (error messages) must not reach the terminal as control
sequences (ESC ... can retitle, recolour or rewrite what the user sees; bidi overrides spoof text).

A real registry never sends such messages, so this uses a minimal hand-written fake registry.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.e2e.cli import Run

EVIL = "\x1b]0;pwned\x07\x1b[2J\u202eevil"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/v2/":
            body, status = b"{}", 200
        else:
            body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": EVIL}]}).encode()
            status = 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def evil_registry() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_registry_error_text_is_not_sent_raw_to_the_terminal(
    cli: Callable[..., Run], evil_registry: str, tmp_path: Path
) -> None:
    r = cli(
        "pull",
        f"{evil_registry}/a/b:v1",
        "-o",
        str(tmp_path / "out"),
        "--insecure-registry",
        evil_registry,
        "-v",
        "-v",
    )
    assert r.code == 4, r.stderr
    assert "pwned" in r.stderr  # the message is still shown, made harmless
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr and "\u202e" not in r.stderr
