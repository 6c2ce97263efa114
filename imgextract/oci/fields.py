"""Fields of JSON documents (manifests, indexes, descriptors, configs) read as containers/image
reads them: Go's ``encoding/json`` decoding into the image-spec types.  Wrong is IntegrityError.

Go fills a struct field from the key that names it exactly or else case-insensitively (``Layers``
fills ``layers``), and a later key overwrites an earlier one; ``null`` leaves a string, number or
struct field as it was and empties a slice, map or pointer field; a ``null`` element of a list or
map is the element type's zero value (``""``).  A value of the wrong type under any key naming a
field makes the whole document undecodable, for a field the pull never uses too, and even when a
later key names the same field again.

A :class:`Struct` lists a Go struct's fields (name, kind); :meth:`Struct.decode` checks every key
of an object in one pass and returns the fields Go would fill, by folded name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from imgextract.errors import IntegrityError
from imgextract.oci import jsontext

INT64_MAX = 2**63 - 1

_FOLDED: dict[str, str] = {}  # field names and common keys repeat: fold each once


def fold(key: str) -> str:
    """A key as Go's field matching compares it (ASCII case, plus the Kelvin sign and long s
    that Unicode folds onto ``k`` and ``s``)."""
    folded = _FOLDED.get(key)
    if folded is None:
        folded = key.lower() if key.isascii() else key.replace("\u017f", "s").lower()
        if len(_FOLDED) < 4096 and len(key) <= 64:  # bounded: keys come from hostile documents
            _FOLDED[key] = folded
    return folded


def go_fields(data: Mapping[str, Any], nullable: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The fields Go's decoder fills from ``data``, by folded name, without type checks: the last
    key naming a field wins; ``null`` is skipped unless the folded name is in ``nullable``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = _FOLDED.get(key) or fold(key)
        if value is not None:
            out[name] = value
        elif name in nullable:
            out.pop(name, None)
    return out


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_int64(v: Any) -> bool:
    return type(v) is int and -INT64_MAX - 1 <= v <= INT64_MAX


def _is_object(v: Any) -> bool:
    return isinstance(v, dict)


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) or x is None for x in v)


def _is_str_map(v: Any) -> bool:
    return isinstance(v, dict) and all(isinstance(x, str) or x is None for x in v.values())


def _is_set(v: Any) -> bool:  # map[string]struct{}
    return isinstance(v, dict) and all(isinstance(x, dict) or x is None for x in v.values())


def _is_object_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, dict) or x is None for x in v)


def _is_bytes(v: Any) -> bool:
    """``[]byte``: base64 text as Go's ``StdEncoding`` decodes it, or (Go decodes a slice of uint8
    from one too) a list of integers 0-255."""
    if isinstance(v, list):
        return all(x is None or (type(x) is int and 0 <= x <= 255) for x in v)
    if not isinstance(v, str):
        return False
    try:
        jsontext.go_base64_check(v.encode("utf-8", "surrogatepass"))
    except ValueError:
        return False
    return True


KINDS: dict[str, tuple[Callable[[Any], bool], str, bool]] = {
    # kind: (check, what the message says it must be, whether null empties it)
    "string": (_is_str, "a string", False),
    "bool": (_is_bool, "true or false", False),
    "int64": (_is_int64, "an integer within int64", False),
    "struct": (_is_object, "an object", False),
    "pointer": (_is_object, "an object", True),
    "list": (_is_list, "a list", True),
    "objects": (_is_object_list, "a list of objects", True),
    "strings": (_is_str_list, "a list of strings", True),
    "map": (_is_str_map, "an object mapping strings to strings", True),
    "set": (_is_set, "an object of objects", True),
    "bytes": (_is_bytes, "base64 text or a list of bytes", True),
}


class Struct:
    """A Go struct's JSON fields: ``Struct(what, mediaType="string", size="int64", ...)``."""

    __slots__ = ("what", "fields", "nullable")

    def __init__(self, what: str, **fields: str) -> None:
        self.what: Final = what
        # folded name -> (field name, check, kind text)
        self.fields: Final = {
            fold(name.replace("__", ".")): (name.replace("__", "."), KINDS[kind][0], KINDS[kind][1])
            for name, kind in fields.items()
        }
        self.nullable: Final = frozenset(
            fold(name.replace("__", ".")) for name, kind in fields.items() if KINDS[kind][2]
        )

    def decode(self, data: Mapping[str, Any], what: str | None = None) -> dict[str, Any]:
        """``data``'s fields by folded name (null elements of lists and maps are ""), after
        checking every key that names a field, as Go's decoder does; IntegrityError otherwise."""
        out: dict[str, Any] = {}
        known = self.fields
        for key, value in data.items():
            name = _FOLDED.get(key) or fold(key)
            field = known.get(name)
            if field is None:
                continue
            if value is None:
                if name in self.nullable:
                    out.pop(name, None)
                continue
            if not field[1](value):
                raise IntegrityError(f"malformed {what or self.what}: {field[0]!r} must be {field[2]}")
            out[name] = value
        return out


def strings(value: list[Any] | None) -> tuple[str, ...]:
    """A decoded ``[]string`` (null elements are "")."""
    return tuple(v if v is not None else "" for v in value) if value else ()


def string_map(value: dict[str, Any] | None) -> dict[str, str]:
    """A decoded ``map[string]string`` (null values are "")."""
    return {k: v if v is not None else "" for k, v in value.items()} if value else {}


def load_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        data = jsontext.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"malformed {what}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise IntegrityError(f"malformed {what}: not a JSON object")
    return data
