"""Which key of an ``auths`` map applies to an image: containers/image and docker CLI rules.

containers/image (podman, skopeo; used for every auth file this product reads):
exact keys are tried from the most specific (``registry/ns/repo``) to the registry alone,
then any key whose host, after stripping ``http(s)://`` and a path from URL-style keys,
equals the registry (``docker.io``, ``index.docker.io`` and ``registry-1.docker.io`` are
one host).  Keys are case-sensitive, ports are significant.  The legacy ``~/.dockercfg``
format is looked up by registry host only.

Where containers/image picks at random (two keys with the same host: Go map order), this
module picks deterministically: a key spelling the registry exactly as looked up, then the
Docker Hub spellings in the order ``docker.io``, ``index.docker.io`` (what ``docker login``
writes), ``registry-1.docker.io``, then the key in code-point order.

The docker CLI rules (:func:`docker_cli_find_key`) are kept for the credential-helper
server addresses and to document the difference: the CLI keys Docker Hub as
``https://index.docker.io/v1/`` and treats ``registry-1.docker.io`` as another registry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DOCKER_HUB_KEY = "https://index.docker.io/v1/"
DOCKER_HUB_HOSTS = ("docker.io", "index.docker.io", "registry-1.docker.io")


class InvalidKey(ValueError):
    """An auth-file key that cannot name a registry or repository."""


def normalize_registry(host: str) -> str:
    """Docker Hub host aliases to one spelling (``index.docker.io``); others unchanged."""
    return "index.docker.io" if host in DOCKER_HUB_HOSTS else host


def _strip_scheme(key: str) -> str:
    for scheme in ("http://", "https://"):
        if key.startswith(scheme):
            return key[len(scheme) :]
    return key


def auth_key_host(key: str, *, legacy: bool = False) -> str:
    """The host a key stands for in the host-level step (scheme and, for URLs, path removed)."""
    stripped = _strip_scheme(key)
    if legacy or stripped != key:
        stripped = stripped.split("/", 1)[0]
    return stripped


def lookup_order(name: str, *, legacy: bool = False) -> list[str]:
    """Exact keys to try for ``name`` (``registry[/ns.../repo]``), most specific first."""
    if not name:
        return []
    registry = name.split("/", 1)[0]
    if legacy:
        return [registry]
    out = [name]
    current = name
    while "/" in current:
        current = current.rsplit("/", 1)[0]
        out.append(current)
    return out


def _host_rank(key_host: str, registry: str) -> tuple[int, int]:
    exact = 0 if key_host == registry else 1
    hub = DOCKER_HUB_HOSTS.index(key_host) if key_host in DOCKER_HUB_HOSTS else 0
    return exact, hub


def candidate_keys(auths: Iterable[str], name: str, *, legacy: bool = False) -> list[str]:
    """Every key of ``auths`` that applies to ``name``, in the order they should be tried."""
    keys = list(auths)
    if not name:
        return []
    present = set(keys)
    registry = name.split("/", 1)[0]
    exact = [k for k in lookup_order(name, legacy=legacy) if k in present]
    target = normalize_registry(registry)
    host_level = [
        k for k in keys if k not in exact and normalize_registry(auth_key_host(k, legacy=legacy)) == target
    ]
    host_level.sort(key=lambda k: (_host_rank(auth_key_host(k, legacy=legacy), registry), k))
    return exact + host_level


def find_key(auths: Mapping[str, Any] | Iterable[str], name: str, *, legacy: bool = False) -> str | None:
    """The key containers/image would use for ``name`` (deterministic where it is not)."""
    found = candidate_keys(auths, name, legacy=legacy)
    return found[0] if found else None


def validate_key(key: str) -> bool:
    """Check a key meant for login/lookup; returns whether it is namespaced (has a path).

    Raises :class:`InvalidKey` for URL keys and keys carrying a tag or digest.
    """
    if key.startswith(("http://", "https://")):
        raise InvalidKey(f"key {key} contains http[s]:// prefix")
    if "@" in key:
        raise InvalidKey(f"key {key} contains a '@' character")
    host, slash, path = key.partition("/")
    if slash and ":" in path:
        raise InvalidKey(f"key {key} contains a ':' character after host[:port]")
    return bool(slash)


# --- docker CLI -----------------------------------------------------------------------------


def _join_host_port(host: str, port: str) -> str:
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def convert_to_hostname(address: str) -> str:
    """Docker CLI ``ConvertToHostname``: reduce a URL or ``host/path`` to ``host[:port]``."""
    if "://" in address:
        rest = address.split("://", 1)[1]
        authority = rest
        for sep in "/?#":
            authority = authority.split(sep, 1)[0]
        authority = authority.rsplit("@", 1)[-1]
        host, port = authority, ""
        if authority.startswith("["):
            end = authority.find("]")
            if end != -1:
                host, tail = authority[1:end], authority[end + 1 :]
                port = tail[1:] if tail.startswith(":") else ""
        else:
            colon = authority.rfind(":")
            port_text = authority[colon + 1 :]
            if colon != -1 and (port_text.isdigit() or port_text == ""):
                host, port = authority[:colon], authority[colon + 1 :]
        if host:
            return _join_host_port(host, port) if port else host
    return address.split("/", 1)[0]


def docker_cli_server_address(registry: str) -> str:
    """The key the docker CLI uses for a reference's registry (Docker Hub: the v1 URL)."""
    return DOCKER_HUB_KEY if registry in ("docker.io", "index.docker.io") else registry


def docker_cli_normalize_address(address: str) -> str:
    """``docker login ADDRESS``: the default (Hub) address stays, others become host[:port]."""
    if address in ("", DOCKER_HUB_KEY):
        return DOCKER_HUB_KEY
    return convert_to_hostname(address)


def docker_cli_find_key(auths: Mapping[str, Any] | Iterable[str], server_address: str) -> str | None:
    """Docker CLI file-store ``Get``: the exact key, else a key whose host equals the address."""
    keys = list(auths)
    if server_address in keys:
        return server_address
    for key in sorted(keys):
        if convert_to_hostname(key) == server_address:
            return key
    return None
