"""Concatenated JSON values read from a byte stream one at a time, in bounded memory.

A file of JSON values one after another (a catalog file, a plain bundle's manifest) is decoded
from a window of its text: what is held is the value being decoded and one read.  A value still
incomplete where the window ends makes the next read at least as large as the window, so a large
value costs no more than about twice its decoding; a window holding more than ``max_value``
characters of one unfinished value is refused (:class:`ValueTooLarge`).

What differs between the readers built on this is a parameter: ``decode`` (which decoder, hence
the number rules: Python's, or Go's float64 through :mod:`.jsontext`), the size of a read, the bytes
already read (``head``), whether a number or literal that ends where the window ends waits for
the next read (its digits may go on), and whether a value that did decode is still held to the
bound.  Each reader words its own errors from :class:`InvalidJSON` and :class:`ValueTooLarge`.

The bytes are UTF-8: a sequence cut by a read waits for the next one, an invalid one is U+FFFD
(as Go's decoder reads it inside a string; anywhere else the decoder then fails on it).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, Protocol

__all__ = ["InvalidJSON", "Readable", "StreamError", "ValueTooLarge", "iter_values", "may_go_on"]

_BLANK_CHARS = " \t\r\n"
_BLANKS = re.compile(r"[ \t\r\n]*")
# how far past the place it fails the decoder may have looked (a literal such as ``-Infinity``,
# a ``\\uXXXX`` escape): text appended beyond that cannot change the failure
_LOOKAHEAD = 16


class Readable(Protocol):
    def read(self, n: int, /) -> bytes: ...


class StreamError(ValueError):
    """The stream is no run of JSON values; ``index`` counts the values decoded before the one
    that failed."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


class InvalidJSON(StreamError):
    """Value ``index`` does not decode: ``cause`` is the decoder's error (a ValueError, usually a
    :class:`json.JSONDecodeError`, or a RecursionError)."""

    def __init__(self, cause: BaseException, index: int) -> None:
        super().__init__(str(cause), index)
        self.cause = cause


class ValueTooLarge(StreamError):
    """Value ``index`` is longer than the bound (in characters)."""


def may_go_on(exc: BaseException, text: str) -> bool:
    """Whether more text after ``text`` could mend the decoder's failure ``exc``: it stopped where
    the text ends (a literal, number or escape cut short stops it a few characters before), in a
    string still open, or in converting a number (a hook's error is about the number's own text,
    whose digits may go on)."""
    if not isinstance(exc, json.JSONDecodeError):
        return False
    return (
        exc.doc is not text or exc.pos + _LOOKAHEAD >= len(text) or exc.msg.startswith("Unterminated string")
    )


def iter_values(
    stream: Readable,
    decode: Callable[[str, int], tuple[Any, int]],
    *,
    read_size: int,
    max_value: int,
    head: bytes = b"",
    scalars_wait: bool = False,
    bound_decoded: bool = False,
) -> Iterator[Any]:
    """The values of ``head`` followed by ``stream``, decoded one at a time by ``decode(text,
    pos) -> (value, end)`` (a ``raw_decode``; it raises ValueError or RecursionError).

    ``read_size`` is the smallest read; ``max_value`` the most characters of one unfinished value
    (past it, :class:`ValueTooLarge`); with ``bound_decoded`` a value that decoded longer than that
    is refused too.  With ``scalars_wait`` a number or literal ending where the text read so far
    ends is taken only once more text (or the end of the stream) confirms it ends there.  A value
    that fails to decode is :class:`InvalidJSON` once no more text could mend it (see
    :func:`may_go_on`) or the stream has ended."""
    utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
    text = ""
    pos = 0
    eof = False
    index = 0  # values decoded
    while True:
        n = len(text)
        if pos < n and text[pos] in _BLANK_CHARS:  # a run of blanks in one step, not a loop per byte
            pos = _BLANKS.match(text, pos).end()  # type: ignore[union-attr]
        if pos == n:
            if eof:
                return
            text, pos = "", 0
        else:
            try:
                value, end = decode(text, pos)
            except (ValueError, RecursionError) as exc:
                if eof or not may_go_on(exc, text):
                    raise InvalidJSON(exc, index) from None
                if n - pos > max_value:
                    raise ValueTooLarge(
                        f"a JSON value is larger than {max_value} characters", index
                    ) from None
            else:
                if end < n or eof or not scalars_wait or isinstance(value, dict | list | str):
                    if bound_decoded and end - pos > max_value:
                        raise ValueTooLarge(f"a JSON value is larger than {max_value} characters", index)
                    yield value
                    index += 1
                    pos = end
                    continue
        # More text is needed: read at least as much as is held, so a large value costs O(n) overall.
        chunk = stream.read(max(read_size, len(text) - pos))
        eof = not chunk
        if head:  # the bytes read before: decoded with the first read
            chunk, head = head + chunk, b""
        text = text[pos:] + utf8.decode(chunk, final=eof)
        pos = 0
