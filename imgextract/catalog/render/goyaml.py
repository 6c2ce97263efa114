"""Read manifest files the way opm's Go stack does (the values, not just the syntax).

opm decodes every bundle file with apimachinery's ``YAMLOrJSONDecoder``: JSON when the first bytes look
like a JSON object, otherwise YAML through ``sigs.k8s.io/yaml`` (go-yaml v2 resolution, then
``json.Marshal``), and only the *first* document of a file.  Python's YAML rules differ from go-yaml v2
in ways that change output, so plain scalars are resolved here with go-yaml's rules:

* booleans are ``y Y yes Yes YES on On ON true True TRUE`` (and the ``n``/``no``/``off`` family);
* integers accept ``_`` separators, ``0x``/``0o``/``0b`` prefixes and a leading ``0`` for octal;
* ``1e3`` is a float (PyYAML says string), ``1:20`` is a string (PyYAML says 80), timestamps stay strings;
* map keys that are not strings become strings the way ``sigs.k8s.io/yaml`` converts them.

Numbers then go through ``encoding/json``: a value that cannot be written (NaN, infinity) fails the
document, as ``json.Marshal`` does in Go.
"""

from __future__ import annotations

import json
import math
import re
import struct
from typing import Any

import yaml

from imgextract.catalog.render.gojson import float_e, float_f, shortest_digits

__all__ = [
    "DecodeError",
    "first_document",
    "first_document_flagged",
    "go_resolve",
    "load_yaml",
    "load_yaml_flagged",
    "to_unstructured",
]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1


class DecodeError(ValueError):
    """The file is not a decodable document (opm logs and skips it, or fails, depending on the file)."""


_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_DOT_FLOAT_RE = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
_RESOLVE_MAP: dict[str, Any] = {}
for _words, _val in (
    ("y Y yes Yes YES true True TRUE on On ON", True),
    ("n N no No NO false False FALSE off Off OFF", False),
    ("~ null Null NULL", None),
    (".nan .NaN .NAN", math.nan),
    (".inf .Inf .INF +.inf +.Inf +.INF", math.inf),
    ("-.inf -.Inf -.INF", -math.inf),
):
    for _w in _words.split():
        _RESOLVE_MAP[_w] = _val
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def _go_parse_int(s: str, *, unsigned: bool) -> int | None:
    """``strconv.ParseInt(s, 0, 64)`` / ``ParseUint``: None when Go reports an error."""
    body = s
    neg = False
    if body[:1] in ("+", "-"):
        if unsigned:
            return None
        neg = body[0] == "-"
        body = body[1:]
    if not body:
        return None
    base = 10
    low = body[:2].lower()
    if low == "0x":
        base, body = 16, body[2:]
    elif low == "0b":
        base, body = 2, body[2:]
    elif low == "0o":
        base, body = 8, body[2:]
    elif body[0] == "0" and len(body) > 1:
        base, body = 8, body[1:]
    if not body or any(c not in _DIGITS[base] for c in body):
        return None
    v = int(body, base)
    v = -v if neg else v
    if unsigned:
        return v if v <= UINT64_MAX else None
    return v if INT64_MIN <= v <= INT64_MAX else None


def go_resolve(s: str) -> Any:
    """The value go-yaml v2 gives an untagged plain scalar (``resolve("", s)``)."""
    if s == "":
        return None
    c = s[0]
    if c in "yYnNtTfFoO~":
        hint = "M"
    elif c in "+-":
        hint = "S"
    elif c.isascii() and c.isdigit():
        hint = "D"
    elif c == ".":
        hint = "."
    else:
        return s
    if s in _RESOLVE_MAP:
        return _RESOLVE_MAP[s]
    if hint == "M":
        return s
    if hint == ".":
        if _DOT_FLOAT_RE.match(s):
            f = float(s)
            if not math.isinf(f):
                return f
        return s
    plain = s.replace("_", "")
    v = _go_parse_int(plain, unsigned=False)
    if v is None:
        v = _go_parse_int(plain, unsigned=True)
    if v is not None:
        return v
    if _FLOAT_RE.match(plain):
        f = float(plain)
        if not math.isinf(f):  # Go: ParseFloat out of range is an error, the scalar stays a string
            return f
    return s


class _GoScalar(str):
    __slots__ = ()


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return "tag:go-yaml:plain"
        return super().resolve(kind, value, implicit)


def _construct_plain(loader: Any, node: Any) -> Any:
    return go_resolve(loader.construct_scalar(node))


def _construct_timestamp(loader: Any, node: Any) -> Any:
    return loader.construct_scalar(node)


def _construct_unknown(loader: Any, suffix: str, node: Any) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor("tag:go-yaml:plain", _construct_plain)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_multi_constructor("!", _construct_unknown)
_Loader.add_multi_constructor("tag:", _construct_unknown)


def _float32_g(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 32)``: shortest digits that round-trip through float32."""
    f32 = struct.unpack("f", struct.pack("f", f))[0]
    if f32 == 0:
        return "-0" if math.copysign(1.0, f32) < 0 else "0"
    for p in range(1, 10):
        text = f"{f32:.{p}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == f32:
            break
    val = float(text)
    digits, dp = shortest_digits(val)
    exp = dp - 1
    return float_e(val) if exp < -4 or exp >= 6 else float_f(val)


def _key(k: Any) -> str:
    """sigs.k8s.io/yaml's conversion of a non-string map key."""
    if isinstance(k, str):
        return k
    if k is True:
        return "true"
    if k is False:
        return "false"
    if isinstance(k, int):
        return str(k)
    if isinstance(k, float):
        if math.isnan(k):
            return ".nan"
        if math.isinf(k):
            return ".inf" if k > 0 else "-.inf"
        return _float32_g(k)
    raise DecodeError(f"Unsupported map key of type: {type(k).__name__}, key: {k!r}")


def _jsonable(v: Any) -> Any:
    """YAMLToJSON: string keys, then what json.Marshal accepts (NaN/Inf fail the document)."""
    if isinstance(v, dict):
        return {_key(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise DecodeError(f"json: unsupported value: {v!r}")
        return v
    if isinstance(v, int) and not isinstance(v, bool) and not INT64_MIN <= v <= UINT64_MAX:
        return float(v)
    if isinstance(v, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(v)).decode()
    return v


_PLAIN = "tag:go-yaml:plain"
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


def _node_value(loader: Any, node: Any, depth: int = 0) -> Any:
    """Node -> JSON-able value in one pass (PyYAML's constructor for the rare cases: explicit tags,
    merge keys).  Same result as constructing then ``_jsonable``, several times faster."""
    if depth > 1000:
        raise DecodeError("error converting YAML to JSON: document nested too deeply")
    tag = node.tag
    if isinstance(node, yaml.ScalarNode):
        if tag == _PLAIN:
            v = go_resolve(node.value)
            if isinstance(v, float):
                if math.isnan(v) or math.isinf(v):
                    raise DecodeError(f"json: unsupported value: {v!r}")
                loader.go_numbers = True
            elif isinstance(v, int) and not isinstance(v, bool) and not INT64_MIN <= v <= INT64_MAX:
                loader.go_numbers = True
                return v if v <= UINT64_MAX else float(v)
            return v
        if tag == _STR:
            return node.value
    elif isinstance(node, yaml.SequenceNode) and tag == _SEQ:
        return [_node_value(loader, n, depth + 1) for n in node.value]
    elif isinstance(node, yaml.MappingNode) and tag == _MAP:
        if not any(k.tag == _MERGE for k, _v in node.value):
            out: dict[str, Any] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag in (_PLAIN, _STR):
                    key = go_resolve(k.value) if k.tag == _PLAIN else k.value
                else:
                    key = loader.construct_object(k, deep=True)
                out[_key(key)] = _node_value(loader, v, depth + 1)
            return out
    loader.go_numbers = True  # the rare path: no claim about what it holds
    return _jsonable(loader.construct_object(node, deep=True))


def load_yaml(text: str) -> Any:
    """One YAML document, with go-yaml v2 + sigs.k8s.io/yaml semantics; raises DecodeError."""
    return load_yaml_flagged(text)[0]


def load_yaml_flagged(text: str) -> tuple[Any, bool]:
    """``load_yaml`` plus whether the value holds floats or integers beyond int64 (when it does not,
    Go's encoding of it is Python's, and apimachinery leaves it as it is)."""
    loader = _Loader(text)
    loader.go_numbers = False
    try:
        node = loader.get_single_node()
        return (None if node is None else _node_value(loader, node)), loader.go_numbers
    except yaml.YAMLError as exc:
        raise DecodeError(f"error converting YAML to JSON: {exc}".replace("\n", " ")) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"error converting YAML to JSON: {exc}") from exc
    finally:
        loader.dispose()


def _yaml_chunks(text: str) -> Any:
    """apimachinery's YAMLReader: documents split on ``---`` lines (rest blank or a comment)."""
    buf: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("---"):
            rest = line[3:].strip()
            if not rest or rest.startswith("#"):
                if buf:
                    yield "".join(buf)
                    buf = []
                continue
        buf.append(line)
    if buf:
        yield "".join(buf)


def _json_number_int(s: str) -> Any:
    v = int(s)
    return v if INT64_MIN <= v <= INT64_MAX else _json_number_float(s)


def _json_number_float(s: str) -> float:
    f = float(s)
    if math.isinf(f):
        raise DecodeError(f"json: cannot unmarshal number {s} (value out of range)")
    return f


def _bad_constant(s: str) -> Any:
    raise DecodeError(f"invalid character {s[0]!r} looking for beginning of value")


_JSON = json.JSONDecoder(
    parse_int=_json_number_int, parse_float=_json_number_float, parse_constant=_bad_constant
)


def first_document(data: bytes) -> tuple[str, Any]:
    """The first document of a file as ``YAMLOrJSONDecoder`` sees it: ``("json", value)`` or
    ``("yaml", value)``; ``("empty", None)`` when there is none.  Raises DecodeError."""
    kind, value, _numbers = first_document_flagged(data)
    return kind, value


def first_document_flagged(data: bytes) -> tuple[str, Any, bool]:
    """``first_document`` plus the flag of :func:`load_yaml_flagged`."""
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    head = data[:30].decode("utf-8", errors="replace").lstrip()
    if head.startswith("{"):
        idx = len(text) - len(text.lstrip())
        try:
            value, _end = _JSON.raw_decode(text, idx)
        except json.JSONDecodeError as exc:
            raise DecodeError(str(exc)) from exc
        return "json", value, True
    for chunk in _yaml_chunks(text):
        value, numbers = load_yaml_flagged(chunk)
        return "yaml", value, numbers
    return "empty", None, False


def to_unstructured(value: Any) -> Any:
    """What ``unstructured.Unstructured`` holds after decoding: integers that do not fit int64 become
    float64 (apimachinery's JSON number conversion)."""
    if isinstance(value, dict):
        return {k: to_unstructured(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_unstructured(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        return float(value)
    return value
