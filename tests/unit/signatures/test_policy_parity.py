"""policy.json strictness where containers/image refuses a file we used to accept (policies of our
own; the rule's upstream function is named in each test)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgextract.signatures import PolicyError, parse_policy

ACCEPT = [{"type": "insecureAcceptAnything"}]
FULCIO = {"caPath": "/etc/pki/fulcio.pem", "oidcIssuer": "https://issuer.test", "subjectEmail": "dev@test"}
PKI = {"caRootsPath": "/etc/pki/roots.pem", "subjectEmail": "dev@test"}


def _sigstore(**fields: Any) -> str:
    return json.dumps(
        {"default": ACCEPT, "transports": {"docker": {"q.test": [{"type": "sigstoreSigned", **fields}]}}}
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        # prSigstoreSignedFulcio.UnmarshalJSON / newPRSigstoreSignedFulcio
        ({"fulcio": {**FULCIO, "caData": "QQ=="}, "rekorPublicKeyPath": "/r"}, "caPath and caData"),
        (
            {"fulcio": {"oidcIssuer": "https://i", "subjectEmail": "a@b"}, "rekorPublicKeyPath": "/r"},
            "caPath",
        ),
        ({"fulcio": {"caPath": "/ca", "subjectEmail": "a@b"}, "rekorPublicKeyPath": "/r"}, "oidcIssuer"),
        (
            {"fulcio": {"caPath": "/ca", "oidcIssuer": "https://i"}, "rekorPublicKeyPath": "/r"},
            "subjectEmail",
        ),
        ({"fulcio": {**FULCIO, "extra": 1}, "rekorPublicKeyPath": "/r"}, "unknown field 'extra'"),
        ({"fulcio": {**FULCIO, "caPath": 7}, "rekorPublicKeyPath": "/r"}, "must be a string"),
        ({"fulcio": {**FULCIO, "caPath": None, "caData": "!!"}, "rekorPublicKeyPath": "/r"}, "base64"),
        # prSigstoreSignedPKI.UnmarshalJSON / newPRSigstoreSignedPKI
        ({"pki": {"subjectEmail": "a@b"}}, "caRootsPath"),
        ({"pki": {**PKI, "caRootsData": "QQ=="}}, "caRootsPath and caRootsData"),
        ({"pki": {**PKI, "caIntermediatesPath": "/i", "caIntermediatesData": "QQ=="}}, "caIntermediates"),
        ({"pki": {"caRootsPath": "/roots"}}, "subjectEmail"),
        ({"pki": {**PKI, "subjectHostname": 3}}, "must be a string"),
        # PRSigstoreSignedWithRekorPublicKey*: typed values, lists not empty
        ({"keyPath": "/k", "rekorPublicKeyPath": 5}, "must be a string"),
        ({"keyPath": "/k", "rekorPublicKeyPaths": []}, "no entries"),
        ({"keyPath": "/k", "rekorPublicKeyDatas": []}, "no entries"),
        ({"keyPath": "/k", "rekorPublicKeyData": "!!"}, "base64"),
        ({"fulcio": FULCIO, "rekorPublicKeyPath": ""}, "rekorPublicKey"),
    ],
)
def test_invalid_sigstore_roots_invalidate_the_policy(fields: dict[str, Any], message: str) -> None:
    """Every field of a ``sigstoreSigned`` requirement is checked while parsing, even the parts this
    tool cannot verify (fulcio, pki, rekor): a bad value makes the whole file invalid for skopeo."""
    with pytest.raises(PolicyError, match=message):
        parse_policy(_sigstore(**fields))


@pytest.mark.parametrize(
    "fields",
    [
        {"fulcio": FULCIO, "rekorPublicKeyPath": "/r"},
        {"fulcio": {**FULCIO, "caPath": None, "caData": "QQ=="}, "rekorPublicKeyDatas": ["QQ=="]},
        {"pki": PKI},
        {"pki": {"caRootsData": "QQ==", "caIntermediatesPath": "/i", "subjectHostname": "h.test"}},
    ],
)
def test_valid_sigstore_roots_parse(fields: dict[str, Any]) -> None:
    parse_policy(_sigstore(**fields))


def test_docker_daemon_scope_cannot_be_an_image_id() -> None:
    """``daemonTransport.ValidatePolicyConfigurationScope``: an algo:digest value is no namespace."""
    scope = "sha256:" + "ab" * 32
    with pytest.raises(PolicyError, match="invalid scope"):
        parse_policy(json.dumps({"default": ACCEPT, "transports": {"docker-daemon": {scope: ACCEPT}}}))
