"""The request path under fan-out: no thread per request, the header deadline in the caller's
thread, and the proxy environment read once per origin yet honoured exactly as requests does.

The servers here are hand-written on loopback sockets because a real registry cannot do what is
tested: drip its status line a byte at a time, or act as an HTTP forward proxy.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from imgextract.errors import UnreachableError
from imgextract.registry import RegistryClient, TransportSettings

MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}'


def _answer(conn: socket.socket, body: bytes, status: str = "200 OK", ctype: str = "") -> None:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
    if ctype:
        head += f"Content-Type: {ctype}\r\n"
    conn.sendall(head.encode() + b"\r\n" + body)


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk or chunk[:1] == b"\x16":  # closed, or a TLS hello: plain HTTP only here
            return b""
        data += chunk
    return data


@contextmanager
def _server(handle: Any) -> Iterator[tuple[str, list[bytes]]]:
    """A loopback server calling ``handle(conn, request_head)`` for each request (keep-alive)."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []
    stop = threading.Event()

    def serve_conn(conn: socket.socket) -> None:
        with conn:
            while not stop.is_set():
                try:
                    head = _read_request(conn)
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

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve_conn, args=(conn,), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        listener.close()
        t.join(5)


def _registry(conn: socket.socket, head: bytes) -> None:
    line = head.split(b"\r\n", 1)[0]
    if b" /v2/ " in line or line.endswith(b"/v2/ HTTP/1.1"):
        _answer(conn, b"{}", ctype="application/json")
    elif b"/manifests/" in line:
        _answer(conn, MANIFEST, ctype="application/vnd.oci.image.manifest.v1+json")
    else:
        _answer(conn, b"", status="404 Not Found")


def _client(host: str, **kw: Any) -> RegistryClient:
    settings = TransportSettings(**{"retries": 1, "retry_base_delay": 0.0, "timeout": 10.0, **kw})
    return RegistryClient(host, settings, None, insecure=True)


def test_a_status_line_dripped_byte_by_byte_hits_the_deadline() -> None:
    def drip(conn: socket.socket, head: bytes) -> bool:
        if b"/manifests/" not in head.split(b"\r\n", 1)[0]:
            _registry(conn, head)
            return True
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
            conn.sendall(bytes([byte]))
            time.sleep(0.25)  # each read is well within the 10 s read timeout
        return False

    with _server(drip) as (host, _seen), _client(host, deadline=1.5) as client:
        start = time.monotonic()
        with pytest.raises(UnreachableError, match="timed out"):
            client.get_manifest("drip/me", "v1")
        assert time.monotonic() - start < 6  # the drip alone takes 10 s


def test_requests_start_no_thread_each() -> None:
    with _server(_registry) as (host, seen), _client(host) as client:
        client.get_manifest("some/repo", "v1")  # ping, connection and watchdog set up
        started: list[str] = []
        original = threading.Thread.start

        def counting_start(self: threading.Thread) -> None:
            started.append(self.name)
            original(self)

        threading.Thread.start = counting_start  # type: ignore[method-assign]
        try:
            for _ in range(20):
                assert client.get_manifest("some/repo", "v1").raw == MANIFEST
        finally:
            threading.Thread.start = original  # type: ignore[method-assign]
        assert [n for n in started if n != "imgextract-deadlines"] == []
        assert sum(1 for h in seen if b"/manifests/" in h) == 21


def _proxy(upstream_seen: list[bytes]) -> Any:
    """An HTTP forward proxy (absolute-URI requests only; CONNECT refused) relaying to loopback."""

    def handle(conn: socket.socket, head: bytes) -> bool:
        line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        if method == "CONNECT" or not target.startswith("http://"):
            _answer(conn, b"", status="502 Bad Gateway")
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


def _clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_http_proxy_from_the_environment_carries_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_proxy_env(monkeypatch)
    via: list[bytes] = []
    with _server(_registry) as (registry, direct), _server(_proxy(via)) as (proxy, _):
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy}")
        monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy}")
        with _client(registry) as client:
            for _ in range(3):
                assert client.get_manifest("via/proxy", "v1").raw == MANIFEST
        manifests = [line for line in via if b"/manifests/" in line]
        assert manifests == [f"GET http://{registry}/v2/via/proxy/manifests/v1 HTTP/1.1".encode()] * 3
        assert len(direct) == len(via)  # the registry saw only what the proxy relayed


def test_no_proxy_names_the_registry_so_it_is_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_proxy_env(monkeypatch)
    via: list[bytes] = []
    with _server(_registry) as (registry, direct), _server(_proxy(via)) as (proxy, _):
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy}")
        monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with _client(registry) as client:
            for _ in range(3):
                assert client.get_manifest("direct/repo", "v1").raw == MANIFEST
        assert via == []
        assert sum(1 for h in direct if b"/manifests/" in h) == 3


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5000/v2/",
        "https://registry.example.test/v2/team/app/manifests/v1.2.3-rc_1",
        "https://registry.example.test:8443/v2/a/b/blobs/sha256:" + "0" * 64,
        "http://localhost:5000/v2/x/manifests/latest",
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_lean_request_is_what_the_session_would_prepare(url: str, method: str) -> None:
    import requests

    from imgextract.registry.requester import lean_request
    from imgextract.registry.transport import new_session

    session = new_session(("registry.example.test",), TransportSettings(), insecure=False)
    headers = {"Accept": "application/vnd.oci.image.manifest.v1+json", "Authorization": "Bearer abc.def"}
    lean = lean_request(session, method, url, headers)
    assert lean is not None
    full = session.prepare_request(requests.Request(method, url, headers=dict(headers)))
    assert (lean.method, lean.url, lean.body) == (full.method, full.url, full.body)
    assert dict(lean.headers) == dict(full.headers)
    assert lean.hooks == full.hooks
    with pytest.raises(requests.exceptions.InvalidHeader):
        lean_request(session, method, url, {"Authorization": "Bearer a\r\nX-Evil: 1"})


@pytest.mark.parametrize(
    "method,url",
    [
        ("POST", "http://127.0.0.1:5000/v2/x/blobs/uploads/"),
        ("GET", "http://127.0.0.1:5000/v2/x/blobs/uploads/?digest=sha256:00"),  # a query
        ("GET", "https://s3.example.test/bucket/obj%2Fname"),  # escapes are re-quoted
        ("GET", "http://Registry.Example.test/v2/"),  # hosts are lower-cased
        ("GET", "http://127.0.0.1:05000/v2/"),  # ports are normalised
        ("GET", "http://127.0.0.1:5000/v2/a/../b"),  # dot segments are resolved
        ("GET", "http://user:pw@127.0.0.1:5000/v2/"),  # credentials in the URL
        ("GET", "http://[::1]:5000/v2/"),
        ("GET", "http://bücher.example.test/v2/"),  # IDNA
    ],
)
def test_anything_requests_would_rewrite_takes_the_full_path(method: str, url: str) -> None:
    from imgextract.registry.requester import lean_request
    from imgextract.registry.transport import new_session

    session = new_session(("registry.example.test",), TransportSettings(), insecure=False)
    assert lean_request(session, method, url, {}) is None


def test_cookies_a_registry_set_are_sent_back_as_before() -> None:
    def cookie_registry(conn: socket.socket, head: bytes) -> None:
        if b"/manifests/" in head.split(b"\r\n", 1)[0]:
            body = MANIFEST
            extra = "Set-Cookie: lb=node-7; Path=/\r\n"
            conn.sendall(
                (
                    f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}"
                    "Content-Type: application/vnd.oci.image.manifest.v1+json\r\n\r\n"
                ).encode()
                + body
            )
        else:
            _registry(conn, head)

    with _server(cookie_registry) as (host, seen), _client(host) as client:
        for _ in range(2):
            client.get_manifest("sticky/repo", "v1")
    manifests = [h for h in seen if b"/manifests/" in h.split(b"\r\n", 1)[0]]
    assert b"Cookie: lb=node-7" not in manifests[0]
    assert b"Cookie: lb=node-7" in manifests[1]  # requests' session jar, as before
