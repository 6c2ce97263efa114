"""Proxies from the environment: which variable applies, ``NO_PROXY``, credentials, CONNECT tunnels.

The tunnel test runs a hand-written CONNECT proxy and a TLS server on loopback (a real registry
cannot act as a proxy); the TLS server's certificate comes from a test CA given as ``ca_file``.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from imgextract.errors import ConfigError, ImgExtractError
from imgextract.registry import RegistryClient, TransportSettings
from imgextract.registry.proxies import proxy_for
from tests.unit.registry.loopback import (
    MANIFEST,
    answer_as_registry,
    clear_proxy_env,
    forward_proxy,
    http_server,
    insecure_client,
    proxy_loopback,
    read_request,
    serve_connections,
)


@pytest.fixture(autouse=True)
def _proxy_in_front_of_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy_loopback(monkeypatch)


@pytest.mark.parametrize(
    "env,scheme,host,port,expected",
    [
        ({"HTTP_PROXY": "http://p:3128"}, "http", "r.example", 80, "http://p:3128"),
        ({"HTTP_PROXY": "http://p:3128"}, "https", "r.example", 443, None),
        ({"HTTPS_PROXY": "p:3128"}, "https", "r.example", 443, "http://p:3128"),  # scheme added
        (
            {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2"},
            "https",
            "r",
            443,
            "http://lower:1",
        ),
        ({"https_proxy": "", "HTTPS_PROXY": "http://upper:2"}, "https", "r", 443, None),  # lower unsets
        ({"ALL_PROXY": "http://all:1"}, "https", "r.example", 443, "http://all:1"),
        ({"all_proxy": "http://all:1", "HTTPS_PROXY": "http://s:2"}, "https", "r", 443, "http://s:2"),
        ({"HTTP_PROXY": "http://p:1", "REQUEST_METHOD": "GET"}, "http", "r", 80, None),  # CGI
        ({"http_proxy": "http://p:1", "REQUEST_METHOD": "GET"}, "http", "r", 80, "http://p:1"),
    ],
)
def test_which_variable_applies(
    env: dict[str, str], scheme: str, host: str, port: int, expected: str | None
) -> None:
    assert proxy_for(scheme, host, port, env) == expected


@pytest.mark.parametrize(
    "no_proxy,host,port,bypassed",
    [
        ("*", "anything.example", 443, True),
        ("example.com", "example.com", 443, True),
        ("example.com", "reg.example.com", 443, True),
        (".example.com", "reg.example.com", 443, True),
        (".example.com", "example.com", 443, True),
        ("example.com", "badexample.com", 443, False),
        ("other.test, example.com", "reg.example.com", 443, True),
        ("reg.example.com:5000", "reg.example.com", 5000, True),
        ("reg.example.com:5000", "reg.example.com", 443, False),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "11.1.2.3", 443, False),
        ("127.0.0.1", "127.0.0.1", 5000, True),
        ("::1", "::1", 5000, True),
        ("fd00::/8", "fd00::5", 443, True),
        ("[::1]:5000", "::1", 5000, True),
        ("", "reg.example.com", 443, False),
        ("*.example.com", "reg.example.com", 443, True),  # Go's httpproxy: as ".example.com"
        ("*.example.com:5000", "reg.example.com", 5000, True),
        ("*.example.com", "reg.other.com", 443, False),
    ],
)
def test_no_proxy(no_proxy: str, host: str, port: int, bypassed: bool) -> None:
    env = {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": no_proxy}
    assert (proxy_for("https", host, port, env) is None) is bypassed


@pytest.mark.parametrize(
    "host,direct",
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("LOCALHOST", True),
        ("localhost.example", False),
        ("127.0.0.1.example", False),
        ("10.0.0.1", False),
    ],
)
def test_loopback_is_never_proxied_as_in_go(host: str, direct: bool) -> None:
    """Go's httpproxy (skopeo, containers/image) never sends ``localhost`` or a loopback address to
    a proxy: a proxy's own loopback is not the user's (a local registry behind a global proxy)."""
    env = {"HTTPS_PROXY": "http://p:3128", "HTTP_PROXY": "http://p:3128"}
    assert (proxy_for("https", host, 5000, env, loopback_direct=True) is None) is direct
    assert (proxy_for("http", host, 5000, env, loopback_direct=True) is None) is direct


def test_a_socks_proxy_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match="socks5:// .* not supported"):
        proxy_for("https", "r.example", 443, {"ALL_PROXY": "socks5://127.0.0.1:1080"})


def _pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    finally:
        try:
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass


@contextmanager
def _connect_proxy(seen: list[bytes]) -> Iterator[str]:
    """A CONNECT proxy to loopback only: records each CONNECT head, then pipes bytes both ways."""

    def serve(conn: socket.socket) -> None:
        head = read_request(conn)
        seen.append(head)
        line = head.split(b"\r\n", 1)[0].decode()
        method, target, _ = line.split(" ", 2)
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or host != "127.0.0.1":
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            conn.close()
            return
        up = socket.create_connection((host, int(port)), timeout=5)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=_pipe, args=(up, conn), daemon=True).start()
        _pipe(conn, up)

    with serve_connections(serve) as host:
        yield host


@contextmanager
def _tls_registry(ca: trustme.CA) -> Iterator[tuple[str, list[bytes]]]:
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    seen: list[bytes] = []

    def serve(raw: socket.socket) -> None:
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            return
        with conn:
            while head := read_request(conn):
                seen.append(head)
                answer_as_registry(conn, head)

    with serve_connections(serve) as host:
        yield host, seen


def test_https_goes_through_a_connect_tunnel_with_the_proxy_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clear_proxy_env(monkeypatch)
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    connects: list[bytes] = []
    with _tls_registry(ca) as (registry, seen), _connect_proxy(connects) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", f"http://tunnel-user:tunnel%20pw@{proxy}")
        settings = TransportSettings(retries=1, retry_base_delay=0.0, timeout=10.0, ca_file=ca_file)
        with RegistryClient(registry, settings, None) as client:
            for _ in range(3):
                assert client.get_manifest("via/tunnel", "v1").raw == MANIFEST
    assert len(connects) == 1  # one tunnel, kept alive for the ping and the three manifests
    assert connects[0].startswith(f"CONNECT {registry} HTTP/1.".encode())
    assert b"Proxy-Authorization: Basic dHVubmVsLXVzZXI6dHVubmVsIHB3\r\n" in connects[0]
    assert len(seen) == 4
    assert not any(b"proxy-authorization" in h.lower() for h in seen)  # never past the proxy


def test_plain_http_through_the_proxy_sends_its_credentials_to_the_proxy_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear_proxy_env(monkeypatch)
    via: list[bytes] = []
    with (
        http_server(answer_as_registry) as (registry, direct),
        http_server(forward_proxy(via)) as (proxy, to_proxy),
    ):
        monkeypatch.setenv("HTTP_PROXY", f"http://u:p@{proxy}")
        monkeypatch.setenv("HTTPS_PROXY", f"http://u:p@{proxy}")
        with insecure_client(registry) as client:
            assert client.get_manifest("via/proxy", "v1").raw == MANIFEST
    manifest_heads = [h for h in to_proxy if b"/manifests/" in h.split(b"\r\n", 1)[0]]
    assert b"Proxy-Authorization: Basic dTpw\r\n" in manifest_heads[0]
    assert b"Host: " + registry.encode() + b"\r\n" in manifest_heads[0]


@pytest.mark.parametrize(
    "proxy,message",
    [
        ("http://127.0.0.1:99999", "port"),
        ("http://proxy.example:notaport", "port"),
        ("http://:3128", "host"),
    ],
)
def test_a_malformed_proxy_url_is_a_one_line_config_error(proxy: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        proxy_for("https", "r.example", 443, {"HTTPS_PROXY": proxy})


def test_an_https_proxy_is_refused_before_its_credentials_go_out_in_clear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The transport cannot speak TLS to a proxy: an ``https://`` proxy must be refused, not sent
    ``CONNECT`` and ``Proxy-Authorization`` in plain text (a hand-written listener records what arrives:
    a real registry cannot stand in for a proxy)."""
    clear_proxy_env(monkeypatch)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    received: list[bytes] = []

    def accept() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(2)
            try:
                received.append(conn.recv(65536))
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    monkeypatch.setenv("HTTPS_PROXY", f"https://u:secret@127.0.0.1:{listener.getsockname()[1]}")
    settings = TransportSettings(retries=1, retry_base_delay=0.0, timeout=3.0)
    try:
        with pytest.raises(ConfigError, match="https:// .* not supported"):
            with RegistryClient("127.0.0.1:1", settings, None) as client:
                client.get_manifest("via/tls-proxy", "v1")
    finally:
        socket.create_connection(listener.getsockname(), timeout=5).close()  # wakes accept() if idle
        t.join(5)
        listener.close()
    assert not any(b"dTpzZWNyZXQ=" in r for r in received)


@pytest.mark.parametrize(
    "status,error,message",
    [
        (
            "407 Proxy Authentication Required",
            "AuthError",
            r"proxy 127\.0\.0\.1:\d+ refused .*407.*credentials",
        ),
        ("502 Bad Gateway", "UnreachableError", r"proxy 127\.0\.0\.1:\d+ refused .*502 Bad Gateway"),
    ],
)
def test_a_refused_connect_tunnel_says_what_the_proxy_answered(
    monkeypatch: pytest.MonkeyPatch, status: str, error: str, message: str
) -> None:
    """A hand-written proxy refuses every ``CONNECT`` (a real registry cannot act as a proxy): the
    error names the proxy and its answer, never its credentials; a 407 is not retried."""
    clear_proxy_env(monkeypatch)
    connects: list[bytes] = []

    def refuse(conn: socket.socket, head: bytes) -> None:
        connects.append(head)
        conn.sendall(
            f"HTTP/1.1 {status}\r\nProxy-Authenticate: Basic realm=p\r\nContent-Length: 0\r\n\r\n".encode()
        )

    with http_server(refuse) as (proxy, _):
        monkeypatch.setenv("HTTPS_PROXY", f"http://u:wrong-secret@{proxy}")
        settings = TransportSettings(retries=3, retry_base_delay=0.0, retry_max_delay=0.0, timeout=5.0)
        with pytest.raises(ImgExtractError) as caught:
            with RegistryClient("127.0.0.1:1", settings, None) as client:
                client.get_manifest("via/refusing-proxy", "v1")
    assert type(caught.value).__name__ == error
    text = str(caught.value)
    assert re.search(message, text), text
    assert "wrong-secret" not in text and "\n" not in text
    if status.startswith("407"):
        assert len(connects) == 1


def test_the_connect_line_brackets_an_ipv6_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CONNECT ::1:5000`` is not an authority (RFC 9110 9.3.6): proxies refuse or misread it.  A
    hand-written proxy records the line and refuses the tunnel (no IPv6 registry needed)."""
    clear_proxy_env(monkeypatch)

    def refuse(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    with http_server(refuse) as (proxy, connects):
        monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy}")
        settings = TransportSettings(retries=1, retry_base_delay=0.0, timeout=5.0)
        with pytest.raises(ImgExtractError, match="403"):
            with RegistryClient("[::1]:5000", settings, None) as client:
                client.get_manifest("via/ipv6", "v1")
    assert connects[0].startswith(b"CONNECT [::1]:5000 HTTP/1.")
