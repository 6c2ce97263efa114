"""Verify a resolved image: read its signatures from where it was pulled, judge it by the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imgextract.reference import Reference
from imgextract.registry.client import RegistryClient
from imgextract.signatures.errors import SignatureRefused
from imgextract.signatures.evaluate import Subject, evaluate
from imgextract.signatures.fetch import (
    LookasideReader,
    RawSignature,
    read_lookaside,
    read_sigstore_attachments,
)
from imgextract.signatures.registries_d import RegistriesD
from imgextract.signatures.requirements import Policy
from imgextract.signatures.verdict import Verdict


@dataclass(frozen=True)
class Verifier:
    """A policy with its registries.d and a lookaside reader: judges images, never fetches a layer.

    Trusted keys are loaded once per requirement and reused for every image judged."""

    policy: Policy
    registries: RegistriesD
    reader: LookasideReader
    keys: dict[object, Any] = field(default_factory=dict, compare=False, repr=False)

    def signatures(self, client: RegistryClient, physical: Reference, digest: str) -> list[RawSignature]:
        """GPG signatures from the lookaside of ``physical`` (the mirror's, when pulled from a mirror),
        then cosign attachments when registries.d asks for them."""
        found = read_lookaside(self.reader, self.registries.lookaside_base(physical), digest)
        if self.registries.use_sigstore_attachments(physical):
            found += read_sigstore_attachments(client, physical.repository, digest)
        return found

    def judge(
        self,
        logical: Reference,
        physical: Reference,
        client: RegistryClient,
        digest: str,
        manifest_raw: bytes | None = None,
    ) -> Verdict:
        """``logical``: what the user asked for (scope and identity); ``digest``: the manifest pulled."""
        raw = (
            manifest_raw
            if manifest_raw is not None
            else (lambda: client.get_manifest(physical.repository, digest).raw)
        )
        subject = Subject(logical, digest, raw, source=physical.name)
        return evaluate(self.policy, subject, lambda: self.signatures(client, physical, digest), self.keys)


def refusal(verdict: Verdict) -> SignatureRefused:
    """The error for a refused image: one line, and the verdict itself as ``.verdict``."""
    return SignatureRefused(verdict.message(), verdict=verdict)


def require_accepted(verdict: Verdict) -> Verdict:
    """Raise :class:`SignatureRefused` unless the verdict accepts the image."""
    if not verdict.accepted:
        raise refusal(verdict)
    return verdict
