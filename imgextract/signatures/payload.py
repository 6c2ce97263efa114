"""The signed payload: "atomic container signature" (GPG simple signing) and its sigstore twin.

``{"critical": {"type": T, "image": {"docker-manifest-digest": D}, "identity": {"docker-reference": R}},
"optional": {...}}``, parsed as strictly as containers/image does: ``critical`` and its members have
exactly these fields; ``optional`` may hold anything, but ``creator`` must be a string and
``timestamp`` an integer.  Nothing in a payload is trusted before its signature verified.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from imgextract.errors import InvalidReference
from imgextract.reference import validate_digest

GPG_PAYLOAD_TYPE = "atomic container signature"
SIGSTORE_PAYLOAD_TYPE = "cosign container image signature"


class InvalidPayload(ValueError):
    """The signed content is not a well-formed signature payload."""


@dataclass(frozen=True)
class Payload:
    docker_manifest_digest: str
    docker_reference: str
    creator: str | None = None
    timestamp: int | None = None


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise InvalidPayload(f"duplicate field {k!r}")
        out[k] = v
    return out


def _exact(value: Any, where: str, fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidPayload(f"{where} is not a JSON object")
    if set(value) != set(fields):
        extra = sorted(set(value) - set(fields))
        missing = sorted(set(fields) - set(value))
        what = f"unknown field {extra[0]!r}" if extra else f"missing field {missing[0]!r}"
        raise InvalidPayload(f"{where}: {what}")
    return value


def _no_constant(name: str) -> Any:
    raise InvalidPayload(f"{name} is not JSON")


def _timestamp(value: Any) -> int:
    """As Go reads it: a float64 holding an int64 (NaN, infinities, fractions, overflow: invalid)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPayload("optional.timestamp is not an integer")
    try:
        f = float(value)
    except OverflowError:
        raise InvalidPayload("optional.timestamp is out of range") from None
    if not math.isfinite(f) or f != math.floor(f) or not -(2**63) <= f < 2**63:
        raise InvalidPayload("optional.timestamp is not an integer")
    return int(f)


def parse_payload(data: bytes, expected_type: str) -> Payload:
    try:
        doc = json.loads(data, object_pairs_hook=_pairs, parse_constant=_no_constant)
    except InvalidPayload:
        raise
    except (ValueError, UnicodeDecodeError):
        raise InvalidPayload("signed payload is not valid JSON") from None
    top = _exact(doc, "signature", ("critical", "optional"))
    optional = top["optional"]
    creator: str | None = None
    timestamp: int | None = None
    if optional is not None or expected_type != SIGSTORE_PAYLOAD_TYPE:  # cosign writes "optional": null
        if not isinstance(optional, dict):
            raise InvalidPayload("optional is not a JSON object")
        if "creator" in optional:
            if not isinstance(optional["creator"], str):
                raise InvalidPayload("optional.creator is not a string")
            creator = optional["creator"]
        if "timestamp" in optional:
            timestamp = _timestamp(optional["timestamp"])
    critical = _exact(top["critical"], "critical", ("type", "image", "identity"))
    if critical["type"] != expected_type:
        raise InvalidPayload(f"unrecognized signature type {critical['type']!r}")
    image = _exact(critical["image"], "critical.image", ("docker-manifest-digest",))
    digest = image["docker-manifest-digest"]
    if not isinstance(digest, str):
        raise InvalidPayload("docker-manifest-digest is not a string")
    try:
        validate_digest(digest)
    except InvalidReference:
        raise InvalidPayload(f"invalid docker-manifest-digest value {digest!r}") from None
    identity = _exact(critical["identity"], "critical.identity", ("docker-reference",))
    ref = identity["docker-reference"]
    if not isinstance(ref, str):
        raise InvalidPayload("docker-reference is not a string")
    return Payload(digest, ref, creator, timestamp)


def manifest_matches(claimed: str, pulled_digest: str, manifest_raw: bytes | None) -> bool:
    """Does the signed digest name the manifest pulled?  Same algorithm: compare; else hash the bytes."""
    algorithm = claimed.split(":", 1)[0]
    if algorithm == pulled_digest.split(":", 1)[0]:
        return claimed == pulled_digest
    if manifest_raw is None:
        return False
    return f"{algorithm}:{hashlib.new(algorithm, manifest_raw).hexdigest()}" == claimed
