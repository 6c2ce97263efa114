"""Signature payloads: the exact shape containers/image accepts, and the digest check."""

from __future__ import annotations

import hashlib
import json

import pytest

from imgextract.signatures.payload import (
    GPG_PAYLOAD_TYPE,
    SIGSTORE_PAYLOAD_TYPE,
    InvalidPayload,
    manifest_matches,
    parse_payload,
)

D = "sha256:" + "a" * 64


def doc(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "critical": {
            "type": GPG_PAYLOAD_TYPE,
            "image": {"docker-manifest-digest": D},
            "identity": {"docker-reference": "quay.io/a/b:v1"},
        },
        "optional": {"creator": "atomic 5.23.1", "timestamp": 1700000000},
    }
    base.update(over)
    return base


def test_valid_payload() -> None:
    p = parse_payload(json.dumps(doc()).encode(), GPG_PAYLOAD_TYPE)
    assert (p.docker_manifest_digest, p.docker_reference, p.creator, p.timestamp) == (
        D,
        "quay.io/a/b:v1",
        "atomic 5.23.1",
        1700000000,
    )


def test_cosign_null_optional() -> None:
    d = doc(optional=None)
    d["critical"]["type"] = SIGSTORE_PAYLOAD_TYPE  # type: ignore[index]
    assert parse_payload(json.dumps(d).encode(), SIGSTORE_PAYLOAD_TYPE).creator is None
    with pytest.raises(InvalidPayload):
        parse_payload(json.dumps(doc(optional=None)).encode(), GPG_PAYLOAD_TYPE)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("optional"),
        lambda d: d.update(extra=1),
        lambda d: d["critical"].update(extra=1),
        lambda d: d["critical"].update(type="cosign container image signature"),
        lambda d: d["critical"]["image"].update({"docker-manifest-digest": "sha256:zz"}),
        lambda d: d["critical"]["image"].update(extra=1),
        lambda d: d["critical"]["identity"].update({"docker-reference": 5}),
        lambda d: d["optional"].update(timestamp=1.5),
        lambda d: d["optional"].update(creator=7),
    ],
)
def test_invalid_payloads(mutate: object) -> None:
    d = doc()
    mutate(d)  # type: ignore[operator]
    with pytest.raises(InvalidPayload):
        parse_payload(json.dumps(d).encode(), GPG_PAYLOAD_TYPE)


def test_unknown_optional_fields_are_ignored_and_duplicates_refused() -> None:
    d = doc()
    d["optional"]["anything"] = {"x": 1}  # type: ignore[index]
    parse_payload(json.dumps(d).encode(), GPG_PAYLOAD_TYPE)
    with pytest.raises(InvalidPayload, match="duplicate"):
        parse_payload(b'{"critical": {}, "critical": {}, "optional": {}}', GPG_PAYLOAD_TYPE)
    with pytest.raises(InvalidPayload, match="not valid JSON"):
        parse_payload(b"\xff", GPG_PAYLOAD_TYPE)


def test_manifest_matches_across_algorithms() -> None:
    raw = b'{"schemaVersion": 2}'
    d256 = "sha256:" + hashlib.sha256(raw).hexdigest()
    d512 = "sha512:" + hashlib.sha512(raw).hexdigest()
    assert manifest_matches(d256, d256, None)
    assert not manifest_matches(D, d256, raw)
    assert manifest_matches(d512, d256, raw)
    assert not manifest_matches(d512, d256, None)


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400, "1.5", "1e19"]
)
def test_timestamps_go_cannot_read_are_invalid_not_a_crash(value: str) -> None:
    """Go's decoder refuses NaN/Infinity (not JSON) and numbers beyond float64/int64: an invalid
    signature, never a ValueError/OverflowError escaping as an internal error."""
    text = json.dumps(doc()).replace("1700000000", value)
    with pytest.raises(InvalidPayload):
        parse_payload(text.encode(), GPG_PAYLOAD_TYPE)


def test_nan_anywhere_makes_the_payload_invalid() -> None:
    """NaN is not JSON: containers/image cannot parse such a payload, even in an ignored field."""
    text = json.dumps(doc(optional={"creator": "x", "extra": 1})).replace('"extra": 1', '"extra": NaN')
    with pytest.raises(InvalidPayload):
        parse_payload(text.encode(), GPG_PAYLOAD_TYPE)
