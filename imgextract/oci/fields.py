"""Fields of JSON documents (manifests, indexes, descriptors, configs) read as containers/image
reads them: Go's ``encoding/json`` decoding into the image-spec types.  Wrong is IntegrityError.

Go fills a struct field from the key that names it exactly or else case-insensitively (``Layers``
fills ``layers``), and a later key overwrites an earlier one; ``null`` leaves a string, number or
struct field as it was and empties a slice, map or pointer field; a ``null`` element of a list or
map is the element type's zero value (``""``).  A value of the wrong type anywhere makes the whole
document undecodable, in a field the pull never uses too.  :func:`go_fields` gives a document's
fields by folded name; the ``go_*`` readers check one field's type as Go's decoder would.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from imgextract.errors import IntegrityError
from imgextract.oci import jsontext

INT64_MAX = 2**63 - 1


def fold(key: str) -> str:
    """A key as Go's field matching compares it (ASCII case, plus the Kelvin sign and long s
    that Unicode folds onto ``k`` and ``s``)."""
    return key.lower() if key.isascii() else key.replace("\u017f", "s").lower()


def go_fields(data: Mapping[str, Any], nullable: Collection[str] = ()) -> dict[str, Any]:
    """The fields Go's decoder fills from ``data``, by folded name (``go_fields(d)["mediatype"]``):
    the last key naming a field wins; ``null`` is skipped unless the field's folded name is in
    ``nullable`` (slices, maps and pointers, which ``null`` empties)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = fold(key)
        if value is not None:
            out[name] = value
        elif name in nullable:
            out.pop(name, None)
    return out


def _type_error(what: str, name: str, kind: str) -> IntegrityError:
    return IntegrityError(f"malformed {what}: {name!r} must be {kind}")


def go_str(fields: Mapping[str, Any], name: str, what: str) -> str:
    """A ``string`` field ("" when absent)."""
    value = fields.get(fold(name), "")
    if not isinstance(value, str):
        raise _type_error(what, name, "a string")
    return value


def go_bool(fields: Mapping[str, Any], name: str, what: str) -> bool:
    value = fields.get(fold(name), False)
    if not isinstance(value, bool):
        raise _type_error(what, name, "true or false")
    return value


def go_int64(value: Any, name: str, what: str) -> int:
    """An ``int64`` value: an integer literal within int64 (Go refuses ``1.0``, ``1e3``, 2**63)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise IntegrityError(f"malformed {what}: {name!r} has the wrong type")
    if not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise IntegrityError(f"malformed {what}: {name!r} {value} is out of int64 range")
    return value


def go_object(fields: Mapping[str, Any], name: str, what: str) -> dict[str, Any] | None:
    """A struct (or pointer to one) field: an object, or None when absent."""
    value = fields.get(fold(name))
    if value is not None and not isinstance(value, dict):
        raise _type_error(what, name, "an object")
    return value


def go_list(fields: Mapping[str, Any], name: str, what: str) -> list[Any]:
    """A slice field: a list ([] when absent)."""
    value = fields.get(fold(name), [])
    if not isinstance(value, list):
        raise _type_error(what, name, "a list")
    return value


def go_str_list(fields: Mapping[str, Any], name: str, what: str) -> tuple[str, ...]:
    """A ``[]string`` field (a ``null`` element is "")."""
    items = go_list(fields, name, what)
    if not all(isinstance(v, str) or v is None for v in items):
        raise _type_error(what, name, "a list of strings")
    return tuple(v if v is not None else "" for v in items)


def go_str_map(fields: Mapping[str, Any], name: str, what: str) -> dict[str, str]:
    """A ``map[string]string`` field ({} when absent; a ``null`` value is "")."""
    value = fields.get(fold(name), {})
    if not isinstance(value, dict) or not all(isinstance(v, str) or v is None for v in value.values()):
        raise _type_error(what, name, "an object mapping strings to strings")
    return {k: v if v is not None else "" for k, v in value.items()}


def go_set(fields: Mapping[str, Any], name: str, what: str) -> None:
    """A ``map[string]struct{}`` field (``ExposedPorts``, ``Volumes``): objects or ``null``."""
    value = fields.get(fold(name), {})
    if not isinstance(value, dict) or not all(isinstance(v, dict) or v is None for v in value.values()):
        raise _type_error(what, name, "an object of objects")


def go_bytes(fields: Mapping[str, Any], name: str, what: str) -> None:
    """A ``[]byte`` field: base64 text as Go's ``StdEncoding`` decodes it, or (Go decodes a slice
    of ``uint8`` from one too) a list of integers 0-255; checked, not kept."""
    value = fields.get(fold(name))
    if value is None:
        return
    if isinstance(value, list):
        if not all(v is None or (type(v) is int and 0 <= v <= 255) for v in value):
            raise _type_error(what, name, "base64 text or a list of bytes")
        return
    if not isinstance(value, str):
        raise _type_error(what, name, "base64 text")
    try:
        jsontext.go_base64_check(value.encode("utf-8", "surrogatepass"))
    except ValueError as exc:
        raise IntegrityError(f"malformed {what}: {name!r} is not base64 ({exc})") from None


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = jsontext.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"malformed {what}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise IntegrityError(f"malformed {what}: not a JSON object")
    return data
