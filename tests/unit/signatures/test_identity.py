"""signedIdentity: every kind, for tag and digest references (containers/image semantics)."""

from __future__ import annotations

import pytest

from imgextract.reference import parse_reference
from imgextract.signatures.identity import (
    ExactReference,
    ExactRepository,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    RemapIdentity,
    valid_remap_prefix,
)

D = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
TAG = parse_reference("quay.io/ns/app:v1")
DIG = parse_reference(f"quay.io/ns/app@{D}")


@pytest.mark.parametrize(
    ("match", "intended", "claim", "expected"),
    [
        (MatchExact(), TAG, "quay.io/ns/app:v1", True),
        (MatchExact(), TAG, "quay.io/ns/app:v2", False),
        (MatchExact(), TAG, "quay.io/ns/app", False),
        (MatchExact(), DIG, "quay.io/ns/app:v1", False),
        (MatchExact(), DIG, f"quay.io/ns/app@{D}", True),
        (MatchExact(), TAG, "not a reference", False),
        (MatchRepoDigestOrExact(), TAG, "quay.io/ns/app:v1", True),
        (MatchRepoDigestOrExact(), TAG, "quay.io/ns/app:v2", False),
        (MatchRepoDigestOrExact(), DIG, "quay.io/ns/app:v9", True),
        (MatchRepoDigestOrExact(), DIG, f"quay.io/ns/app@{D2}", True),  # digest checked elsewhere
        (MatchRepoDigestOrExact(), DIG, "quay.io/ns/other:v1", False),
        (MatchRepoDigestOrExact(), DIG, "quay.io/ns/app", False),
        (MatchRepository(), TAG, "quay.io/ns/app:v2", True),
        (MatchRepository(), TAG, "quay.io/ns/app", True),
        (MatchRepository(), TAG, "quay.io/ns/other:v1", False),
        (MatchRepoDigestOrExact(), parse_reference("busybox:1"), "docker.io/library/busybox:1", True),
        (MatchRepoDigestOrExact(), parse_reference("docker.io/library/busybox:1"), "busybox:1", True),
        (ExactReference("quay.io/x/y:v3"), TAG, "quay.io/x/y:v3", True),
        (ExactReference("quay.io/x/y:v3"), TAG, "quay.io/ns/app:v1", False),
        (ExactRepository("quay.io/x/y"), TAG, "quay.io/x/y:anything", True),
        (ExactRepository("quay.io/x/y"), TAG, "quay.io/ns/app:v1", False),
        (
            RemapIdentity("mirror.local/m", "quay.io/ns"),
            parse_reference("mirror.local/m/app:v1"),
            "quay.io/ns/app:v1",
            True,
        ),
        (
            RemapIdentity("mirror.local/m", "quay.io/ns"),
            parse_reference("mirror.local/m/app:v1"),
            "mirror.local/m/app:v1",
            False,
        ),
        (
            RemapIdentity("mirror.local/m", "quay.io/ns"),
            parse_reference("mirror.local/mm/app:v1"),
            "mirror.local/mm/app:v1",
            True,
        ),
        (
            RemapIdentity("mirror.local", "quay.io"),
            parse_reference(f"mirror.local/a/b@{D}"),
            "quay.io/a/b:v1",
            True,
        ),
        (
            RemapIdentity("mirror.local/m", "quay.io/ns"),
            parse_reference("mirror.local/m/app:v1"),
            "quay.io/ns/app:v2",
            False,
        ),
    ],
)
def test_identity_kinds(match: object, intended: object, claim: str, expected: bool) -> None:
    assert match.matches(intended, claim) is expected  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("prefix", "valid"),
    [
        ("quay.io", True),
        ("quay.io:5000", True),
        ("quay.io/ns/app", True),
        ("127.0.0.1:5000/a", True),
        ("quay.io/ns:v1", False),
        (f"quay.io/ns@{D}", False),
        ("Quay.io/NS", False),
        ("", False),
    ],
)
def test_remap_prefix_validation(prefix: str, valid: bool) -> None:
    assert valid_remap_prefix(prefix) is valid
