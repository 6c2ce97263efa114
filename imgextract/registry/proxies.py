"""Which proxy, if any, carries requests to an origin: ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``
and ``NO_PROXY`` from the environment, upper or lower case.

As Python's and requests' readers do, a lower-case variable wins over its upper-case twin (an
empty lower-case one unsets it), and ``HTTP_PROXY`` is ignored in a CGI request (``REQUEST_METHOD``
set: the client could have sent a ``Proxy:`` header).  ``ALL_PROXY`` applies to schemes without
their own variable.  ``NO_PROXY`` is a comma-separated list of host names (``example.com`` or
``.example.com`` matches the name and its subdomains), ``host:port`` pairs, IP addresses and CIDR
blocks; ``*`` bypasses every proxy.  The transport asks once per origin.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from imgextract.errors import ConfigError


def _env(name: str, environ: Mapping[str, str]) -> str | None:
    lower = environ.get(name.lower())
    if lower is not None:
        return lower.strip() or None
    if name == "HTTP_PROXY" and "REQUEST_METHOD" in environ:
        return None
    upper = environ.get(name)
    return upper.strip() or None if upper is not None else None


def _bypassed(host: str, port: int, no_proxy: str) -> bool:
    import ipaddress  # only when NO_PROXY is set

    host = host.lower().strip("[]")
    try:
        address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy.replace(" ", "").lower().split(","):
        if not entry:
            continue
        if entry == "*":
            return True
        name, want_port = entry, None
        if entry.startswith("[") and "]" in entry:  # [v6]:port
            name, _, rest = entry[1:].partition("]")
            want_port = rest[1:] if rest.startswith(":") else None
        elif entry.count(":") == 1:
            name, _, want_port = entry.partition(":")
        if want_port and want_port != str(port):
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name = name.lstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def proxy_for(scheme: str, host: str, port: int, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL (``http://[user:pass@]proxy:port``) for ``scheme://host:port``, or None."""
    env = os.environ if environ is None else environ
    proxy = _env(f"{scheme.upper()}_PROXY", env) or _env("ALL_PROXY", env)
    if not proxy:
        return None
    no_proxy = _env("NO_PROXY", env)
    if no_proxy and _bypassed(host, port, no_proxy):
        return None
    if "://" not in proxy:
        proxy = "http://" + proxy
    kind = proxy.split("://", 1)[0].lower()
    if kind not in ("http", "https"):
        raise ConfigError(
            f"proxy {kind}:// (from the environment) is not supported: use an http:// proxy, "
            "or list the registry in NO_PROXY"
        )
    return proxy
