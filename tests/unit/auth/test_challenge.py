"""WWW-Authenticate parsing and token scopes."""

from __future__ import annotations

import pytest

from imgextract.auth.challenge import (
    Challenge,
    Scope,
    find_challenge,
    insufficient_scope,
    parse_scope,
    parse_www_authenticate,
    repository_scope,
)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:samalba/my-app:pull,push"',
            [
                Challenge(
                    "bearer",
                    {
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:samalba/my-app:pull,push",
                    },
                )
            ],
        ),
        ('Basic realm="Registry Realm"', [Challenge("basic", {"realm": "Registry Realm"})]),
        ('BASIC Realm="x"', [Challenge("basic", {"realm": "x"})]),
        # several challenges, commas inside quoted strings, escapes (RFC 7235 section 4.1 example)
        (
            'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
            [
                Challenge("newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}),
                Challenge("basic", {"realm": "simple"}),
            ],
        ),
        (
            'Basic realm="a, b", Bearer realm="https://t.example/token?x=1,2"',
            [
                Challenge("basic", {"realm": "a, b"}),
                Challenge("bearer", {"realm": "https://t.example/token?x=1,2"}),
            ],
        ),
        ('Basic realm="back\\\\slash"', [Challenge("basic", {"realm": "back\\slash"})]),
        # a scheme without parameters followed by another challenge
        (
            "Basic, Bearer realm=https://t.example/token",
            [Challenge("basic"), Challenge("bearer", {"realm": "https://t.example/token"})],
        ),
        # token68
        (
            "Negotiate YIIBgAY=, Basic realm=x",
            [Challenge("negotiate", {}, "YIIBgAY="), Challenge("basic", {"realm": "x"})],
        ),
        # whitespace around '=', empty list elements; a repeated parameter keeps its last value, as
        # containers/image parseValueAndParams (params[pkey] = pvalue) and docker distribution do
        (
            ' , Bearer realm = "r" , , service=s, realm="second"',
            [Challenge("bearer", {"realm": "second", "service": "s"})],
        ),
        ("", []),
        (" , ", []),
        ('"junk", Basic realm=x', [Challenge("basic", {"realm": "x"})]),
        ('Bearer realm="unterminated', [Challenge("bearer", {"realm": "unterminated"})]),
    ],
)
def test_parse_www_authenticate(header: str, expected: list[Challenge]) -> None:
    assert parse_www_authenticate(header) == expected


def test_several_header_values_and_none() -> None:
    got = parse_www_authenticate(['Basic realm="a"', 'Bearer realm="b",service="s"'])
    assert [c.scheme for c in got] == ["basic", "bearer"]
    assert got[1].realm == "b"
    assert parse_www_authenticate(None) == []
    assert find_challenge(got, "BEARER") is got[1]
    assert find_challenge(got, "digest") is None


def test_insufficient_scope() -> None:
    header = (
        'Bearer realm="https://auth.example/token",service="reg",'
        'scope="repository:team/app:pull repository:base/img:pull",error="insufficient_scope"'
    )
    assert insufficient_scope(parse_www_authenticate(header)) == [
        "repository:team/app:pull",
        "repository:base/img:pull",
    ]
    assert insufficient_scope(parse_www_authenticate('Bearer realm="r",error="invalid_token"')) == []
    assert insufficient_scope(parse_www_authenticate('Basic realm="r"')) == []


def test_repository_scope() -> None:
    assert repository_scope("library/busybox") == "repository:library/busybox:pull"
    assert repository_scope("team/app", ["pull", "push", "pull"]) == "repository:team/app:pull,push"
    with pytest.raises(ValueError):
        repository_scope("team/app", [])
    with pytest.raises(ValueError):
        repository_scope("", ["pull"])


def test_parse_scope() -> None:
    assert parse_scope("repository:team/app:pull,push") == Scope("repository", "team/app", ("pull", "push"))
    assert parse_scope("repository(plugin):x/y:pull") == Scope("repository(plugin)", "x/y", ("pull",))
    assert parse_scope("registry:catalog:*") == Scope("registry", "catalog", ("*",))
    assert parse_scope("repository:localhost:5000/app:pull").name == "localhost:5000/app"
    assert str(parse_scope("repository:a/b:pull,push")) == "repository:a/b:pull,push"
    with pytest.raises(ValueError):
        parse_scope("repository")
