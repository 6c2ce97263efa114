"""go-yaml v2's resolution of a YAML scalar (``resolve``: an untagged plain scalar's bool, int,
float or null; an explicitly tagged one's value or error) and sigs.k8s.io/yaml's text for a map key
that is not a string: the rules :mod:`.goyaml` reads every document with."""

from __future__ import annotations

import codecs
import math
import re
import struct
from typing import Any

from imgextract.bundles.annotations import go_number
from imgextract.catalog.render.gojson import float_e, float_f, shortest_digits

__all__ = ["DecodeError", "go_resolve", "tagged_scalar"]


INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1


class DecodeError(ValueError):
    """The file is not a decodable document (opm logs and skips it, or fails, depending on the file)."""


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
_STR = "tag:yaml.org,2002:str"
# the first characters go_resolve looks further at; any other plain scalar is a string as it stands
_RESOLVE_FIRST = frozenset("yYnNtTfFoO~+-.0123456789")
# go_resolve's "M" hint: a scalar starting with one of these is a word of the table or itself
_WORD_FIRST = frozenset("yYnNtTfFoO~")
_DECIMAL_FIRST = frozenset("123456789")
_LONG = "tag:yaml.org,2002:"
_BINARY = _LONG + "binary"
_TIMESTAMP = _LONG + "timestamp"
_FLOAT = _LONG + "float"
# resolve()'s resolvableTag: any other tag leaves a scalar's text as it is (go-yaml v2)
_RESOLVABLE = frozenset(_LONG + t for t in ("str", "bool", "int", "float", "null", "timestamp"))
# the layouts go-yaml v2's parseTimestamp tries with time.Parse (date; T or t, time and zone;
# space and time without zone), any number of fraction digits after the seconds
_TIMESTAMP_RE = re.compile(
    r"([0-9]{4})-([0-9][0-9]?)-([0-9][0-9]?)"
    r"(?:[Tt]([0-9][0-9]?):([0-9][0-9]?):([0-9][0-9]?)(?:[.,][0-9]+)?(?:Z|[+-]([0-9]{2}):([0-9]{2}))"
    r"| ([0-9][0-9]?):([0-9][0-9]?):([0-9][0-9]?)(?:[.,][0-9]+)?)?"
)
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# standard base64 with its padding (the length a multiple of 4, checked beside it): one repeat of a
# character class, which the regex engine runs in constant memory (a repeated group of four keeps
# state per repetition, some 30 bytes per input byte)
_BASE64_RE = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def _quick_resolve(s: str) -> Any:
    """``go_resolve(s)`` for a non-empty ``s`` whose first character is in ``_RESOLVE_FIRST``,
    with the common cases answered without the general parse: a word (``type``, ``name``,
    ``true``), a decimal integer without sign or leading zero that fits int64 (ParseInt's
    value) and ``0``."""
    c = s[0]
    if c in _WORD_FIRST:
        return _RESOLVE_MAP.get(s, s)
    if c in _DECIMAL_FIRST and len(s) <= 18 and s.isascii() and s.isdigit():
        return int(s)
    if s == "0":  # (ParseInt's 0; a longer text starting with 0 is octal, or no integer)
        return 0
    return go_resolve(s)


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
    number = go_number(s)  # (out of float64's range: ParseFloat fails, the scalar stays a string)
    return s if number is None else number


def _go_timestamp(s: str) -> bool:
    """go-yaml v2 ``parseTimestamp``: one of its layouts, every field in ``time.Parse``'s range."""
    m = _TIMESTAMP_RE.fullmatch(s)
    if m is None:
        return False
    g = m.groups()
    year, month, day = int(g[0]), int(g[1]), int(g[2])
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = 29 if month == 2 and leap else _MONTH_DAYS[month] if 1 <= month <= 12 else 0
    if not 1 <= day <= days:
        return False
    clock = g[3:6] if g[3] is not None else g[8:11]
    if clock[0] is not None and (int(clock[0]) > 23 or int(clock[1]) > 59 or int(clock[2]) > 59):
        return False
    return g[6] is None or (int(g[6]) <= 24 and int(g[7]) <= 60)


def _go_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "\ufffd" * (exc.end - exc.start), exc.end


_GO_REPLACE = "imgextract-go-replace"
codecs.register_error(_GO_REPLACE, _go_replace)


def _go_bytes_string(data: bytes) -> str:
    """A Go string of arbitrary bytes as ``encoding/json`` writes it: each byte of an invalid
    UTF-8 sequence becomes U+FFFD (in one pass: decoding again after each error was quadratic)."""
    return data.decode("utf-8", _GO_REPLACE)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_LONG) :] if tag.startswith(_LONG) else tag


def _kind_tag(v: Any) -> str:
    if v is None:
        return "!!null"
    if v.__class__ is bool:
        return "!!bool"
    if v.__class__ is int:
        return "!!int"
    return "!!float" if v.__class__ is float else "!!str"


def tagged_scalar(tag: str, s: str) -> Any:
    """The value go-yaml v2's ``decoder.scalar`` gives a scalar with an explicit tag (``resolve(tag,
    s)``): ``!!str`` any text; ``!!binary`` standard base64, decoded; a tag resolve() does not know
    keeps the text; the others resolve the text as untagged and demand their kind (an int64 passes
    as ``!!float``; ``!!timestamp`` keeps the text).  Raises DecodeError with go-yaml's message."""
    if tag == _BINARY:
        cleaned = s.replace("\r", "").replace("\n", "")
        if len(cleaned) % 4 or not cleaned.isascii() or _BASE64_RE.fullmatch(cleaned) is None:
            raise DecodeError(
                "error converting YAML to JSON: yaml: !!binary value contains invalid base64 data"
            )
        import base64

        return _go_bytes_string(base64.b64decode(cleaned))
    if tag == _STR or tag not in _RESOLVABLE:
        return s
    if tag == _TIMESTAMP and _go_timestamp(s):
        return s
    v = go_resolve(s)
    got = _kind_tag(v)
    want = _short_tag(tag)
    if got == want:
        return v
    if want == "!!float" and got == "!!int" and INT64_MIN <= v <= INT64_MAX:
        return float(v)
    raise DecodeError(f"error converting YAML to JSON: yaml: cannot decode {got} `{s}` as a {want}")


class _GoScalar(str):
    __slots__ = ()


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
