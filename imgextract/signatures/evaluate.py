"""Policy evaluation: the scope's requirements, in order, each of which must accept the image.

``signedBy`` looks only at GPG signatures, ``sigstoreSigned`` only at cosign signatures (of the
simple-signing media type); one signature that verifies with a trusted key, names the manifest
actually pulled and claims an accepted identity is enough.  Signatures are read lazily, so a
``reject`` or ``insecureAcceptAnything`` scope reads none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from imgextract.reference import Reference
from imgextract.signatures.errors import PolicyError
from imgextract.signatures.fetch import RawSignature
from imgextract.signatures.gpg import Keyring
from imgextract.signatures.identity import IdentityMatch
from imgextract.signatures.payload import (
    GPG_PAYLOAD_TYPE,
    SIGSTORE_PAYLOAD_TYPE,
    InvalidPayload,
    manifest_matches,
    parse_payload,
)
from imgextract.signatures.requirements import (
    InsecureAcceptAnything,
    Policy,
    Reject,
    Requirement,
    SignedBaseLayer,
    SignedBy,
    SigstoreSigned,
)
from imgextract.signatures.verdict import SignatureCheck, Verdict


@dataclass(frozen=True)
class Subject:
    """The image judged: its logical reference (tag or digest) and the manifest digest pulled."""

    reference: Reference
    digest: str
    manifest_raw: bytes | Callable[[], bytes] | None = (
        None  # needed only for a signature using another algorithm
    )
    source: str | None = None

    def raw_manifest(self) -> bytes | None:
        return self.manifest_raw() if callable(self.manifest_raw) else self.manifest_raw


SignatureSource = Callable[[], list[RawSignature]]


class _Lazy:
    def __init__(self, load: SignatureSource) -> None:
        self._load = load
        self._value: list[RawSignature] | None = None

    def __call__(self) -> list[RawSignature]:
        if self._value is None:
            self._value = self._load()
        return self._value


def evaluate(
    policy: Policy, subject: Subject, signatures: SignatureSource, keys: dict[object, Any] | None = None
) -> Verdict:
    """Judge ``subject`` by ``policy``; ``signatures`` is called (at most once) when a requirement needs them.

    ``keys`` caches the loaded trusted keys per requirement (pass the same dict to judge many images)."""
    scope = policy.scope_for(subject.reference)
    lazy = _Lazy(signatures)
    cache = keys if keys is not None else {}
    checks: list[SignatureCheck] = []
    for req in scope.requirements:
        ok, reason, seen = _requirement(req, subject, lazy, cache)
        checks.extend(seen)
        if not ok:
            return Verdict(
                str(subject.reference),
                subject.digest,
                scope.label,
                False,
                req.describe(),
                reason,
                tuple(checks),
                subject.source,
            )
    return Verdict(
        str(subject.reference), subject.digest, scope.label, True, None, None, tuple(checks), subject.source
    )


def _requirement(
    req: Requirement, subject: Subject, sigs: _Lazy, cache: dict[object, Any]
) -> tuple[bool, str | None, list[SignatureCheck]]:
    if isinstance(req, InsecureAcceptAnything):
        return True, None, []
    if isinstance(req, Reject):
        return False, "the policy rejects every image in this scope", []
    if isinstance(req, SignedBaseLayer):
        raise PolicyError(
            "policy requirement signedBaseLayer is not implemented (by containers/image either)"
        )
    if isinstance(req, SignedBy):
        return _signed_by(req, subject, sigs, cache)
    return _sigstore_signed(req, subject, sigs, cache)


def _judge_payload(
    data: bytes, kind: str, subject: Subject, identity: IdentityMatch
) -> tuple[str | None, str | None, str | None]:
    """(claimed identity, claimed digest, refusal reason or None)."""
    try:
        payload = parse_payload(data, kind)
    except InvalidPayload as exc:
        return None, None, f"invalid signature payload: {exc}"
    claimed_algorithm = payload.docker_manifest_digest.split(":", 1)[0]
    raw = subject.raw_manifest() if claimed_algorithm != subject.digest.split(":", 1)[0] else None
    if not manifest_matches(payload.docker_manifest_digest, subject.digest, raw):
        return (
            payload.docker_reference,
            payload.docker_manifest_digest,
            f"signature is for digest {payload.docker_manifest_digest}, not the manifest pulled ({subject.digest})",
        )
    if not identity.matches(subject.reference, payload.docker_reference):
        return (
            payload.docker_reference,
            payload.docker_manifest_digest,
            f"signature for identity {payload.docker_reference!r} is not accepted ({identity.describe()})",
        )
    return payload.docker_reference, payload.docker_manifest_digest, None


def _summary(checks: list[SignatureCheck], others: int, kind: str) -> str:
    if not checks:
        extra = f" ({others} signature(s) of another kind)" if others else ""
        return f"a {kind} signature was required, but no signature exists{extra}"
    if len(checks) == 1:
        return checks[0].reason or "signature not accepted"
    return "none of the signatures were accepted: " + "; ".join(c.reason or "?" for c in checks)


def _unreadable(sigs: _Lazy) -> tuple[bool, str | None, list[SignatureCheck]] | None:
    """A stored blob that is not a signature at all (empty, unknown format): containers/image fails
    reading the image's signatures and refuses it, however good the others are."""
    for raw in sigs():
        if raw.error:
            check = SignatureCheck(
                "sigstore" if raw.format == "sigstore" else "gpg", raw.source, False, reason=raw.error
            )
            return False, f"cannot read the image's signatures: {raw.source}: {raw.error}", [check]
    return None


def _first_accepted(
    sigs: _Lazy, kind: str, check: Callable[[RawSignature], SignatureCheck | None]
) -> tuple[bool, str | None, list[SignatureCheck]]:
    """The image's signatures judged one by one by ``check`` (None: a signature of another kind)
    until one is accepted; refused when any is unreadable, or none is accepted (``kind`` names the
    signature the requirement wants in the reason)."""
    unreadable = _unreadable(sigs)
    if unreadable is not None:
        return unreadable
    checks: list[SignatureCheck] = []
    others = 0
    for raw in sigs():
        result = check(raw)
        if result is None:
            others += 1
            continue
        checks.append(result)
        if result.valid:
            return True, None, checks
    return False, _summary(checks, others, kind), checks


def _signed_by(
    req: SignedBy, subject: Subject, sigs: _Lazy, cache: dict[object, Any]
) -> tuple[bool, str | None, list[SignatureCheck]]:
    if req.key_type != "GPGKeys":
        raise PolicyError(f"signedBy keyType {req.key_type!r} is not implemented (only GPGKeys)")
    keyring = cache.get(req)
    if keyring is None:
        keyring = cache[req] = Keyring(req.keys.load(), source=req.keys.describe())

    def check(raw: RawSignature) -> SignatureCheck | None:
        if raw.format != "gpg":
            return None
        if raw.error:
            return SignatureCheck("gpg", raw.source, False, reason=raw.error)
        result = keyring.verify(raw.blob)
        if result.payload is None:
            return SignatureCheck("gpg", raw.source, False, result.key_id, reason=result.reason)
        claimed, digest, reason = _judge_payload(
            result.payload, GPG_PAYLOAD_TYPE, subject, req.signed_identity
        )
        return SignatureCheck("gpg", raw.source, reason is None, result.key_id, claimed, digest, reason)

    return _first_accepted(sigs, "GPG", check)


def _sigstore_signed(
    req: SigstoreSigned, subject: Subject, sigs: _Lazy, cache: dict[object, Any]
) -> tuple[bool, str | None, list[SignatureCheck]]:
    if req.unsupported or req.keys is None:
        raise PolicyError(
            f"sigstoreSigned with {req.unsupported} is not supported by bundle-extract (public keys only: "
            "keyPath, keyPaths, keyData, keyDatas)"
        )
    from imgextract.signatures.sigstore import (  # cryptography: loaded only for sigstore policies
        SIGNATURE_ANNOTATION,
        SIMPLESIGNING_MEDIA_TYPE,
        load_public_keys,
        verify_blob,
    )

    keys = cache.get(req)
    if keys is None:
        keys = cache[req] = load_public_keys(req.keys.load(), source=req.keys.describe())

    def check(raw: RawSignature) -> SignatureCheck | None:
        if raw.format != "sigstore" or raw.media_type != SIMPLESIGNING_MEDIA_TYPE:
            return None
        if raw.error:
            return SignatureCheck("sigstore", raw.source, False, reason=raw.error)
        b64 = raw.annotations.get(SIGNATURE_ANNOTATION)
        if b64 is None:
            return SignatureCheck(
                "sigstore", raw.source, False, reason=f"missing {SIGNATURE_ANNOTATION} annotation"
            )
        result = verify_blob(keys, raw.blob, b64)
        if not result.valid:
            return SignatureCheck("sigstore", raw.source, False, reason=result.reason)
        claimed, digest, reason = _judge_payload(
            raw.blob, SIGSTORE_PAYLOAD_TYPE, subject, req.signed_identity
        )
        return SignatureCheck("sigstore", raw.source, reason is None, result.key_id, claimed, digest, reason)

    return _first_accepted(sigs, "sigstore", check)
