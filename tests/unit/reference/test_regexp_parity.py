"""The grammar of distribution/reference ``regexp.go``, row by row, through our parsers.

Rules read in distribution/reference ``regexp.go`` and its ``regexp_test.go`` tables
(``TestDomainRegexp``, ``TestFullNameRegexp``, ``TestReferenceRegexp``); the rows below are our
own re-statement of what those anchored patterns accept.  Go's ``$`` (without the ``m`` flag)
matches only at the very end of the text, where Python's ``$`` also matches before a final
newline: a name, tag or digest followed by ``"\\n"`` must not parse.
"""

from __future__ import annotations

import pytest

from imgextract.errors import InvalidReference
from imgextract.mirrors.conf_file import InvalidRegistries, validate_search_registries
from imgextract.reference import parse_any_reference, parse_raw, parse_reference, validate_digest

H = "be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912"
D = f"sha256:{H}"


@pytest.mark.parametrize(
    ("domain", "valid"),
    [
        ("test.com", True),
        ("test.com:10304", True),
        ("test.com:http", False),
        ("localhost", True),
        ("localhost:8080", True),
        ("a", True),
        ("a-b.com", True),
        ("-ab.com", False),
        ("ab-.com", False),
        ("ab.c-om", True),
        ("ab.-com", False),
        ("ab.com-", False),
        ("0101.com", True),
        ("xn--n3h.com", True),
        ("Asdf.com", True),
        ("192.168.1.1:75050", True),
        ("[fd00:1:2::3]:75050", True),
        ("[fd00:1:2::3]75050", False),
        ("[fd00:1:2::3]::75050", False),
        ("[fd00:1:2::3%eth0]:75050", False),
        ("[fd00123123123]:75050", True),
        ("fd00:1:2::3:75050", False),
        ("test.com\n", False),
        ("localhost:5000\n", False),
    ],
)
def test_domain_regexp_for_search_registries(domain: str, valid: bool) -> None:
    """distribution/reference ``TestDomainRegexp`` through sysregistriesv2 ``postProcessRegistries``
    (``anchoredDomainRegexp`` checks every ``unqualified-search-registries`` entry)."""
    if valid:
        assert validate_search_registries([domain]) == [domain]
    else:
        with pytest.raises(InvalidRegistries):
            validate_search_registries([domain])


@pytest.mark.parametrize(
    ("name", "domain", "path"),
    [
        ("short", "", "short"),
        ("simple/name", "simple", "name"),
        ("docker/stevvooe/app", "docker", "stevvooe/app"),
        ("a/a/a/a", "a", "a/a/a"),
        ("foo.com", "", "foo.com"),
        ("foo.com:8080/bar", "foo.com:8080", "bar"),
        ("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "bar/baz/quux"),
        ("aa-a/a", "aa-a", "a"),
        ("foo_bar", "", "foo_bar"),
        ("foo_bar.com", "", "foo_bar.com"),
        ("do__cker/docker", "", "do__cker/docker"),
        ("b.gcr.io/test.example.com/my-app", "b.gcr.io", "test.example.com/my-app"),
        ("xn--7o8h.com/myimage", "xn--7o8h.com", "myimage"),
        (
            "example.com/some_separator__underscore/myimage",
            "example.com",
            "some_separator__underscore/myimage",
        ),
        (
            "registry.io/foo/project--id.module--name.ver---sion--name",
            "registry.io",
            "foo/project--id.module--name.ver---sion--name",
        ),
        ("Asdf.com/foo/bar", "Asdf.com", "foo/bar"),
    ],
)
def test_full_name_regexp_accepts(name: str, domain: str, path: str) -> None:
    """distribution/reference ``TestFullNameRegexp`` (matches): ``Parse`` splits the name the same way."""
    raw = parse_raw(name)
    assert (raw.domain, raw.path) == (domain, path)


@pytest.mark.parametrize(
    "name",
    [
        "a/a/a/a/",
        "a//a/a",
        "foo.com/",
        "foo.com:http/bar",
        "a^a",
        "aa/asdf$$^/aa",
        "a-/a/a/a",
        "foo.com/a-/a/a",
        "-foo/bar",
        "foo/bar-",
        "foo-/bar",
        "foo/-bar",
        "_foo/bar",
        "foo_bar.com:8080/app",
        "____/____",
        "_docker/_docker",
        "docker_/docker_",
        "example.com/__underscore/myimage",
        "example.com/..dots/myimage",
        "example.com/.dots/myimage",
        "example.com/nodouble..dots/myimage",
        "docker./docker",
        ".docker/docker",
        "do..cker/docker",
        "do__cker:8080/docker",
        "Foo/FarB",
        "foo/bar\n",
        "foo.com/bar\n",
    ],
)
def test_full_name_regexp_rejects(name: str) -> None:
    """distribution/reference ``TestFullNameRegexp`` (non-matches) through ``Parse`` and ``ParseNormalizedNamed``."""
    with pytest.raises(InvalidReference):
        parse_raw(name)
    with pytest.raises(InvalidReference):
        parse_reference(name)


@pytest.mark.parametrize(
    "text",
    [
        "busybox\n",
        "busybox:latest\n",
        f"busybox@{D}\n",
        f"quay.io/ns/app:v1@{D}\n",
        f"localhost:5000/app@{D}\n",
        "quay.io/ns/app\n",
        f"{H}\n",
    ],
)
def test_trailing_newline_is_not_a_reference(text: str) -> None:
    """distribution/reference ``ParseNormalizedNamed``/``Parse``: the anchored ``referenceRegexp`` ends at
    the end of the text (Go's ``$``), so a reference followed by a newline is an invalid reference."""
    with pytest.raises(InvalidReference):
        parse_reference(text)
    with pytest.raises(InvalidReference):
        parse_raw(text)


def test_trailing_newline_tag_and_digest_helpers() -> None:
    """distribution/reference ``WithTag`` (``anchoredTagRegexp``) and go-digest ``Parse``/``ParseAnyReference``."""
    ref = parse_reference("quay.io/ns/app")
    with pytest.raises(InvalidReference):
        ref.with_tag("v1\n")
    with pytest.raises(InvalidReference):
        validate_digest(f"{D}\n")
    with pytest.raises(InvalidReference):
        validate_digest(f"sha999:{H}\n")
    # a 64-hex string followed by a newline is no image ID (anchoredIdentifierRegexp)
    with pytest.raises(InvalidReference):
        parse_any_reference(f"{H}\n")


@pytest.mark.parametrize(
    ("text", "name", "tag", "digest"),
    [
        ("registry.com:8080/myapp:tag", "registry.com:8080/myapp", "tag", None),
        (f"registry.com:8080/myapp@{D}", "registry.com:8080/myapp", None, D),
        (f"registry.com:8080/myapp:tag2@{D}", "registry.com:8080/myapp", "tag2", D),
        (f"localhost:8080@{D}", "localhost", "8080", D),
        (f"localhost:8080/name@{D}", "localhost:8080/name", None, D),
        (f"localhost@{D}", "localhost", None, D),
    ],
)
def test_reference_regexp_accepts(text: str, name: str, tag: str | None, digest: str | None) -> None:
    """distribution/reference ``TestReferenceRegexp`` (matches), through ``Parse``."""
    raw = parse_raw(text)
    assert (raw.name, raw.tag, raw.digest) == (name, tag, digest)


@pytest.mark.parametrize(
    "text",
    [
        "registry.com:8080/myapp@sha256:badbadbadbad",
        "registry.com:8080/myapp:invalid~tag",
        "bad_hostname.com:8080/myapp:tag",
        f"localhost:http/name@{D}",
        "registry.com:8080/myapp@bad",
        "registry.com:8080/myapp@2bad",
    ],
)
def test_reference_regexp_rejects(text: str) -> None:
    """distribution/reference ``TestReferenceRegexp`` (non-matches), through ``Parse``."""
    with pytest.raises(InvalidReference):
        parse_raw(text)
