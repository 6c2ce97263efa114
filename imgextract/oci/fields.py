"""Strict readers for fields of JSON documents (manifests, indexes, configs): wrong is IntegrityError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imgextract.errors import IntegrityError
from imgextract.oci import jsontext


def require(data: Mapping[str, Any], key: str, kind: type, what: str) -> Any:
    value = data.get(key)
    if value is None:
        raise IntegrityError(f"malformed {what}: missing {key!r}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise IntegrityError(f"malformed {what}: {key!r} has the wrong type")
    return value


def string_map(data: Mapping[str, Any], key: str, what: str) -> dict[str, str]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise IntegrityError(f"malformed {what}: {key!r} must map strings to strings")
    return dict(value)


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = jsontext.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"malformed {what}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise IntegrityError(f"malformed {what}: not a JSON object")
    return data
