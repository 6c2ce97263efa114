"""``signedIdentity``: which identities claimed by a signature are accepted for an image.

The image's identity is the logical reference the user asked for (with its tag or digest, never
the mirror it was pulled from).  Rules, as containers-policy.json(5) defines them:

- ``matchExact``: the claimed reference equals the image's, tag or digest included.
- ``matchRepoDigestOrExact`` (the default): for a tag, as ``matchExact``; for a digest, the same
  repository (the digest itself is checked separately, against the manifest pulled).
- ``matchRepository``: the same repository, any tag or digest.
- ``exactReference``/``exactRepository``: the claim must equal a fixed reference / repository,
  whatever the image is called.
- ``remapIdentity``: when the image's repository is ``prefix`` or below it, ``prefix`` is replaced
  by ``signedPrefix`` first; then as ``matchRepoDigestOrExact``.
"""

from __future__ import annotations

from dataclasses import dataclass

from imgextract.errors import InvalidReference
from imgextract.reference import Reference, parse_raw, parse_reference


def parse_claim(value: str) -> Reference | None:
    """A reference as ``ParseNormalizedNamed`` reads it, or None when it does not parse."""
    try:
        return parse_reference(value)
    except InvalidReference:
        return None


def _name_only(ref: Reference) -> bool:
    return ref.tag is None and ref.digest is None


def _repo_digest_or_exact(intended: Reference, claimed: Reference) -> bool:
    if _name_only(claimed):
        return False
    if intended.tag is not None:
        return str(claimed) == str(intended)
    if intended.digest is not None:
        return claimed.name == intended.name
    return False


@dataclass(frozen=True)
class MatchExact:
    kind = "matchExact"

    def matches(self, intended: Reference, claim: str) -> bool:
        claimed = parse_claim(claim)
        if claimed is None or _name_only(intended) or _name_only(claimed):
            return False
        return str(claimed) == str(intended)

    def describe(self) -> str:
        return self.kind


@dataclass(frozen=True)
class MatchRepoDigestOrExact:
    kind = "matchRepoDigestOrExact"

    def matches(self, intended: Reference, claim: str) -> bool:
        claimed = parse_claim(claim)
        return claimed is not None and _repo_digest_or_exact(intended, claimed)

    def describe(self) -> str:
        return self.kind


@dataclass(frozen=True)
class MatchRepository:
    kind = "matchRepository"

    def matches(self, intended: Reference, claim: str) -> bool:
        claimed = parse_claim(claim)
        return claimed is not None and claimed.name == intended.name

    def describe(self) -> str:
        return self.kind


@dataclass(frozen=True)
class ExactReference:
    docker_reference: str
    kind = "exactReference"

    def matches(self, intended: Reference, claim: str) -> bool:
        fixed, claimed = parse_claim(self.docker_reference), parse_claim(claim)
        if fixed is None or claimed is None or _name_only(fixed) or _name_only(claimed):
            return False
        return str(claimed) == str(fixed)

    def describe(self) -> str:
        return f"{self.kind} {self.docker_reference}"


@dataclass(frozen=True)
class ExactRepository:
    docker_repository: str
    kind = "exactRepository"

    def matches(self, intended: Reference, claim: str) -> bool:
        fixed, claimed = parse_claim(self.docker_repository), parse_claim(claim)
        return fixed is not None and claimed is not None and claimed.name == fixed.name

    def describe(self) -> str:
        return f"{self.kind} {self.docker_repository}"


@dataclass(frozen=True)
class RemapIdentity:
    prefix: str
    signed_prefix: str
    kind = "remapIdentity"

    def _covers(self, name: str) -> bool:
        return name == self.prefix or (name.startswith(self.prefix) and name[len(self.prefix)] == "/")

    def remap(self, intended: Reference) -> Reference | None:
        """The identity the signature must claim; None when the remapped name is not a valid reference."""
        if not self._covers(intended.name):
            return intended
        rewritten = str(intended).replace(self.prefix, self.signed_prefix, 1)
        remapped = parse_claim(rewritten)
        if remapped is None or str(remapped) != rewritten:  # ParseNamed: must already be normalised
            return None
        return remapped

    def matches(self, intended: Reference, claim: str) -> bool:
        remapped = self.remap(intended)
        claimed = parse_claim(claim)
        return remapped is not None and claimed is not None and _repo_digest_or_exact(remapped, claimed)

    def describe(self) -> str:
        return f"{self.kind} {self.prefix} -> {self.signed_prefix}"


IdentityMatch = (
    MatchExact | MatchRepoDigestOrExact | MatchRepository | ExactReference | ExactRepository | RemapIdentity
)


def valid_remap_prefix(value: str) -> bool:
    """A ``remapIdentity`` prefix: ``host[:port]`` or ``host[:port]/path`` (no tag, no digest)."""
    for candidate, whole_is_domain in ((value + "/x", True), (value, False)):
        try:
            raw = parse_raw(candidate)
        except InvalidReference:
            continue
        if raw.tag is not None or raw.digest is not None:
            continue
        if whole_is_domain and raw.domain == value and raw.path == "x":
            return True
        if not whole_is_domain and raw.domain:
            return True
    return False
