"""A bound on what an OpenPGP message expands to, checked before Sequoia reads it.

A signature blob is at most 4 MiB, but its compressed-data packets may inflate a thousandfold or
more, and the verifier holds the whole signed content in memory: a hostile lookaside or ``.sig``
store could make every verification allocate gigabytes.  This walks the packet framing (RFC 4880
§4.2: old and new headers, partial body lengths), inflates each compressed packet with a bound
and looks inside it, and says how many bytes the message expands to, or that it exceeds the
limit.  It interprets nothing else: malformed framing is left to Sequoia, which refuses it.
"""

from __future__ import annotations

import bz2
import zlib
from collections.abc import Iterator

MAX_INFLATED_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 8
_COMPRESSED = 8


class TooLarge(ValueError):
    """The message expands beyond the limit (or nests compression too deeply)."""


def check_inflated_size(blob: bytes, limit: int = MAX_INFLATED_BYTES) -> None:
    """Raise :class:`TooLarge` when the message's compressed packets expand beyond ``limit``."""
    _walk(blob, limit, 0)


def _walk(data: bytes, budget: int, depth: int) -> int:
    """Bytes the compressed packets in ``data`` expand to (recursively); raises past ``budget``."""
    used = 0
    for tag, body in _packets(data):
        if tag != _COMPRESSED or not body:
            continue
        if depth >= MAX_DEPTH:
            raise TooLarge(f"compressed packets nested more than {MAX_DEPTH} deep")
        inner = _inflate(body[0], body[1:], budget - used)
        if inner is None:
            continue  # an algorithm Sequoia will judge (uncompressed, or unknown: refused there)
        used += len(inner)
        used += _walk(inner, budget - used, depth + 1)
        if used > budget:
            raise TooLarge(f"the signed message expands to more than {budget} bytes")
    return used


def _inflate(algorithm: int, data: bytes, budget: int) -> bytes | None:
    if budget < 0:
        raise TooLarge("the signed message expands beyond the limit")
    if algorithm in (1, 2):  # ZIP (raw deflate), ZLIB
        z = zlib.decompressobj(-15 if algorithm == 1 else 15)
        try:
            out = z.decompress(data, budget + 1)
        except zlib.error:
            return b""
    elif algorithm == 3:  # BZip2
        b = bz2.BZ2Decompressor()
        try:
            out = b.decompress(data, max_length=budget + 1)
        except (OSError, EOFError, ValueError):
            return b""
    else:
        return None
    if len(out) > budget:
        raise TooLarge(f"a compressed packet expands to more than {budget} bytes")
    return out


def _packets(data: bytes) -> Iterator[tuple[int, bytes]]:
    """(tag, body) of each packet; stops quietly at malformed framing."""
    pos, end = 0, len(data)
    while pos < end:
        first = data[pos]
        pos += 1
        if not first & 0x80:
            return
        if first & 0x40:  # new format
            tag = first & 0x3F
            chunks: list[bytes] = []
            while True:
                length, partial, pos = _new_length(data, pos)
                if length is None:
                    return
                chunks.append(data[pos : pos + length])
                pos += length
                if not partial:
                    break
            yield tag, b"".join(chunks)
        else:  # old format
            tag, kind = (first >> 2) & 0x0F, first & 0x03
            if kind == 3:  # indeterminate: to the end
                yield tag, data[pos:]
                return
            size = 1 << kind
            if pos + size > end:
                return
            length = int.from_bytes(data[pos : pos + size], "big")
            pos += size
            yield tag, data[pos : pos + length]
            pos += length


def _new_length(data: bytes, pos: int) -> tuple[int | None, bool, int]:
    if pos >= len(data):
        return None, False, pos
    o = data[pos]
    if o < 192:
        return o, False, pos + 1
    if o < 224:
        if pos + 1 >= len(data):
            return None, False, pos
        return ((o - 192) << 8) + data[pos + 1] + 192, False, pos + 2
    if o == 255:
        if pos + 5 > len(data):
            return None, False, pos
        return int.from_bytes(data[pos + 1 : pos + 5], "big"), False, pos + 5
    return 1 << (o & 0x1F), True, pos + 1
