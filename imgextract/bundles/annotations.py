"""Read ``metadata/annotations.yaml`` exactly as opm and OLM do.

opm unmarshals the file with sigs.k8s.io/yaml into Go strings: go-yaml v2 first resolves each
plain (unquoted) scalar by YAML 1.1 rules (``yes``/``on``/``y`` are booleans, ``010`` is octal,
``1_000`` is an integer), then a number or boolean bound for a string field is formatted back:
integers in decimal, booleans as ``true``/``false``, floats as the shortest ``%g`` of their
*32-bit* value.  So an unquoted ``1.0`` reads as ``"1"``, ``4.10`` as ``"4.1"``, ``True`` as
``"true"``, ``1e6`` as ``"1e+06"``; a null is an absent value.  Quoted scalars are taken as
written, and timestamp-like plain scalars stay as written (go-yaml v2 keeps them as strings).

Nearly every bundle writes the file in one flat form (``annotations:``, then ``  key: value`` lines).
That form is read by a strict line recogniser without PyYAML (whose import costs more than the rest
of a small pull's parsing); anything it cannot prove it reads exactly as libyaml would (non-ASCII,
tabs, CR, trailing blanks, flow or block collections, anchors, tags, escapes, multi-line scalars,
documents markers, comments after a value, duplicate keys, other top-level keys) goes to PyYAML.
"""

from __future__ import annotations

import math
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from imgextract.errors import InvalidBundleError

if TYPE_CHECKING:
    import yaml

MAX_ANNOTATIONS_BYTES = 1024 * 1024

_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_NULL = {"", "~", "null", "Null", "NULL"}
_NAN = {".nan", ".NaN", ".NAN"}
_INF = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"}
_NEG_INF = {"-.inf", "-.Inf", "-.INF"}
# patterns, compiled (and cached by re) the first time a number-like value needs them
# go-yaml v2's yamlStyleFloat ("\Z": Go's "$" ends the text, Python's also matches before a final "\n")
YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_GO_FLOAT = r"^[-+]?(\.[0-9]+|[0-9]+\.?[0-9]*)([eE][-+]?[0-9]+)?\Z"
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1
_FLOAT32_MAX = 3.4028234663852886e38


def _go_parse_int(text: str, *, signed: bool) -> int | None:
    """Go's ``strconv.ParseInt(text, 0, 64)`` / ``ParseUint``: None when it would fail."""
    sign = 1
    body = text
    if signed and body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        return None
    base = 10
    lower = body.lower()
    if lower.startswith("0x"):
        base, body = 16, body[2:]
    elif lower.startswith("0b"):
        base, body = 2, body[2:]
    elif lower.startswith("0o"):
        base, body = 8, body[2:]
    elif body.startswith("0") and len(body) > 1:
        base, body = 8, body[1:]
    if not body or not all(c in "0123456789abcdefABCDEF"[: base + (6 if base == 16 else 0)] for c in body):
        return None
    if len(body.lstrip("0")) > 64:  # out of range in any base (and past int()'s digit limit)
        return None
    value = sign * int(body, base)
    if signed:
        return value if _INT64[0] <= value <= _INT64[1] else None
    return value if value <= _UINT64_MAX else None


def go_yaml_int(cleaned: str) -> int | None:
    """The integer go-yaml v2 resolves a plain scalar to (``_`` already removed): ``ParseInt``, else
    ``ParseUint``, base prefixes as Go reads them; None when neither reads it."""
    as_int = _go_parse_int(cleaned, signed=True)
    return _go_parse_int(cleaned, signed=False) if as_int is None else as_int


def go_float32_string(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, 32)``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value) or abs(value) > _FLOAT32_MAX * (1 + 2**-25):
        return "+Inf" if value > 0 else "-Inf"
    f32 = struct.unpack("<f", struct.pack("<f", value))[0]
    if math.isinf(f32):
        return "+Inf" if value > 0 else "-Inf"
    negative = math.copysign(1.0, f32) < 0
    if f32 == 0:
        return "-0" if negative else "0"
    text = ""
    for precision in range(1, 10):  # the shortest decimal that reads back as the same float32
        text = f"{abs(f32):.{precision - 1}e}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == abs(f32):
            break
    mantissa, _, exp_text = text.partition("e")
    digits = mantissa.replace(".", "").rstrip("0") or "0"
    exponent = int(exp_text)
    sign = "-" if negative else ""
    if exponent < -4 or exponent >= 6:  # %e when shortest, as Go decides with precision 6
        frac = f".{digits[1:]}" if len(digits) > 1 else ""
        return f"{sign}{digits[0]}{frac}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    point = exponent + 1
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def go_yaml_number(plain: str) -> int | float | None:
    """go-yaml v2's resolution of a plain scalar to a number: an integer as ``strconv.ParseInt`` /
    ``ParseUint`` (base prefixes, ``_`` ignored) reads it, else a float (YAML's float syntax, the
    ``.inf``/``.nan`` spellings); None when the scalar is no number."""
    if plain in _NAN:
        return math.nan
    if plain in _INF:
        return math.inf
    if plain in _NEG_INF:
        return -math.inf
    return go_number(plain)


def go_number(plain: str) -> int | float | None:
    """The number go-yaml v2 reads from a plain scalar other than the ``.inf``/``.nan`` spellings:
    an integer as ``strconv.ParseInt`` / ``ParseUint`` reads it (base prefixes, ``_`` ignored),
    else a float in YAML's float syntax within float64's range; None when it is no number."""
    if not plain:
        return None
    if plain[0] == ".":
        value = float(plain) if re.match(_GO_FLOAT, plain) else math.inf
        return None if math.isinf(value) else value
    if plain[0] not in "+-0123456789":
        return None
    cleaned = plain.replace("_", "")
    as_int = go_yaml_int(cleaned)
    if as_int is not None:
        return as_int
    if YAML_FLOAT.match(cleaned):
        value = float(cleaned)
        return None if math.isinf(value) else value  # ParseFloat's range error: the text stays
    return None


def go_yaml_typed(plain: str) -> bool:
    """True when go-yaml v2 (kubectl's YAML, through sigs.k8s.io/yaml) reads the plain scalar as no
    string: a YAML 1.1 bool (``y``, ``off``), null, or a number (``1e3``, ``0o17``, ``.inf``)."""
    return plain in _TRUE or plain in _FALSE or plain in _NULL or go_yaml_number(plain) is not None


def go_string(plain: str) -> str | None:
    """The Go string a plain YAML scalar becomes in a ``string`` field (None: null, no value)."""
    if plain in _NULL:
        return None
    if plain in _TRUE:
        return "true"
    if plain in _FALSE:
        return "false"
    if plain in _NAN:
        return "NaN"
    if plain in _INF:
        return "+Inf"
    if plain in _NEG_INF:
        return "-Inf"
    number = go_number(plain)
    if number is None:  # (out of float64's range too: ParseFloat fails, the text stays)
        return plain
    return str(number) if isinstance(number, int) else go_float32_string(number)


# The flat form, line by line: blank and comment lines, ``annotations:``, then one indentation of
# entries.  A plain scalar starts with a character that is no YAML indicator (``-`` only before a
# non-blank) and holds no ": " or " #" (which would end it), no ":" at its end and no run of blanks; the key
# is a shorter plain scalar without blanks or ":" (libyaml limits a simple key to 1024 characters).
# Quoted values hold no escape, no quote of their kind and nothing after the closing quote.
_FLAT_ROOT = "annotations:"
_FLAT_ENTRY = re.compile(
    r"(?P<indent> +)(?P<key>[A-Za-z0-9_./+][A-Za-z0-9_./+-]{0,255}): +"
    r"(?:(?P<plain>(?:[A-Za-z0-9_./+]|-(?=[^ ]))(?:[A-Za-z0-9_./+=,@()~-]|:(?=[^ ])| (?=[^ #:]))*)"
    r"|\"(?P<dq>[A-Za-z0-9_./+=,@()~:; -]*)\""
    r"|'(?P<sq>[A-Za-z0-9_./+=,@()~:; -]*)')"
)
_FLAT_BLANK = re.compile(r" *(?:#[ -~]*)?")
_FLAT_MAX_BYTES = 64 * 1024


def parse_flat(data: bytes) -> dict[str, str] | None:
    """The annotations of a document in the flat form, or None when it is not (let YAML read it).

    Returns only what libyaml's composer followed by :func:`parse_annotations`' rules returns for the
    same bytes: each accepted line is one ``key: scalar`` pair of the ``annotations`` block mapping.
    """
    if len(data) > _FLAT_MAX_BYTES or not data.isascii():
        return None
    text = data.decode("ascii")
    out: dict[str, str] = {}
    indent = ""
    seen_root = False
    for line in text.split("\n"):
        if _FLAT_BLANK.fullmatch(line):
            continue
        if not seen_root:
            if line != _FLAT_ROOT:
                return None
            seen_root = True
            continue
        m = _FLAT_ENTRY.fullmatch(line)
        if m is None:
            return None
        if not indent:
            indent = m["indent"]
        elif m["indent"] != indent:
            return None
        key = go_string(m["key"]) or ""
        if key in out:
            return None
        plain = m["plain"]
        if plain is not None:
            value = go_string(plain)
            out[key] = "" if value is None else value
        else:
            out[key] = m["dq"] if m["dq"] is not None else m["sq"]
    return out or None


def _plain(node: yaml.ScalarNode) -> bool:
    """A plain scalar: style None from PyYAML's composer, "" from libyaml's."""
    return not node.style


def _scalar(node: yaml.Node, where: str) -> str | None:
    import yaml

    if not isinstance(node, yaml.ScalarNode):
        raise InvalidBundleError(f"{where}: annotation values must be strings")
    # plain scalars are resolved as go-yaml v2 does (PyYAML's own resolution is not used)
    return go_string(str(node.value)) if _plain(node) else str(node.value)


def parse_annotations(data: bytes, name: str = "annotations.yaml") -> dict[str, str]:
    """The ``annotations`` map of an annotations.yaml document, read as opm reads it."""
    flat = parse_flat(data)
    if flat is not None:
        return flat
    return parse_yaml(data, name)


def parse_yaml(data: bytes, name: str = "annotations.yaml") -> dict[str, str]:
    """:func:`parse_annotations` through PyYAML, for every form of the document."""
    import yaml

    # libyaml's composer: the pure-Python one costs milliseconds for a few lines, on every bundle.
    # Only the first document is read (go-yaml v2's Unmarshal, as opm and OLM's cpb read the
    # file); what follows it is never parsed.
    source: bytes | str = data
    if b"\\'" in data or b"\\/" in data:  # go-yaml v2's escapes: see imgextract.yamlescapes
        from imgextract.yamlescapes import QuotedEscapeError, go_quoted_escapes

        try:
            source = go_quoted_escapes(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
        except QuotedEscapeError as exc:
            raise InvalidBundleError(f"{name} is not valid YAML: {exc}") from None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(source)
    try:
        root = loader.get_node() if loader.check_node() else None
    except yaml.YAMLError as exc:
        raise InvalidBundleError(f"{name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()
    if not isinstance(root, yaml.MappingNode):
        raise InvalidBundleError(f"{name} has no 'annotations' map")
    found: yaml.Node | None = None
    for key, value in root.value:  # encoding/json matches the field name exactly, else case-insensitively
        if isinstance(key, yaml.ScalarNode) and key.value == "annotations":
            found = value
    if found is None:
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and str(key.value).lower() == "annotations":
                found = value
    if not isinstance(found, yaml.MappingNode):
        raise InvalidBundleError(f"{name} has no 'annotations' map")
    out: dict[str, str] = {}
    for key, value in found.value:
        if not isinstance(key, yaml.ScalarNode):
            raise InvalidBundleError(f"{name}: annotation keys must be strings")
        text_key = (go_string(str(key.value)) if _plain(key) else str(key.value)) or ""
        text = _scalar(value, name)
        out[text_key] = "" if text is None else text  # null: the Go string stays empty
    return out


def read_annotations(path: Path) -> dict[str, str]:
    """The ``annotations:`` map of an annotations.yaml file, values as opm reads them."""
    try:
        if path.stat().st_size > MAX_ANNOTATIONS_BYTES:
            raise InvalidBundleError(f"{path.name} is larger than {MAX_ANNOTATIONS_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidBundleError(f"cannot read {path.name}: {exc.strerror}") from None
    return parse_annotations(data, path.name)
