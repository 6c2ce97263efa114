"""Redirect following that never carries ``Authorization`` to another origin.

Registries redirect blob (and sometimes manifest) GETs to object storage with presigned URLs;
the registry's credentials must not travel there.  Redirects are followed here, by hand, so the
rule is explicit: a hop to a different scheme, host or port drops the ``Authorization`` header,
and it is never restored on a later hop.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from imgextract.errors import RegistryError

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme, 0)


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


def redirect_target(current_url: str, location: str) -> str:
    """``location`` resolved against ``current_url``; a target that is not ``http(s)://host[:port]``
    (a bad port, an unclosed IPv6 literal, a host with no IDNA form, another scheme) is refused
    with a one-line error that does not repeat it (it may carry a presigned signature)."""
    try:
        target = urljoin(current_url, location)
        parts = urlsplit(target)
        parts.port  # noqa: B018 (validates it)
        host = parts.hostname or ""
        if not host.isascii():
            host.encode("idna")
    except (ValueError, UnicodeError):
        host = ""
    if not host or parts.scheme.lower() not in _DEFAULT_PORTS:
        raise RegistryError(
            "the server redirected to an invalid URL (not http(s)://host[:port]/...)",
            endpoint=f"{origin(current_url)[0]}://{urlsplit(current_url).netloc.rpartition('@')[2]}",
        )
    return target


def headers_for_hop(headers: dict[str, str], from_url: str, to_url: str) -> dict[str, str]:
    """The headers to send on the next hop: without ``Authorization`` when the origin changes."""
    if same_origin(from_url, to_url):
        return dict(headers)
    return {k: v for k, v in headers.items() if k.lower() not in ("authorization", "proxy-authorization")}
