"""Transport settings and the per-registry ``requests.Session`` factory.

One session per registry host: connection pooling, TLS trust (``--ca-file``, ``certs.d``), the
user agent.  Proxies come from the environment through requests' own ``trust_env``, resolved once
per origin (scheme and host) for the session's life rather than on every request.  Insecure
registries get unverified TLS (and, in :mod:`ping`, a plain-HTTP fallback).  Connections attach
themselves to the request's header watch (:func:`~.watchdog.open_within`) before they send.
"""

from __future__ import annotations

import ssl
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.auth
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from imgextract.registry.tls import build_ssl_context, find_tls_material
from imgextract.registry.watchdog import header_watch
from imgextract.settings import DEFAULT_USER_AGENT, TransportSettings

__all__ = ["DEFAULT_USER_AGENT", "TransportSettings", "new_session"]


# Connections kept per host: concurrent pulls (render, --from-catalog) each prefetch several layers;
# below this urllib3 discards connections and logs "Connection pool is full".
POOL_MAXSIZE = 32


def _attach(connection: Any, *, connecting: bool = False) -> None:
    item = header_watch()
    if item is None:
        return
    item.attach(connection)
    if connecting:
        # the watchdog cannot reach the socket inside the TLS handshake: bound connect and
        # handshake by what is left of the deadline instead (the read timeout is set afresh later)
        left = max(0.001, item.deadline - time.monotonic())
        timeout = connection.timeout
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout > left:
            connection.timeout = left


class _HTTPConnection(HTTPConnection):
    """Attaches itself to the request's header watch before connecting and before sending."""

    def connect(self) -> None:  # the TLS handshake is under the deadline too
        _attach(self, connecting=True)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _HTTPSConnection(_HTTPConnection, HTTPSConnection):
    """The same for TLS: the overrides above run first, then HTTPSConnection's own."""


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    """Pools of connections that honour the header deadline (SOCKS proxies keep urllib3's own)."""

    def __init__(self) -> None:
        super().__init__(pool_maxsize=POOL_MAXSIZE)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager


class _ContextAdapter(_Adapter):
    """An adapter whose pools use a prepared SSL context (extra CAs, client certificate)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(proxy, **proxy_kwargs)


class NoNetrc(requests.auth.AuthBase):
    """Session-level auth that adds nothing: its presence stops requests from applying ``~/.netrc``
    credentials (which would override our ``Authorization`` and follow redirects to other hosts)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class _Session(requests.Session):
    """A session whose ``verify=False`` survives ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (requests #3829),
    and that reads the environment (proxies, ``NO_PROXY``, CA bundle variables) once per origin:
    requests does it on every request, scanning the whole environment each time."""

    def __init__(self) -> None:
        super().__init__()
        self._env_lock = threading.Lock()
        self._env_settings: dict[tuple[str, str, Any], dict[str, Any]] = {}

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        key: tuple[str, str, Any] | None = None
        if isinstance(url, str) and not proxies and verify is None and cert is None and self.trust_env:
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc, stream)
            with self._env_lock:
                known = self._env_settings.get(key)
            if known is not None:
                return {**known, "proxies": dict(known["proxies"])}
        settings: Any = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.verify is False and verify is None:
            settings["verify"] = False
        if key is not None:
            with self._env_lock:
                self._env_settings[key] = {**settings, "proxies": dict(settings["proxies"])}
        return settings


def _drop_redirect_body(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """requests reads a redirect's whole body before following it (unbounded): close it unread."""
    if response.is_redirect:
        response.close()
    return response


def _unverified_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def new_session(hosts: tuple[str, ...], settings: TransportSettings, *, insecure: bool) -> requests.Session:
    """A session for one registry; ``hosts`` are the names to look up in ``certs.d`` (as written first)."""
    session = _Session()
    session.auth = NoNetrc()
    session.hooks["response"].append(_drop_redirect_body)
    session.headers["User-Agent"] = settings.user_agent
    session.mount("http://", _Adapter())
    session.mount("https://", _Adapter())
    material = find_tls_material(hosts, settings.ca_file, settings.cert_dir)
    if insecure:
        session.verify = False
        if material.client_cert is not None:
            cert, key = material.client_cert
            session.cert = (str(cert), str(key))
        else:
            # Unverified TLS needs no trust store: a prepared context spares urllib3 loading the
            # system CAs (~50 ms of start-up) for the https probe of a plain-HTTP registry.
            session.mount("https://", _ContextAdapter(_unverified_context()))
    elif not material.empty:
        session.mount("https://", _ContextAdapter(build_ssl_context(material)))
    return session
