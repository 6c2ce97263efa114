"""Go ``json.Unmarshal`` into Kubernetes' typed structs: which input fails, and with which error.

opm decodes parts of a CSV into typed Go structs: ``ClusterServiceVersion.GetOperatorImages`` (every
rendered bundle) reads ``spec.install`` into a struct whose deployments are ``apps/v1.DeploymentSpec``,
and the ``bundle-object-to-csv-metadata`` migration reads the whole CSV into operator-framework/api's
``v1alpha1.ClusterServiceVersion``.  A value of the wrong type there (``replicas: "3"``, an env
``value: 8080``, a bad resource quantity) fails opm's render.  :func:`check` walks a decoded value
against a type description the way ``encoding/json`` does:

* object keys find their field exactly or case-insensitively (exactly only, for a ``Struct`` made
  ``exact``: what the API machinery's deserializer reads); unknown keys and ``null`` values are
  skipped; keys are visited in document order (``sort_keys`` for JSON written from a Go map);
* a value of the wrong kind is an ``UnmarshalTypeError`` (``json: cannot unmarshal string into Go
  struct field DeploymentSpec.spec.replicas of type int32``: the innermost struct's name, the JSON
  field names from the root, the Go type); decoding goes on and the FIRST such error is returned;
  a number that does not fit an integer field is ``number 1.5`` / ``number 3000000000``;
* types with their own ``UnmarshalJSON`` (``resource.Quantity``, ``intstr.IntOrString``,
  ``metav1.Time``) fail at once with their own error, which wins over an earlier type error.

Here: the type vocabulary and :func:`check`.  The type descriptions (:mod:`.kubetypes`,
:mod:`.olmtypes`) cover the fields of those structs that carry a non-string type or nest further; a
struct not described (a rarely used volume source, say) is accepted as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from imgextract.catalog.render.gostruct import json_type

__all__ = [
    "Custom",
    "GoTypeError",
    "List",
    "Map",
    "Prim",
    "Struct",
    "check",
]


class GoTypeError(ValueError):
    """What Go's ``json.Unmarshal`` returns for the value."""


# ---------------------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Prim:
    """A Go scalar: ``kind`` is string, bool, int32, int64, any; ``name`` its Go type name."""

    kind: str
    name: str


@dataclass(frozen=True)
class Custom:
    """A type with its own UnmarshalJSON: quantity, intorstr, time."""

    kind: str


@dataclass
class Struct:
    name: str  # Go type name with package ("v1.Container")
    fields: dict[str, Any] = field(default_factory=dict)
    # keys match field names exactly, as the API machinery's deserializer (sigs.k8s.io/json) reads
    # them; encoding/json also takes a key that differs in case only
    exact: bool = False
    _folded: dict[str, str] | None = None

    def find(self, key: str) -> tuple[str, Any] | None:
        t = self.fields.get(key)
        if t is not None:
            return key, t
        if self.exact:
            return None
        if self._folded is None:
            self._folded = {k.lower(): k for k in self.fields}
        name = self._folded.get(key.lower())
        return (name, self.fields[name]) if name is not None else None


@dataclass(frozen=True)
class List:
    elem: Any

    @property
    def name(self) -> str:
        return "[]" + _name(self.elem)


@dataclass(frozen=True)
class Map:
    elem: Any
    go_name: str = ""

    @property
    def name(self) -> str:
        return self.go_name or "map[string]" + _name(self.elem)


def _name(t: Any) -> str:
    if isinstance(t, Custom):
        return {"quantity": "resource.Quantity", "intorstr": "intstr.IntOrString", "time": "v1.Time"}[t.kind]
    return str(t.name)


S = Prim("string", "string")
B = Prim("bool", "bool")
I32 = Prim("int32", "int32")
I64 = Prim("int64", "int64")
ANY = Prim("any", "interface {}")
Q = Custom("quantity")
IOS = Custom("intorstr")
TIME = Custom("time")
STRS = List(S)
SMAP = Map(S)


def _named(name: str) -> Prim:
    return Prim("string", name)


def _struct(go_name: str, /, **fields: Any) -> Struct:
    return Struct(go_name, {k.rstrip("_"): v for k, v in fields.items()})


# ---------------------------------------------------------------------------------------- checking


class _Fatal(Exception):
    pass


def _number_text(v: int | float) -> str:
    from imgextract.catalog.render import gojson

    return str(v) if isinstance(v, int) else gojson.json_float(v)


_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_INT_RANGE = {"int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1)}
# parseQuantityString: sign, digits, "." and digits (each part may be empty), then the suffix
_QUANTITY = re.compile(r"[+-]?[0-9]*(?:\.[0-9]*)?(?P<suffix>.*)", re.S)
_QUANTITY_SHAPE = re.compile(r"[eEinumkKMGTP]*[-+]?[0-9]*")  # what the parser takes as a suffix
_QUANTITY_SUFFIX = re.compile(r"(?:|[numkMGTPE]|[KMGTPE]i|[eE][+-]?[0-9]+)")
_QUANTITY_FORMAT = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
)


class _Walk:
    def __init__(self, sort_keys: bool) -> None:
        self.sort_keys = sort_keys
        self.saved: str | None = None
        self.struct = ""
        self.stack: list[str] = []

    def _where(self) -> str:
        return f"Go struct field {self.struct}.{'.'.join(self.stack)}"

    def type_error(self, value: str, type_name: str) -> None:
        if self.saved is None:
            self.saved = (
                f"json: cannot unmarshal {value} into {self._where()} of type {type_name}"
                if self.struct or self.stack
                else f"json: cannot unmarshal {value} into Go value of type {type_name}"
            )

    def fatal_type(self, value: str, type_name: str) -> None:
        """A type error from a type's own UnmarshalJSON: json adds the outer context, and it aborts."""
        where = self._where() if self.struct or self.stack else "Go value"
        raise _Fatal(f"json: cannot unmarshal {value} into {where} of type {type_name}")

    def value(self, v: Any, t: Any) -> None:
        if v is None:
            return
        if isinstance(t, Prim):
            self.prim(v, t)
        elif isinstance(t, Custom):
            self.custom(v, t)
        elif isinstance(t, Struct):
            if not isinstance(v, dict):
                self.type_error(json_type(v), t.name)
                return
            self.struct_(v, t)
        elif isinstance(t, List):
            if not isinstance(v, list):
                self.type_error(json_type(v), t.name)
                return
            for x in v:
                self.value(x, t.elem)
        elif isinstance(t, Map):
            if not isinstance(v, dict):
                self.type_error(json_type(v), t.name)
                return
            for k in sorted(v, key=lambda s: s.encode("utf-8", "surrogatepass")) if self.sort_keys else v:
                self.value(v[k], t.elem)

    def struct_(self, v: dict[str, Any], t: Struct) -> None:
        keys = sorted(v, key=lambda s: s.encode("utf-8", "surrogatepass")) if self.sort_keys else v
        outer_struct, depth = self.struct, len(self.stack)
        fields = t.fields
        for k in keys:
            x = v[k]
            if x is None:
                continue
            ft = fields.get(k)
            if ft is not None:
                name = k
            else:
                found = t.find(k)
                if found is None:
                    continue
                name, ft = found
            if isinstance(ft, Prim) and ft.kind == "string" and isinstance(x, str):
                continue  # the most common field: nothing to check
            self.struct = t.name.rpartition(".")[2]
            self.stack.append(name)
            self.value(x, ft)
            del self.stack[depth:]
            self.struct = outer_struct

    def prim(self, v: Any, t: Prim) -> None:
        if t.kind == "any":
            return
        kind = json_type(v)
        if t.kind in ("string", "bytes"):  # a []byte takes a base64 string (decoded elsewhere)
            if kind != "string":
                self.type_error(kind, t.name)
        elif t.kind == "bool":
            if kind != "bool":
                self.type_error(kind, t.name)
        elif kind != "number":
            self.type_error(kind, t.name)
        else:
            lo, hi = _INT_RANGE[t.kind]
            if not isinstance(v, int) or not lo <= v <= hi:
                text = _number_text(v)
                if isinstance(v, float) and "." not in text and "e" not in text:
                    if lo <= int(text) <= hi:
                        return  # a float64 Go writes as an integer (1.0 -> 1)
                self.type_error("number " + text, t.name)

    def custom(self, v: Any, t: Custom) -> None:
        kind = json_type(v)
        if t.kind == "intorstr":
            if kind == "string":
                return
            if kind != "number":
                self.fatal_type(kind, "int32")
            lo, hi = _INT_RANGE["int32"]
            text = _number_text(v)
            if "." in text or "e" in text or not lo <= int(text) <= hi:
                self.fatal_type("number " + text, "int32")
        elif t.kind == "time":
            if kind != "string":
                self.fatal_type(kind, "string")
            if not _RFC3339.fullmatch(v):
                raise _Fatal(
                    f'parsing time "{v}" as "2006-01-02T15:04:05Z07:00": cannot parse "{v}" as RFC 3339'
                )
        elif t.kind == "quantity":
            # UnmarshalJSON: the JSON text (a string's quotes cut) trimmed, then ParseQuantity
            raw: str = v if kind == "string" else _number_text(v) if kind == "number" else "x"
            raw = raw.strip(_GO_SPACE)
            m = _QUANTITY.fullmatch(raw)
            if not raw or m is None or not _QUANTITY_SHAPE.fullmatch(m.group("suffix")):
                raise _Fatal(_QUANTITY_FORMAT)
            if not _QUANTITY_SUFFIX.fullmatch(m.group("suffix")):
                raise _Fatal("unable to parse quantity's suffix")


def check(value: Any, t: Any, *, sort_keys: bool = False) -> None:
    """Raise :class:`GoTypeError` with Go's message when ``json.Unmarshal`` of ``value`` into ``t``
    fails; ``sort_keys`` when the JSON Go decodes was written from a map (keys in byte order)."""
    w = _Walk(False)
    try:
        w.value(value, t)
        if w.saved is None:
            return  # the common case: nothing fails, in whatever order the keys are visited
    except _Fatal:
        pass
    w = _Walk(sort_keys)  # which error comes first depends on the order Go reads the keys in
    try:
        w.value(value, t)
    except _Fatal as exc:
        raise GoTypeError(str(exc)) from None
    if w.saved is not None:
        raise GoTypeError(w.saved)
