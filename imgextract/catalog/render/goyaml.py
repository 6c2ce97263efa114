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

The parts: :mod:`.goresolve` (go-yaml's scalar resolution), :mod:`.goyamlevents` (the common
document from libyaml's events, and its C twin :mod:`._goyamlc`, hooked in here),
:mod:`.goyamlnodes` (the node tree: everything else, and the errors); here the documents of a file
as apimachinery's ``YAMLOrJSONDecoder`` finds them.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from typing import Any

from imgextract.catalog.render import goresolve
from imgextract.catalog.render.goresolve import (
    _RESOLVE_FIRST,
    _WORD_FIRST,
    INT64_MAX,
    INT64_MIN,
    DecodeError,
    _key,
    _quick_resolve,
)
from imgextract.catalog.render.goyamlevents import _EVENTS_MAX_DEPTH, _load_events, has_c_parser
from imgextract.oci import jsontext
from imgextract.yamlescapes import QuotedEscapeError, go_quoted_escapes

__all__ = [
    "DecodeError",
    "first_document",
    "first_document_flagged",
    "load_yaml",
    "load_yaml_flagged",
    "to_unstructured",
]


def _valid_utf8(data: bytes | bytearray) -> bool:
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def load_yaml(text: str | bytes) -> Any:
    """One YAML document, with go-yaml v2 + sigs.k8s.io/yaml semantics; raises DecodeError.
    Bytes are read as UTF-8 by libyaml itself (invalid sequences are an error, as in go-yaml)."""
    return load_yaml_flagged(text)[0]


# The loop of goyamlevents._load_events in C (_goyamlc.c, an optional extension over the system
# libyaml): the same documents answered with the same values, every go-yaml rule still here (the two
# callbacks below); anything it leaves (tags too) goes to the Python loop. Off without PyYAML's
# libyaml parser (then the reference is PyYAML's Python parser) or with IMGEXTRACT_NO_CEXT set (the
# tests run both paths).  PyYAML itself is imported only when a document needs the Python loop or the
# node tree (the C loop's own errors are ValueError, TypeError, OverflowError: it raises none of
# PyYAML's).
_C_LOAD: Callable[..., Any] | None
try:  # (by name: import-linter cannot see a compiled module and takes it for the root package)
    _C_MODULE = __import__(__name__.rpartition(".")[0] + "._goyamlc", fromlist=["load"])
    _C_LOAD = _C_MODULE.load
    # an extension built from this source hands the callbacks only the words that may resolve
    _C_WORDS = getattr(_C_MODULE, "API", 1) >= 2
except ImportError:  # not built: no C compiler or no libyaml headers where it was installed
    _C_LOAD = None
    _C_WORDS = False
if os.environ.get("IMGEXTRACT_NO_CEXT") or not has_c_parser():
    _C_LOAD = None
_C_FIRST = "".join(sorted(_RESOLVE_FIRST))
# Bound by assignment, not by import: CPython 3.11 compiles ``name.get(...)`` on an imported name as
# an attribute load, a bound method made per call, and the callbacks run once per plain scalar.
_RESOLVE_MAP = goresolve._RESOLVE_MAP
# A plain scalar starting with one of these is ``_RESOLVE_MAP.get(s, s)`` (go_resolve's "M" hint,
# the first branch of both callbacks below): the C loop keeps one that is no key of the map as
# its text, without calling back.
_C_VERBATIM = "".join(sorted(_WORD_FIRST))


def _c_value(s: str) -> Any:
    """A plain scalar's value for the C loop (``s`` empty or its first character in _RESOLVE_FIRST),
    the expression of :func:`_load_events`; the C loop then checks numbers as that loop does."""
    return (_RESOLVE_MAP.get(s, s) if s[0] in _WORD_FIRST else _quick_resolve(s)) if s else None


def _c_key(s: str) -> str | None:
    """A plain key's text for the C loop, as :func:`_load_events` converts it; None for a null key
    (the document goes to the node tree)."""
    r = (_RESOLVE_MAP.get(s, s) if s[0] in _WORD_FIRST else _quick_resolve(s)) if s else None
    if r.__class__ is str:
        return s
    return None if r is None else _key(r)


def _c_events(text: str | bytes) -> tuple[Any, bool] | None:
    """:func:`_load_events` through the C loop (None when it is off, or where it stands aside)."""
    if _C_LOAD is None:
        return None
    try:
        fast: tuple[Any, bool] | None
        if _C_WORDS:
            fast = _C_LOAD(text, _C_FIRST, _c_value, _c_key, _EVENTS_MAX_DEPTH, _C_VERBATIM, _RESOLVE_MAP)
        else:
            fast = _C_LOAD(text, _C_FIRST, _c_value, _c_key, _EVENTS_MAX_DEPTH)
        return fast
    except (ValueError, TypeError, OverflowError):
        return None  # as the Python loop: its callbacks' errors are the node tree's to report


def load_yaml_flagged(text: str | bytes) -> tuple[Any, bool]:
    """``load_yaml`` plus whether the value holds floats or integers beyond int64 (when it does not,
    Go's encoding of it is Python's, and apimachinery leaves it as it is)."""
    if isinstance(text, (bytes, bytearray)) and b"\\" in text and (b"\\'" in text or b"\\/" in text):
        text = bytes(text).decode("utf-8", errors="replace") if _valid_utf8(text) else text
    if isinstance(text, str):
        try:
            text = go_quoted_escapes(text)
        except QuotedEscapeError as exc:
            raise DecodeError(f"error converting YAML to JSON: {exc}") from exc
    fast = _c_events(text) if _C_LOAD is not None else None
    if fast is None:
        fast = _load_events(text)
    if fast is not None:
        return fast
    from imgextract.catalog.render.goyamlnodes import _load_nodes  # (PyYAML's node tree)

    return _load_nodes(text)


# a line starting with "---" (lines end at "\n" only, as Go's line reader reads them)
_SEPARATOR_LINE = re.compile(r"^---([^\n]*)(?:\n|\Z)", re.M)


def _yaml_chunks(text: str) -> Any:
    """apimachinery's YAMLReader: documents split on ``---`` lines (rest blank or a comment).
    The separators are found in the text itself: a list of its lines costs some 60 bytes a line."""
    start = 0  # where the current document starts
    for m in _SEPARATOR_LINE.finditer(text):
        rest = m.group(1).strip()
        if rest and not rest.startswith("#"):
            continue  # no separator: a line of the document
        if m.start() > start:
            yield text[start : m.start()]
        start = m.end()
    if start < len(text):
        yield text[start:]


def _json_number_int(s: str) -> Any:
    if len(s) > 20:  # past int64 (19 digits and a sign), and maybe past int()'s 4300-digit limit
        return _json_number_float(s)
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


# Go's unicode.IsSpace (as imgextract.catalog.fbc.GO_SPACE, which this module does not import: a
# bundle's rendering needs nothing else of the catalog reader)
_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _go_space() -> str:
    return _GO_SPACE


def yaml_start_after_json(data: bytes | bytearray, pos: int, final: bool) -> int | None:
    """apimachinery's ``YAMLOrJSONDecoder.consumeWhitespace`` before it reads on as YAML: from
    ``pos``, blanks are skipped up to and including the first line end; it reads 4 bytes ahead, so
    fewer than 4 left there, or an invalid character, keeps the JSON error (None). The offset where
    YAML starts, or -1 when ``data`` is not ``final`` and more is needed to tell."""
    while True:
        if len(data) - pos < 4:
            return None if final else -1
        window = bytes(data[pos : pos + 4])
        char = window.decode("utf-8", "ignore")[:1]
        size = len(char.encode("utf-8"))
        if not char or char == "\ufffd" or window[:size] != char.encode("utf-8"):
            return None  # utf8.RuneError
        if char not in _go_space():
            return pos
        pos += size
        if char == "\n":
            return pos


def _first_yaml(text: str) -> tuple[str, Any, bool]:
    # the first document only: a text without any "---" is one document (no need to split its lines)
    chunks = ([text] if text else []) if "---" not in text else _yaml_chunks(text)
    for chunk in chunks:
        value, numbers = load_yaml_flagged(chunk)
        return "yaml", value, numbers
    return "empty", None, False


def first_document_flagged(data: bytes) -> tuple[str, Any, bool]:
    """``first_document`` plus the flag of :func:`load_yaml_flagged`. As apimachinery 0.33's
    ``YAMLOrJSONDecoder`` (opm's), a text that looks like JSON but is none is read again as YAML
    (a flow mapping ``{kind: ConfigMap}``); when YAML fails too, the JSON error is raised."""
    text = data.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    head = data[:30].decode("utf-8", errors="replace").lstrip(_go_space())
    if head.startswith("{"):
        idx = len(text) - len(text.lstrip())
        try:  # deep nesting is an error and a lone surrogate escape U+FFFD, as in encoding/json
            value, _end = jsontext.raw_decode(_JSON, text, idx)
        except (json.JSONDecodeError, DecodeError) as exc:
            error = DecodeError(str(exc))
            start = yaml_start_after_json(data, 0, True)
            if start is None:
                raise error from exc
            try:
                return _first_yaml(data[start:].decode("utf-8", errors="replace"))
            except (DecodeError, RecursionError):
                raise error from exc
        return "json", value, True
    return _first_yaml(text)


def to_unstructured(value: Any, from_yaml: bool = False) -> Any:
    """What ``unstructured.Unstructured`` holds after decoding: integers that do not fit int64 become
    float64 (apimachinery's JSON number conversion). ``from_yaml``: the value went through
    ``YAMLToJSON`` first, whose text for a float64 -0 is ``-0``, an int64 0 to that conversion."""
    if isinstance(value, dict):
        return {k: to_unstructured(v, from_yaml) for k, v in value.items()}
    if isinstance(value, list):
        return [to_unstructured(v, from_yaml) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        return float(value)
    if from_yaml and isinstance(value, float) and value == 0.0:
        return 0
    return value
