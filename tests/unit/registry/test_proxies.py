"""Proxies from the environment: which variable applies, ``NO_PROXY``, credentials, CONNECT tunnels.

The tunnel test runs a hand-written CONNECT proxy and a TLS server on loopback (a real registry
cannot act as a proxy); the TLS server's certificate comes from a test CA given as ``ca_file``.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from imgextract.errors import ConfigError
from imgextract.registry import RegistryClient, TransportSettings
from imgextract.registry.proxies import proxy_for
from tests.unit.registry.test_transport_fanout import MANIFEST, _read_request, _registry, _server


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
    ],
)
def test_no_proxy(no_proxy: str, host: str, port: int, bypassed: bool) -> None:
    env = {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": no_proxy}
    assert (proxy_for("https", host, port, env) is None) is bypassed


def test_a_socks_proxy_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError, match="socks5:// .* not supported"):
        proxy_for("https", "r.example", 443, {"ALL_PROXY": "socks5://127.0.0.1:1080"})


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


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
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        head = _read_request(conn)
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
def _tls_registry(ca: trustme.CA) -> Iterator[tuple[str, list[bytes]]]:
    cert = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []
    stop = threading.Event()

    def serve(raw: socket.socket) -> None:
        try:
            conn = context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            return
        with conn:
            while head := _read_request(conn):
                seen.append(head)
                _registry(conn, head)

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(raw,), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}", seen
    finally:
        stop.set()
        listener.close()
        t.join(5)


def test_https_goes_through_a_connect_tunnel_with_the_proxy_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clear(monkeypatch)
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
    from tests.unit.registry.test_transport_fanout import _client, _proxy

    _clear(monkeypatch)
    via: list[bytes] = []
    with _server(_registry) as (registry, direct), _server(_proxy(via)) as (proxy, to_proxy):
        monkeypatch.setenv("HTTP_PROXY", f"http://u:p@{proxy}")
        monkeypatch.setenv("HTTPS_PROXY", f"http://u:p@{proxy}")
        with _client(registry) as client:
            assert client.get_manifest("via/proxy", "v1").raw == MANIFEST
    manifest_heads = [h for h in to_proxy if b"/manifests/" in h.split(b"\r\n", 1)[0]]
    assert b"Proxy-Authorization: Basic dTpw\r\n" in manifest_heads[0]
    assert b"Host: " + registry.encode() + b"\r\n" in manifest_heads[0]
