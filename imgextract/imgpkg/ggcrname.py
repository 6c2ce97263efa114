"""Digest references as go-containerregistry's ``name.NewDigest`` reads them (weak validation).

imgpkg validates and names every ``.imgpkg/images.yml`` entry with it, and its rules are not
Docker's (distribution/reference):

- the first ``/``-separated component is a registry only when it holds ``.`` or ``:`` (so
  ``localhost/x`` is the Docker Hub repository ``localhost/x``);
- a repository is 2 to 255 characters of ``[a-z0-9_-./]``, with no further structure;
- a registry is whatever Go's ``url.Parse("//" + name)`` takes as the whole authority;
- a tag (``:`` after the last ``/``) is 1 to 128 characters of ``[A-Za-z0-9_-.]``; a base that is
  no valid tag reference (an empty tag included) is read again as a repository, where the ``:``
  is refused;
- ``docker.io`` (or no registry) is ``index.docker.io``, where a one-component repository gets
  ``library/``.

Sources: github.com/google/go-containerregistry pkg/name digest.go (NewDigest, splitDigest),
tag.go (NewTag, checkTag), repository.go (NewRepository, checkRepository), registry.go
(NewRegistry, checkRegistry), check.go (checkElement); digest_test.go's badDigestNames (an empty
tag) as the conformance vectors record them.  The digest itself must be ``sha256:``
and 64 lowercase hex digits.
"""

from __future__ import annotations

import re

DEFAULT_REGISTRY = "index.docker.io"
_REPOSITORY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-./")
_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# ASCII a host may hold in Go's url.Parse (unescape in encodeHost mode): shouldEscape is false
_HOST_ASCII = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~!$&'()*+,;=:[]<>\""
)


class BadName(ValueError):
    """Not a digest reference go-containerregistry accepts."""


def _check(element: str, allowed: frozenset[str], lo: int, hi: int) -> bool:
    """checkElement: a length in runes and a character set."""
    return lo <= len(element) <= hi and all(c in allowed for c in element)


def _registry_ok(name: str) -> bool:
    """checkRegistry: ``url.Parse("//" + name)`` succeeds and its Host is ``name`` itself."""
    if not name:
        return True
    if any(c in "/?#@%" or (c < "\x80" and c not in _HOST_ASCII) for c in name):
        return False  # ends the authority, is userinfo, is escaped, or an invalid host character
    if name.startswith("["):
        return re.fullmatch(r"\[[0-9A-Fa-f:.]+\](?::[0-9]*)?", name) is not None
    if ":" in name:
        return name[name.rindex(":") + 1 :].isdigit() or name.endswith(":")  # validOptionalPort
    return True


def _repository(name: str) -> tuple[str, str]:
    """NewRepository: (registry, repository), Docker Hub spelled ``index.docker.io``."""
    if not name:
        raise BadName("a repository name must be specified")
    registry, repo = "", name
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first):
        registry, repo = first, rest
    if not _check(repo, _REPOSITORY_CHARS, 2, 255):
        raise BadName(f"invalid repository {repo!r}")
    if not _registry_ok(registry):
        raise BadName(f"invalid registry {registry!r}")
    if registry in ("", "docker.io"):
        registry = DEFAULT_REGISTRY
    if registry == DEFAULT_REGISTRY and "/" not in repo:
        repo = "library/" + repo
    return registry, repo


def _tag_base(base: str) -> str | None:
    """NewTag's repository part when ``base`` is a valid tag reference, else None."""
    parts = base.split(":")
    tag = ""
    if len(parts) > 1 and "/" not in parts[-1]:
        base, tag = ":".join(parts[:-1]), parts[-1]
        if not tag:  # "must specify a tag name after the colon" (digest_test.go badDigestNames)
            return None
    if tag and not _check(tag, _TAG_CHARS, 1, 128):
        return None
    try:
        registry, repo = _repository(base)
    except BadName:
        return None
    return f"{registry}/{repo}"


def parse_digest(image: str) -> tuple[str, str, str]:
    """NewDigest: (registry, repository, digest); raises BadName."""
    parts = image.split("@")
    if len(parts) != 2:
        raise BadName("a digest must contain exactly one '@' separator")
    base, digest = parts
    if not _DIGEST.fullmatch(digest):
        raise BadName(f"invalid digest {digest!r}")
    named = _tag_base(base)
    registry, repo = _repository(named if named is not None else base)
    return registry, repo, digest
