"""The request path under fan-out: no thread per request, the header deadline in the caller's
thread, the proxy environment read once per origin, kept-alive connections reused (and a request
on one the server closed meanwhile sent again), the Host header, no cookies.

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


def test_cookies_a_registry_sets_are_never_sent_back() -> None:
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
    assert len(manifests) == 2
    assert not any(b"cookie:" in h.lower() for h in manifests)  # no jar, as Go's registry clients


def test_one_kept_alive_connection_carries_every_request() -> None:
    with _server(_registry) as (host, seen), _client(host) as client:
        for _ in range(5):
            client.get_manifest("keep/alive", "v1")
        # the ping and five manifests on one connection: one server thread served them all
        assert sum(1 for h in seen if b"/manifests/" in h) == 5
        ip, port = host.rsplit(":", 1)
        pool = client.http.session.adapter._pools[("http", ip, int(port), None)]  # type: ignore[attr-defined]
        assert len(pool._idle) == 1


@pytest.mark.parametrize("race", [False, True])
def test_a_connection_the_server_closed_while_idle_is_replaced_once(
    race: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server answers one request per connection, then closes it without saying so (no
    ``Connection: close``).  The pool sees that before reusing the connection; when the close
    lands just after that check (``race``), the request fails before any answer byte and is sent
    again on a new connection, transparently."""
    from imgextract.registry import connections as wire

    if race:
        monkeypatch.setattr(wire, "_dropped", lambda conn: False)
    connections: list[int] = []

    def one_per_connection(conn: socket.socket, head: bytes) -> bool:
        connections.append(1)
        _registry(conn, head)
        return False  # close after one answer, as an idle timeout would

    with _server(one_per_connection) as (host, seen), _client(host, retries=1) as client:
        for _ in range(3):
            assert client.get_manifest("idle/closed", "v1").raw == MANIFEST
    assert sum(1 for h in seen if b"/manifests/" in h) == 3
    assert len(connections) == len(seen)


def test_a_post_on_a_closed_idle_connection_is_not_resent_blindly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A POST is not idempotent: when the server closes the connection as it is sent (the idle
    check passed just before), it fails rather than being sent twice."""
    from imgextract.registry import connections as wire
    from imgextract.registry.exceptions import ConnectFailed
    from imgextract.registry.transport import new_session

    monkeypatch.setattr(wire, "_dropped", lambda conn: False)

    def one_per_connection(conn: socket.socket, head: bytes) -> bool:
        _answer(conn, b"{}")
        return False

    with _server(one_per_connection) as (host, seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        with session.request("GET", f"http://{host}/v2/") as first:
            assert first.content == b"{}"
        time.sleep(0.1)
        with pytest.raises(ConnectFailed):
            session.request("POST", f"http://{host}/v2/x/blobs/uploads/", body=b"")
        session.close()
    assert [h.split(b" ", 1)[0] for h in seen] == [b"GET"]


@pytest.mark.parametrize(
    "url,host_header",
    [
        ("http://{host}/v2/", "{host}"),
        ("http://localhost:{port}/v2/", "localhost:{port}"),
    ],
)
def test_the_host_header_names_the_port(url: str, host_header: str) -> None:
    from imgextract.registry.transport import new_session

    with _server(lambda conn, head: _answer(conn, b"")) as (host, seen):
        port = host.rsplit(":", 1)[1]
        session = new_session((host,), TransportSettings(), insecure=True)
        session.request("GET", url.format(host=host, port=port)).close()
        session.close()
    expected = f"Host: {host_header.format(host=host, port=port)}\r\n".encode()
    assert expected in seen[0]


def test_the_host_header_of_an_ipv6_literal_is_bracketed() -> None:
    from imgextract.registry.transport import new_session

    try:
        listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError as exc:  # pragma: no cover - a host without IPv6 loopback cannot run this
        pytest.fail(f"no IPv6 loopback: {exc}")
    port = listener.getsockname()[1]
    heads: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            heads.append(_read_request(conn))
            _answer(conn, b"")

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    session = new_session((f"[::1]:{port}",), TransportSettings(), insecure=True)
    session.request("GET", f"http://[::1]:{port}/v2/").close()
    session.close()
    t.join(5)
    listener.close()
    assert f"Host: [::1]:{port}\r\n".encode() in heads[0]


def test_a_header_that_would_split_the_request_is_refused() -> None:
    from imgextract.registry.exceptions import InvalidHeader
    from imgextract.registry.transport import new_session

    session = new_session(("registry.example.test",), TransportSettings(), insecure=False)
    with pytest.raises(InvalidHeader):
        session.request("GET", "http://127.0.0.1:9/v2/", headers={"Authorization": "Bearer a\r\nX-Evil: 1"})


def test_no_accept_encoding_but_identity_and_the_user_agent_as_configured() -> None:
    with _server(_registry) as (host, seen), _client(host, user_agent="probe/1.0") as client:
        client.get_manifest("ua/repo", "v1")
    head = next(h for h in seen if b"/manifests/" in h).lower()
    assert b"user-agent: probe/1.0\r\n" in head
    assert head.count(b"accept-encoding") == 1 and b"accept-encoding: identity\r\n" in head


@pytest.mark.parametrize("sized", [True, False])
def test_a_streamed_body_goes_with_its_length_or_chunked(sized: bool) -> None:
    import io

    from imgextract.registry.transport import new_session
    from imgextract.registry.upload import SizedReader

    payload = bytes(range(256)) * 4000  # ~1 MiB: several blocks
    bodies: list[bytes] = []

    def receive(conn: socket.socket, head: bytes) -> bool:
        _, _, rest = head.partition(b"\r\n\r\n")
        lower = head.lower()
        data = rest
        if b"transfer-encoding: chunked" in lower:
            while not data.endswith(b"\r\n0\r\n\r\n"):
                data += conn.recv(65536)
            body, view = b"", data
            while True:
                size_line, _, view = view.partition(b"\r\n")
                size = int(size_line, 16)
                if size == 0:
                    break
                body, view = body + view[:size], view[size + 2 :]
        else:
            length = int(lower.split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            while len(data) < length:
                data += conn.recv(65536)
            body = data
        bodies.append(body)
        _answer(conn, b"", status="201 Created")
        return True

    with _server(receive) as (host, seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        stream: Any = SizedReader(io.BytesIO(payload), len(payload)) if sized else io.BytesIO(payload)
        with session.request("PUT", f"http://{host}/v2/x/blobs/uploads/u?digest=d", body=stream) as answer:
            assert answer.status_code == 201
        session.close()
    assert bodies == [payload]
    head = seen[0].lower()
    assert (f"content-length: {len(payload)}\r\n".encode() in head) is sized
    assert (b"transfer-encoding: chunked\r\n" in head) is not sized


def test_repeated_challenges_reach_the_parser_joined() -> None:
    """Two ``WWW-Authenticate`` fields (Bearer and Basic) read as one value joined with ", ", which the
    challenge parser splits into both challenges again."""
    from imgextract.auth.challenge import parse_www_authenticate
    from imgextract.registry.transport import new_session

    def two_challenges(conn: socket.socket, head: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
            b'WWW-Authenticate: Basic realm="r"\r\n'
            b'WWW-Authenticate: Bearer realm="https://auth.example/t",service="s"\r\n\r\n'
        )

    with _server(two_challenges) as (host, _seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        with session.request("GET", f"http://{host}/v2/") as answer:
            assert answer.headers.get_all("www-authenticate") == [
                'Basic realm="r"',
                'Bearer realm="https://auth.example/t",service="s"',
            ]
            schemes = [c.scheme.lower() for c in parse_www_authenticate(answer.headers["WWW-Authenticate"])]
        session.close()
    assert schemes == ["basic", "bearer"]


@pytest.mark.parametrize("verbose", [2, 3])
def test_every_request_is_logged_at_vvv_with_presigned_signatures_masked(
    verbose: int, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    from imgextract.cli.display import setup_logging
    from imgextract.registry.transport import new_session

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("imgextract.registry.wire").level)
    try:
        with _server(lambda conn, head: _answer(conn, b"")) as (host, _seen):
            setup_logging(verbose, False)
            session = new_session((host,), TransportSettings(), insecure=True)
            url = f"http://{host}/blobs/data?X-Amz-Date=20261206&X-Amz-Signature=SeCrEtVaLuE123"
            session.request("GET", url).close()
            session.close()
    finally:
        root.handlers[:], _, wire_level = saved
        root.setLevel(saved[1])
        logging.getLogger("imgextract.registry.wire").setLevel(wire_level)
    err = capsys.readouterr().err
    assert "SeCrEtVaLuE123" not in err
    if verbose >= 3:
        assert f"new connection to http://{host}" in err
        assert f"GET http://{host}/blobs/data?X-Amz-Date=20261206&X-Amz-Signature=" in err and "-> 200" in err
    else:
        assert "/blobs/data" not in err
