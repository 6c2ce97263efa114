"""GPG "simple signing": verify an OpenPGP signed message against trusted keys with Sequoia.

The signature blob (a lookaside ``signature-N`` file) is an OpenPGP message that contains the
payload.  A signature counts when it verifies with a key of the keyring from the policy (primary key
or one of its subkeys); the payload is returned for the digest and identity checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgextract.signatures.errors import PolicyError


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

    def verify(self, blob: bytes) -> GPGResult:
        asked: list[str] = []

        def store(ids: list[str]) -> list[Any]:
            asked.extend(str(i).upper() for i in ids)
            return self.certs

        try:
            result = self._sequoia.verify(bytes=blob, store=store)
        except Exception as exc:
            signer = asked[0] if asked else None
            if signer is not None and not any(f.endswith(signer) for f in self.fingerprints):
                return GPGResult(None, signer, f"signature by key {signer} is not accepted")
            return GPGResult(None, signer, f"invalid GPG signature: {_first_line(exc)}")
        valid = list(result.valid_sigs)
        if not valid or result.bytes is None:
            return GPGResult(None, asked[0] if asked else None, "no valid GPG signature")
        key_id = str(valid[0].certificate).upper()
        return GPGResult(bytes(result.bytes), key_id, None)
