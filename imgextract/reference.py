"""Image references, parsed and normalised exactly as docker/distribution does.

The grammar is distribution/reference's; normalisation is ``ParseNormalizedNamed``:
the first path component is a registry host when it contains ``.`` or ``:``, is
``localhost`` or contains an upper-case letter; otherwise the image lives on Docker
Hub (``docker.io``) and single-component names get ``library/``.  ``index.docker.io``
becomes ``docker.io``.  A reference carrying both a tag and a digest keeps both in
its string form, but pulls by digest (``pull_ref`` drops the tag), like podman.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from imgextract.errors import InvalidReference
from imgextract.oci.digest import ALGORITHMS
from imgextract.records import FrozenRecord

DOCKER_HUB = "docker.io"
LEGACY_DOCKER_HUB = "index.docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
OFFICIAL_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255  # applies to the path, as distribution/reference v0.6 does

# Digest algorithms and their hex lengths: the one table of imgextract.oci.digest.  sha512 is part
# of the OCI image spec; distribution's own test binary lacks it (see docs/architecture.md).
DIGEST_ALGORITHMS: dict[str, int] = ALGORITHMS

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_HOST = rf"(?:{_DOMAIN_NAME}|{_IPV6})"
_DOMAIN_AND_PORT = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_REMOTE_NAME = rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_NAME = rf"(?:{_DOMAIN_AND_PORT}/)?{_REMOTE_NAME}"

# Name (domain, path), tag, digest in one pattern: a domain can only end at the name's first "/",
# so this splits the name as distribution's anchored name pattern does (one compile saved at start-up).
# Go's "$" ends the text; Python's "$" also matches before a final newline, hence "\Z" throughout.
_REFERENCE_RE = re.compile(
    rf"^((?:({_DOMAIN_AND_PORT})/)?({_REMOTE_NAME}))(?::({_TAG}))?(?:@({_DIGEST}))?\Z", re.ASCII
)
_TAG_RE = re.compile(rf"^{_TAG}\Z", re.ASCII)
_HEX64_RE = re.compile(r"^[a-f0-9]{64}\Z")
_DIGEST_RE = re.compile(rf"^{_DIGEST}\Z", re.ASCII)
_HEX_RE = re.compile(r"^[a-f0-9]+\Z")


def validate_digest(value: str, *, reference: str | None = None) -> str:
    """Validate ``alg:hex`` as go-digest does; returns the digest unchanged."""
    algorithm, sep, encoded = value.partition(":")
    if not sep or not algorithm or not encoded:
        raise InvalidReference(
            f"invalid digest format {value!r}", error_class="digest_invalid_format", reference=reference
        )
    length = DIGEST_ALGORITHMS.get(algorithm)
    if length is None:
        if not _DIGEST_RE.match(value):
            raise InvalidReference(
                f"invalid digest format {value!r}", error_class="digest_invalid_format", reference=reference
            )
        raise InvalidReference(
            f"unsupported digest algorithm {algorithm!r}",
            error_class="digest_unsupported",
            reference=reference,
        )
    if len(encoded) != length:
        raise InvalidReference(
            f"invalid {algorithm} digest length in {value!r}",
            error_class="digest_invalid_length",
            reference=reference,
        )
    if not _HEX_RE.match(encoded):
        raise InvalidReference(
            f"invalid digest format {value!r}", error_class="digest_invalid_format", reference=reference
        )
    return value


class RawReference(FrozenRecord):
    """A reference parsed with the grammar only (no docker.io defaulting)."""

    __slots__ = ("name", "domain", "path", "tag", "digest")

    def __init__(self, name: str, domain: str, path: str, tag: str | None, digest: str | None) -> None:
        self.name: Final = name
        self.domain: Final = domain
        self.path: Final = path
        self.tag: Final = tag
        self.digest: Final = digest


def parse_raw(s: str) -> RawReference:
    """distribution/reference ``Parse``: grammar only, no normalisation."""
    m = _REFERENCE_RE.match(s)
    if m is None:
        if s == "":
            raise InvalidReference("empty reference", error_class="name_empty", reference=s)
        if _REFERENCE_RE.match(s.lower()):
            raise InvalidReference(
                "repository name must be lowercase", error_class="name_contains_uppercase", reference=s
            )
        raise InvalidReference("invalid reference format", error_class="invalid_format", reference=s)
    name, domain, path, tag, digest = m.group(1), m.group(2) or "", m.group(3), m.group(4), m.group(5)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"repository path must not be longer than {NAME_TOTAL_LENGTH_MAX} characters",
            error_class="name_too_long",
            reference=s,
        )
    if digest is not None:
        validate_digest(digest, reference=s)
    return RawReference(name=name, domain=domain, path=path, tag=tag, digest=digest)


def _split_docker_domain(name: str) -> tuple[str, str]:
    i = name.find("/")
    first = name[:i] if i >= 0 else ""
    if i == -1 or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, remainder = DOCKER_HUB, name
    else:
        domain, remainder = first, name[i + 1 :]
    if domain == LEGACY_DOCKER_HUB:
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = OFFICIAL_PREFIX + remainder
    return domain, remainder


@dataclass(frozen=True)
class Reference:
    """A normalised image reference: ``registry/repository[:tag][@digest]``."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``registry/repository``, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def is_digest(self) -> bool:
        """True when the reference pins a digest."""
        return self.digest is not None

    @property
    def identifier(self) -> str:
        """What to ask the registry for: the digest, else the tag, else ``latest``."""
        return self.digest or self.tag or DEFAULT_TAG

    def __str__(self) -> str:
        s = self.name
        if self.tag is not None:
            s += f":{self.tag}"
        if self.digest is not None:
            s += f"@{self.digest}"
        return s

    def pull_ref(self) -> Reference:
        """The reference to pull: digest wins over tag; no tag and no digest means ``latest``."""
        if self.digest is not None:
            return replace(self, tag=None)
        if self.tag is None:
            return replace(self, tag=DEFAULT_TAG)
        return self

    def familiar(self) -> str:
        """The short form docker prints (``docker.io/`` and ``library/`` stripped)."""
        return _familiarize(self.registry, self.repository) + str(self)[len(self.name) :]

    def familiar_name(self) -> str:
        """The short form docker prints (``busybox`` for ``docker.io/library/busybox``)."""
        return _familiarize(self.registry, self.repository)

    def with_digest(self, digest: str) -> Reference:
        """This reference pinned to ``digest`` (validated; the tag is kept)."""
        return replace(self, digest=validate_digest(digest, reference=str(self)))

    def with_tag(self, tag: str) -> Reference:
        """This reference with tag ``tag`` (an InvalidReference when malformed)."""
        if not _TAG_RE.match(tag):
            raise InvalidReference(
                f"invalid tag {tag!r}", error_class="tag_invalid_format", reference=str(self)
            )
        return replace(self, tag=tag)

    def with_registry_repository(self, registry: str, repository: str) -> Reference:
        """This reference at another registry and repository (a mirror's), tag and digest kept."""
        return replace(self, registry=registry, repository=repository)

    @property
    def api_host(self) -> str:
        """The host the registry API is reached at (``registry-1.docker.io`` for ``docker.io``)."""
        return registry_api_host(self.registry)


def _familiarize(registry: str, repository: str) -> str:
    if registry != DOCKER_HUB:
        return f"{registry}/{repository}"
    if repository.startswith(OFFICIAL_PREFIX) and "/" not in repository[len(OFFICIAL_PREFIX) :]:
        return repository[len(OFFICIAL_PREFIX) :]
    return repository


def registry_api_host(registry: str) -> str:
    """The host that serves the registry API (Docker Hub's API lives on ``registry-1.docker.io``)."""
    return DOCKER_HUB_API if registry == DOCKER_HUB else registry


_SCHEMES = ("docker://", "oci://", "http://", "https://")


def transport_prefix(s: str) -> str:
    """The transport or URL scheme ``s`` starts with (``docker://``, ``oci://``, ``http://``,
    ``https://``, in any case), or ``""``: never part of a reference."""
    return next((p for p in _SCHEMES if s.lower().startswith(p)), "")


def without_userinfo(s: str) -> str:
    """``s`` with user information (``user:password@``, as in a URL) replaced by ``***@``, for
    error messages: a reference is never allowed to carry it, and a password typed into one must
    not come back, whatever it holds (see :func:`userinfo_end`).  A digest's ``@``
    (``name@sha256:...``) is left alone."""
    prefix = transport_prefix(s)
    rest = s[len(prefix) :]
    at = userinfo_end(rest)
    return s if at < 0 else f"{prefix}***@{rest[at + 1 :]}"


def parse_reference(s: str) -> Reference:
    """Parse and normalise like ``docker pull`` (distribution ``ParseNormalizedNamed``)."""
    try:
        return _parse_reference(s)
    except InvalidReference as exc:
        if exc.reference is not None and "@" in exc.reference:
            exc.reference = without_userinfo(exc.reference)
        raise


def _parse_reference(s: str) -> Reference:
    if _HEX64_RE.match(s):
        raise InvalidReference(
            "cannot use a 64-character hexadecimal string as a repository name",
            error_class="hex64_name",
            reference=s,
        )
    domain, remainder = _split_docker_domain(s)
    tag_sep = remainder.find(":")
    remote_name = remainder[:tag_sep] if tag_sep >= 0 else remainder
    if remote_name.lower() != remote_name:
        raise InvalidReference(
            "repository name must be lowercase", error_class="name_contains_uppercase", reference=s
        )
    try:
        raw = parse_raw(f"{domain}/{remainder}")
    except InvalidReference as exc:
        exc.reference = s  # as the user wrote it, not the half-normalised form
        raise
    return Reference(registry=raw.domain, repository=raw.path, tag=raw.tag, digest=raw.digest)


def parse_any_reference(s: str) -> Reference | str:
    """distribution ``ParseAnyReference``: an image ID or digest string, else a normalised reference."""
    if _HEX64_RE.match(s):
        return f"sha256:{s}"
    try:
        return validate_digest(s)
    except InvalidReference:
        return parse_reference(s)


def names_a_path(s: str) -> bool:
    """``s`` is written as a local path (``/``, ``./``, ``../``, ``~``): never an image reference, so a
    missing one is reported as a missing directory, not as a malformed reference."""
    return s.startswith(("/", "./", "../", "~"))


def is_canonical(s: str) -> bool:
    """True when ``s`` is already fully qualified (normalisation would not change it)."""
    try:
        return str(parse_reference(s)) == s
    except InvalidReference:
        return False


# what follows a digest's "@" to the end of a reference: a known algorithm and ":" (the digest may
# be malformed: its own error says so), or any algorithm and 32 or more hex digits
_DIGEST_TAIL_RE = re.compile(rf"(?:(?:{'|'.join(ALGORITHMS)}):[^/@]*|{_DIGEST})\Z", re.ASCII)


def userinfo_end(s: str) -> int:
    """Where user information typed into ``s`` (a reference without its transport prefix) ends:
    the index of the last ``@`` that does not start a digest running to the end, or -1.  A
    reference holds no other ``@``, and a password may hold ``/`` and ``@`` (``bob:p/w@host/x``):
    everything before that ``@`` is to be hidden in messages."""
    at = s.rfind("@")
    while at >= 0:
        if not _DIGEST_TAIL_RE.match(s, at + 1):
            return at
        at = s.rfind("@", 0, at)
    return -1
