"""Fault-injecting HTTP proxy in front of a real registry.

THIS IS A HAND-WRITTEN FAKE. Use it only for faults a real registry cannot produce on demand: corrupted
blob bytes, a connection dropped in the middle of a blob, 429 + Retry-After, blob redirects to another
host (with a listener that records what the client sent there), and connection counting. Everything else
is forwarded unchanged to the real registry behind it (auth challenges, tokens, manifests, uploads).

    with FaultProxy(registry.url) as fp:
        fp.plan.corrupt_blobs = True
        client_for("http://" + fp.host) ...
        fp.connections, fp.requests
"""

from __future__ import annotations

import http.client
import re
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

BLOB_GET = re.compile(r"^/v2/.+/blobs/(sha256:[0-9a-f]{64})(\?.*)?$")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


@dataclass
class FaultPlan:
    """What to break. Counters (`*_times`) count down; None means every time. Mutate between requests."""

    corrupt_blobs: bool | set[str] = False  # True = every blob GET, or the set of digests to corrupt
    corrupt_offset: int = -1  # byte of the (possibly ranged) response body to flip; -1 = last byte
    corrupt_times: int | None = None
    corrupt_skip: int = 0  # leave this many matching blob GETs intact first (e.g. a TOC read)
    drop_blob_after: int | None = None  # send this many body bytes of a blob GET, then close the socket
    drop_times: int | None = 1
    rate_limit_times: int = 0  # answer 429 to this many matching requests
    rate_limit_path: str = r"^/v2/"  # regex (re.search) on the request path
    retry_after: str | None = "1"
    redirect_blobs: bool = False  # 307 blob GETs to the second listener (see FaultProxy.redirect_server)
    redirect_host: str = (
        "localhost"  # host name in Location: differs from 127.0.0.1 so clients see another host
    )
    redirect_status: int = 307
    ignore_range: bool = False  # drop Range from blob GETs: the registry answers 200 with the whole blob
    echo_authorization: bool = False  # answer 400 whose error message repeats the request's credentials
    stall_blobs: bool | set[str] = False  # blob GETs (True, or these digests): headers, a few bytes, silence
    drip_manifests: float | None = None  # manifest GETs: send the body one byte every this many seconds
    strip_auth_times: int = 0  # forward this many matching requests without Authorization (a real 401)
    strip_auth_path: str = r"/blobs/"  # regex (re.search) on the request path
    blob_rate: int | None = None  # blob GETs: send at most this many bytes per second
    # GETs of these blobs wait (at most hold_timeout seconds) until a ranged blob GET has arrived;
    # recorded with fault "held" when one released them, "held-timeout" when none came
    hold_blobs: set[str] = field(default_factory=set)
    hold_timeout: float = 5.0


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int
    fault: str | None = None  # "corrupt" | "drop" | "429" | "redirect" | "held" | ... | None


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: int = 0
    requests: list[SeenRequest] = field(default_factory=list)
    blob_bytes: int = 0  # body bytes of blob GET answers sent to clients


class RedirectTarget:
    """Second loopback listener that serves blobs the proxy redirected to, recording request headers."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        self.seen: list[dict[str, str]] = []
        self.lock = threading.Lock()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                with target.lock:
                    target.seen.append({k: v for k, v in self.headers.items()} | {":path": self.path})
                    data = target.blobs.get(urlsplit(self.path).path.rsplit("/", 1)[-1])
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                m = re.match(r"bytes=(\d+)-$", self.headers.get("Range", ""))
                if m and int(m.group(1)) < len(data):
                    start = int(m.group(1))
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                self.wfile.write(data[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name="regfix-redirect", daemon=True
        ).start()

    def add(self, data: bytes) -> str:
        key = secrets.token_hex(12)
        with self.lock:
            self.blobs[key] = data
        return key

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy

    def get_request(self) -> tuple[socket.socket, object]:
        conn, addr = super().get_request()
        with self.proxy._state.lock:
            self.proxy._state.connections += 1
        return conn, addr


class FaultProxy:
    """Plain-HTTP proxy on 127.0.0.1:<port> forwarding to `upstream` (http:// or https:// with ca_file)."""

    def __init__(self, upstream: str, *, ca_file: Path | None = None, plan: FaultPlan | None = None) -> None:
        u = urlsplit(upstream if "://" in upstream else "http://" + upstream)
        self.upstream_scheme = u.scheme
        self.upstream_netloc = u.netloc
        self.ca_file = ca_file
        self.plan = plan or FaultPlan()
        self._state = _State()
        self._stopping = threading.Event()
        self._range_seen = threading.Event()  # a ranged blob GET arrived (``FaultPlan.hold_blobs``)
        self.redirect_server = RedirectTarget()
        proxy = self

        class Handler(_ProxyHandler):
            fault_proxy = proxy

        self.httpd = _CountingServer(("127.0.0.1", 0), Handler)
        self.httpd.proxy = self
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name="regfix-faults", daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def connections(self) -> int:
        with self._state.lock:
            return self._state.connections

    @property
    def requests(self) -> list[SeenRequest]:
        with self._state.lock:
            return list(self._state.requests)

    @property
    def blob_bytes_sent(self) -> int:
        """Body bytes of blob GET answers (ranged or whole) sent to clients so far."""
        with self._state.lock:
            return self._state.blob_bytes

    @property
    def redirect_requests(self) -> list[dict[str, str]]:
        """Headers (plus ":path") of every request that reached the redirect target."""
        with self.redirect_server.lock:
            return list(self.redirect_server.seen)

    def reset(self) -> None:
        with self._state.lock:
            self._state.connections = 0
            self._state.requests.clear()
            self._state.blob_bytes = 0
        with self.redirect_server.lock:
            self.redirect_server.seen.clear()
        self._range_seen.clear()
        self.plan = FaultPlan()

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.redirect_server.stop()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- decisions (under lock)
    def _take(self, kind: str, path: str, digest: str | None) -> bool:
        p = self.plan
        with self._state.lock:
            if kind == "strip-auth":
                if p.strip_auth_times > 0 and re.search(p.strip_auth_path, path):
                    p.strip_auth_times -= 1
                    return True
                return False
            if kind == "429":
                if p.rate_limit_times > 0 and re.search(p.rate_limit_path, path):
                    p.rate_limit_times -= 1
                    return True
                return False
            if digest is None:
                return False
            if kind == "redirect":
                return p.redirect_blobs
            if kind == "corrupt":
                want = p.corrupt_blobs is True or (
                    isinstance(p.corrupt_blobs, set) and digest in p.corrupt_blobs
                )
                if not want or p.corrupt_times == 0:
                    return False
                if p.corrupt_skip > 0:
                    p.corrupt_skip -= 1
                    return False
                if p.corrupt_times is not None:
                    p.corrupt_times -= 1
                return True
            if kind == "drop":
                if p.drop_blob_after is None or p.drop_times == 0:
                    return False
                if p.drop_times is not None:
                    p.drop_times -= 1
                return True
        return False

    def _record(self, req: SeenRequest) -> None:
        with self._state.lock:
            self._state.requests.append(req)

    def _upstream(self) -> http.client.HTTPConnection:
        if self.upstream_scheme == "https":
            ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            return http.client.HTTPSConnection(self.upstream_netloc, timeout=30, context=ctx)
        return http.client.HTTPConnection(self.upstream_netloc, timeout=30)


class _ProxyHandler(BaseHTTPRequestHandler):
    fault_proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def _headers_in(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items()}

    def _send_simple(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self) -> None:
        fp = self.fault_proxy
        body = self._read_body()
        seen_headers = self._headers_in()
        m = BLOB_GET.match(self.path)
        digest = m.group(1) if (m and self.command == "GET") else None
        held = None
        if digest and "Range" in self.headers:
            fp._range_seen.set()
        elif digest and digest in fp.plan.hold_blobs:
            held = "held" if fp._range_seen.wait(fp.plan.hold_timeout) else "held-timeout"

        if fp.plan.echo_authorization and "Authorization" in self.headers:
            value = self.headers["Authorization"].partition(" ")[2]
            body = (
                '{"errors":[{"code":"UNSUPPORTED","message":"credentials ' + value + ' not accepted here"}]}'
            ).encode()
            fp._record(SeenRequest(self.command, self.path, seen_headers, 400, "echo"))
            self._send_simple(400, body, {"Content-Type": "application/json"})
            return

        if fp._take("429", self.path, None):
            hdrs = {"Content-Type": "application/json"}
            if fp.plan.retry_after is not None:
                hdrs["Retry-After"] = fp.plan.retry_after
            fp._record(SeenRequest(self.command, self.path, seen_headers, 429, "429"))
            self._send_simple(
                429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"injected rate limit"}]}', hdrs
            )
            return

        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-Proto"] = "http"
        if digest and fp.plan.ignore_range:
            headers = {k: v for k, v in headers.items() if k.lower() != "range"}
        stripped = fp._take("strip-auth", self.path, None)
        if stripped:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        conn = fp._upstream()
        try:
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            out_headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]

            if digest and resp.status == 200 and fp._take("redirect", self.path, digest):
                key = fp.redirect_server.add(resp.read())
                loc = f"http://{fp.plan.redirect_host}:{fp.redirect_server.port}/blobs/{key}?digest={digest}"
                fp._record(
                    SeenRequest(self.command, self.path, seen_headers, fp.plan.redirect_status, "redirect")
                )
                self._send_simple(fp.plan.redirect_status, b"", {"Location": loc})
                return

            length = resp.getheader("Content-Length")
            stream = length is not None and self.command != "HEAD"
            data = b"" if stream else resp.read()
            corrupt = bool(digest) and resp.status in (200, 206) and fp._take("corrupt", self.path, digest)
            drop_after = (
                fp.plan.drop_blob_after
                if digest and resp.status in (200, 206) and fp._take("drop", self.path, digest)
                else None
            )
            fault = "corrupt" if corrupt else ("drop" if drop_after is not None else None)
            stall = (
                bool(digest)
                and resp.status in (200, 206)
                and (fp.plan.stall_blobs is True or digest in (fp.plan.stall_blobs or set()))
            )
            drip = fp.plan.drip_manifests if "/manifests/" in self.path and resp.status == 200 else None
            fault = (
                "stall" if stall else ("drip" if drip is not None else ("strip-auth" if stripped else fault))
            )
            fault = held or fault
            total = int(length) if length is not None else len(data)

            # recorded before the client can have its answer: a test may look at once
            fp._record(SeenRequest(self.command, self.path, seen_headers, resp.status, fault))
            self.send_response(resp.status)
            for k, v in out_headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(total))
            self.end_headers()
            if self.command == "HEAD":
                return
            if stall or drip is not None:
                self._slow(resp.read(), stall=stall, drip=drip or 0.0)
                return
            flip = (fp.plan.corrupt_offset % total) if (corrupt and total) else -1
            sent = 0
            while True:
                chunk = resp.read(65536) if stream else (data if sent == 0 else b"")
                if not chunk:
                    break
                if 0 <= flip - sent < len(chunk):
                    i = flip - sent
                    chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1 :]
                if drop_after is not None and sent + len(chunk) >= drop_after:
                    self.wfile.write(chunk[: max(0, drop_after - sent)])
                    self.wfile.flush()
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self.wfile.write(chunk)
                sent += len(chunk)
                if digest:
                    with fp._state.lock:
                        fp._state.blob_bytes += len(chunk)
                if digest and fp.plan.blob_rate:
                    time.sleep(len(chunk) / fp.plan.blob_rate)
        finally:
            conn.close()

    def _slow(self, data: bytes, *, stall: bool, drip: float) -> None:
        """Stall (a few bytes, then silence until the client gives up) or drip (a byte at a time)."""
        fp = self.fault_proxy
        try:
            if stall:
                self.wfile.write(data[:16])
                self.wfile.flush()
                while not fp._stopping.wait(0.2):
                    pass
                return
            for i in range(len(data)):
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                if fp._stopping.wait(drip):
                    return
        except OSError:
            return
        finally:
            self.close_connection = True

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815
