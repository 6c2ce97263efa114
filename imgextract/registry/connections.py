"""Kept-alive connections, pooled per origin, carrying the HTTP/1.1 exchange of :mod:`.wire`.

One :class:`Connections` per registry transport: a pool per origin (scheme, host, port and the
proxy that carries it), at most ``POOL_MAXSIZE`` idle connections each, shared by threads.  A
connection goes back to its pool only when its answer was read to the end and nothing arrived
after it (see :mod:`~imgextract.registry.response`).  A request sent on a reused connection that
fails before any byte of the answer arrives (the server closed the idle connection meanwhile) is
sent once more on a new connection when that is safe (an idempotent method, a body we still
hold), as urllib3 and Go's transport do.

Proxies: a plain-HTTP request goes to the proxy with the absolute URL as its target; HTTPS goes
through a ``CONNECT`` tunnel.  Connections attach themselves to the request's header watch
(:func:`~imgextract.registry.watchdog.header_watch`) before they connect and send, so the watchdog
can cut a server that drips its answer.  Failures are raised as the transport's exceptions
(:mod:`~imgextract.registry.exceptions`).  ``ssl`` is loaded by the first TLS context only (the
standard library's ``http.client`` is not used: it loads ``email`` and ``ssl`` at start-up, and
parses every answer's head through ``email``).
"""

from __future__ import annotations

import base64
import logging
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from imgextract.registry import wire
from imgextract.registry.exceptions import (
    ConnectFailed,
    ConnectTimedOut,
    MalformedAnswer,
    ProxyFailed,
    ProxyRefused,
    ReadTimedOut,
    TLSFailed,
)
from imgextract.registry.proxies import proxy_for
from imgextract.registry.response import Request, Response
from imgextract.registry.watchdog import header_watch

if TYPE_CHECKING:
    import ssl

log = logging.getLogger("imgextract.registry.wire")  # -vvv: every connection and request

# Idle connections kept per origin: concurrent pulls (render, --from-catalog) each prefetch several layers.
POOL_MAXSIZE = 32
# A connection idle for less than this is reused for a request that can be sent again without
# first asking the socket whether the server closed it: servers close idle connections after a
# second (an eager proxy) to minutes, and a close that lands anyway costs one resend on a checked
# connection.  (A 100-image render gives connections back and takes them again within 120 ms.)
TRUSTED_IDLE = 0.25
BLOCKSIZE = 256 * 1024  # request bodies are read and sent in blocks of this size
_DEFAULT_PORTS = {"http": 80, "https": 443}
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
# the server closed a kept-alive connection before answering: nothing was processed
_STALE = (wire.NoAnswer, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)

Timeout = float | tuple[float, float]


def _attach(connection: _Connection, *, connecting: bool) -> None:
    item = header_watch()
    if item is None:
        return
    item.attach(connection)
    if connecting:
        # the watchdog cannot reach the socket before it exists, nor inside the TLS handshake:
        # bound connect and handshake by what is left of the deadline instead
        left = max(0.001, item.deadline - time.monotonic())
        timeout = connection.timeout
        if not isinstance(timeout, int | float) or timeout > left:
            connection.timeout = left


def _wire_name(host: str) -> str | bytes:
    """An ASCII host name as bytes, for the resolver and for the TLS layer (SNI, the certificate
    check): both encode a ``str`` with the ``idna`` codec, which gives the same bytes for an ASCII
    name (it only checks label lengths, and refuses an empty label with a bare UnicodeError where
    the resolver says it cannot resolve the name) but whose first use loads ``stringprep`` and
    ``unicodedata``: some 3 ms of every command's start-up."""
    return host.encode("ascii") if host.isascii() else host


class _TunnelRefused(Exception):
    """The proxy answered ``CONNECT`` with another status than 200 (raised as ``ProxyRefused``)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(status, reason)
        self.status = status
        self.reason = reason


class _Connection:
    """One connection: TCP to ``host:port`` (the proxy's, when there is one), for https through
    the proxy a ``CONNECT`` tunnel to ``tunnel``, then TLS when there is a ``context``.  It
    attaches itself to the header watch before it connects, and reads with ``read_timeout``."""

    __slots__ = (
        "context",
        "fp",
        "host",
        "port",
        "raw",
        "read_timeout",
        "sock",
        "timeout",
        "tunnel",
        "tunnel_auth",
    )

    def __init__(
        self,
        host: str,
        port: int,
        context: ssl.SSLContext | None = None,
        tunnel: tuple[str, int] | None = None,
        tunnel_auth: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.context = context
        self.tunnel = tunnel
        self.tunnel_auth = tunnel_auth
        self.timeout: float | None = None  # connect (and TLS handshake)
        self.read_timeout: float | None = None
        self.sock: Any = None
        self.raw: wire.SocketReader | None = None
        self.fp: Any = None

    def connect(self) -> None:
        _attach(self, connecting=True)
        sock = self.sock = socket.create_connection((_wire_name(self.host), self.port), self.timeout)  # type: ignore[arg-type]
        try:
            sock.setsockopt(
                socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
            )  # the head and body go in separate sends
        except OSError:  # pragma: no cover - a socket family without TCP options
            pass
        if self.tunnel is not None:
            self._open_tunnel(sock, *self.tunnel)
        if self.context is not None:
            import ssl  # (loaded already: the context exists)

            name = self.tunnel[0] if self.tunnel is not None else self.host
            try:
                self.sock = sock = self.context.wrap_socket(sock, server_hostname=_wire_name(name))
            except ssl.SSLError as exc:
                raise TLSFailed(str(exc)) from None
        sock.settimeout(self.read_timeout)
        self.raw, self.fp = wire.reader(sock)

    def _open_tunnel(self, sock: socket.socket, host: str, port: int) -> None:
        # "CONNECT ::1:443" is no authority (RFC 9110 9.3.6): an IPv6 target goes in brackets
        # (there only: the TLS layer checks the certificate against the bare address)
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        fields = [("Host", authority)]
        if self.tunnel_auth is not None:
            fields.append(("Proxy-Authorization", self.tunnel_auth))
        sock.sendall(wire.request_head("CONNECT", authority, fields))
        raw, fp = wire.reader(sock)
        _minor, status, reason, _headers = wire.read_head(fp)
        if status != 200:
            raise _TunnelRefused(status, reason)
        if wire.unread(raw, fp):  # the TLS handshake starts on the raw socket
            raise ConnectionError("the proxy sent bytes after its answer to CONNECT")

    def drained(self) -> bool:
        """Nothing received beyond the answers read (else the connection is not reused)."""
        return self.raw is not None and not wire.unread(self.raw, self.fp)

    def close(self) -> None:
        sock, self.sock, self.fp, self.raw = self.sock, None, None, None
        if sock is not None:
            sock.close()


class _Pool:
    """Idle connections to one origin (last in, first out), at most ``maxsize`` of them."""

    def __init__(self, make: Callable[[], _Connection], maxsize: int) -> None:
        self.make = make
        self.maxsize = maxsize
        self._idle: list[tuple[_Connection, float]] = []  # and when each was given back
        self._lock = threading.Lock()
        self._closed = False

    def take(self, *, checked: bool = True) -> tuple[_Connection, bool, bool]:
        """A connection, whether it was used before, and whether it was taken unchecked.
        ``checked=False``: the caller sends the request again on a new connection if this one
        turns out closed (see :meth:`Connections.send`), so one given back less than
        ``TRUSTED_IDLE`` seconds ago is not asked whether the server closed it (a system call per
        request, each of which hands the interpreter lock over while other threads parse)."""
        while True:
            with self._lock:
                item = self._idle.pop() if self._idle else None
            if item is None:
                return self.make(), False, False
            conn, since = item
            if not checked and time.monotonic() - since < TRUSTED_IDLE:
                return conn, True, True
            if not _dropped(conn):
                return conn, True, False
            conn.close()

    def give(self, conn: _Connection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.maxsize:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()


def _dropped(conn: _Connection) -> bool:
    """Closed by the server while idle (readable with nothing asked: EOF or garbage)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _WireBody(wire.BodyReader):
    """The undecoded body of an answer (failures as transport exceptions); on close the
    connection goes back to its pool (read to the end, nothing after it) or is shut."""

    __slots__ = ("_conn", "_pool", "sock")

    def __init__(self, conn: _Connection, pool: _Pool, length: int, chunked: bool, keep_alive: bool) -> None:
        super().__init__(conn.fp, length, chunked, keep_alive)
        self._conn = conn
        self._pool = pool
        self.sock = conn.sock  # for the watchdog

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.complete and self._conn.drained():
            self._pool.give(self._conn)
        else:
            self._conn.close()


def _host_header(host: str, port: int, scheme: str) -> str:
    name = f"[{host}]" if ":" in host else host
    return name if port == _DEFAULT_PORTS.get(scheme) else f"{name}:{port}"


def _proxy_authorization(proxy: str) -> str | None:
    parts = urlsplit(proxy)
    if parts.username is None:
        return None
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


class Connections:
    """The network side of a transport: ``send(request, timeout)`` on a pooled connection."""

    def __init__(self, tls_context: Callable[[], ssl.SSLContext], *, maxsize: int = POOL_MAXSIZE) -> None:
        self._tls_context = tls_context
        self._maxsize = maxsize
        self._lock = threading.Lock()
        # (scheme, host, port) -> (pool, proxy URL or None, host header, the Proxy-Authorization
        # every request carries: plain HTTP through a proxy with credentials, else None)
        self._routes: dict[tuple[str, str, int], tuple[_Pool, str | None, str, str | None]] = {}
        self._pools: dict[tuple[str, str, int, str | None], _Pool] = {}

    def _route(self, scheme: str, host: str, port: int) -> tuple[_Pool, str | None, str, str | None]:
        key = (scheme, host, port)
        route = self._routes.get(key)
        if route is not None:
            return route
        proxy = proxy_for(scheme, host, port)  # the environment, read once per origin
        auth = _proxy_authorization(proxy) if proxy is not None else None
        with self._lock:
            route = self._routes.get(key)
            if route is None:
                pool_key = (scheme, host, port, proxy)
                pool = self._pools.get(pool_key)
                if pool is None:
                    pool = self._pools[pool_key] = _Pool(
                        self._factory(scheme, host, port, proxy, auth), self._maxsize
                    )
                per_request = auth if scheme == "http" else None  # https: sent once, in the CONNECT
                route = self._routes[key] = (pool, proxy, _host_header(host, port, scheme), per_request)
            return route

    def _factory(
        self, scheme: str, host: str, port: int, proxy: str | None, auth: str | None
    ) -> Callable[[], _Connection]:
        if proxy is not None:
            parts = urlsplit(proxy)
            via_host, via_port = parts.hostname or "", parts.port or 80
        else:
            via_host, via_port = host, port

        def make() -> _Connection:
            if scheme == "http":
                return _Connection(via_host, via_port)
            tunnel = (host, port) if proxy is not None else None
            return _Connection(via_host, via_port, self._tls_context(), tunnel, auth)

        return make

    def close(self) -> None:
        with self._lock:
            pools, self._pools, self._routes = list(self._pools.values()), {}, {}
        for pool in pools:
            pool.close()

    def send(self, request: Request, timeout: Timeout) -> Response:
        try:
            parts = urlsplit(request.url)
            port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
        except ValueError:  # a bad port, an unclosed IPv6 literal
            raise ConnectFailed("invalid URL: not http(s)://host[:port]/...") from None
        scheme = parts.scheme
        host = parts.hostname or ""
        if scheme not in _DEFAULT_PORTS or not host or not port:
            raise ConnectFailed(f"invalid URL {endpoint(request)!r}: not http(s)://host[:port]/...")
        pool, proxy, host_header, proxy_auth = self._route(scheme, host, port)
        if proxy is not None and scheme == "http":
            target = request.url.split("#", 1)[0]
        else:
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        body = request.body
        replayable = body is None or isinstance(body, bytes | bytearray)
        retry_stale = replayable and request.method in _IDEMPOTENT
        while True:
            conn, reused, unchecked = pool.take(checked=not retry_stale)
            try:
                return self._exchange(
                    conn, pool, request, target, host_header, proxy, proxy_auth, connect_timeout, read_timeout
                )
            except MalformedAnswer:
                # bytes the server sent after its last answer (a body to a HEAD), which the idle
                # check would have seen: sent again, once, on a checked connection
                if not unchecked:
                    raise
                retry_stale = False
            except _STALE:
                watch = header_watch()
                cut = watch is not None and (watch.expired or watch.aborted)
                if not (reused and retry_stale) or cut:
                    raise ConnectFailed(
                        f"connection closed by the server before it answered ({endpoint(request)})"
                    ) from None
                retry_stale = False  # once: a fresh connection that fails is a real failure

    def _exchange(
        self,
        conn: _Connection,
        pool: _Pool,
        request: Request,
        target: str,
        host_header: str,
        proxy: str | None,
        proxy_auth: str | None,
        connect_timeout: float,
        read_timeout: float,
    ) -> Response:
        if conn.sock is None:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "new connection to %s%s", endpoint(request), f" via {_netloc(proxy)}" if proxy else ""
                )
            conn.timeout = connect_timeout
            conn.read_timeout = read_timeout
            self._connect(conn, request, proxy)
        elif conn.read_timeout != read_timeout:
            conn.read_timeout = read_timeout
            conn.sock.settimeout(read_timeout)
        sock = conn.sock
        try:
            _attach(conn, connecting=False)  # (again, after connecting: the deadline may have passed)
            fields = [("Host", host_header)]
            if proxy_auth is not None:
                fields.append(("Proxy-Authorization", proxy_auth))
            fields.extend(request.headers.fields())
            head = wire.request_head(request.method, target, fields)
            chunked = "transfer-encoding" in request.headers
            wire.send_request(sock, head, request.body, chunked=chunked, blocksize=BLOCKSIZE)
            minor, status, reason, headers = wire.read_head(conn.fp)
            length, chunked, keep_alive = wire.framing(minor, status, request.method, headers)
        except _STALE:
            conn.close()
            raise
        except TimeoutError:
            conn.close()
            raise ReadTimedOut(f"read timed out (read timeout={read_timeout})") from None
        except MalformedAnswer:
            conn.close()
            raise
        except OSError as exc:
            conn.close()
            raise ConnectFailed(f"{exc.__class__.__name__}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s%s -> %s",
                request.method,
                endpoint(request),
                target if target[0] == "/" else "",
                status,
            )
        return Response(request, status, reason, headers, _WireBody(conn, pool, length, chunked, keep_alive))

    @staticmethod
    def _connect(conn: _Connection, request: Request, proxy: str | None) -> None:
        where = f"proxy {_netloc(proxy)}" if proxy else endpoint(request)
        try:
            conn.connect()
        except TLSFailed:
            conn.close()
            raise
        except _TunnelRefused as exc:
            conn.close()
            raise ProxyRefused(
                f"{where} refused the tunnel: {exc.status} {exc.reason[:80]}".rstrip(), exc.status
            ) from None
        except TimeoutError:
            conn.close()
            cls: type[ConnectFailed] = ProxyFailed if proxy is not None else ConnectTimedOut
            raise cls(f"connection to {where} timed out (connect timeout={conn.timeout})") from None
        except socket.gaierror as exc:
            conn.close()
            cls = ProxyFailed if proxy is not None else ConnectFailed
            raise cls(f"Failed to resolve {where} ({exc})") from None
        except (OSError, MalformedAnswer) as exc:  # (a malformed answer: the proxy's, to CONNECT)
            conn.close()
            cls = ProxyFailed if proxy is not None else ConnectFailed
            raise cls(f"cannot connect to {where}: {exc}") from None
        except BaseException:
            conn.close()
            raise


def _netloc(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2]


def endpoint(request: Request) -> str:
    """scheme://host[:port] of a request (for messages: never its path, query or credentials)."""
    parts = urlsplit(request.url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
