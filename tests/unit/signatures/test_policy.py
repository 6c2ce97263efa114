"""policy.json: strict parsing (never an accept on a typo) and docker scope precedence."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from imgextract.cli.exits import exit_code_for
from imgextract.reference import parse_reference
from imgextract.signatures import PolicyError, load_policy, parse_policy
from imgextract.signatures.identity import (
    ExactReference,
    ExactRepository,
    MatchExact,
    MatchRepoDigestOrExact,
    MatchRepository,
    RemapIdentity,
)
from imgextract.signatures.policy import (
    InsecureAcceptAnything,
    Reject,
    SignedBy,
    SigstoreSigned,
    scope_candidates,
)

REJECT = [{"type": "reject"}]
ACCEPT = [{"type": "insecureAcceptAnything"}]


def policy(doc: object) -> object:
    return parse_policy(json.dumps(doc))


def signed_by(**extra: object) -> dict[str, object]:
    return {"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k.gpg", **extra}


def test_minimal_policy_and_default_scope() -> None:
    p = parse_policy('{"default": [{"type": "insecureAcceptAnything"}]}')
    scope = p.scope_for(parse_reference("quay.io/ns/app:v1"))
    assert scope.label == "default"
    assert scope.requirements == (InsecureAcceptAnything(),)


def test_scope_candidates_order_as_containers_image() -> None:
    assert scope_candidates(parse_reference("registry.example.com:5000/a/b/c:v1")) == [
        "registry.example.com:5000/a/b/c:v1",
        "registry.example.com:5000/a/b/c",
        "registry.example.com:5000/a/b",
        "registry.example.com:5000/a",
        "registry.example.com:5000",
        "*.example.com",
        "*.com",
    ]
    digest = "sha256:" + "a" * 64
    assert scope_candidates(parse_reference(f"busybox@{digest}"))[:3] == [
        f"docker.io/library/busybox@{digest}",
        "docker.io/library/busybox",
        "docker.io/library",
    ]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("quay.io/ns/app:v1", 'docker scope "quay.io/ns/app:v1"'),
        ("quay.io/ns/app:v2", 'docker scope "quay.io/ns/app"'),
        ("quay.io/ns/other:v1", 'docker scope "quay.io/ns"'),
        ("quay.io/x/y:v1", 'docker scope "quay.io"'),
        ("sub.example.com/x:v1", 'docker scope "*.example.com"'),
        ("docker.io/library/busybox:latest", 'docker scope ""'),
    ],
)
def test_most_specific_scope_wins(ref: str, expected: str) -> None:
    p = policy(
        {
            "default": REJECT,
            "transports": {
                "docker": {
                    "quay.io/ns/app:v1": REJECT,
                    "quay.io/ns/app": ACCEPT,
                    "quay.io/ns": REJECT,
                    "quay.io": ACCEPT,
                    "*.example.com": ACCEPT,
                    "": REJECT,
                },
                "atomic": {"whatever": ACCEPT},
            },
        }
    )
    assert p.scope_for(parse_reference(ref)).label == expected  # type: ignore[attr-defined]


def test_requirement_kinds_and_identities() -> None:
    key = base64.b64encode(b"KEY").decode()
    p = policy(
        {
            "default": [
                {"type": "reject"},
                signed_by(),
                {
                    "type": "signedBy",
                    "keyType": "GPGKeys",
                    "keyPaths": ["/a", "/b"],
                    "signedIdentity": {"type": "matchExact"},
                },
                {
                    "type": "signedBy",
                    "keyType": "GPGKeys",
                    "keyData": key,
                    "signedIdentity": {"type": "matchRepository"},
                },
                {
                    "type": "sigstoreSigned",
                    "keyPath": "/c.pub",
                    "signedIdentity": {"type": "exactReference", "dockerReference": "quay.io/a/b:v1"},
                },
                {
                    "type": "sigstoreSigned",
                    "keyData": key,
                    "signedIdentity": {"type": "exactRepository", "dockerRepository": "quay.io/a/b"},
                },
                signed_by(
                    signedIdentity={
                        "type": "remapIdentity",
                        "prefix": "mirror.local/x",
                        "signedPrefix": "quay.io",
                    }
                ),
                signed_by(signedIdentity={"type": "matchRepoDigestOrExact"}),
            ]
        }
    )
    reqs = p.default  # type: ignore[attr-defined]
    assert isinstance(reqs[0], Reject)
    assert isinstance(reqs[1], SignedBy) and reqs[1].signed_identity == MatchRepoDigestOrExact()
    assert reqs[2].keys.paths == ("/a", "/b") and reqs[2].signed_identity == MatchExact()
    assert reqs[3].keys.data == (b"KEY",) and reqs[3].signed_identity == MatchRepository()
    assert isinstance(reqs[4], SigstoreSigned) and reqs[4].signed_identity == ExactReference("quay.io/a/b:v1")
    assert reqs[5].signed_identity == ExactRepository("quay.io/a/b")
    assert reqs[6].signed_identity == RemapIdentity("mirror.local/x", "quay.io")
    assert reqs[7].signed_identity == MatchRepoDigestOrExact()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ("{}", "default policy is missing"),
        ('{"default": []}', "must not be empty"),
        ('{"default": [{"type": "reject"}], "default": [{"type": "reject"}]}', "duplicate field"),
        ('{"default": [{"type": "reject"}], "extra": 1}', "unknown field 'extra'"),
        ('{"default": [{"type": "rejectt"}]}', "unknown policy requirement type"),
        ('{"default": [{"type": "reject", "x": 1}]}', "unknown field 'x'"),
        ('{"default": [{"type": "insecureAcceptAnything", "keyPath": "/k"}]}', "unknown field 'keyPath'"),
        ('{"default": [{"type": 1}]}', "no string 'type'"),
        ('{"default": {"type": "reject"}}', "must be a list"),
        ('{"default": [{"type": "reject"}], "transports": {"docker": {"x": {}}}}', "must be a list"),
        ('{"default": [{"type": "reject"}], "transports": []}', "transports must be a JSON object"),
        ('{"default": [{"type": "signedBy", "keyPath": "/k"}]}', "has no 'keyType'"),
        ('{"default": [{"type": "signedBy", "keyType": "GPG", "keyPath": "/k"}]}', "unrecognized keyType"),
        ('{"default": [{"type": "signedBy", "keyType": "GPGKeys"}]}', "none present"),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "keyData": "QQ=="}]}',
            "exactly one",
        ),
        ('{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": 5}]}', "must be a string"),
        ('{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": null}]}', "must be a string"),
        ('{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": "/k"}]}', "list of strings"),
        ('{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": "!!"}]}', "not valid base64"),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "keypath": "/k"}]}',
            "unknown field 'keypath'",
        ),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "signedIdentity": {"type": "matchAll"}}]}',
            "unknown policy reference match type",
        ),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "signedIdentity": {"type": "matchExact", "x": 1}}]}',
            "unknown field 'x'",
        ),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "signedIdentity": {"type": "exactReference"}}]}',
            "has no 'dockerReference'",
        ),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "signedIdentity": {"type": "exactReference", "dockerReference": "quay.io/a/b"}}]}',
            "neither a tag nor a digest",
        ),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "signedIdentity": {"type": "exactRepository", "dockerRepository": "Bad//Name"}}]}',
            "invalid dockerRepository",
        ),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "signedIdentity": {"type": "remapIdentity", "prefix": "quay.io/a:v1", "signedPrefix": "x.io"}}]}',
            "is not valid",
        ),
        (
            '{"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k", "signedIdentity": null}]}',
            "string 'type'",
        ),
        ('{"default": [{"type": "sigstoreSigned"}]}', "exactly one of"),
        (
            '{"default": [{"type": "sigstoreSigned", "keyPath": "/k", "fulcio": {"caPath": "/ca", '
            '"oidcIssuer": "https://i", "subjectEmail": "a@b"}}]}',
            "exactly one of",
        ),
        (
            '{"default": [{"type": "sigstoreSigned", "fulcio": {"caPath": "/ca", "oidcIssuer": "https://i", '
            '"subjectEmail": "a@b"}}]}',
            "needs a rekorPublicKey",
        ),
        (
            '{"default": [{"type": "sigstoreSigned", "keyPath": "/k", "keyType": "GPGKeys"}]}',
            "unknown field 'keyType'",
        ),
        (
            '{"default": [{"type": "reject"}], "transports": {"docker": {"quay.io": [{"type": "nope"}]}}}',
            'transports.docker["quay.io"]',
        ),
        (
            '{"default": [{"type": "reject"}], "transports": {"atomic": {"x": [{"type": "nope"}]}}}',
            "unknown policy requirement",
        ),
        ('{"default": [{"type": "reject"}], "n": NaN}', "NaN is not JSON"),
    ],
)
def test_malformed_policies_are_configuration_errors(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source="p.json")
    assert message in str(info.value)
    assert exit_code_for(info.value) == 2
    assert str(info.value).startswith("invalid policy p.json: ")


def test_sigstore_fulcio_is_parsed_then_unsupported() -> None:
    p = policy(
        {
            "default": [
                {
                    "type": "sigstoreSigned",
                    "fulcio": {"caPath": "/ca", "oidcIssuer": "https://x", "subjectEmail": "a@b"},
                    "rekorPublicKeyPath": "/rekor.pub",
                }
            ]
        }
    )
    req = p.default[0]  # type: ignore[attr-defined]
    assert isinstance(req, SigstoreSigned) and req.unsupported == "fulcio, rekorPublicKeyPath"


def test_load_policy_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from imgextract.signatures import policy as policy_module

    with pytest.raises(PolicyError, match="cannot read policy .*missing.json"):
        load_policy(tmp_path / "missing.json")
    monkeypatch.setattr(policy_module, "SYSTEM_POLICY", tmp_path / "etc-policy.json")
    with pytest.raises(PolicyError, match="no policy.json found"):
        load_policy("default", env={"HOME": str(tmp_path)})
    (tmp_path / "etc-policy.json").write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
    assert load_policy("default", env={"HOME": str(tmp_path)}).source == str(tmp_path / "etc-policy.json")
    user = tmp_path / ".config" / "containers" / "policy.json"
    user.parent.mkdir(parents=True)
    user.write_text('{"default": [{"type": "reject"}]}')
    assert load_policy("default", env={"HOME": str(tmp_path)}).source == str(user)


def test_key_files_are_read_when_needed(tmp_path: Path) -> None:
    p = policy({"default": [signed_by(keyPath=str(tmp_path / "nope.gpg"))]})
    with pytest.raises(PolicyError, match="cannot read key file .*nope.gpg"):
        p.default[0].keys.load()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("transport", "scope"),
    [
        ("dir", "relative/path"),
        ("dir", "/abs/../x"),
        ("dir", "/abs/"),
        ("dir", "/"),
        ("oci", "x.io/a/b:v1"),
        ("oci-archive", "//abs"),
        ("sif", "relative"),
        ("docker-archive", "/abs/path"),
        ("tarball", "/abs/path"),
        ("containers-storage", "x.io/a/b:v1"),
        ("containers-storage", "[relative]x.io/a"),
        ("containers-storage", "[overlay@]x.io/a"),
        ("containers-storage", "[/root]x.io/a@notadigest"),
    ],
)
def test_invalid_scope_of_another_transport_invalidates_the_policy(transport: str, scope: str) -> None:
    """containers/image validates the scopes of the transports it knows: one bad scope makes the
    whole file invalid (skopeo refuses every image), so it can never be an accept here."""
    with pytest.raises(PolicyError, match="invalid scope"):
        policy({"default": ACCEPT, "transports": {transport: {scope: ACCEPT}}})


@pytest.mark.parametrize(
    ("transport", "scope"),
    [
        ("dir", "/abs/path"),
        ("oci", "/abs/path:tag"),
        ("docker-archive", ""),
        ("containers-storage", "[overlay@/var/lib/containers/storage]x.io/a"),
        ("containers-storage", "[/var/lib/containers/storage]"),
        ("docker-daemon", "anything"),
        ("docker", "UPPER/not-a-reference"),
        ("not-a-transport", "anything"),
    ],
)
def test_scopes_containers_image_does_not_check_are_accepted(transport: str, scope: str) -> None:
    policy({"default": ACCEPT, "transports": {transport: {scope: ACCEPT}}})
