"""Transport settings and the per-registry ``requests.Session`` factory.

One session per registry host: connection pooling, TLS trust (``--ca-file``, ``certs.d``), the
user agent.  Proxies come from the environment through requests' own ``trust_env``.  Insecure
registries get unverified TLS (and, in :mod:`ping`, a plain-HTTP fallback).
"""

from __future__ import annotations

import ssl
from typing import Any

import requests
import requests.auth
from requests.adapters import HTTPAdapter

from imgextract.registry.tls import build_ssl_context, find_tls_material
from imgextract.settings import DEFAULT_USER_AGENT, TransportSettings

__all__ = ["DEFAULT_USER_AGENT", "TransportSettings", "new_session"]


# Connections kept per host: concurrent pulls (render, --from-catalog) each prefetch several layers;
# below this urllib3 discards connections and logs "Connection pool is full".
POOL_MAXSIZE = 32


class _ContextAdapter(HTTPAdapter):
    """An adapter whose pools use a prepared SSL context (extra CAs, client certificate)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(pool_maxsize=POOL_MAXSIZE)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(proxy, **proxy_kwargs)


class _NoNetrc(requests.auth.AuthBase):
    """Session-level auth that adds nothing: its presence stops requests from applying ``~/.netrc``
    credentials (which would override our ``Authorization`` and follow redirects to other hosts)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class _Session(requests.Session):
    """A session whose ``verify=False`` survives ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (requests #3829)."""

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        settings: Any = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if self.verify is False and verify is None:
            settings["verify"] = False
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
    session.auth = _NoNetrc()
    session.hooks["response"].append(_drop_redirect_body)
    session.headers["User-Agent"] = settings.user_agent
    session.mount("http://", HTTPAdapter(pool_maxsize=POOL_MAXSIZE))
    session.mount("https://", HTTPAdapter(pool_maxsize=POOL_MAXSIZE))
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
