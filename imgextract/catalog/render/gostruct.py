"""Go ``json.Unmarshal`` into a struct, for the few fields opm reads.

Go matches JSON keys to struct fields exactly or, failing that, case-insensitively; a later key wins; a
``null`` leaves the field at its zero value; a value of the wrong type is an error.  These helpers give
those semantics over decoded Python values.
"""

from __future__ import annotations

from typing import Any

from imgextract.oci.fields import fold

__all__ = ["TypeMismatch", "field", "raw_members", "string_field"]


class TypeMismatch(ValueError):
    """``json: cannot unmarshal X into Go struct field ...``"""


def field(obj: dict[str, Any], name: str) -> Any:
    """The value Go's decoder would store in the field tagged ``name`` (None if absent or null)."""
    low = fold(name)
    if name in obj:
        for k in obj:
            if k != name and fold(k) == low:
                break
        else:
            return obj[name]
    found = None
    for k, v in obj.items():
        if k == name or fold(k) == low:
            found = v if v is not None else found
    return found


def json_type(v: Any) -> str:
    """The JSON type name Go's ``json.Unmarshal`` errors give a decoded value."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def string_field(obj: dict[str, Any], name: str, where: str) -> str:
    v = field(obj, name)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise TypeMismatch(
            f"json: cannot unmarshal {json_type(v)} into Go struct field {where}.{name} of type string"
        )
    return v


def expect(v: Any, kind: type, where: str) -> Any:
    if v is None:
        return None
    if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
        want = {dict: "object", list: "array", str: "string", bool: "bool", int: "number"}.get(kind, "value")
        raise TypeMismatch(f"json: cannot unmarshal {json_type(v)} into Go value {where} (want {want})")
    return v


def raw_members(text: str, start: int = 0) -> list[tuple[str, str]]:
    """The members of the JSON object at ``text[start:]`` as ``(key, raw value text)`` (what a
    ``json.RawMessage`` field receives).  ``text`` must be valid JSON."""
    import json

    dec = json.JSONDecoder()
    i = _ws(text, start)
    if text[i] != "{":
        raise TypeMismatch("json: cannot unmarshal non-object into Go value of type struct")
    i = _ws(text, i + 1)
    out: list[tuple[str, str]] = []
    if text[i] == "}":
        return out
    while True:
        key, i = dec.raw_decode(text, i)
        i = _ws(text, i)
        i = _ws(text, i + 1)  # ':'
        _val, end = dec.raw_decode(text, i)
        out.append((key, text[i:end]))
        i = _ws(text, end)
        if text[i] == "}":
            return out
        i = _ws(text, i + 1)  # ','


def raw_elements(text: str, start: int = 0) -> list[tuple[int, str]]:
    """The elements of the JSON array at ``text[start:]`` as ``(offset, raw text)``."""
    import json

    dec = json.JSONDecoder()
    i = _ws(text, start)
    if text[i] != "[":
        raise TypeMismatch("json: cannot unmarshal non-array into Go value of type []T")
    i = _ws(text, i + 1)
    out: list[tuple[int, str]] = []
    if text[i] == "]":
        return out
    while True:
        _val, end = dec.raw_decode(text, i)
        out.append((i, text[i:end]))
        i = _ws(text, end)
        if text[i] == "]":
            return out
        i = _ws(text, i + 1)


def _ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\r\n":
        i += 1
    return i
