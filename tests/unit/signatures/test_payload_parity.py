"""Signed payloads read exactly as containers/image reads them (``signature/internal``:
``UntrustedSigstorePayload.strictUnmarshalJSON``, ``untrustedSignature.strictUnmarshalJSON``,
``ParanoidUnmarshalJSONObject``, ``VerifySigstorePayload``): neither stricter nor laxer."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from imgextract.signatures.payload import (
    GPG_PAYLOAD_TYPE,
    SIGSTORE_PAYLOAD_TYPE,
    InvalidPayload,
    parse_payload,
)
from imgextract.signatures.sigstore import verify_blob

D = "sha256:" + "a" * 64


def text(optional: str, kind: str = GPG_PAYLOAD_TYPE) -> bytes:
    return (
        '{"critical":{"type":"' + kind + '","image":{"docker-manifest-digest":"' + D + '"},'
        '"identity":{"docker-reference":"quay.io/a/b:v1"}},"optional":' + optional + "}"
    ).encode()


@pytest.mark.parametrize("kind", [GPG_PAYLOAD_TYPE, SIGSTORE_PAYLOAD_TYPE])
def test_null_creator_and_timestamp_are_go_zero_values(kind: str) -> None:
    """``dec.Decode(&creatorID)`` / ``dec.Decode(&timestamp)`` leave a ``null`` at the zero value
    without an error: the payload is valid (creator "", timestamp 0)."""
    p = parse_payload(text('{"creator":null,"timestamp":null}', kind), kind)
    assert (p.creator, p.timestamp) == ("", 0)


def test_duplicate_keys_only_refused_where_the_paranoid_parser_looks() -> None:
    """``ParanoidUnmarshalJSONObject`` refuses a duplicate key in the objects it walks (the top level,
    ``optional``, ``critical`` and its members); an unknown optional field's value is decoded by
    ``encoding/json`` into ``any``, where a repeated key is simply the last one."""
    p = parse_payload(text('{"creator":"c","anno":{"k":1,"k":2}}'), GPG_PAYLOAD_TYPE)
    assert p.creator == "c"
    with pytest.raises(InvalidPayload, match="duplicate"):
        parse_payload(text('{"creator":"c","creator":"d"}'), GPG_PAYLOAD_TYPE)
    dup_identity = text("{}").replace(b'"quay.io/a/b:v1"}', b'"quay.io/a/b:v1","docker-reference":"x"}')
    with pytest.raises(InvalidPayload, match="duplicate"):
        parse_payload(dup_identity, GPG_PAYLOAD_TYPE)


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + text("{}"),  # a UTF-8 byte order mark is not JSON to Go
        text("{}").decode().encode("utf-16"),  # nor is UTF-16
        text('{"anno": 1e400}'),  # beyond float64: json.Unmarshal into any fails
        text('{"anno": 1' + "0" * 400 + "}"),
    ],
)
def test_what_go_cannot_decode_is_invalid(data: bytes) -> None:
    with pytest.raises(InvalidPayload):
        parse_payload(data, GPG_PAYLOAD_TYPE)


def test_invalid_utf8_in_an_optional_string_reads_as_go_does() -> None:
    """Go's decoder reads invalid UTF-8 inside a string as U+FFFD; it is not a syntax error."""
    data = text('{"creator":"a#"}').replace(b"a#", b"a\xff")
    assert parse_payload(data, GPG_PAYLOAD_TYPE).creator == "a\ufffd"


def test_base64_signature_with_line_breaks_verifies() -> None:
    """``base64.StdEncoding.DecodeString`` skips CR and LF: a wrapped signature annotation is the
    same signature. Other characters are still an error."""
    key = ec.generate_private_key(ec.SECP256R1())
    payload = text("null", SIGSTORE_PAYLOAD_TYPE)
    b64 = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    wrapped = "\r\n".join(b64[i : i + 20] for i in range(0, len(b64), 20)) + "\n"
    assert verify_blob([key.public_key()], payload, wrapped).valid
    assert not verify_blob([key.public_key()], payload, " " + b64).valid


def test_p224_keys_are_trusted_keys_too() -> None:
    """``cryptoutils.UnmarshalPEMToPublicKey`` parses any curve crypto/x509 knows (P-224 to P-521) and
    sigstore's ``LoadVerifier`` takes any ECDSA key, verifying over SHA-256."""
    from cryptography.hazmat.primitives import serialization

    from imgextract.signatures.sigstore import load_public_keys

    key = ec.generate_private_key(ec.SECP224R1())
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (loaded,) = load_public_keys([pem], source="test")
    payload = text("null", SIGSTORE_PAYLOAD_TYPE)
    b64 = base64.b64encode(key.sign(payload, ec.ECDSA(hashes.SHA256()))).decode()
    assert verify_blob([loaded], payload, b64).valid
