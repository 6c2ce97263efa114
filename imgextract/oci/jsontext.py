"""``json.loads`` for documents the product does not control (manifests, configs, registry answers,
signature payloads, catalogs, the user's auth and policy files).

Python's decoder has two failures that are not :class:`json.JSONDecodeError`: nesting deeper than
the interpreter's recursion limit (about 1000 levels) raises RecursionError, and an integer of more
than 4300 digits raises a bare ValueError (the int conversion limit).  Both are invalid input, not
bugs: here they are a :class:`json.JSONDecodeError` (a ValueError) like any other, so each caller's
own "not valid JSON" error covers them.  Go's encoding/json also refuses deep nesting ("exceeded
max depth", at 10000 levels) and a number out of float64 range.

Bytes are read as Go reads them: UTF-8 only, an invalid sequence inside a string is U+FFFD (and
outside one a syntax error), a byte order mark or UTF-16 text is no JSON.  Go's decoder refuses
``NaN``, ``Infinity`` and ``-Infinity``, which Python's accepts: here they are an error unless the
caller passes its own ``parse_constant`` (use :func:`decoder` for raw_decode).  Go's decoder also
reads an unpaired surrogate escape (``"\\ud800"``) as U+FFFD, where Python keeps a lone surrogate
that no UTF-8 encoder accepts later (sorting by bytes, writing, printing): the decoded value gets
Go's U+FFFD.  Only a text holding such an escape is walked.
"""

from __future__ import annotations

import binascii
import json
import re
import sys
from typing import Any

_INT_LIMIT = "Exceeds the limit"  # the start of int()'s message when the digit limit is hit
_OUT_OF_RANGE = "number out of range"


# Compiled at their first use (re's cache keeps them): most texts hold no escape, and compiling
# them is a measurable share of a short command's start-up.
_SURROGATE_ESCAPE = r"\\u[dD][89a-fA-F]"  # a paired one is decoded as one character
_SURROGATE = "[\ud800-\udfff]"


def _go_string(s: str, surrogate: re.Pattern[str]) -> str:
    return surrogate.sub("\ufffd", s) if surrogate.search(s) else s


def _go_strings(value: Any) -> Any:
    """``value`` with every lone surrogate of its strings (keys too) made U+FFFD, in place where
    it can be; iterative, so a deep value (it decoded) cannot exceed the recursion limit here."""
    surrogate = re.compile(_SURROGATE)
    if isinstance(value, str):
        return _go_string(value, surrogate)
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if any(isinstance(k, str) and surrogate.search(k) for k in item):
                pairs = list(item.items())
                item.clear()
                for k, v in pairs:  # a key that becomes an earlier one replaces it, as in a Go map
                    item[_go_string(k, surrogate) if isinstance(k, str) else k] = v
            for k, v in item.items():
                if isinstance(v, str):
                    item[k] = _go_string(v, surrogate)
                elif isinstance(v, dict | list):
                    stack.append(v)
        elif isinstance(item, list):
            for i, v in enumerate(item):
                if isinstance(v, str):
                    item[i] = _go_string(v, surrogate)
                elif isinstance(v, dict | list):
                    stack.append(v)
    return value


def _escapes(text: str, start: int = 0, end: int | None = None) -> bool:
    end = len(text) if end is None else end
    if text.find("\\", start, end) < 0:  # no escape at all (most documents): a memchr, not a regex scan
        return False
    return re.compile(_SURROGATE_ESCAPE).search(text, start, end) is not None


def go_constant(name: str) -> Any:
    """A ``parse_constant`` hook: ``NaN``/``Infinity``/``-Infinity`` are invalid, as in Go."""
    raise json.JSONDecodeError(f"invalid character {name[0]!r} looking for beginning of value", name, 0)


def decoder() -> json.JSONDecoder:
    """A JSONDecoder for :func:`raw_decode` that refuses NaN and Infinity as Go does."""
    return json.JSONDecoder(parse_constant=go_constant)


def _invalid(doc: str | bytes | bytearray, message: str, pos: int = 0) -> json.JSONDecodeError:
    text = doc if isinstance(doc, str) else ""
    return json.JSONDecodeError(message, text, min(pos, len(text)))


# what may follow a number's digits where a read cut it: a fraction's point, an exponent and its sign
_NUMBER_GOES_ON = ".eE+-"


def number_cut(exc: BaseException, text: str) -> bool | None:
    """For a reader decoding a window of a stream (``text``): None when the decoder's failure
    ``exc`` is no number's conversion; else whether the number that failed ends where the window
    does (but for a point, or an exponent's start), so more text may make it another number.

    A hook's error (``parse_int``, ``parse_float``, ``parse_constant``) holds the number's text as
    its document; the digit limit (Python's: more than 4300 digits) is recognised by its digits at
    the window's end.  ``1`` + 5000 zeros + ``e-4900`` is 1e100, but the window that ends in its
    digits gives the decoder an integer past both limits."""
    if isinstance(exc, json.JSONDecodeError):
        if exc.doc is not text:  # a hook's error: its document is the number's text
            number = exc.doc
        elif exc.msg == _OUT_OF_RANGE:  # (raw_decode's form of the digit limit)
            number = None
        else:
            return None
    elif type(exc) is ValueError and str(exc).startswith(_INT_LIMIT):
        number = None
    else:
        return None
    end = len(text.rstrip(_NUMBER_GOES_ON))
    if len(text) - end > 2:
        return False
    if number is not None:
        return bool(number) and text.endswith(number, 0, end)
    limit = sys.get_int_max_str_digits()
    tail = text[max(0, end - limit - 1) : end]
    return limit > 0 and len(tail) > limit and tail.isascii() and tail.isdigit()


def loads(data: str | bytes | bytearray, **kwargs: Any) -> Any:
    """``json.loads(data, **kwargs)`` by Go's rules (see the module): deep nesting, huge integers,
    NaN and Infinity are JSONDecodeError, invalid UTF-8 and lone surrogates U+FFFD."""
    kwargs.setdefault("parse_constant", go_constant)
    if not isinstance(data, str):  # Go reads UTF-8 only: invalid bytes U+FFFD, a BOM or UTF-16 no JSON
        data = bytes(data).decode("utf-8", "replace")
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise _invalid(data, "exceeded max depth") from None
    except ValueError as exc:
        if type(exc) is ValueError and str(exc).startswith(_INT_LIMIT):
            raise _invalid(data, _OUT_OF_RANGE) from None
        raise
    return _go_strings(value) if _escapes(data) else value


def raw_decode(dec: json.JSONDecoder, text: str, pos: int = 0) -> tuple[Any, int]:
    """``dec.raw_decode(text, pos)``, read by the same rules as :func:`loads` (``dec`` decides
    about NaN: see :func:`decoder`)."""
    try:
        value, end = dec.raw_decode(text, pos)
    except RecursionError:
        raise _invalid(text, "exceeded max depth", pos) from None
    except ValueError as exc:
        if type(exc) is ValueError and str(exc).startswith(_INT_LIMIT):
            raise _invalid(text, _OUT_OF_RANGE, pos) from None
        raise
    return (_go_strings(value) if _escapes(text, pos, end) else value), end


_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {c: i for i, c in enumerate(_B64)}


def _well_formed(data: bytes) -> bytes | None:
    """``data`` without CR and LF when it is whole quantums of the alphabet with at most two ``=``
    at the end (the common case, decoded at C speed); else None (the slow path decides)."""
    compact = data.replace(b"\r", b"").replace(b"\n", b"") if b"\r" in data or b"\n" in data else data
    body = compact.rstrip(b"=")
    if len(compact) % 4 == 0 and len(compact) - len(body) <= 2 and not body.translate(None, _B64):
        return compact
    return None


def go_base64_valid(data: bytes) -> bool:
    """Whether Go's ``base64.StdEncoding`` decodes ``data`` (what :func:`go_base64_decode` accepts),
    decided at C speed: after CR and LF are dropped, exactly the whole quantums of the alphabet with
    at most two ``=`` at the end decode (trailing bits are ignored)."""
    return _well_formed(data) is not None


def go_base64_check(data: bytes) -> None:
    """Raise ValueError where :func:`go_base64_decode` would, without decoding well-formed input."""
    if _well_formed(data) is None:
        _go_base64_slow(data)


def go_base64_decode(data: bytes) -> bytes:
    """``base64.StdEncoding.Decode`` (how Go's JSON decoder fills a ``[]byte``): CR and LF skipped,
    padding required, trailing bits ignored; an error names the offending input byte as Go does."""
    compact = _well_formed(data)
    return _go_base64_slow(data) if compact is None else binascii.a2b_base64(compact)


def _go_base64_slow(data: bytes) -> bytes:
    out = bytearray()
    n = len(data)
    si = 0
    while True:
        quantum: list[int] = []
        end = False
        while len(quantum) < 4:
            if si == n:
                if not quantum:
                    return bytes(out)
                raise ValueError(f"illegal base64 data at input byte {si - len(quantum)}")
            c = data[si]
            si += 1
            if c in _B64_VALUE:
                quantum.append(_B64_VALUE[c])
                continue
            if c in (0x0A, 0x0D):
                continue
            if c != 0x3D or len(quantum) < 2:  # not "=", or padding too early
                raise ValueError(f"illegal base64 data at input byte {si - 1}")
            if len(quantum) == 2:  # a second "=" must follow
                while si < n and data[si] in (0x0A, 0x0D):
                    si += 1
                if si == n:
                    raise ValueError(f"illegal base64 data at input byte {n}")
                if data[si] != 0x3D:
                    raise ValueError(f"illegal base64 data at input byte {si - 1}")
                si += 1
            while si < n and data[si] in (0x0A, 0x0D):
                si += 1
            if si < n:
                raise ValueError(f"illegal base64 data at input byte {si}")
            end = True
            break
        val = 0
        for i in range(4):
            val = (val << 6) | (quantum[i] if i < len(quantum) else 0)
        out += val.to_bytes(3, "big")[: len(quantum) - 1 if len(quantum) < 4 else 3]
        if end:
            return bytes(out)


def go_base64(text: str | bytes) -> bytes:
    """Go's ``base64.StdEncoding`` decoding (``DecodeString``, and ``encoding/json`` for ``[]byte``).

    CR and LF anywhere are skipped; the rest must be whole quantums of the standard alphabet with
    at most two ``=`` at the very end; trailing bits are ignored.  Anything else raises ValueError,
    ``<valid base64>=`` included (Python's ``b64decode`` drops that extra padding silently)."""
    data = text.encode("ascii") if isinstance(text, str) else text  # non-ASCII: a ValueError too
    return go_base64_decode(data)
