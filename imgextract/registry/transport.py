"""Transport settings and the per-registry :class:`Transport`, on our own HTTP/1.1 (:mod:`.wire`).

One transport per registry host: connection pools (:mod:`~imgextract.registry.connections`), TLS
trust (the system's and certifi's CAs, ``--ca-file``, ``certs.d``, a client certificate; see
:mod:`~imgextract.registry.tls`), the user agent.  Proxies come from the environment, resolved once
per origin (:mod:`~imgextract.registry.proxies`).  Insecure registries get unverified TLS (and, in
:mod:`~imgextract.registry.ping`, a plain-HTTP fallback).

What it does not do, on purpose: follow redirects (the registry code does, dropping credentials on
a change of origin), keep cookies (Go's registry client keeps no jar either), read ``~/.netrc``,
ask for compressed bodies (``Accept-Encoding: identity``) or decode one (digests are over the
bytes sent).  The TLS context (and certifi) is built on the first https connection only.

``Transport.adapter`` is what sends a prepared :class:`~imgextract.registry.response.Request`: the
connection pools, or a stand-in (the unit tests' in-process fake).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

from imgextract.registry.connections import POOL_MAXSIZE, Connections, Timeout
from imgextract.registry.exceptions import ConnectFailed, InvalidHeader
from imgextract.registry.response import Headers, Request, Response
from imgextract.registry.tls import TLSMaterial, find_tls_material
from imgextract.settings import DEFAULT_USER_AGENT, TransportSettings

if TYPE_CHECKING:
    import ssl

__all__ = ["DEFAULT_USER_AGENT", "POOL_MAXSIZE", "Transport", "TransportSettings", "new_session"]

_BAD_HEADER = re.compile(r"[\r\n\x00]")
_BAD_NAME = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
# characters a request target may carry as they are; anything else is percent-encoded
_PLAIN_TARGET = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_TARGET_SAFE = "-._~:/?#[]@!$&'()*+,;=%"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class Adapter(Protocol):
    def send(self, request: Request, timeout: Timeout) -> Response: ...

    def close(self) -> None: ...


def _unverified_context(material: TLSMaterial) -> ssl.SSLContext:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if material.client_cert is not None:
        from imgextract.registry.tls import load_client_cert

        load_client_cert(context, material.client_cert)
    return context


def _normal_url(url: str) -> str:
    """``url`` as it goes on the wire: non-ASCII and spaces percent-encoded, an IDN host in punycode."""
    if _PLAIN_TARGET.fullmatch(url):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            host = (parts.hostname or "").encode("idna").decode("ascii")
            port = parts.port
        except (UnicodeError, ValueError):
            raise ConnectFailed("invalid URL: its host has no IDNA form, or its port is invalid") from None
        userinfo, at, _ = netloc.rpartition("@")
        netloc = f"{userinfo}{at}{host}" + (f":{port}" if port is not None else "")
    rest = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    return f"{parts.scheme}://{netloc}{quote(rest, safe=_TARGET_SAFE)}"


def check_header(name: str, value: str) -> None:
    """Refuse a header that would split the request or be rejected on the wire."""
    if not name or _BAD_NAME.search(name) or _BAD_HEADER.search(value):
        raise InvalidHeader(f"invalid header {name!r}: it must be one line of visible characters")


class Transport:
    """One registry's HTTP: ``request(method, url, ...)`` returns the streamed :class:`Response`."""

    def __init__(self, material: TLSMaterial, settings: TransportSettings, *, insecure: bool) -> None:
        self.user_agent = settings.user_agent
        self.timeout: Timeout = settings.timeout
        self.insecure = insecure
        self.material = material
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self.adapter: Adapter = Connections(self.tls_context)

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context, built on first use (plain-HTTP work never loads a trust store)."""
        with self._lock:
            if self._context is None:
                if self.insecure:
                    self._context = _unverified_context(self.material)
                else:
                    from imgextract.registry.tls import build_ssl_context

                    self._context = build_ssl_context(self.material)
            return self._context

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        params: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        timeout: Timeout | None = None,
    ) -> Response:
        """Send one request; the answer's status is not checked and its body not yet read.

        ``body``: bytes (sent with ``Content-Length``), or a stream with ``read()`` (with
        ``Content-Length`` when it has a ``len()``, chunked otherwise)."""
        if params:
            query = urlencode(list(params.items()) if isinstance(params, Mapping) else list(params))
            url = url + ("&" if "?" in url else "?") + query
        fields = Headers()
        fields["User-Agent"] = self.user_agent
        # bodies are never decoded (a digest is over the bytes sent): ask for them as they are
        fields["Accept-Encoding"] = "identity"
        if headers:
            for name, value in headers.items():
                check_header(name, value)
                fields[name] = value
        if body is not None and "content-length" not in fields:
            if hasattr(body, "__len__"):  # bytes, or a stream that knows its size
                fields["Content-Length"] = str(len(body))
            else:
                fields["Transfer-Encoding"] = "chunked"
        elif body is None and method in _BODY_METHODS:
            fields["Content-Length"] = "0"
        request = Request(method, _normal_url(url), fields, body)
        return self.adapter.send(request, self.timeout if timeout is None else timeout)

    def close(self) -> None:
        self.adapter.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def new_session(hosts: tuple[str, ...], settings: TransportSettings, *, insecure: bool) -> Transport:
    """The transport of one registry; ``hosts`` are the names to look up in ``certs.d`` (as written
    first).  A missing ``--ca-file`` or a ``.cert`` without its key fails here, before any request."""
    material = find_tls_material(hosts, settings.ca_file, settings.cert_dir)
    return Transport(material, settings, insecure=insecure)
