"""Kept-alive connections on the standard library's ``http.client``, pooled per origin.

One :class:`Connections` per registry transport: a pool per origin (scheme, host, port and the
proxy that carries it), at most ``POOL_MAXSIZE`` idle connections each, shared by threads.  A
connection goes back to its pool only when its answer was read to the end (see
:mod:`~imgextract.registry.response`).  A request sent on a reused connection that fails before any
byte of the answer arrives (the server closed the idle connection meanwhile) is sent once more on a
new connection when that is safe (an idempotent method, a body we still hold), as urllib3 and Go's
transport do.

Proxies: a plain-HTTP request goes to the proxy with the absolute URL as its target; HTTPS goes
through a ``CONNECT`` tunnel.  Connections attach themselves to the request's header watch
(:func:`~imgextract.registry.watchdog.header_watch`) before they connect and send, so the watchdog
can cut a server that drips its answer.  Failures are raised as the transport's exceptions
(:mod:`~imgextract.registry.exceptions`).
"""

from __future__ import annotations

import base64
import http.client
import logging
import re
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from imgextract.registry.exceptions import (
    BodyBroken,
    ConnectFailed,
    ConnectTimedOut,
    MalformedAnswer,
    ProxyFailed,
    ProxyRefused,
    ReadTimedOut,
    TLSFailed,
    TransportError,
)
from imgextract.registry.proxies import proxy_for
from imgextract.registry.response import Headers, Request, Response
from imgextract.registry.watchdog import header_watch

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
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)

Timeout = float | tuple[float, float]
_TUNNEL_REFUSED = re.compile(r"Tunnel connection failed: (\d{3}) ?([^\r\n]{0,80})")


def _attach(connection: _Plain, *, connecting: bool) -> None:
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


def _create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
    host, port = address
    return socket.create_connection((_wire_name(host), port), *args, **kwargs)  # type: ignore[arg-type]


class _Plain(http.client.HTTPConnection):
    """A connection that attaches itself to the header watch and reads with its own timeout."""

    read_timeout: float | None = None

    def connect(self) -> None:
        _attach(self, connecting=True)
        self._create_connection = _create_connection
        http.client.HTTPConnection.connect(self)  # TCP (and through a proxy, its CONNECT tunnel)
        self._secure()
        if self.sock is not None:
            self.sock.settimeout(self.read_timeout)

    def _secure(self) -> None:
        """Plain HTTP: nothing to do once connected."""

    def _tunnel(self) -> None:
        # Python before 3.12 writes "CONNECT ::1:443": an IPv6 target needs its brackets there
        # (and only there: the TLS layer checks the certificate against the bare address)
        host = self._tunnel_host  # type: ignore[has-type]
        if host and ":" in host and not hasattr(http.client.HTTPConnection, "_wrap_ipv6"):
            self._tunnel_host = f"[{host}]"
            try:
                super()._tunnel()  # type: ignore[misc]
            finally:
                self._tunnel_host = host
        else:
            super()._tunnel()  # type: ignore[misc]


class _TLS(_Plain, http.client.HTTPSConnection):
    """The same over TLS: connected, then the handshake (what ``HTTPSConnection.connect`` does,
    with the name it checks the certificate against as :func:`_wire_name` gives it), then the
    read timeout."""

    _context: ssl.SSLContext

    def _secure(self) -> None:
        name = self._tunnel_host or self.host
        self.sock = self._context.wrap_socket(self.sock, server_hostname=_wire_name(name))


class _Pool:
    """Idle connections to one origin (last in, first out), at most ``maxsize`` of them."""

    def __init__(self, make: Callable[[], _Plain], maxsize: int) -> None:
        self.make = make
        self.maxsize = maxsize
        self._idle: list[tuple[_Plain, float]] = []  # and when each was given back
        self._lock = threading.Lock()
        self._closed = False

    def take(self, *, checked: bool = True) -> tuple[_Plain, bool, bool]:
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

    def give(self, conn: _Plain) -> None:
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


def _dropped(conn: _Plain) -> bool:
    """Closed by the server while idle (readable with nothing asked: EOF or garbage)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class _WireBody:
    """The body of an ``http.client`` answer: undecoded reads, failures as transport exceptions,
    and on close the connection back to its pool (read to the end) or shut (anything else)."""

    __slots__ = ("_conn", "_pool", "_resp", "broken", "closed", "sock")

    def __init__(self, resp: http.client.HTTPResponse, conn: _Plain, pool: _Pool, sock: Any) -> None:
        self._resp = resp
        self._conn = conn
        self._pool = pool
        self.sock = sock  # for the watchdog (the connection lets go of it when the server closes)
        self.closed = False
        self.broken = False

    def _fail(self, exc: BaseException) -> TransportError:
        self.broken = True
        if isinstance(exc, TimeoutError):
            return ReadTimedOut(f"read timed out ({exc})")
        if isinstance(exc, http.client.IncompleteRead):
            return BodyBroken(f"IncompleteRead({exc.partial and len(exc.partial)} bytes read)")
        return BodyBroken(f"connection broken: {exc.__class__.__name__}: {exc}")

    def _short(self, data: bytes, n: int) -> bytes:
        if not data and n and self._resp.length:  # the body ended before its Content-Length
            self.broken = True
            raise BodyBroken(f"IncompleteRead(body ended {self._resp.length} bytes short)")
        return data

    def read(self, n: int = -1, /) -> bytes:
        if self.closed:
            return b""
        try:
            data = self._resp.read(None if n is None or n < 0 else n)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._fail(exc) from None
        return self._short(data, n if n is not None and n >= 0 else 1)

    def read1(self, n: int = -1, /) -> bytes:
        if self.closed:
            return b""
        try:
            data = self._resp.read1(n if n is not None else -1)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._fail(exc) from None
        return self._short(data, n if n is not None and n >= 0 else 1)

    def readinto(self, buffer: memoryview) -> int:
        """Up to ``len(buffer)`` bytes straight into ``buffer`` (several socket reads if need be);
        0 at the end."""
        if self.closed:
            return 0
        try:
            n = self._resp.readinto(buffer)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._fail(exc) from None
        if not n and len(buffer) and self._resp.length:  # the body ended before its Content-Length
            self.broken = True
            raise BodyBroken(f"IncompleteRead(body ended {self._resp.length} bytes short)")
        return n

    @property
    def complete(self) -> bool:
        resp = self._resp
        if self.broken or resp.will_close:
            return False
        if resp.chunked:
            return resp.fp is None
        return resp.length == 0

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        reuse = self.complete
        self._resp.close()
        if reuse:
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
    ) -> Callable[[], _Plain]:
        if proxy is not None:
            parts = urlsplit(proxy)
            via_host, via_port = parts.hostname or "", parts.port or 80
        else:
            via_host, via_port = host, port

        def make() -> _Plain:
            conn: _Plain
            if scheme == "https":
                conn = _TLS(via_host, via_port, context=self._tls_context(), blocksize=BLOCKSIZE)
                if proxy is not None:
                    conn.set_tunnel(host, port, headers={"Proxy-Authorization": auth} if auth else None)
            else:
                conn = _Plain(via_host, via_port, blocksize=BLOCKSIZE)
            return conn

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
        conn: _Plain,
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
            conn.putrequest(request.method, target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host_header)
            if proxy_auth is not None:
                conn.putheader("Proxy-Authorization", proxy_auth)
            for name, value in request.headers.fields():
                conn.putheader(name, value)
            conn.endheaders(request.body, encode_chunked="transfer-encoding" in request.headers)
            resp = conn.getresponse()
        except _STALE:
            conn.close()
            raise
        except TimeoutError:
            conn.close()
            raise ReadTimedOut(f"read timed out (read timeout={read_timeout})") from None
        except (http.client.LineTooLong, http.client.BadStatusLine) as exc:
            conn.close()  # (RemoteDisconnected, a BadStatusLine, was handled as stale above)
            raise MalformedAnswer(f"{exc.__class__.__name__}: {str(exc)[:80]}") from None
        except http.client.HTTPException as exc:
            conn.close()
            cls = MalformedAnswer if "headers" in str(exc) else ConnectFailed  # "got more than 100 headers"
            raise cls(f"{exc.__class__.__name__}: {str(exc)[:80]}") from None
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
                resp.status,
            )
        headers = Headers((name, value.strip()) for name, value in resp.msg.raw_items())
        return Response(request, resp.status, resp.reason, headers, _WireBody(resp, conn, pool, sock))

    @staticmethod
    def _connect(conn: _Plain, request: Request, proxy: str | None) -> None:
        where = f"proxy {_netloc(proxy)}" if proxy else endpoint(request)
        try:
            conn.connect()
        except ssl.SSLError as exc:
            conn.close()
            raise TLSFailed(str(exc)) from None
        except TimeoutError:
            conn.close()
            cls: type[ConnectFailed] = ProxyFailed if proxy is not None else ConnectTimedOut
            raise cls(f"connection to {where} timed out (connect timeout={conn.timeout})") from None
        except socket.gaierror as exc:
            conn.close()
            cls = ProxyFailed if proxy is not None else ConnectFailed
            raise cls(f"Failed to resolve {where} ({exc})") from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            refused = _TUNNEL_REFUSED.match(str(exc)) if proxy is not None else None
            if refused:  # http.client's words for a CONNECT answered with an error status
                raise ProxyRefused(
                    f"{where} refused the tunnel: {refused[1]} {refused[2]}".rstrip(), int(refused[1])
                ) from None
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
