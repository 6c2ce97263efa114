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

import codecs
import json
import math
import os
import re
import struct
from collections.abc import Callable
from typing import Any

import yaml

from imgextract.bundles.annotations import go_number
from imgextract.catalog.render.gojson import float_e, float_f, shortest_digits
from imgextract.oci import jsontext
from imgextract.yamlalias import allowed_alias_ratio
from imgextract.yamlescapes import QuotedEscapeError, go_quoted_escapes

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


def _valid_utf8(data: bytes | bytearray) -> bool:
    try:
        bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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
_PLAIN = "tag:go-yaml:plain"
_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_NODE = yaml.ScalarNode
_SEQUENCE_NODE = yaml.SequenceNode
_MAPPING_NODE = yaml.MappingNode
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
_NONSPECIFIC = "tag:go-yaml:nonspecific"  # a scalar tagged ``!``: text as it is, ``<<`` still merges
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


_CParser: Any = getattr(yaml, "cyaml", None) and getattr(yaml.cyaml, "CParser", None)  # None: no libyaml
_EVENTS_MAX_DEPTH = 200  # deeper documents take the node tree's path (and its depth error)


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    # libyaml scans, parses and composes the nodes; every implicit plain scalar is tagged for go-yaml's
    # resolution (done on the node tree below), so PyYAML's implicit resolvers never run.
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is _SCALAR_NODE:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is _SEQUENCE_NODE else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:  # no path resolvers
        return None

    def ascend_resolver(self) -> None:
        return None


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


_Loader.add_constructor(_PLAIN, _construct_plain)
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


# go-yaml v2's alias accounting (decode.go): every node decode counts, an alias counts twice (the
# alias node and its target), and decodes under an alias count as aliasing.
class _Walk:
    """Node tree -> JSON-able value in one pass, with go-yaml v2's resolution and alias accounting
    (tagged scalars as go-yaml's ``resolve``; PyYAML's constructor only for collections as keys).

    The accounting follows go-yaml for collections (what an alias bomb is made of); an alias of a
    scalar counts as one plain decode, which only ever makes the ratio smaller."""

    __slots__ = ("aliases", "decodes", "go_numbers", "loader", "seen")

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.go_numbers = False
        self.decodes = 2  # the document node and the root
        self.aliases = 0
        self.seen: set[int] = set()

    def _enter(self, node: Any, under_alias: bool, depth: int) -> bool:
        """Account for entering a collection (its own decode was counted by its parent); True when
        it is reached through an alias."""
        if depth > 1000:
            raise DecodeError("error converting YAML to JSON: document nested too deeply")
        key = id(node)
        if key in self.seen:
            self.decodes += 1
            self.aliases += 1
            under_alias = True
        else:
            self.seen.add(key)
        if (
            self.aliases > 100
            and self.decodes > 1000
            and self.aliases / self.decodes > allowed_alias_ratio(self.decodes)
        ):
            raise DecodeError("error converting YAML to JSON: yaml: document contains excessive aliasing")
        return under_alias

    def _children(self, n: int, under_alias: bool) -> None:
        self.decodes += n
        if under_alias:
            self.aliases += n

    def count_tree(self, node: Any, under_alias: bool, depth: int) -> None:
        """The accounting alone, for a subtree handed to PyYAML's constructor."""
        t = type(node)
        if t is _SCALAR_NODE:
            return
        under_alias = self._enter(node, under_alias, depth)
        kids = _children(node)
        self._children(len(kids), under_alias)
        for n in kids:
            self.count_tree(n, under_alias, depth + 1)

    def scalar(self, s: str) -> Any:
        return self.checked(go_resolve(s))

    def checked(self, v: Any) -> Any:
        """A resolved scalar as ``json.Marshal`` takes it (NaN and infinities fail the document)."""
        if v.__class__ is float:
            if math.isnan(v) or math.isinf(v):
                raise DecodeError(f"json: unsupported value: {v!r}")
            self.go_numbers = True
        elif v.__class__ is int and not INT64_MIN <= v <= INT64_MAX:
            self.go_numbers = True
            return v if v <= UINT64_MAX else float(v)
        return v

    def mapping(self, pairs: list[Any], out: dict[str, Any], under_alias: bool, depth: int) -> dict[str, Any]:
        """Decode a mapping's pairs into ``out`` in order, as go-yaml v2 does: a merge key (``<<``)
        sets its map's keys there and then (so it overrides the keys before it, and the keys after
        it override it)."""
        self._children(2 * len(pairs), under_alias)
        for k, v in pairs:
            ktag = k.tag
            if type(k) is _SCALAR_NODE and (ktag == _STR or ktag == _PLAIN):
                key = k.value
                if ktag == _PLAIN and (not key or key[0] in _RESOLVE_FIRST):
                    key = _key(go_resolve(key))
                elif ktag == _PLAIN and key == "<<":
                    self.merge(v, out, under_alias, depth + 1)
                    continue
            elif type(k) is _SCALAR_NODE and (ktag == _MERGE or ktag == _NONSPECIFIC) and k.value == "<<":
                self.merge(v, out, under_alias, depth + 1)  # go-yaml v2 isMerge
                continue
            elif type(k) is _SCALAR_NODE:
                key = _key(tagged_scalar(k.tag, k.value))
            else:
                self.count_tree(k, under_alias, depth + 1)
                key = _key(self.loader.construct_object(k, deep=True))
            if type(v) is _SCALAR_NODE:
                vtag = v.tag
                if vtag == _STR:
                    out[key] = v.value
                    continue
                if vtag == _PLAIN:
                    s = v.value
                    out[key] = self.scalar(s) if not s or s[0] in _RESOLVE_FIRST else s
                    continue
            out[key] = self.value(v, under_alias, depth + 1)
        return out

    def merge(self, node: Any, out: dict[str, Any], under_alias: bool, depth: int) -> None:
        """go-yaml v2 ``merge``: a map, or a sequence of maps of which the earlier win."""
        if type(node) is _MAPPING_NODE:
            under_alias = self._enter(node, under_alias, depth)
            self.mapping(node.value, out, under_alias, depth)
            return
        if type(node) is _SEQUENCE_NODE:
            items = node.value
            if all(type(n) is _MAPPING_NODE for n in items):
                self._children(len(items), under_alias)
                for n in reversed(items):
                    self.mapping(n.value, out, self._enter(n, under_alias, depth + 1), depth + 1)
                return
        raise DecodeError(
            "error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"
        )

    def value(self, node: Any, under_alias: bool = False, depth: int = 0) -> Any:
        t = type(node)
        tag = node.tag
        if t is _SCALAR_NODE:
            if tag == _PLAIN:
                s = node.value
                return self.scalar(s) if not s or s[0] in _RESOLVE_FIRST else s
            if tag == _STR:
                return node.value
            return self.checked(tagged_scalar(tag, node.value))
        # go-yaml v2's parser keeps no tag of a sequence or mapping
        if t is _SEQUENCE_NODE:
            under_alias = self._enter(node, under_alias, depth)
            items = node.value
            self._children(len(items), under_alias)
            out_seq: list[Any] = []
            for n in items:
                if type(n) is _SCALAR_NODE and n.tag == _STR:
                    out_seq.append(n.value)
                else:
                    out_seq.append(self.value(n, under_alias, depth + 1))
            return out_seq
        under_alias = self._enter(node, under_alias, depth)
        return self.mapping(node.value, {}, under_alias, depth)


def _children(node: Any) -> list[Any]:
    if type(node) is _SEQUENCE_NODE:
        return list(node.value)
    if type(node) is _MAPPING_NODE:
        return [n for pair in node.value for n in pair]
    return []


def load_yaml(text: str | bytes) -> Any:
    """One YAML document, with go-yaml v2 + sigs.k8s.io/yaml semantics; raises DecodeError.
    Bytes are read as UTF-8 by libyaml itself (invalid sequences are an error, as in go-yaml)."""
    return load_yaml_flagged(text)[0]


# libyaml's events, as the C parser hands them over (PyYAML's classes)
_EV = yaml.events
_INFINITIES = (math.inf, -math.inf)


def _load_events(text: str | bytes) -> tuple[Any, bool] | None:
    """The common document (plain and quoted scalars, tagged values too, block and flow collections,
    no anchor, alias, tagged key, merge key or non-string key that fails) built straight from libyaml's
    events, or None for anything else, which :func:`load_yaml_flagged` then reads through the
    node tree (whose errors and rules are the reference: this path only ever agrees with it).

    The node tree costs a Python node object and three resolver calls per scalar before the walk
    even starts; here each event is looked at once, with the same go-yaml v2 resolution."""
    if _CParser is None:
        return None
    try:
        parser = _CParser(text)
    except (yaml.YAMLError, ValueError, TypeError):
        return None
    try:
        get = parser.get_event
        get()  # the stream's start
        if get().__class__ is not _EV.DocumentStartEvent:
            return None  # no document: the node tree says what that is
        scalar_event = _EV.ScalarEvent
        mapping_start = _EV.MappingStartEvent
        sequence_start = _EV.SequenceStartEvent
        mapping_end = _EV.MappingEndEvent
        sequence_end = _EV.SequenceEndEvent
        resolve_first = _RESOLVE_FIRST
        word_first = _WORD_FIRST
        word = _RESOLVE_MAP.get
        numbers = False
        # an anchor is written with "&", a tag with "!": a text without either has neither, and
        # its events are not asked for them (two attribute reads of most scalars)
        marked = ("&" in text or "!" in text) if isinstance(text, str) else (b"&" in text or b"!" in text)
        stack: list[tuple[Any, Any]] = []
        push = stack.append
        pop = stack.pop
        cur: Any = None  # the collection being filled (None: the document's root)
        in_map = False  # cur is a mapping
        want_key = False  # in a mapping, no key is waiting for its value: the next node is a key
        v: Any = None
        key: Any = None
        while True:
            e = get()
            c = e.__class__
            if c is scalar_event:
                if marked and e.anchor is not None:
                    return None
                s = e.value
                if want_key:
                    if marked and e.tag is not None:
                        return None
                    if e.implicit[0]:
                        if s == "<<":
                            return None
                        if not s or s[0] in resolve_first:
                            # as _quick_resolve (its word case inline: most keys that get here)
                            r = (word(s, s) if s[0] in word_first else _quick_resolve(s)) if s else None
                            if r.__class__ is not str:
                                if r is None:
                                    return None
                                s = _key(r)
                    key = s
                    want_key = False
                    continue
                tag = e.tag if marked else None
                if tag is not None:  # as _Walk.value: "!" keeps the text, any other as go-yaml's resolve
                    v = s if tag == "!" else tagged_scalar(tag, s)
                elif e.implicit[0] and (not s or s[0] in resolve_first):  # as _Walk.scalar
                    v = (word(s, s) if s[0] in word_first else _quick_resolve(s)) if s else None
                else:
                    v = s
                if v is not s:
                    vc = v.__class__
                    if vc is float:
                        if v != v or v in _INFINITIES:
                            return None
                        numbers = True
                    elif vc is int and not INT64_MIN <= v <= INT64_MAX:
                        numbers = True
                        if v > UINT64_MAX:
                            v = float(v)
            elif c is mapping_start or c is sequence_start:
                if (  # (a collection's tag is dropped, as go-yaml v2's parser drops it)
                    (marked and e.anchor is not None)
                    or want_key  # a collection as a key
                    or len(stack) >= _EVENTS_MAX_DEPTH
                ):
                    return None
                push((cur, key))
                if c is mapping_start:
                    cur = {}
                    in_map = want_key = True
                else:
                    cur = []
                    in_map = False
                continue
            elif c is mapping_end or c is sequence_end:
                v = cur
                cur, key = pop()
                in_map = cur.__class__ is dict
                want_key = False  # the parent takes the value: a mapping then waits for a key again
            else:  # an alias, or the document ends early
                return None
            if in_map:
                cur[key] = v
                want_key = True
            elif cur is None:
                break
            else:
                cur.append(v)
        if get().__class__ is not _EV.DocumentEndEvent or get().__class__ is not _EV.StreamEndEvent:
            return None  # a second document: the node tree's error
        return v, numbers
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return None  # the node tree raises its error for it
    finally:
        parser.dispose()


# The loop above in C (_goyamlc.c, an optional extension over the system libyaml): the same documents
# answered with the same values, every go-yaml rule still here (the two callbacks below); anything it
# leaves (tags too) goes to the Python loop. Off without PyYAML's libyaml parser (then the reference
# is PyYAML's Python parser) or with IMGEXTRACT_NO_CEXT set (the tests run both paths).
_C_LOAD: Callable[[str | bytes, str, Callable[[str], Any], Callable[[str], str | None], int], Any] | None
try:  # (by name: import-linter cannot see a compiled module and takes it for the root package)
    _C_LOAD = __import__(__name__.rpartition(".")[0] + "._goyamlc", fromlist=["load"]).load
except ImportError:  # not built: no C compiler or no libyaml headers where it was installed
    _C_LOAD = None
if _CParser is None or os.environ.get("IMGEXTRACT_NO_CEXT"):
    _C_LOAD = None
_C_FIRST = "".join(sorted(_RESOLVE_FIRST))


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
        fast: tuple[Any, bool] | None = _C_LOAD(text, _C_FIRST, _c_value, _c_key, _EVENTS_MAX_DEPTH)
        return fast
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
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
    return fast if fast is not None else _load_nodes(text)


def _load_nodes(text: str | bytes) -> tuple[Any, bool]:
    """:func:`load_yaml_flagged` through libyaml's node tree: every document, and the errors."""
    loader = _Loader(text)
    try:
        # go-yaml v2's Unmarshal composes the first document and never parses what follows it
        node = loader.get_node() if loader.check_node() else None
        if node is None:
            return None, False
        marks = _nonspecific_marks(text)
        if marks:
            _retag_nonspecific(node, marks)
        walk = _Walk(loader)
        return walk.value(node), walk.go_numbers
    except yaml.YAMLError as exc:
        raise DecodeError(f"error converting YAML to JSON: {_go_yaml_message(exc)}") from exc
    except (ValueError, TypeError, RecursionError, KeyError, AttributeError) as exc:  # KeyError: !!bool maybe
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"error converting YAML to JSON: {exc}") from exc
    finally:
        loader.dispose()


def _go_yaml_message(exc: yaml.YAMLError) -> str:
    """A libyaml syntax error as go-yaml v2's ``parser.fail`` words it: ``yaml: line N: PROBLEM``, N
    the problem mark's 0-based line (one more for a scanner error), else the context mark's, no
    ``line`` part when that is 0; libyaml's context text is dropped."""
    problem = getattr(exc, "problem", None)
    if not isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError)) or not problem:
        return str(exc).replace("\n", " ")
    problem_mark, context_mark = exc.problem_mark, exc.context_mark
    line = 0
    if problem_mark is not None and problem_mark.line:
        line = problem_mark.line + (1 if isinstance(exc, yaml.scanner.ScannerError) else 0)
    elif context_mark is not None:
        line = context_mark.line
    return f"yaml: line {line}: {problem}" if line else f"yaml: {problem}"


_NONSPECIFIC_HINT = re.compile(r"!(?=[\s,\]}]|\Z)")
_NONSPECIFIC_HINT_BYTES = re.compile(rb"!(?=[\s,\]}]|\Z)")


def _nonspecific_marks(text: str | bytes) -> set[tuple[int, int]]:
    """Where the first document's scalars tagged ``!`` start.  PyYAML resolves such a scalar as an
    untagged plain one; go-yaml v2 keeps its tag, which ``resolve`` does not know, so its text
    stays as it is.  Only read when the text could hold such a tag (a ``!`` before a blank)."""
    hint = _NONSPECIFIC_HINT if isinstance(text, str) else _NONSPECIFIC_HINT_BYTES
    if hint.search(text) is None:  # type: ignore[arg-type]
        return set()
    parser: Any = _CParser(text) if _CParser is not None else yaml.SafeLoader(text)
    marks: set[tuple[int, int]] = set()
    try:
        while True:
            e = parser.get_event()
            if e is None or isinstance(e, (_EV.DocumentEndEvent, _EV.StreamEndEvent)):
                return marks
            if isinstance(e, _EV.ScalarEvent) and e.tag == "!" and e.start_mark is not None:
                marks.add((e.start_mark.line, e.start_mark.column))
    except yaml.YAMLError:
        return marks  # the node tree reports it
    finally:
        parser.dispose()


def _retag_nonspecific(root: Any, marks: set[tuple[int, int]]) -> None:
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is _SCALAR_NODE:
            if node.tag == _PLAIN and (node.start_mark.line, node.start_mark.column) in marks:
                node.tag = _NONSPECIFIC
        else:
            pending.extend(_children(node))


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
