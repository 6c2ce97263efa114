"""Which ``sigstoreSigned`` fields count as its key source, as containers/image counts them.

``signature/policy_config_sigstore.go``: ``UnmarshalJSON`` passes every field present to its
``PRSigstoreSignedWith*`` option, and ``newPRSigstoreSigned`` then counts the sources by value: a
``keyPath`` only when it is not empty, a ``keyData`` only when it is not null (``""`` is empty data,
not null), ``keyPaths``/``keyDatas`` always (their options refuse an empty or null list).  So
``"keyPath": ""`` next to ``keyData`` is no second source.  (``signedBy`` is different: its
``UnmarshalJSON`` counts the fields present; see test_policy.py.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgextract.signatures import PolicyError, parse_policy
from imgextract.signatures.requirements import SigstoreSigned

PEM = "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0K"  # any base64: keys are read at evaluation


def _parse(**fields: Any) -> SigstoreSigned:
    text = json.dumps(
        {
            "default": [{"type": "insecureAcceptAnything"}],
            "transports": {"docker": {"q.test": [{"type": "sigstoreSigned", **fields}]}},
        }
    )
    (req,) = parse_policy(text).docker["q.test"]
    assert isinstance(req, SigstoreSigned)
    return req


@pytest.mark.parametrize(
    ("fields", "source"),
    [
        ({"keyPath": "", "keyData": PEM}, "keyData"),
        ({"keyPath": None, "keyData": PEM}, "keyData"),
        ({"keyPath": "/etc/pki/cosign.pub", "keyData": None}, "keyPath"),
        ({"keyPath": "", "keyPaths": ["/etc/pki/cosign.pub"]}, "keyPaths"),
        ({"keyData": None, "keyDatas": [PEM]}, "keyDatas"),
        ({"keyData": ""}, "keyData"),  # empty, but not null: a source (that holds no key)
    ],
)
def test_empty_and_null_fields_are_no_key_source(fields: dict[str, Any], source: str) -> None:
    keys = _parse(**fields).keys
    assert keys is not None
    assert keys.field == source


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"keyPath": ""}, "exactly one"),
        ({"keyPath": None}, "exactly one"),
        ({"keyData": None}, "exactly one"),
        ({"keyPath": "/k", "keyPaths": None}, "keyPaths contains no entries"),
        ({"keyPath": "/k", "keyDatas": None}, "keyDatas"),
        ({"keyPath": "/k", "keyData": ""}, "exactly one"),
        ({"keyPath": "/k", "keyPaths": ["/k2"]}, "exactly one"),
        ({"keyPath": 5}, "must be a string"),
        # PRSigstoreSignedWithRekorPublicKeyPaths / ...Datas refuse a null list too
        ({"keyPath": "/k", "rekorPublicKeyPaths": None}, "rekorPublicKeyPaths contains no entries"),
        ({"keyPath": "/k", "rekorPublicKeyDatas": None}, "rekorPublicKeyDatas contains no entries"),
    ],
)
def test_invalid_key_sources(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        _parse(**fields)
