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
from typing import Any

import pytest

from imgextract.errors import UnreachableError
from imgextract.registry import TransportSettings
from tests.unit.registry.loopback import (
    MANIFEST,
    answer,
    answer_as_registry,
    clear_proxy_env,
    forward_proxy,
    http_server,
    insecure_client,
    proxy_loopback,
    read_request,
)


@pytest.fixture(autouse=True)
def _proxy_in_front_of_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy_loopback(monkeypatch)


def test_a_status_line_dripped_byte_by_byte_hits_the_deadline() -> None:
    def drip(conn: socket.socket, head: bytes) -> bool:
        if b"/manifests/" not in head.split(b"\r\n", 1)[0]:
            answer_as_registry(conn, head)
            return True
        for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}":
            conn.sendall(bytes([byte]))
            time.sleep(0.25)  # each read is well within the 10 s read timeout
        return False

    with http_server(drip) as (host, _seen), insecure_client(host, deadline=1.5) as client:
        start = time.monotonic()
        with pytest.raises(UnreachableError, match="timed out"):
            client.get_manifest("drip/me", "v1")
        assert time.monotonic() - start < 6  # the drip alone takes 10 s


def test_requests_start_no_thread_each() -> None:
    with http_server(answer_as_registry) as (host, seen), insecure_client(host) as client:
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


def test_http_proxy_from_the_environment_carries_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_env(monkeypatch)
    via: list[bytes] = []
    with http_server(answer_as_registry) as (registry, direct), http_server(forward_proxy(via)) as (proxy, _):
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy}")
        monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy}")
        with insecure_client(registry) as client:
            for _ in range(3):
                assert client.get_manifest("via/proxy", "v1").raw == MANIFEST
        manifests = [line for line in via if b"/manifests/" in line]
        assert manifests == [f"GET http://{registry}/v2/via/proxy/manifests/v1 HTTP/1.1".encode()] * 3
        assert len(direct) == len(via)  # the registry saw only what the proxy relayed


def test_no_proxy_names_the_registry_so_it_is_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_env(monkeypatch)
    via: list[bytes] = []
    with http_server(answer_as_registry) as (registry, direct), http_server(forward_proxy(via)) as (proxy, _):
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy}")
        monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with insecure_client(registry) as client:
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
            answer_as_registry(conn, head)

    with http_server(cookie_registry) as (host, seen), insecure_client(host) as client:
        for _ in range(2):
            client.get_manifest("sticky/repo", "v1")
    manifests = [h for h in seen if b"/manifests/" in h.split(b"\r\n", 1)[0]]
    assert len(manifests) == 2
    assert not any(b"cookie:" in h.lower() for h in manifests)  # no jar, as Go's registry clients


def test_one_kept_alive_connection_carries_every_request() -> None:
    with http_server(answer_as_registry) as (host, seen), insecure_client(host) as client:
        for _ in range(5):
            client.get_manifest("keep/alive", "v1")
        # the ping and five manifests on one connection: one server thread served them all
        assert sum(1 for h in seen if b"/manifests/" in h) == 5
        ip, port = host.rsplit(":", 1)
        pool = client.http.session.adapter._pools[("http", ip, int(port), None)]  # type: ignore[attr-defined]
        assert len(pool._idle) == 1


@pytest.mark.parametrize("case", ["checked", "trusted", "race"])
def test_a_connection_the_server_closed_while_idle_is_replaced_once(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server answers one request per connection, then closes it without saying so (no
    ``Connection: close``).  A connection idle for ``TRUSTED_IDLE`` or longer is checked before it
    is reused (``checked``: the pool sees the close); one given back more recently (``trusted``,
    the requests here follow each other at once), or one closed just after the check (``race``),
    fails before any answer byte and the request is sent again on a new connection,
    transparently."""
    from imgextract.registry import connections as wire

    if case == "checked":
        monkeypatch.setattr(wire, "TRUSTED_IDLE", 0.0)
    if case == "race":
        monkeypatch.setattr(wire, "_dropped", lambda conn: False)
    connections: list[int] = []

    def one_per_connection(conn: socket.socket, head: bytes) -> bool:
        connections.append(1)
        answer_as_registry(conn, head)
        return False  # close after one answer, as an idle timeout would

    with http_server(one_per_connection) as (host, seen), insecure_client(host, retries=1) as client:
        for _ in range(3):
            assert client.get_manifest("idle/closed", "v1").raw == MANIFEST
    assert sum(1 for h in seen if b"/manifests/" in h) == 3
    assert len(connections) == len(seen)


@pytest.mark.parametrize("trusted_idle", [60.0, 0.0])
def test_only_a_request_that_can_be_resent_skips_the_idle_check(
    trusted_idle: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GET on a connection given back less than ``TRUSTED_IDLE`` seconds ago goes without
    asking the socket (a system call per request); a POST, which is not sent twice, and any
    request on a connection idle for longer, asks first."""
    from imgextract.registry import connections as wire
    from imgextract.registry.transport import new_session

    monkeypatch.setattr(wire, "TRUSTED_IDLE", trusted_idle)
    checks: list[str] = []
    real = wire._dropped

    def counted(conn: Any) -> bool:
        checks.append(method)
        return real(conn)

    monkeypatch.setattr(wire, "_dropped", counted)
    with http_server(lambda conn, head: answer(conn, b"{}")) as (host, seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        for method in ("GET", "GET", "POST", "GET"):
            with session.request(method, f"http://{host}/v2/", body=b"" if method == "POST" else None) as r:
                assert r.content == b"{}"
        session.close()
    assert len(seen) == 4
    # the first GET opens the connection; each later request reuses it
    assert checks == (["POST"] if trusted_idle else ["GET", "POST", "GET"])


@pytest.mark.parametrize("trusted", [True, False])
def test_bytes_a_server_sent_after_an_answer_do_not_spoil_the_next_request(
    trusted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that sends a body after its answer to a HEAD (against RFC 9110, but servers do:
    the head and the body written separately): the bytes arrive once the answer was taken as
    complete and the connection given back.  The idle check drops such a connection; a GET that
    skips the check (given back less than ``TRUSTED_IDLE`` ago) reads them as its status line,
    and is sent again on a checked connection rather than failing."""
    from imgextract.registry import connections as wire
    from imgextract.registry.transport import new_session

    if not trusted:
        monkeypatch.setattr(wire, "TRUSTED_IDLE", 0.0)

    def head_with_a_body(conn: socket.socket, head: bytes) -> None:
        if head.startswith(b"HEAD "):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n")
            time.sleep(0.02)
            conn.sendall(b"not this\n")
        else:
            answer(conn, b"{}")

    with http_server(head_with_a_body) as (host, seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        with session.request("HEAD", f"http://{host}/v2/") as first:
            assert first.status_code == 200
        time.sleep(0.1)  # (the body has arrived; still within TRUSTED_IDLE)
        with session.request("GET", f"http://{host}/v2/") as second:
            assert second.status_code == 200 and second.content == b"{}"
        session.close()
    # trusted: the GET on the spoilt connection, then again on a new one; else only on a new one
    assert [h.split(b" ", 1)[0] for h in seen] == [b"HEAD", b"GET", b"GET"][: 3 if trusted else 2]


def test_a_post_on_a_closed_idle_connection_is_not_resent_blindly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A POST is not idempotent: when the server closes the connection as it is sent (the idle
    check passed just before), it fails rather than being sent twice."""
    from imgextract.registry import connections as wire
    from imgextract.registry.exceptions import ConnectFailed
    from imgextract.registry.transport import new_session

    monkeypatch.setattr(wire, "_dropped", lambda conn: False)

    def one_per_connection(conn: socket.socket, head: bytes) -> bool:
        answer(conn, b"{}")
        return False

    with http_server(one_per_connection) as (host, seen):
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

    with http_server(lambda conn, head: answer(conn, b"")) as (host, seen):
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
            heads.append(read_request(conn))
            answer(conn, b"")

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
    with (
        http_server(answer_as_registry) as (host, seen),
        insecure_client(host, user_agent="probe/1.0") as client,
    ):
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
        answer(conn, b"", status="201 Created")
        return True

    with http_server(receive) as (host, seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        stream: Any = SizedReader(io.BytesIO(payload), len(payload)) if sized else io.BytesIO(payload)
        with session.request("PUT", f"http://{host}/v2/x/blobs/uploads/u?digest=d", body=stream) as reply:
            assert reply.status_code == 201
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

    with http_server(two_challenges) as (host, _seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        with session.request("GET", f"http://{host}/v2/") as reply:
            assert reply.headers.get_all("www-authenticate") == [
                'Basic realm="r"',
                'Bearer realm="https://auth.example/t",service="s"',
            ]
            schemes = [c.scheme.lower() for c in parse_www_authenticate(reply.headers["WWW-Authenticate"])]
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
        with http_server(lambda conn, head: answer(conn, b"")) as (host, _seen):
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


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1/v2/",  # unclosed IPv6 literal (an upload Location is used as the server wrote it)
        "http://127.0.0.1:99999/v2/",
        "http://127.0.0.1:port/v2/",
        "ftp://127.0.0.1/v2/",
        "http://" + "\u00e9" * 70 + ".example/v2/",
    ],
)
def test_an_unusable_url_fails_as_a_transport_error(url: str) -> None:
    from imgextract.registry.exceptions import ConnectFailed
    from imgextract.registry.transport import new_session

    session = new_session(("registry.example.test",), TransportSettings(), insecure=True)
    with pytest.raises(ConnectFailed, match="invalid URL"):
        session.request("GET", url)


@pytest.mark.parametrize(
    "extra,words",
    [
        (b"".join(b"X-%d: y\r\n" % i for i in range(150)), "more than 100 headers"),
        (b"X-Long: " + b"y" * 70000 + b"\r\n", "header line"),
    ],
)
def test_an_oversized_header_block_is_named_in_the_error(extra: bytes, words: str) -> None:
    """http.client's limits (100 fields, 64 KiB a line) bound the head; the one-line error says
    which limit the server broke (a real registry cannot send such a head: hand-written server)."""

    def bloated(conn: socket.socket, head: bytes) -> None:
        if head.startswith(b"GET /v2/ "):
            return answer(conn, b"{}")
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: 0\r\n\r\n")

    with http_server(bloated) as (host, _):
        with insecure_client(host) as client:
            with pytest.raises(UnreachableError) as caught:
                client.get_manifest("bloated/head", "v1")
    text = str(caught.value)
    assert "malformed HTTP answer" in text and words in text and "\n" not in text, text


@pytest.mark.parametrize(
    ("header", "scheme", "realm"),
    [
        ('Basic realm="r", Bearer realm="https://auth.example/t"', "basic", "r"),
        ('Bearer realm="https://auth.example/t", Basic realm="r"', "bearer", "https://auth.example/t"),
        (
            'Negotiate, Bearer realm="https://a.example/1", Bearer realm="https://b.example/2"',
            "bearer",
            "https://a.example/1",
        ),
        ("Negotiate YIIBgAY=", "", None),
    ],
)
def test_the_first_supported_challenge_is_answered(header: str, scheme: str, realm: str | None) -> None:
    """containers/image ``dockerClient.setupRequestAuth`` walks the challenges in the order they were
    sent and answers the first Basic or Bearer one: Bearer is not preferred over an earlier Basic."""
    from imgextract.auth.challenge import parse_www_authenticate
    from imgextract.registry.authorizer import _pick

    picked = _pick(parse_www_authenticate(header))
    assert (picked.scheme if picked else "", picked.realm if picked else None) == (scheme, realm)
