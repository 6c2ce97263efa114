"""Signature verification with the containers configuration files: policy.json and registries.d.

GPG "simple signing" (lookaside stores, verified with Sequoia) and sigstore/cosign signatures with
public keys (``.sig`` attachments, verified with ``cryptography``).  Verification needs only the
manifest and the signatures: it runs before any layer is fetched.
"""

from __future__ import annotations

from imgextract.signatures.errors import PolicyError, SignatureRefused
from imgextract.signatures.evaluate import Subject, evaluate
from imgextract.signatures.fetch import LookasideReader, RawSignature
from imgextract.signatures.policy import load_policy, parse_policy
from imgextract.signatures.registries_d import RegistriesD, load_registries_d
from imgextract.signatures.requirements import Policy
from imgextract.signatures.verdict import SignatureCheck, Verdict
from imgextract.signatures.verify import Verifier, refusal, require_accepted

__all__ = [
    "LookasideReader",
    "Policy",
    "PolicyError",
    "RawSignature",
    "RegistriesD",
    "SignatureCheck",
    "SignatureRefused",
    "Subject",
    "Verdict",
    "Verifier",
    "evaluate",
    "load_policy",
    "load_registries_d",
    "parse_policy",
    "refusal",
    "require_accepted",
]
