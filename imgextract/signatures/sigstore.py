"""Sigstore (cosign) signatures with public keys: verify a base64 signature over the payload bytes.

Keys are PEM public keys (ECDSA P-224 to P-521, RSA, Ed25519).  As sigstore's verifiers do
with the hash containers/image fixes: ECDSA and RSA (PKCS#1 v1.5) over SHA-256; Ed25519 over
the payload itself.  Fulcio certificates, Rekor bundles and PKI roots are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from imgextract.oci.jsontext import go_base64
from imgextract.signatures.errors import PolicyError
from imgextract.signatures.fetch import SIMPLESIGNING_MEDIA_TYPE

__all__ = ["SIGNATURE_ANNOTATION", "SIMPLESIGNING_MEDIA_TYPE", "load_public_keys", "verify_blob"]

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
_CURVES = (ec.SECP224R1, ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)  # what crypto/x509 parses

PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey


def load_public_keys(blobs: list[bytes], *, source: str) -> list[PublicKey]:
    keys: list[PublicKey] = []
    for i, blob in enumerate(blobs, 1):
        try:
            key = serialization.load_pem_public_key(blob)
        except (ValueError, UnsupportedAlgorithm, TypeError) as exc:
            raise PolicyError(
                f"cannot parse public key {i} from {source}: {str(exc) or 'not a PEM public key'}"
            ) from None
        if isinstance(key, ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, _CURVES):
                raise PolicyError(f"public key {i} from {source}: unsupported curve {key.curve.name}")
        elif not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
            raise PolicyError(f"public key {i} from {source}: unsupported key type {type(key).__name__}")
        keys.append(key)
    if not keys:
        raise PolicyError(f"no public keys in {source}")
    return keys


@dataclass(frozen=True)
class SigstoreResult:
    key_id: str | None
    reason: str | None

    @property
    def valid(self) -> bool:
        return self.reason is None


def key_id(key: PublicKey) -> str:
    """A short, stable name for a key: sha256 of its DER SubjectPublicKeyInfo (first 16 hex)."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return "sha256:" + digest.finalize().hex()[:16]


def _verify_one(key: PublicKey, signature: bytes, payload: bytes) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
    else:
        key.verify(signature, payload)


def verify_blob(keys: list[PublicKey], payload: bytes, base64_signature: str) -> SigstoreResult:
    """Which trusted key (if any) made ``base64_signature`` over ``payload``."""
    try:  # base64.StdEncoding.DecodeString (VerifySigstorePayload)
        signature = go_base64(base64_signature)
    except ValueError:
        return SigstoreResult(None, "signature annotation is not valid base64")
    for key in keys:
        try:
            _verify_one(key, signature, payload)
        except (InvalidSignature, ValueError):
            continue
        return SigstoreResult(key_id(key), None)
    return SigstoreResult(None, "cryptographic signature verification failed: not signed by a trusted key")
