"""Base64 fields of signatures and policies are decoded as Go's ``base64.StdEncoding`` decodes them.

containers/image reads the cosign signature annotation with ``base64.StdEncoding.DecodeString``
(``VerifySigstorePayload`` in signature/internal/sigstore_payload.go), and ``keyData``, a
``sigstore-json`` payload and the other ``[]byte`` fields through ``encoding/json``, which uses the
same decoder.  It skips CR and LF and takes trailing bits as they are, but a ``=`` where a new
quantum would start is illegal data: ``<valid base64>=`` is refused, where Python's ``b64decode``
quietly drops the extra padding.
"""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from imgextract.oci.jsontext import go_base64
from imgextract.signatures.errors import PolicyError
from imgextract.signatures.fetch import classify
from imgextract.signatures.policy import parse_policy
from imgextract.signatures.sigstore import load_public_keys, verify_blob


@pytest.mark.parametrize(
    ("text", "decoded"),
    [("YWJj", b"abc"), ("YWI=", b"ab"), ("YQ==", b"a"), ("", b""), ("YW\r\nJj", b"abc"), ("YR==", b"a")],
)
def test_what_go_decodes(text: str, decoded: bytes) -> None:
    assert go_base64(text) == decoded


@pytest.mark.parametrize(
    "text", ["YWJj=", "YWJj==", "YWI==", "YWI", "YW=I", "=YWJj", "YWJj YWJj", "YWJj\t", "====", "Y"]
)
def test_what_go_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        go_base64(text)


def test_a_cosign_signature_annotation_with_extra_padding_is_refused() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keys = load_public_keys([pem], source="test.pub")
    payload = b'{"critical": {}}'
    signature = base64.b64encode(private.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    assert verify_blob(keys, payload, signature).valid
    assert verify_blob(keys, payload, signature[:40] + "\r\n" + signature[40:]).valid
    refused = verify_blob(keys, payload, signature + "=")
    assert not refused.valid and "base64" in (refused.reason or "")


def test_key_data_with_extra_padding_makes_the_policy_invalid() -> None:
    def policy(key_data: str) -> str:
        return json.dumps({"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyData": key_data}]})

    parse_policy(policy("YWJj"))
    with pytest.raises(PolicyError, match="base64"):
        parse_policy(policy("YWJj="))


def test_a_sigstore_json_payload_with_extra_padding_is_malformed() -> None:
    def blob(payload: str) -> bytes:
        doc = {
            "mimeType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "payload": payload,
            "annotations": {},
        }
        return b"\x00sigstore-json\n" + json.dumps(doc).encode()

    assert classify(blob("YWJj"), "s").blob == b"abc"
    assert classify(blob("YWJj="), "s").error == "malformed sigstore-json signature"
