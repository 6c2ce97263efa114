"""Kubernetes-style credential matching (kubelet's ``BasicDockerKeyring``; imgpkg's env keychain).

Keys are normalised as kubelet does: a scheme is dropped, ``/v1/`` and ``/v2/`` path prefixes
mean "the host", other paths are kept.  A key matches an image ``host[:port]/path`` when:
the ports are equal, the hosts have the same number of dot-separated labels and each label
matches the key's label as a glob (``*.example.com`` matches ``a.example.com`` but neither
``example.com`` nor ``a.b.example.com``), and the key's path is a string prefix of the
image's path.  Every matching key is a candidate, most specific (reverse-sorted keys) first.
If nothing matches and the image is on Docker Hub, a key for ``index.docker.io`` applies.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from imgextract.auth.credentials import Credentials

DEFAULT_REGISTRY_KEY = "index.docker.io"


def _split_url(value: str) -> tuple[str, str]:
    """(host, path) of a scheme-less or http(s) URL; path keeps its leading ``/``."""
    for scheme in ("https://", "http://"):
        if value.startswith(scheme):
            value = value[len(scheme) :]
            break
    for sep in "?#":
        value = value.split(sep, 1)[0]
    host, slash, path = value.partition("/")
    return host.rsplit("@", 1)[-1], slash + path


def normalize_key(location: str) -> str:
    """The key kubelet files a pull-secret entry under (``https://quay.io/v1/`` -> ``quay.io``)."""
    host, path = _split_url(location)
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    return host + path if path and path != "/" else host


def _split_host_port(host: str) -> tuple[str, str]:
    """Go ``net.SplitHostPort``, falling back to (host, "") when there is no valid port part."""
    if host.startswith("["):
        end = host.find("]")
        if end != -1 and host[end + 1 : end + 2] == ":" and host.count("]") == 1:
            return host[1:end], host[end + 2 :]
        return host, ""
    if host.count(":") == 1:
        name, port = host.split(":")
        return name, port
    return host, ""


def urls_match(glob: str, target: str) -> bool:
    """Whether key ``glob`` (host labels may be globs) applies to ``target`` (``host/path``)."""
    glob_host, glob_path = _split_url(glob)
    target_host, target_path = _split_url(target)
    glob_name, glob_port = _split_host_port(glob_host)
    target_name, target_port = _split_host_port(target_host)
    if glob_port != target_port:
        return False
    glob_labels = glob_name.split(".")
    target_labels = target_name.split(".")
    if len(glob_labels) != len(target_labels):
        return False
    if not target_path.startswith(glob_path):
        return False
    return all(fnmatch.fnmatchcase(t, g) for g, t in zip(glob_labels, target_labels, strict=True))


def is_default_registry_match(image: str) -> bool:
    """kubelet: the image lives on Docker Hub (no host, or a Docker Hub host)."""
    first, slash, _ = image.partition("/")
    if not first:
        return False
    if not slash:
        return True
    if first in ("docker.io", "index.docker.io"):
        return True
    return not any(c in first for c in ".:")


@dataclass(frozen=True)
class KeyringEntry:
    key: str
    credentials: Credentials


class Keyring:
    """Credentials filed by normalised key; :meth:`lookup` returns every candidate in try order."""

    def __init__(self, entries: Iterable[tuple[str, Credentials]] = ()) -> None:
        self._entries: list[KeyringEntry] = [KeyringEntry(normalize_key(k), c) for k, c in entries]

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def keys(self) -> list[str]:
        """Distinct keys, in match order (reverse-sorted: more specific paths first)."""
        return sorted({e.key for e in self._entries}, reverse=True)

    def lookup(self, image: str) -> list[Credentials]:
        """Candidate credentials for ``image`` (``host[:port]/repository``), best first."""
        out: list[Credentials] = []
        for key in self.keys:
            if urls_match(key, image):
                out.extend(e.credentials for e in self._entries if e.key == key)
        if not out and is_default_registry_match(image):
            out = [e.credentials for e in self._entries if e.key == DEFAULT_REGISTRY_KEY]
        return out
