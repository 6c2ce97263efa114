"""YAML output as opm writes it: ``sigs.k8s.io/yaml.JSONToYAML`` = go-yaml v2 ``Marshal`` of the JSON.

The rules that decide bytes (go-yaml v2's encoder and its libyaml-derived emitter):

* map keys sorted by go-yaml's ``keyList.Less`` (digit runs compared as numbers, non-letters before
  letters), sequences in a mapping not indented, two-space indentation, ``{}``/``[]`` for empty ones;
* a string is written plain unless it would read back as something else (``"true"``, ``"1.0"``, ``""``)
  or libyaml's analysis forbids it; then single-quoted, or double-quoted when it holds characters
  go-yaml counts as unprintable (tabs, astral-plane characters, ...) or spaces next to line breaks;
* strings with a line break use the literal block style (``|``, ``|-``, ``|+``) when allowed;
* plain, single- and double-quoted scalars fold at a space once the column passes 80;
* floats are ``strconv.FormatFloat(f, 'g', -1, 64)``;
* a key longer than 128 bytes or holding a line break is not a simple key: ``? key`` and then
  ``: value`` on the next line (the key may fold or be a literal block like any other scalar).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cmp_to_key
from typing import Any

from imgextract.catalog.render.gojson import float_g
from imgextract.catalog.render.goresolve import go_resolve

__all__ = ["dump", "key_less"]

BEST_WIDTH = 80
BEST_INDENT = 2
MAX_SIMPLE_KEY = 128  # bytes
# "\Z" below: Go's regexp "$" ends the text, Python's also matches before a final newline
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_BREAKS = "\r\n\x85\u2028\u2029"
# characters that set no flag of the scalar analysis after the first one: printable ASCII but the
# space and the flow indicators, ':' and '#'
_INERT_TAIL = re.compile(r'[!"$-+\--9;->@-Z\\^-z|~]+')
_TS_DATE = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\Z")
_TS_T = re.compile(
    r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})"
    r"(?:[.,][0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})\Z"
)
_TS_SPACE = re.compile(
    r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2}) ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]+)?\Z"
)


def is_go_timestamp(s: str) -> bool:
    """go-yaml v2 ``parseTimestamp`` (its four ``time.Parse`` layouts, with Go's range checks)."""
    import calendar

    for rx in (_TS_T, _TS_SPACE, _TS_DATE):
        m = rx.match(s)
        if not m:
            continue
        g = [int(x) for x in m.groups()]
        year, month, day = g[0], g[1], g[2]
        if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
            continue
        if len(g) > 3 and (g[3] >= 24 or g[4] >= 60 or g[5] >= 60):
            continue
        return True
    return False


def _is_letter(c: str) -> bool:
    return unicodedata.category(c)[0] == "L"


def _is_digit(c: str) -> bool:
    return unicodedata.category(c) == "Nd"


def key_less(a: str, b: str) -> bool:
    """go-yaml v2 ``keyList.Less`` for two string keys."""
    for i in range(min(len(a), len(b))):
        ca, cb = a[i], b[i]
        if ca == cb:
            continue
        al, bl = _is_letter(ca), _is_letter(cb)
        if al and bl:
            return ca < cb
        if al or bl:
            return bl
        an = bn = 0
        if ca == "0" or cb == "0":
            j = i - 1
            while j >= 0 and _is_digit(a[j]):
                if a[j] != "0":
                    an = bn = 1
                    break
                j -= 1
        ai = i
        while ai < len(a) and _is_digit(a[ai]):
            an = an * 10 + (ord(a[ai]) - 48)
            ai += 1
        bi = i
        while bi < len(b) and _is_digit(b[bi]):
            bn = bn * 10 + (ord(b[bi]) - 48)
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _cmp(a: str, b: str) -> int:
    if key_less(a, b):
        return -1
    if key_less(b, a):
        return 1
    return 0


def _printable(c: str) -> bool:
    o = ord(c)
    return o == 0x0A or 0x20 <= o <= 0x7E or 0xA0 <= o <= 0xD7FF or (0xE000 <= o <= 0xFFFD and o != 0xFEFF)


class _Analysis:
    __slots__ = ("multiline", "flow_plain", "block_plain", "single", "block")

    def __init__(self, s: str) -> None:
        if not s:
            self.multiline = False
            self.flow_plain = False
            self.block_plain = True
            self.single = True
            self.block = False
            return
        document_marker = s.startswith("---") or s.startswith("...")
        if len(s) > 2 and _INERT_TAIL.fullmatch(s, 1):
            # past the first character nothing can set a flag (a long base64 value): the first two
            # characters decide, exactly as the whole string would
            self._scan(s[:2], document_marker)
        else:
            self._scan(s, document_marker)

    def _scan(self, s: str, document_marker: bool) -> None:
        """libyaml ``analyze_scalar`` of ``s`` (non-empty)."""
        block_ind = flow_ind = document_marker
        line_breaks = special = False
        leading_space = leading_break = trailing_space = trailing_break = False
        break_space = space_break = previous_space = previous_break = False
        preceded_by_ws = True
        n = len(s)
        followed_by_ws = n == 1 or s[1] in " \t" + _BREAKS
        for i, c in enumerate(s):
            if i == 0:
                if c in "#,[]{}&*!|>'\"%@`":
                    flow_ind = block_ind = True
                if c in "?:":
                    flow_ind = True
                    if followed_by_ws:
                        block_ind = True
                if c == "-" and followed_by_ws:
                    flow_ind = block_ind = True
            else:
                if c in ",?[]{}":
                    flow_ind = True
                if c == ":":
                    flow_ind = True
                    if followed_by_ws:
                        block_ind = True
                if c == "#" and preceded_by_ws:
                    flow_ind = block_ind = True
            if not _printable(c):
                special = True
            if c in _BREAKS:
                line_breaks = True
            if c == " ":
                if i == 0:
                    leading_space = True
                if i == n - 1:
                    trailing_space = True
                if previous_break:
                    break_space = True
                previous_space, previous_break = True, False
            elif c in _BREAKS:
                if i == 0:
                    leading_break = True
                if i == n - 1:
                    trailing_break = True
                if previous_space:
                    space_break = True
                previous_space, previous_break = False, True
            else:
                previous_space = previous_break = False
            preceded_by_ws = c in " \t" + _BREAKS
            if i + 1 < n:
                followed_by_ws = i + 2 >= n or s[i + 2] in " \t" + _BREAKS
        self.multiline = line_breaks
        fp = bp = sq = bl = True
        if leading_space or leading_break or trailing_space or trailing_break:
            fp = bp = False
        if trailing_space:
            bl = False
        if break_space:
            fp = bp = sq = False
        if space_break or special:
            fp = bp = sq = bl = False
        if line_breaks:
            fp = bp = False
        if flow_ind:
            fp = False
        if block_ind:
            bp = False
        self.flow_plain, self.block_plain, self.single, self.block = fp, bp, sq, bl


def _simple_key(key: str) -> bool:
    """libyaml ``check_simple_key`` for a string key: one line and at most 128 bytes."""
    return len(key.encode("utf-8", "surrogatepass")) <= MAX_SIMPLE_KEY and not _Analysis(key).multiline


class _Emitter:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.column = 0
        self.whitespace = True
        self.indention = True
        self.open_ended = False
        self.indent = -1

    # -- primitives (libyaml's put / write / write_indent / write_indicator)
    def put(self, s: str) -> None:
        self.out.append(s)
        self.column += len(s)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if not self.indention or self.column > indent or (self.column == indent and not self.whitespace):
            self.put_break()
        if self.column < indent:
            self.put(" " * (indent - self.column))
        self.whitespace = True
        self.indention = True

    def write_indicator(self, ind: str, need_ws: bool, is_ws: bool, is_indention: bool) -> None:
        if need_ws and not self.whitespace:
            self.put(" ")
        self.put(ind)
        self.whitespace = is_ws
        self.indention = self.indention and is_indention
        self.open_ended = False

    # -- nodes
    def node(self, v: Any, *, mapping_ctx: bool = False, simple_key: bool = False) -> None:
        if isinstance(v, dict):
            if not v:
                self.flow_empty("{}")
            else:
                self.block_mapping(v)
        elif isinstance(v, list):
            if not v:
                self.flow_empty("[]")
            else:
                self.block_sequence(v, mapping_ctx)
        else:
            self.scalar(v, simple_key)

    def flow_empty(self, text: str) -> None:
        # flow collection as a block value: "key: {}"
        self.write_indicator(text[0], True, True, False)
        self.write_indicator(text[1], False, False, False)

    def block_mapping(self, m: dict[str, Any]) -> None:
        prev = self.indent
        self.indent = 0 if self.indent < 0 else self.indent + BEST_INDENT
        for k in sorted(m, key=cmp_to_key(_cmp)):
            self.write_indent()
            if _simple_key(k):
                self.scalar(k, True)
                self.write_indicator(":", False, False, False)
            else:  # libyaml's complex key: "? key", then ": value" on its own line
                self.write_indicator("?", True, False, True)
                self.scalar(k, False)
                self.write_indent()
                self.write_indicator(":", True, False, True)
            self.node(m[k], mapping_ctx=True)
        self.indent = prev

    def block_sequence(self, seq: list[Any], mapping_ctx: bool) -> None:
        prev = self.indent
        indentless = mapping_ctx and not self.indention
        if self.indent < 0:
            self.indent = 0
        elif not indentless:
            self.indent += BEST_INDENT
        for item in seq:
            self.write_indent()
            self.write_indicator("-", True, False, True)
            self.node(item)
        self.indent = prev

    def scalar(self, v: Any, simple_key: bool) -> None:
        if v is None:
            text, style = "null", "plain"
        elif v is True:
            text, style = "true", "plain"
        elif v is False:
            text, style = "false", "plain"
        elif isinstance(v, int):
            text, style = str(v), "plain"
        elif isinstance(v, float):
            text = float_g(v)
            text = {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text)
            style = "plain"
        else:
            text = str(v)
            if any(c in text for c in "\n"):
                style = "literal"
            elif isinstance(go_resolve(text), str) and not _BASE60.match(text) and not is_go_timestamp(text):
                style = "plain"
            else:
                style = "double"
        a = _Analysis(text)
        if simple_key and a.multiline:
            style = "double"
        if style == "plain":
            if not a.block_plain or (not text and simple_key):
                style = "single"
        if style == "single" and not a.single:
            style = "double"
        if style == "literal" and (not a.block or simple_key):
            style = "double"
        prev = self.indent
        self.indent = BEST_INDENT if self.indent < 0 else self.indent + BEST_INDENT
        allow_breaks = not simple_key
        if style == "plain":
            self.write_plain(text, allow_breaks)
        elif style == "single":
            self.write_single(text, allow_breaks)
        elif style == "double":
            self.write_double(text, allow_breaks)
        else:
            self.write_literal(text)
        self.indent = prev

    def write_plain(self, s: str, allow_breaks: bool) -> None:
        if not self.whitespace and s:
            self.put(" ")
        if " " not in s:  # no place to break: the characters as they are
            if s:
                self.put(s)
            self.whitespace = False
            self.indention = False
            return
        spaces = False
        for i, c in enumerate(s):
            if c == " ":
                if (
                    allow_breaks
                    and not spaces
                    and self.column > BEST_WIDTH
                    and not (i + 1 < len(s) and s[i + 1] == " ")
                ):
                    self.write_indent()
                else:
                    self.put(c)
                spaces = True
            else:
                self.put(c)
                self.indention = False
                spaces = False
        self.whitespace = False
        self.indention = False

    def write_single(self, s: str, allow_breaks: bool) -> None:
        self.write_indicator("'", True, False, False)
        spaces = breaks = False
        n = len(s)
        for i, c in enumerate(s):
            if c in _BREAKS:  # only U+2028/U+2029 get here (the encoder sends "\n" to literal/double)
                if not breaks and c == "\n":
                    self.put_break()
                self.out.append(c)
                self.column = 0
                self.indention = True
                breaks = True
                continue
            if breaks:
                self.write_indent()
                breaks = False
            if c == " ":
                if (
                    allow_breaks
                    and not spaces
                    and self.column > BEST_WIDTH
                    and i != 0
                    and i != n - 1
                    and not (i + 1 < n and s[i + 1] == " ")
                ):
                    self.write_indent()
                else:
                    self.put(c)
                spaces = True
            else:
                self.put("''" if c == "'" else c)
                self.indention = False
                spaces = False
        self.write_indicator("'", False, False, False)

    _ESC = {
        0x00: "0",
        0x07: "a",
        0x08: "b",
        0x09: "t",
        0x0A: "n",
        0x0B: "v",
        0x0C: "f",
        0x0D: "r",
        0x1B: "e",
        0x22: '"',
        0x5C: "\\",
        0x85: "N",
        0xA0: "_",
        0x2028: "L",
        0x2029: "P",
    }

    def write_double(self, s: str, allow_breaks: bool) -> None:
        self.write_indicator('"', True, False, False)
        spaces = False
        n = len(s)
        for i, c in enumerate(s):
            o = ord(c)
            if not _printable(c) or o == 0xFEFF or c in _BREAKS or c in '"\\':
                esc = self._ESC.get(o)
                if esc is None:
                    if o <= 0xFF:
                        esc = f"x{o:02X}"
                    elif o <= 0xFFFF:
                        esc = f"u{o:04X}"
                    else:
                        esc = f"U{o:08X}"
                self.put("\\" + esc)
                spaces = False
            elif c == " ":
                if allow_breaks and not spaces and self.column > BEST_WIDTH and i != 0 and i != n - 1:
                    self.write_indent()
                    if i + 1 < n and s[i + 1] == " ":
                        self.put("\\")
                else:
                    self.put(c)
                spaces = True
            else:
                self.put(c)
                spaces = False
        self.write_indicator('"', False, False, False)

    def write_literal(self, s: str) -> None:
        self.write_indicator("|", True, False, False)
        if s[:1] == " " or s[:1] in _BREAKS:
            self.write_indicator(str(BEST_INDENT), False, False, False)
        self.open_ended = False
        chomp = None
        if not s or s[-1] not in _BREAKS:
            chomp = "-"
        elif len(s) == 1 or s[-2] in _BREAKS:
            chomp = "+"
            self.open_ended = True
        if chomp:
            self.write_indicator(chomp, False, False, False)
        self.put_break()
        self.indention = True
        self.whitespace = True
        breaks = True
        for c in s:
            if c in _BREAKS:
                self.put_break()  # WRITE_BREAK: "\n" for "\n"; other breaks copied (rare here)
                if c != "\n":
                    self.out[-1] = c
                self.indention = True
                breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(c)
                self.indention = False
                breaks = False


def dump(value: Any) -> str:
    """``yaml.Marshal`` (go-yaml v2) of a JSON value tree."""
    e = _Emitter()
    e.node(value)
    if e.open_ended:
        e.write_indicator("...", True, False, False)
        e.write_indent()
    text = "".join(e.out)
    return text + "\n" if not text.endswith("\n") else text
