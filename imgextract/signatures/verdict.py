"""The typed result of a verification: which scope applied, what each signature said, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class SignatureCheck:
    """One signature as a requirement judged it.  ``identity`` is what the signature claims (only
    trustworthy when ``valid``); ``key_id`` the key that made it (or the unknown key that claims to)."""

    type: Literal["gpg", "sigstore"]
    source: str
    valid: bool
    key_id: str | None = None
    identity: str | None = None
    digest: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The signature check as ``verify --json`` lists it."""
        return {
            "type": self.type,
            "keyId": self.key_id,
            "identity": self.identity,
            "digest": self.digest,
            "valid": self.valid,
            "reason": self.reason,
            "source": self.source,
        }


@dataclass(frozen=True)
class Verdict:
    """``accepted`` or not; when refused, ``requirement`` is the one that refused and ``reason`` why."""

    reference: str
    digest: str
    scope: str
    accepted: bool
    requirement: str | None = None
    reason: str | None = None
    signatures: tuple[SignatureCheck, ...] = ()
    source: str | None = None  # where the image (and its signatures) came from

    @property
    def verdict(self) -> Literal["accepted", "rejected"]:
        """``accepted`` or ``rejected``, as ``verify --json`` says it."""
        return "accepted" if self.accepted else "rejected"

    def message(self) -> str:
        """One line: the reference, the scope and requirement, and why."""
        if self.accepted:
            return f"{self.reference}: accepted by {self.scope}"
        return f"{self.reference}: refused by {self.scope}, requirement {self.requirement}: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        """The ``bundle-extract verify --json`` object."""
        return {
            "reference": self.reference,
            "digest": self.digest,
            "scope": self.scope,
            "verdict": self.verdict,
            "requirement": self.requirement,
            "reason": self.reason,
            "source": self.source,
            "signatures": [s.to_json() for s in self.signatures],
        }
