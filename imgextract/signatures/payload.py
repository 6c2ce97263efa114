"""The signed payload: "atomic container signature" (GPG simple signing) and its sigstore twin.

``{"critical": {"type": T, "image": {"docker-manifest-digest": D}, "identity": {"docker-reference": R}},
"optional": {...}}``, parsed as strictly as containers/image does: ``critical`` and its members have
exactly these fields; ``optional`` may hold anything, but ``creator`` must be a string and
``timestamp`` an integer.  Nothing in a payload is trusted before its signature verified.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from imgextract.errors import InvalidReference
from imgextract.oci import jsontext
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


class _Object(dict[str, Any]):
    """A decoded JSON object that remembers a repeated key (refused only where the paranoid parser
    walks: an unknown optional field's value is decoded by ``encoding/json``, where the last wins)."""

    duplicate: str | None = None


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = _Object()
    for k, v in pairs:
        if k in out and out.duplicate is None:
            out.duplicate = k
        out[k] = v
    return out


def _float64(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # Go: "cannot unmarshal number ... into Go value of type float64"
        raise InvalidPayload(f"number {text[:20]} is out of range")
    return value


def _int_as_float64(text: str) -> int:
    _float64(text)
    return int(text)


def _paranoid(value: Any, where: str) -> dict[str, Any]:
    """``ParanoidUnmarshalJSONObject``: an object without a repeated key."""
    if not isinstance(value, dict):
        raise InvalidPayload(f"{where} is not a JSON object")
    if getattr(value, "duplicate", None) is not None:
        raise InvalidPayload(f"{where}: duplicate field {value.duplicate!r}")  # type: ignore[attr-defined]
    return value


def _exact(value: Any, where: str, fields: tuple[str, ...]) -> dict[str, Any]:
    obj = _paranoid(value, where)
    if set(obj) != set(fields):
        extra = sorted(set(obj) - set(fields))
        missing = sorted(set(fields) - set(obj))
        what = f"unknown field {extra[0]!r}" if extra else f"missing field {missing[0]!r}"
        raise InvalidPayload(f"{where}: {what}")
    return obj


def _no_constant(name: str) -> Any:
    raise InvalidPayload(f"{name} is not JSON")


def _timestamp(value: Any) -> int:
    """As Go reads it: a float64 holding an int64 (fractions, overflow: invalid; null: 0)."""
    if value is None:
        return 0
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
    """The payload as ``strictUnmarshalJSON`` reads it. Go's decoder reads UTF-8 only (invalid
    sequences in strings as U+FFFD; a byte order mark is not JSON), numbers as float64, and
    ``null`` into a string or number field as its zero value."""
    try:
        doc = jsontext.loads(
            data.decode("utf-8", "replace"),
            object_pairs_hook=_pairs,
            parse_constant=_no_constant,
            parse_float=_float64,
            parse_int=_int_as_float64,
        )
    except InvalidPayload:
        raise
    except ValueError:
        raise InvalidPayload("signed payload is not valid JSON") from None
    top = _exact(doc, "signature", ("critical", "optional"))
    optional = top["optional"]
    creator: str | None = None
    timestamp: int | None = None
    if optional is not None or expected_type != SIGSTORE_PAYLOAD_TYPE:  # cosign writes "optional": null
        optional = _paranoid(optional, "optional")
        if "creator" in optional:
            if optional["creator"] is not None and not isinstance(optional["creator"], str):
                raise InvalidPayload("optional.creator is not a string")
            creator = optional["creator"] or ""
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
