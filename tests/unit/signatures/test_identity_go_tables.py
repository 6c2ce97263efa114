"""signedIdentity matchers against the tables of containers/image
``signature/policy_reference_match_test.go`` (restated here; each test names the Go test it ports).

The image's identity is parsed as ``reference.ParseNormalizedNamed`` parses it (no default tag), the
claim is the string a signature carries.
"""

from __future__ import annotations

import pytest

from imgextract.errors import InvalidReference
from imgextract.reference import Reference, parse_reference
from imgextract.signatures.identity import (
    ExactReference,
    ExactRepository,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    RemapIdentity,
)

RHEL = "registry.access.redhat.com/rhel7/rhel:7.2.3"
RHEL_UNTAGGED = "registry.access.redhat.com/rhel7/rhel"
D = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
D2 = "@sha256:" + "a" * 64

# prmExactMatchTestTable: symmetric
EXACT = [
    ("busybox:latest", "busybox:latest", True),
    (RHEL, RHEL, True),
    ("busybox" + D, "busybox" + D, True),
    ("library/busybox:latest", "busybox:latest", True),
    ("docker.io/library/busybox:latest", "busybox:latest", True),
    ("library/busybox" + D, "busybox" + D, True),
    ("busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", "notbusybox:latest", False),
    ("busybox:latest", "hostname/library/busybox:notlatest", False),
    ("hostname/library/busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", RHEL, False),
    ("busybox" + D, "notbusybox" + D, False),
    ("busybox:latest", "busybox" + D, False),
    ("busybox" + D, "busybox" + D2, False),
    ("busybox", "busybox:latest", False),
    ("busybox", "busybox" + D, False),
    ("busybox", "busybox", False),
    ("busybox:latest" + D, "busybox:latest" + D, True),
    ("busybox:latest" + D, "busybox:latest" + D2, False),
    ("busybox:latest" + D, "busybox:notlatest" + D, False),
    ("busybox:latest" + D, "busybox" + D, False),
    ("busybox:latest" + D, "busybox:latest", False),
    ("UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", False),
    ("", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", False),
    ("INVALID", "INVALID", False),
]

# prmRepositoryMatchTestTable: symmetric
REPOSITORY = [
    ("busybox:latest", "busybox:latest", True),
    (RHEL, RHEL, True),
    ("busybox" + D, "busybox" + D, True),
    ("library/busybox:latest", "busybox:latest", True),
    ("docker.io/library/busybox:latest", "busybox:latest", True),
    ("library/busybox" + D, "busybox" + D, True),
    ("busybox:latest", "busybox:notlatest", True),
    (RHEL + "tagsuffix", RHEL, True),
    ("library/busybox:latest", "busybox:notlatest", True),
    ("busybox:latest", "library/busybox:notlatest", True),
    ("docker.io/library/busybox:notlatest", "busybox:latest", True),
    ("busybox:notlatest", "docker.io/library/busybox:latest", True),
    ("busybox:latest", "busybox" + D, True),
    ("busybox" + D, "busybox" + D2, True),
    ("busybox", "busybox:notlatest", True),
    (RHEL, RHEL_UNTAGGED, True),
    ("busybox", "busybox" + D, True),
    ("library/busybox", "busybox", True),
    ("docker.io/library/busybox", "busybox", True),
    ("busybox:latest", "notbusybox:latest", False),
    ("hostname/library/busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", RHEL, False),
    ("busybox" + D, "notbusybox" + D, False),
    ("busybox:latest" + D, "busybox:latest" + D, True),
    ("busybox:latest" + D, "busybox:latest" + D2, True),
    ("busybox:latest" + D, "busybox:notlatest" + D, True),
    ("busybox:latest" + D, "busybox" + D, True),
    ("busybox:latest" + D, "busybox:latest", True),
    ("UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", "busybox:latest", False),
    ("", "UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES", False),
    ("INVALID", "INVALID", False),
]

# matchRepoDigestOrExactTestTable: (image, signature), not symmetric
REPO_DIGEST_OR_EXACT = [
    ("busybox:latest", "busybox:notlatest", False),
    (RHEL + "tagsuffix", RHEL, False),
    ("library/busybox:latest", "busybox:notlatest", False),
    ("busybox:latest", "library/busybox:notlatest", False),
    ("docker.io/library/busybox:notlatest", "busybox:latest", False),
    ("busybox:notlatest", "docker.io/library/busybox:latest", False),
    ("busybox", "busybox:latest", False),
    ("busybox:latest", "busybox", False),
    ("busybox", "busybox" + D, False),
    ("busybox" + D, "busybox", False),
    (RHEL, RHEL_UNTAGGED, False),
    ("busybox", "busybox", False),
    ("busybox:latest", "busybox" + D, False),
    ("busybox" + D, "busybox:latest", True),
    ("busybox" + D, "busybox" + D2, True),
    ("busybox:latest" + D, "busybox:latest", False),
    ("busybox:latest" + D, "busybox:notlatest", False),
    ("busybox:latest", "busybox:latest" + D, False),
    ("busybox:latest" + D, "busybox:latest" + D2, False),
    ("busybox:latest" + D, "busybox:notlatest" + D2, False),
]


def _image(ref: str) -> Reference | None:
    try:
        return parse_reference(ref)
    except InvalidReference:
        return None  # testPossiblyInvalidImageAndSig: an image identity never fails to parse


def _both_ways(table: list[tuple[str, str, bool]]) -> list[tuple[str, str, bool]]:
    return [*table, *((b, a, r) for a, b, r in table)]


def _repo_digest_or_exact_cases() -> list[tuple[str, str, bool]]:
    """TestPRMMatchRepoDigestOrExactMatchesDockerReference: what matchExact accepts, what
    matchRepository refuses (both ways), then its own asymmetric table."""
    accepted = [c for c in _both_ways(EXACT) if c[2]]
    refused = [c for c in _both_ways(REPOSITORY) if not c[2]]
    return [*accepted, *refused, *REPO_DIGEST_OR_EXACT]


@pytest.mark.parametrize(("image", "claim", "result"), _both_ways(EXACT))
def test_match_exact(image: str, claim: str, result: bool) -> None:
    """TestPRMMatchExactMatchesDockerReference"""
    intended = _image(image)
    if intended is not None:
        assert MatchExact().matches(intended, claim) is result


@pytest.mark.parametrize(("image", "claim", "result"), _both_ways(REPOSITORY))
def test_match_repository(image: str, claim: str, result: bool) -> None:
    """TestPRMMatchRepositoryMatchesDockerReference"""
    intended = _image(image)
    if intended is not None:
        assert MatchRepository().matches(intended, claim) is result


@pytest.mark.parametrize(("image", "claim", "result"), _repo_digest_or_exact_cases())
def test_match_repo_digest_or_exact(image: str, claim: str, result: bool) -> None:
    """TestPRMMatchRepoDigestOrExactMatchesDockerReference"""
    intended = _image(image)
    if intended is not None:
        assert MatchRepoDigestOrExact().matches(intended, claim) is result


ANY_IMAGE = parse_reference("unrelated.example/any:image")


@pytest.mark.parametrize(("fixed", "claim", "result"), _both_ways(EXACT))
def test_exact_reference(fixed: str, claim: str, result: bool) -> None:
    """TestPRMExactReferenceMatchesDockerReference (the image itself is never looked at)"""
    assert ExactReference(fixed).matches(ANY_IMAGE, claim) is result


@pytest.mark.parametrize(("fixed", "claim", "result"), _both_ways(REPOSITORY))
def test_exact_repository(fixed: str, claim: str, result: bool) -> None:
    """TestPRMExactRepositoryMatchesDockerReference"""
    assert ExactRepository(fixed).matches(ANY_IMAGE, claim) is result


@pytest.mark.parametrize(
    ("ref", "prefix", "expected"),
    [
        ("docker.io/image", "docker.io", True),
        ("docker.io/image", "example.com", False),
        ("example.com:5000/image", "example.com:5000", True),
        ("example.com:50000/image", "example.com:5000", False),
        ("example.com:5000/image", "example.com", False),
        ("example.com/foo", "example.com", True),
        ("example.com/foo/bar", "example.com", True),
        ("example.com/foo/bar:baz", "example.com", True),
        ("example.com/foo/bar" + D, "example.com", True),
        ("docker.io/ns/image", "docker.io/library", False),
        ("example.com/library", "docker.io/library", False),
        ("docker.io/libraryy/image", "docker.io/library", False),
        ("docker.io/library/busybox", "docker.io/library", True),
        ("example.com/ns/image", "example.com/ns", True),
        ("example.com/ns2/image", "example.com/ns", False),
        ("example.com/n2/image", "example.com/ns", False),
        ("example.com", "example.com/library/busybox", False),
        ("example.com:5000/ns/image", "example.com/ns", False),
        ("example.com/ns/image", "example.com:5000/ns", False),
        ("docker.io/library/busybox", "docker.io/library/busybox", True),
        ("example.com/library/busybox", "docker.io/library/busybox", False),
        ("docker.io/library/busybox2", "docker.io/library/busybox", False),
        ("example.com/ns/image", "example.com/ns/image", True),
        ("example.com/ns/imag2", "example.com/ns/image", False),
        ("example.com/ns/imagee", "example.com/ns/image", False),
        ("example.com:5000/ns/image", "example.com/ns/image", False),
        ("example.com/ns/image", "example.com:5000/ns/image", False),
        ("example.com/ns/image:tag", "example.com/ns/image", True),
        ("example.com/ns/image" + D, "example.com/ns/image", True),
        ("example.com/ns/image:tag" + D, "example.com/ns/image", True),
    ],
)
def test_remap_identity_prefix_match(ref: str, prefix: str, expected: bool) -> None:
    """TestPRMRemapIdentityRefMatchesPrefix (a matched name is rewritten, another is kept)"""
    signed = "docker.io/library/signed-prefix"
    intended = parse_reference(ref)
    remapped = RemapIdentity(prefix, signed).remap(intended)
    assert (remapped is None or remapped.name.startswith(signed)) is expected
    if not expected:
        assert remapped == intended


@pytest.mark.parametrize(
    ("prefix", "signed_prefix", "ref", "expected"),
    [
        ("mirror.example", "vendor.example", "mirror.example/ns/image:tag", "vendor.example/ns/image:tag"),
        ("mirror.example", "vendor.example", "different.com/ns/image:tag", "different.com/ns/image:tag"),
        (
            "mirror.example/ns",
            "vendor.example/vendor-ns",
            "mirror.example/different-ns/image:tag",
            "mirror.example/different-ns/image:tag",
        ),
        (
            "docker.io",
            "not-docker-signed.example/ns",
            "busybox",
            "not-docker-signed.example/ns/library/busybox",
        ),
        (
            "example.com/mirror",
            "example.com/vendor",
            "example.com/mirror/image:tag",
            "example.com/vendor/image:tag",
        ),
        (
            "example.com/ns/mirror",
            "example.com/ns/vendor",
            "example.com/ns/mirror:tag",
            "example.com/ns/vendor:tag",
        ),
        (
            "mirror.example",
            "vendor.example",
            "prefixmirror.example/ns/image:tag",
            "prefixmirror.example/ns/image:tag",
        ),
        ("docker.io", "not-docker-signed.example", "busybox", "not-docker-signed.example/library/busybox"),
        (
            "docker.io/library",
            "not-docker-signed.example/ns",
            "busybox",
            "not-docker-signed.example/ns/busybox",
        ),
        (
            "docker.io/library/busybox",
            "not-docker-signed.example/ns/notbusybox",
            "busybox",
            "not-docker-signed.example/ns/notbusybox",
        ),
        ("mirror.example", "vendor.example", "mirror.example/image", "vendor.example/image"),
        ("mirror.example", "vendor.example", "mirror.example/image:tag", "vendor.example/image:tag"),
        ("mirror.example", "vendor.example", "mirror.example/image" + D, "vendor.example/image" + D),
        ("mirror.example", "vendor.example", "mirror.example/image:tag" + D, "vendor.example/image:tag" + D),
        ("mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image:tag", None),
        ("mirror.example/ns/image", "vendor.example:5000", "mirror.example/ns/image" + D, None),
        ("mirror.example/ns/image", "notlocalhost", "mirror.example/ns/image:tag", None),
    ],
)
def test_remap_identity_rewrite(prefix: str, signed_prefix: str, ref: str, expected: str | None) -> None:
    """TestPRMRemapIdentityRemapReferencePrefix (None: the rewrite is not a canonical reference)"""
    remapped = RemapIdentity(prefix, signed_prefix).remap(parse_reference(ref))
    assert (None if remapped is None else str(remapped)) == expected


@pytest.mark.parametrize(
    ("prefix", "signed_prefix", "image", "claim", "result"),
    [
        ("does-not-match.com", "does-not-match.rewritten", "busybox:latest", "busybox:latest", True),
        ("does-not-match.com", "does-not-match.rewritten", "busybox:latest", "notbusybox:latest", False),
        ("mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:1", True),
        ("mirror.example", "public.com", "mirror.example/busybox:1", "public.com/busybox:not1", False),
        ("mirror.example", "docker.io/library", "mirror.example/busybox:latest", "busybox:latest", True),
        ("mirror.example", "docker.io/library", "mirror.example/alpine:latest", "busybox:latest", False),
        ("docker.io/library", "original.com", "copied:latest", "original.com/copied:latest", True),
        ("docker.io/library", "original.com", "copied:latest", "original.com/ns/copied:latest", False),
        ("busybox", "example.com/busybox", "busybox:latest", "example.com/busybox:latest", False),
        ("docker.io/library/busybox", "busybox", "docker.io/library/busybox:latest", "busybox:latest", False),
        ("UPPERCASE", "example.com", "example.com/foo:latest", "example.com/foo:latest", True),
    ],
)
def test_remap_identity_matches(
    prefix: str, signed_prefix: str, image: str, claim: str, result: bool
) -> None:
    """TestPRMRemapIdentityMatchesDockerReference, its own table (prefixes unvalidated on purpose)"""
    assert RemapIdentity(prefix, signed_prefix).matches(parse_reference(image), claim) is result


def test_an_upper_case_first_component_is_a_registry() -> None:
    """Deliberate difference from the table of TestPRMRemapIdentityMatchesDockerReference, which
    expects ``example.com -> UPPERCASE`` to match nothing: containers/image's reference fork reads
    ``UPPERCASE/foo`` as a Docker Hub path and refuses it (upper case), while this project parses
    references as distribution/reference v0.6 does (docs/architecture.md, host detection:
    an upper-case first component is a registry), so ``UPPERCASE/foo:latest`` is a valid name here."""
    remap = RemapIdentity("example.com", "UPPERCASE")
    assert remap.matches(parse_reference("example.com/foo:latest"), "UPPERCASE/foo:latest")


def _next_first_letter(text: str) -> str:
    """``modifiedString``: the first letter replaced by the next one (z -> a)."""
    first = text[0]
    assert "a" <= first <= "z"
    return ("a" if first == "z" else chr(ord(first) + 1)) + text[1:]


@pytest.mark.parametrize(("image", "claim", "result"), _repo_digest_or_exact_cases())
def test_remap_identity_is_repo_digest_or_exact_otherwise(image: str, claim: str, result: bool) -> None:
    """TestPRMRemapIdentityMatchesDockerReference, prmRemapIdentityMRDOETestCase: without a rewrite,
    and when the image's domain is remapped back, remapIdentity judges as matchRepoDigestOrExact."""
    intended = _image(image)
    if intended is None:
        return
    same = RemapIdentity("never-causes-a-rewrite.example", "never-causes-a-rewrite.example")
    assert same.matches(intended, claim) is result
    domain = intended.name.split("/", 1)[0]
    moved = parse_reference(_next_first_letter(str(intended)))
    assert RemapIdentity(_next_first_letter(domain), domain).matches(moved, claim) is result
