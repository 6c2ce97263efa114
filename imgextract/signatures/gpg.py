"""GPG "simple signing": verify an OpenPGP signed message against trusted keys with Sequoia.

The signature blob (a lookaside ``signature-N`` file) is an OpenPGP message that contains the
payload.  A signature counts when it verifies with a key of the keyring from the policy (primary key
or one of its subkeys); the payload is returned for the digest and identity checks.

As containers/image (GPGME) judges it: the message holds exactly one signature (a message signed by
a trusted and another key is invalid, not "one good signature"), and the signing key must be valid
*now*: Sequoia checks a key at the signature's creation time, gpg reports a key that has expired or
was revoked since (``EXPKEYSIG``/``REVKEYSIG``) and containers/image refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from imgextract.signatures.errors import PolicyError
from imgextract.signatures.inflate import TooLarge, check_inflated_size


@dataclass(frozen=True)
class GPGResult:
    """``payload`` is set when the signature verified with ``key_id`` (a trusted primary fingerprint)."""

    payload: bytes | None
    key_id: str | None
    reason: str | None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


class Keyring:
    """Trusted OpenPGP certificates, from the key blobs a ``signedBy`` requirement names."""

    def __init__(self, blobs: list[bytes], *, source: str) -> None:
        import pysequoia

        self._sequoia = pysequoia
        certs: list[Any] = []
        for blob in blobs:
            try:
                certs.extend(pysequoia.Cert.split_bytes(blob))
            except Exception as exc:  # Sequoia raises plain exceptions for malformed data
                raise PolicyError(f"cannot load GPG keys from {source}: {_first_line(exc)}") from None
        if not certs:
            raise PolicyError(f"no GPG public keys in {source}")
        self.certs = certs
        self.fingerprints = [c.fingerprint.upper() for c in certs]
        # Certificates Sequoia's standard policy refuses (RSA under 2048 bits, SHA-1 self-signatures):
        # they verify nothing, and a refusal should say why (GnuPG, skopeo's default, accepts them).
        self.unusable = {
            fpr: why for fpr, c in zip(self.fingerprints, certs, strict=True) if (why := _policy_refusal(c))
        }

    def _count_signatures(self, blob: bytes) -> int:
        tag = self._sequoia.packet.Tag
        return sum(
            1 for packet in self._sequoia.packet.PacketPile.from_bytes(blob) if packet.tag == tag.Signature
        )

    def _not_valid_now(self, certificate: str, signing_key: str) -> str | None:
        """Why the signing key is not usable now (expired or revoked since it signed), or None."""
        now = datetime.now(UTC)
        cert = next(c for c in self.certs if c.fingerprint.upper() == certificate)
        if cert.is_revoked:
            return f"key {certificate} has been revoked"
        if cert.expiration is not None and cert.expiration <= now:
            return f"key {certificate} expired on {cert.expiration:%Y-%m-%d}"
        if signing_key == certificate:
            return None
        return _subkey_not_valid_now(self._sequoia, bytes(cert), certificate, signing_key, now)

    def verify(self, blob: bytes) -> GPGResult:
        asked: list[str] = []
        try:
            check_inflated_size(blob)  # before Sequoia holds the whole signed content in memory
        except TooLarge as exc:
            return GPGResult(None, None, f"invalid GPG signature: {exc}")

        def store(ids: list[str]) -> list[Any]:
            asked.extend(str(i).upper() for i in ids)
            return self.certs

        try:
            result = self._sequoia.verify(bytes=blob, store=store)
        except Exception as exc:
            signer = asked[0] if asked else None
            trusted = signer is not None and any(f.endswith(signer) for f in self.fingerprints)
            found = _trusted_subkey(self.certs, signer) if signer is not None and not trusted else None
            if found is not None:
                owner, problem = found
                detail = (
                    f"cannot verify anything under Sequoia's standard policy: {problem}"
                    if problem
                    else f"could not verify it: {_first_line(exc)}"
                )
                return GPGResult(
                    None, signer, f"invalid GPG signature: signing subkey {signer} of key {owner} {detail}"
                )
            if signer is not None and not any(f.endswith(signer) for f in self.fingerprints):
                return GPGResult(None, signer, f"signature by key {signer} is not accepted")
            refused = next((f for f in self.unusable if signer is not None and f.endswith(signer)), None)
            if refused is not None:
                return GPGResult(
                    None,
                    signer,
                    f"invalid GPG signature: key {refused} cannot verify anything under Sequoia's standard "
                    f"policy: {self.unusable[refused]}",
                )
            return GPGResult(None, signer, f"invalid GPG signature: {_first_line(exc)}")
        valid = list(result.valid_sigs)
        if not valid or result.bytes is None:
            return GPGResult(None, asked[0] if asked else None, "no valid GPG signature")
        key_id = str(valid[0].certificate).upper()
        try:
            count = self._count_signatures(blob)
        except Exception as exc:
            return GPGResult(None, key_id, f"invalid GPG signature: {_first_line(exc)}")
        if count != 1:
            return GPGResult(
                None, key_id, f"invalid GPG signature: the message holds {count} signatures, not 1"
            )
        why = self._not_valid_now(key_id, str(valid[0].signing_key).upper())
        if why is not None:
            return GPGResult(None, key_id, f"invalid GPG signature: {why}")
        return GPGResult(bytes(result.bytes), key_id, None)


_WEAK_HASHES = ("SHA1", "MD5", "RipeMD")
_BITS_ALGORITHMS = {1: "RSA", 2: "RSA", 3: "RSA", 16: "ElGamal", 17: "DSA", 20: "ElGamal"}


def _trusted_subkey(certs: list[Any], signer: str) -> tuple[str, str | None] | None:
    """``(certificate, problem)`` when ``signer`` names a subkey of a trusted certificate, else None.

    ``problem`` is what Sequoia's standard policy refuses about that subkey, read from its packets
    (pysequoia reports no per-subkey validity): an RSA, DSA or ElGamal key under 2048 bits, or a
    binding signature made with SHA-1 (or older); None when nothing such is found."""
    import pysequoia

    tag = pysequoia.packet.Tag
    keys = (tag.PublicKey, tag.SecretKey, tag.PublicSubkey, tag.SecretSubkey)
    for cert in certs:
        found = False
        problem: str | None = None
        for packet in pysequoia.packet.PacketPile.from_bytes(bytes(cert)):
            if packet.tag in (*keys, tag.UserID, tag.UserAttribute):
                if found:
                    break
                subkey = packet.tag in keys[2:] and str(packet.fingerprint).upper().endswith(signer)
                if subkey:
                    found = True
                    body = bytes(packet.body)
                    algorithm = _BITS_ALGORITHMS.get(body[5]) if len(body) > 7 and body[0] == 4 else None
                    bits = int.from_bytes(body[6:8], "big") if algorithm else 0
                    if algorithm and bits < 2048:
                        problem = f"{algorithm}{bits} subkey"
                continue
            if found and packet.tag == tag.Signature and problem is None:
                digest = str(packet.hash_algorithm).rsplit(".", 1)[-1]
                if digest in _WEAK_HASHES:
                    problem = f"{digest} subkey binding signature"
        if found:
            return cert.fingerprint.upper(), problem
    return None


def _policy_refusal(cert: Any) -> str | None:
    """Why Sequoia's standard policy refuses ``cert`` as a whole (the root cause), or None.

    pysequoia checks the certificate against the policy when a property such as its expiration is
    read; the last "Caused by" line of the error is the reason, e.g. ``RSA1024 is not considered
    secure since ...`` or ``SHA1 is not considered secure since ...``."""
    try:
        cert.expiration  # noqa: B018 - read for the policy check it triggers
    except Exception as exc:  # Sequoia raises plain exceptions
        causes = str(exc).split("Stack backtrace:", 1)[0].partition("Caused by:")[2]
        lines = [re.sub(r"^\d+: ", "", line.strip()) for line in causes.splitlines() if line.strip()]
        return lines[-1] if lines else _first_line(exc)
    return None


def _subkey_not_valid_now(
    sequoia: Any, cert: bytes, certificate: str, subkey: str, now: datetime
) -> str | None:
    """Expiry and revocation of a signing subkey, from its newest binding signature in the trusted
    certificate (pysequoia exposes neither directly).  Only ever refuses more."""
    tag, kinds = sequoia.packet.Tag, sequoia.packet.SignatureType
    created: datetime | None = None
    bindings: list[Any] = []
    current = False
    for packet in sequoia.packet.PacketPile.from_bytes(cert):
        if packet.tag in (tag.PublicSubkey, tag.SecretSubkey, tag.UserID, tag.UserAttribute):
            current = (
                packet.tag in (tag.PublicSubkey, tag.SecretSubkey) and packet.fingerprint.upper() == subkey
            )
            if current:
                created = packet.key_created
            continue
        if current and packet.tag == tag.Signature:
            if packet.signature_type == kinds.SubkeyRevocation:
                return f"subkey {subkey} of {certificate} has been revoked"
            if packet.signature_type == kinds.SubkeyBinding:
                bindings.append(packet)
    if created is None or not bindings:
        return None
    newest = max(bindings, key=lambda b: b.signature_created)
    if newest.key_validity_period is not None and created + newest.key_validity_period <= now:
        return f"subkey {subkey} of {certificate} expired on {created + newest.key_validity_period:%Y-%m-%d}"
    return None
