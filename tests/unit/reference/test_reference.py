from __future__ import annotations

import pytest

from imgextract.errors import InvalidReference
from imgextract.reference import parse_reference, registry_api_host

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/busybox:1", "docker.io/library/busybox:1"),
        ("localhost/foo", "localhost/foo:latest"),
        ("localhost:5000/a/b:t", "localhost:5000/a/b:t"),
        ("Example.com/x", "Example.com/x:latest"),
        (f"quay.io/o/b:v1@{D}", f"quay.io/o/b@{D}"),
        ("[::1]:5000/foo", "[::1]:5000/foo:latest"),
    ],
)
def test_pull_ref(text: str, expected: str) -> None:
    assert str(parse_reference(text).pull_ref()) == expected


def test_identifier_and_helpers() -> None:
    ref = parse_reference(f"quay.io/o/b:v1@{D}")
    assert ref.identifier == D and ref.is_digest
    assert parse_reference("quay.io/o/b").identifier == "latest"
    assert str(ref.with_registry_repository("m.local", "x/b")) == f"m.local/x/b:v1@{D}"
    assert registry_api_host("docker.io") == "registry-1.docker.io"
    assert registry_api_host("quay.io") == "quay.io"


@pytest.mark.parametrize("bad", ["", "docker/Docker", "a" * 64, "foo:", "foo@sha256:abc", "http://x/y"])
def test_malformed(bad: str) -> None:
    with pytest.raises(InvalidReference):
        parse_reference(bad)


def test_with_tag_validates() -> None:
    with pytest.raises(InvalidReference):
        parse_reference("a/b").with_tag("-bad")
