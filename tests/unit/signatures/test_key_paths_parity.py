"""``keyPaths`` is checked when the policy is parsed only as far as containers/image checks it.

containers/image ``signature/policy_config.go``: ``newPRSignedBy`` counts ``keyPaths`` as the key
source whenever it is present (non-nil), without looking at its entries, so ``"keyPaths": []`` and
``"keyPaths": [""]`` parse; ``policy_config_sigstore.go`` ``PRSigstoreSignedWithKeyPaths`` refuses
an empty list ("contains no entries") and nothing more.  Reading the keys is left to evaluation
(``loadBytesFromConfigSources``), so such a requirement only refuses the images of its own scope:
a policy skopeo accepts must not stop pulls of images that another scope covers.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgextract.reference import parse_reference
from imgextract.signatures import PolicyError, parse_policy
from imgextract.signatures.evaluate import Subject, evaluate

ACCEPT = [{"type": "insecureAcceptAnything"}]
DIGEST = "sha256:" + "a" * 64


def _policy(requirement: dict[str, Any]) -> str:
    return json.dumps({"default": ACCEPT, "transports": {"docker": {"keys.test": [requirement]}}})


SIGNED_BY = {"type": "signedBy", "keyType": "GPGKeys"}
SIGSTORE = {"type": "sigstoreSigned"}


@pytest.mark.parametrize(
    "requirement",
    [
        {**SIGNED_BY, "keyPaths": []},  # TestNewPRSignedBy: only nil keyPaths is "not given"
        {**SIGNED_BY, "keyPaths": [""]},
        {**SIGNED_BY, "keyPaths": ["/etc/pki/a.gpg", ""]},
        {**SIGSTORE, "keyPaths": [""]},  # PRSigstoreSignedWithKeyPaths: only an empty list is refused
    ],
)
def test_key_paths_entries_are_not_checked_when_parsing(requirement: dict[str, Any]) -> None:
    policy = parse_policy(_policy(requirement))
    other = Subject(parse_reference("other.test/app:1"), DIGEST)
    assert evaluate(policy, other, lambda: []).accepted
    inside = Subject(parse_reference("keys.test/app:1"), DIGEST)
    with pytest.raises(PolicyError):  # no usable key: the image of that scope is never accepted
        evaluate(policy, inside, lambda: [])


def test_sigstore_key_paths_must_not_be_empty() -> None:
    with pytest.raises(PolicyError, match="keyPaths"):
        parse_policy(_policy({**SIGSTORE, "keyPaths": []}))


@pytest.mark.parametrize("requirement", [{**SIGNED_BY, "keyPaths": None}, {**SIGSTORE, "keyPaths": None}])
def test_null_key_paths_is_no_key_source(requirement: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        parse_policy(_policy(requirement))
