"""Go ``encoding/json`` output, byte for byte.

opm writes JSON with Go's encoder; matching it needs Go's rules, not Python's:

* strings: ``\\n \\r \\t \\b \\f`` short escapes, other control characters as ``\\u00xx`` (lower-case hex),
  U+2028/U+2029 always escaped, ``<`` ``>`` ``&`` escaped only when HTML escaping is on (``json.Marshal``);
* floats: shortest round-trip digits, plain notation unless ``|x| < 1e-6`` or ``|x| >= 1e21`` (then
  ``1e+21`` / ``1e-7``, the exponent's leading zero dropped);
* ``json.Marshal`` of a map sorts its keys by bytes; a struct keeps its field order (plain ``dict`` here);
* a ``json.RawMessage`` is copied as it is, only compacted (:class:`RawJSON`);
* ``Encoder.SetIndent`` re-indents the compact text (:func:`indent`).

Values are ``None``, ``bool``, ``int``, ``float``, ``str``, ``list``, ``dict`` and :class:`RawJSON`.
"""

from __future__ import annotations

import json
import math
import re
from json.encoder import encode_basestring as _encode_ascii
from typing import Any

__all__ = [
    "GoJSONError",
    "RawJSON",
    "compact",
    "float_e",
    "float_f",
    "float_g",
    "indent",
    "json_float",
    "marshal",
    "marshal_indent",
    "quote",
    "shortest_digits",
]


class GoJSONError(ValueError):
    """The value cannot be written as JSON (Go's encoder refuses it too: NaN, infinities)."""


class RawJSON(str):
    """JSON text kept as written (Go's ``json.RawMessage``): emitted compacted, never re-encoded."""

    __slots__ = ()


class _Lazy:
    """A regular expression compiled on its first use: importing the encoders costs nothing to a
    run that encodes nothing (a warm ``render`` writes the texts it kept)."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def get(self) -> re.Pattern[str]:
        compiled = self._compiled
        if compiled is None:  # two threads may both compile it: the same pattern either way
            compiled = self._compiled = re.compile(*self._args)
        return compiled


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
for _c in range(0x20):
    _ESCAPES.setdefault(chr(_c), f"\\u{_c:04x}")
_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"}
_NEEDS = _Lazy('["\\\\\x00-\x1f\u2028\u2029]')
_NEEDS_HTML = _Lazy('["\\\\\x00-\x1f\u2028\u2029<>&]')
_ALL = {**_ESCAPES, **_HTML}


def _sub(m: re.Match[str]) -> str:
    return _ALL[m.group()]


_SURROGATE = _Lazy("[\ud800-\udfff]")


def quote(s: str, *, escape_html: bool) -> str:
    """A Go JSON string literal.  Lone surrogates (undecodable input) become U+FFFD as in Go."""
    if s.isascii():  # (most strings) the standard library's C encoder escapes ASCII as Go does
        if not escape_html or ("<" not in s and ">" not in s and "&" not in s):
            return _encode_ascii(s)
    elif _SURROGATE.get().search(s):
        s = _SURROGATE.get().sub("\ufffd", s)
    pattern = (_NEEDS_HTML if escape_html else _NEEDS).get()
    return '"' + pattern.sub(_sub, s) + '"'


def shortest_digits(f: float) -> tuple[str, int]:
    """``(digits, dp)`` with ``abs(f) == 0.digits * 10**dp``: the shortest round-trip digits (as Go's
    ``strconv`` and Python's ``repr`` both find them).  ``("", 0)`` for zero."""
    text = repr(abs(f))
    mant, _, exp_s = text.partition("e")
    exp = int(exp_s) if exp_s else 0
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    stripped = digits.lstrip("0")
    if not stripped:
        return "", 0
    dp = len(ip) + exp - (len(digits) - len(stripped))
    return stripped.rstrip("0"), dp


def _exp(e: int) -> str:
    sign = "-" if e < 0 else "+"
    return f"{sign}{abs(e):02d}"


def float_f(f: float) -> str:
    """``strconv.FormatFloat(f, 'f', -1, 64)``."""
    digits, dp = shortest_digits(f)
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if not digits:
        return sign + "0"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def float_e(f: float) -> str:
    """``strconv.FormatFloat(f, 'e', -1, 64)``."""
    digits, dp = shortest_digits(f)
    sign = "-" if math.copysign(1.0, f) < 0 else ""
    if not digits:
        return sign + "0e+00"
    frac = "." + digits[1:] if len(digits) > 1 else ""
    return f"{sign}{digits[0]}{frac}e{_exp(dp - 1)}"


def float_g(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)`` (what go-yaml writes for a float)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    digits, dp = shortest_digits(f)
    if not digits:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    exp = dp - 1
    # shortest 'g': %e when the exponent is < -4 or >= 6 (Go sets eprec = 6 for shortest)
    if exp < -4 or exp >= 6:
        return float_e(f)
    return float_f(f)


def json_float(f: float) -> str:
    """How ``encoding/json`` writes a float64."""
    if math.isnan(f) or math.isinf(f):
        raise GoJSONError(f"json: unsupported value: {f!r}")
    a = abs(f)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        out = float_e(f)
        # Go cleans e-07 to e-7 (only negative exponents)
        return re.sub(r"e-0(\d)$", r"e-\1", out)
    return float_f(f)


def marshal(
    value: Any,
    *,
    escape_html: bool,
    sort_keys: bool,
    no_floats: bool = False,
) -> str:
    """Compact JSON as Go writes it.  ``sort_keys`` models ``map[string]...`` values (json.Marshal of
    decoded YAML/JSON); with it off, dict order is kept (a Go struct's field order).  ``no_floats``:
    the caller knows the value holds no float (nor RawJSON/bytes), so no pass looks for them."""
    if no_floats and not isinstance(value, (RawJSON, float)):
        data = _native_dumps(value, sort_keys)
        if data is not None:
            return _post(data.decode("utf-8"), escape_html)
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
        except (TypeError, ValueError):
            text = ""
        if text and (text.isascii() or not _SURROGATE.get().search(text)):
            return _post(text, escape_html)
    fast = _fast_marshal(value, escape_html, sort_keys)
    if fast is not None:
        return fast
    out: list[str] = []
    _emit(value, out, escape_html, sort_keys)
    return "".join(out)


# orjson writes what ``json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=...)``
# writes, for the values it accepts, about four times faster (most of a large CRD's encoding): strings
# with the same escapes (``"`` ``\\``, ``\\b \\t \\n \\f \\r``, other control characters as
# lower-case ``\\u00xx``, everything else as it is, in UTF-8), dict keys sorted by code point (their
# UTF-8 bytes' order), integers in decimal.  What it refuses goes to the standard library's encoder
# as before: keys that are not strings, integers past 64 bits, lone surrogates, nesting past 254
# levels, dataclasses and datetimes (passed through to a ``default`` that refuses them).  Floats
# never reach it (``no_floats``: its shortest form differs, ``1e+16`` against ``1e16``).
# tests/unit/render/test_gojson_native.py holds the two encoders to the same bytes.
_NATIVE: Any = None  # orjson's ``dumps`` once imported; False: not installed


def _native_dumps(value: Any, sort_keys: bool) -> bytes | None:
    """orjson's compact UTF-8 JSON of ``value``, or None when orjson is missing or refuses it."""
    global _NATIVE
    native = _NATIVE
    if native is None:
        try:
            import orjson
        except ImportError:  # no wheel for this platform: the standard library's encoder does it all
            native = False
        else:
            options = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
            plain, by_key = options, options | orjson.OPT_SORT_KEYS
            dumps = orjson.dumps

            def native(v: Any, sort: bool) -> bytes:
                return dumps(v, option=by_key if sort else plain)

        _NATIVE = native
    if native is False:
        return None
    try:
        data: bytes = native(value, sort_keys)
    except TypeError:  # (orjson.JSONEncodeError is one)
        return None
    return data


class _GoFloat:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _HasRaw(Exception):
    pass


def _floats_marked(v: Any, floats: list[None]) -> Any:
    """``v`` with each float replaced by its Go text's marker (one entry in ``floats`` per marker)."""
    if isinstance(v, dict):
        return {k: _floats_marked(x, floats) for k, x in v.items()}
    if isinstance(v, list):
        return [_floats_marked(x, floats) for x in v]
    if isinstance(v, float):
        floats.append(None)
        return _GoFloat(json_float(v))
    if isinstance(v, (RawJSON, bytes, bytearray, tuple)) or (
        isinstance(v, str) and _SURROGATE.get().search(v)
    ):
        raise _HasRaw
    return v


_FLOAT_MARK = "\x00GOFLOAT\x00"
_FLOAT_MARK_JSON = '"\\u0000GOFLOAT\\u0000'  # how the encoder writes the start of a marker
_FLOAT_RE = _Lazy(r'"\\u0000GOFLOAT\\u0000([^"]*)"')
_POST_HTML = _Lazy("[<>&\u2028\u2029]")
_POST = _Lazy("[\u2028\u2029]")


def _default(o: Any) -> Any:
    if isinstance(o, _GoFloat):
        return _FLOAT_MARK + o.text
    raise GoJSONError(f"json: unsupported type: {type(o).__name__}")


def _fast_marshal(value: Any, escape_html: bool, sort_keys: bool) -> str | None:
    """The C encoder with Go's differences patched in (floats, HTML, U+2028/9); None when the value
    holds something only the slow path handles (RawJSON, bytes, lone surrogates, a string or key
    that holds a float's marker itself: it would be taken for one)."""
    floats: list[None] = []
    try:
        marked = _floats_marked(value, floats)
    except _HasRaw:
        return None
    text = json.dumps(
        marked,
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=sort_keys,
        default=_default,
        allow_nan=False,
    )
    if "GOFLOAT" in text:
        if text.count(_FLOAT_MARK_JSON) != len(floats):
            return None  # the value's own text holds a marker: only the slow path writes it exactly
        text = _FLOAT_RE.get().sub(lambda m: m.group(1), text)
    return _post(text, escape_html)


def _post(text: str, escape_html: bool) -> str:
    """Go's escapes the C encoder (``ensure_ascii=False``) leaves out: U+2028, U+2029 and, with
    HTML escaping, ``<`` ``>`` ``&`` (outside strings JSON has none of them).  ASCII text (most)
    is checked for the three with ``str.find``, not scanned by a regular expression."""
    if text.isascii():
        if not escape_html or ("<" not in text and ">" not in text and "&" not in text):
            return text
        return text.replace("&", _HTML["&"]).replace("<", _HTML["<"]).replace(">", _HTML[">"])
    pattern = (_POST_HTML if escape_html else _POST).get()
    return pattern.sub(lambda m: _ALL[m.group()], text)


def _emit(v: Any, out: list[str], esc: bool, sort_keys: bool, nl: str | None = None, step: str = "") -> None:
    """``v``'s JSON onto ``out``: compact, or with ``nl`` (the newline and indentation of the line
    ``v`` starts on) as :func:`indent` would lay the compact text out, one ``step`` deeper a level."""
    if isinstance(v, RawJSON):
        raw = compact(v)
        out.append(raw if nl is None else indent(raw, nl[1:], step))
    elif isinstance(v, str):
        out.append(quote(v, escape_html=esc))
    elif v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        out.append(json_float(v))
    elif isinstance(v, dict):
        keys = sorted(v) if sort_keys else list(v)
        if not keys:
            out.append("{}")
            return
        inner = None if nl is None else nl + step
        colon = ":" if inner is None else ": "
        out.append("{" if inner is None else "{" + inner)
        for i, k in enumerate(keys):
            if i:
                out.append("," if inner is None else "," + inner)
            out.append(quote(k, escape_html=esc))
            out.append(colon)
            _emit(v[k], out, esc, sort_keys, inner, step)
        out.append("}" if nl is None else nl + "}")
    elif isinstance(v, (list, tuple)):
        if not v:
            out.append("[]")
            return
        inner = None if nl is None else nl + step
        out.append("[" if inner is None else "[" + inner)
        for i, item in enumerate(v):
            if i:
                out.append("," if inner is None else "," + inner)
            _emit(item, out, esc, sort_keys, inner, step)
        out.append("]" if nl is None else nl + "]")
    elif isinstance(v, (bytes, bytearray)):
        import base64

        out.append('"' + base64.b64encode(bytes(v)).decode() + '"')
    else:
        raise GoJSONError(f"json: unsupported type: {type(v).__name__}")


def marshal_indent(value: Any, *, escape_html: bool, sort_keys: bool, step: str = "    ") -> str:
    """``indent(marshal(value, ...), "", step)`` (Go's ``Encoder`` with ``SetIndent("", step)``),
    a value holding RawJSON laid out as it is written: no second pass over the whole text."""
    fast = _fast_marshal(value, escape_html, sort_keys)
    if fast is not None:
        return indent(fast, "", step)
    out: list[str] = []
    _emit(value, out, escape_html, sort_keys, "\n", step)
    return "".join(out)


_TOKEN = _Lazy(r'"(?:[^"\\]|\\.)*"|[ \t\r\n]+|[^" \t\r\n]+', re.S)


def compact(text: str) -> str:
    """``json.Compact`` without HTML escaping: insignificant whitespace removed, everything else kept
    byte for byte (escapes inside strings stay as written).  ``text`` must be valid JSON."""
    if not text or not any(c in text for c in " \t\r\n"):
        return text
    return "".join(t for t in _TOKEN.get().findall(text) if t[0] not in " \t\r\n")


def indent(text: str, prefix: str = "", step: str = "    ") -> str:
    """``json.Indent`` of compact JSON: newline + indentation after ``{ [ ,``, ``": "`` after keys,
    empty ``{}``/``[]`` kept on one line."""
    out: list[str] = []
    depth = 0
    need_indent = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while True:
                k = text.index('"', j)
                b = k - 1
                while text[b] == "\\":
                    b -= 1
                if (k - 1 - b) % 2 == 0:
                    break
                j = k + 1
            if need_indent:
                out.append("\n" + prefix + step * depth)
                need_indent = False
            out.append(text[i : k + 1])
            i = k + 1
            continue
        if c in " \t\r\n":
            i += 1
            continue
        if c in "{[":
            if need_indent:
                out.append("\n" + prefix + step * depth)
            out.append(c)
            depth += 1
            need_indent = True
        elif c in "}]":
            depth -= 1
            if need_indent:
                need_indent = False  # empty container stays "{}" / "[]"
            else:
                out.append("\n" + prefix + step * depth)
            out.append(c)
        elif c == ",":
            out.append(",\n" + prefix + step * depth)
        elif c == ":":
            out.append(": ")
        else:
            j = i
            while j < n and text[j] not in ',:{}[]" \t\r\n':
                j += 1
            if need_indent:
                out.append("\n" + prefix + step * depth)
                need_indent = False
            out.append(text[i:j])
            i = j
            continue
        i += 1
    return "".join(out)


def loads_raw(text: str) -> Any:
    """Parse JSON, checking it is valid (as Go requires of a RawMessage)."""
    return json.loads(text)
