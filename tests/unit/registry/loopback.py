"""Hand-written loopback servers for the transport's unit tests, for what a real registry cannot do:
drip its answer, close idle connections, act as an HTTP forward or CONNECT proxy, answer garbage.

``serve_connections(serve)`` listens on 127.0.0.1 and runs ``serve(conn)`` on a thread per
accepted connection; ``http_server(handle)`` reads keep-alive requests on each and calls
``handle(conn, request_head)`` (return False to close); ``answer_as_registry`` answers ``/v2/`` and manifests.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from imgextract.registry import RegistryClient, TransportSettings

MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}'

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")


def clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def proxy_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The servers here listen on loopback, which Go's rule (kept by the product) never proxies."""
    from imgextract.registry import proxies

    monkeypatch.setattr(proxies, "LOOPBACK_DIRECT", False)


def answer(conn: socket.socket, body: bytes, status: str = "200 OK", ctype: str = "") -> None:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    conn.sendall(head.encode() + b"\r\n" + body)


def read_request(conn: socket.socket) -> bytes:
    """A request's head, or b"" when the peer closed (or sent a TLS hello: plain HTTP only here)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk or chunk[:1] == b"\x16":
            return b""
        data += chunk
    return data


def answer_as_registry(conn: socket.socket, head: bytes) -> None:
    line = head.split(b"\r\n", 1)[0]
    if b" /v2/ " in line or line.endswith(b"/v2/ HTTP/1.1"):
        answer(conn, b"{}", ctype="application/json")
    elif b"/manifests/" in line:
        answer(conn, MANIFEST, ctype="application/vnd.oci.image.manifest.v1+json")
    else:
        answer(conn, b"", status="404 Not Found")


@contextmanager
def serve_connections(serve: Callable[[socket.socket], None]) -> Iterator[str]:
    """``host:port`` of a loopback listener running ``serve(conn)`` per connection, until exit."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        t.join(5)


@contextmanager
def http_server(handle: Callable[[socket.socket, bytes], bool | None]) -> Iterator[tuple[str, list[bytes]]]:
    """A loopback server calling ``handle(conn, request_head)`` for each request (keep-alive);
    yields ``host:port`` and the request heads seen."""
    seen: list[bytes] = []
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            while not stop.is_set():
                try:
                    head = read_request(conn)
                except OSError:
                    return
                if not head:
                    return
                seen.append(head)
                try:
                    if handle(conn, head) is False:
                        return
                except OSError:
                    return

    try:
        with serve_connections(serve) as host:
            yield host, seen
    finally:
        stop.set()


def forward_proxy(upstream_seen: list[bytes]) -> Callable[[socket.socket, bytes], bool]:
    """An HTTP forward proxy (absolute-URI requests only; CONNECT refused) relaying to loopback."""

    def handle(conn: socket.socket, head: bytes) -> bool:
        line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        if method == "CONNECT" or not target.startswith("http://"):
            answer(conn, b"", status="502 Bad Gateway")
            return False
        hostport, _, path = target[len("http://") :].partition("/")
        host, _, port = hostport.partition(":")
        assert host == "127.0.0.1"  # never anything but loopback
        upstream_seen.append(line.encode())
        with socket.create_connection((host, int(port)), timeout=5) as up:
            rest = head.split(b"\r\n", 1)[1]
            up.sendall(f"{method} /{path} HTTP/1.1\r\n".encode() + rest)
            data = b""
            while b"\r\n\r\n" not in data:
                data += up.recv(65536)
            header, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(h.split(b":", 1)[1])
                for h in header.split(b"\r\n")
                if h.lower().startswith(b"content-length:")
            )
            while len(body) < length:
                body += up.recv(65536)
        conn.sendall(header + b"\r\n\r\n" + body)
        return True

    return handle


def insecure_client(host: str, **kw: Any) -> RegistryClient:
    """A client of a plain-HTTP loopback registry, one try per request."""
    settings = TransportSettings(**{"retries": 1, "retry_base_delay": 0.0, "timeout": 10.0, **kw})
    return RegistryClient(host, settings, None, insecure=True)
