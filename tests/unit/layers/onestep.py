"""What the tests of ``TarReader``'s one-step readers (``next_plain``, ``next_dir``) share: each
compares a reader that takes members through the one-step reader with ``members`` alone, over
archives whose headers are changed byte by byte, mutated at random, or given every checksum form.

``Outcome`` is such a test's reading: ``outcome(data, fast=..., step=...)`` gives the members (or
the error) and how many members the one-step reader took.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Protocol

import pytest
from hypothesis import HealthCheck, settings

from imgextract.layers.tarstream import TarReader
from tests.unit.layers.layerkit import pad, raw_header
from tests.unit.layers.test_tarstream import rechecksum

FUZZ = settings(
    max_examples=int(os.environ.get("LAYERS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ALPHABET = b"01234567 \0\x80\xff89x/.-+_\twh"
# the header bytes a one-step reader looks at: every field but the text fields' middles
HEADER_POSITIONS = frozenset(range(100, 265)) | {0, 1, 2, 3, 99, 329, 337, 345, 346, 499, 508, 511}
CHECKSUM_FORMS = [
    b"%06o\0 ",
    b"%06o \0",
    b"%06o  ",
    b"%06o\0\0",
    b"%07o\0",
    b"%07o ",
    b" %06o\0",
    b"%08o",
    b"%o\0",
]
CHECKSUM_DELTAS = [0, 1, -1, 8]


class Outcome(Protocol):
    def __call__(self, data: bytes, *, fast: bool, step: int = ...) -> tuple[object, int]: ...


def same_both_ways(outcome: Outcome, data: bytes, step: int = 1 << 30) -> int:
    """Asserts both readings of ``data`` agree; how many members the one-step reader took."""
    with_fast, taken = outcome(data, fast=True, step=step)
    assert with_fast == outcome(data, fast=False, step=step)[0]
    return taken


def files(names_sizes: list[tuple[str, int]]) -> bytes:
    """Plain-file members with these names and sizes (their data a letter repeated)."""
    return b"".join(
        raw_header(n, size=s) + pad(bytes([65 + i % 26]) * s) for i, (n, s) in enumerate(names_sizes)
    )


def replaced(data: bytes, start: int, block: bytes) -> bytes:
    """``data`` with the header at ``start`` replaced by ``block``."""
    return data[:start] + block + data[start + 512 :]


def single_byte_changes(data: bytes, start: int, positions: frozenset[int]) -> Iterator[bytes]:
    """``data`` with one byte of the header at ``start`` set to each byte of ALPHABET at each of
    ``positions``, checksum made valid."""
    for pos in sorted(positions):
        for value in ALPHABET:
            block = bytearray(data[start : start + 512])
            block[pos] = value
            yield replaced(data, start, rechecksum(bytes(block)))


def mutated(data: bytes, start: int, edits: list[tuple[int, int]], fix_checksum: bool) -> bytes:
    """``data`` with the header at ``start`` edited (its checksum made valid or not)."""
    block = bytearray(data[start : start + 512])
    for at, value in edits:
        block[at] = value
    return replaced(data, start, rechecksum(bytes(block)) if fix_checksum else bytes(block))


def with_mode_and_mtime(block: bytes, mode: int | None, mtime: int | None) -> bytes:
    """``block`` with this mode and mtime (None: a blank field, read as 0), checksum made valid."""
    fixed = bytearray(block)
    if mode is None:
        fixed[100:108] = bytes(8)
    else:
        fixed[100:108] = b"%07o\0" % mode
    fixed[136:148] = bytes(12) if mtime is None else b"%011o\0" % mtime
    return rechecksum(bytes(fixed))


def with_checksum(block: bytes, form: bytes, delta: int) -> bytes:
    """``block`` whose checksum field is its sum plus ``delta`` written in ``form``."""
    total = sum(block[:148]) + 256 + sum(block[156:])
    fixed = bytearray(block)
    fixed[148:156] = (form % (total + delta))[:8].ljust(8, b"\0")
    return bytes(fixed)


def signed_checksums(block: bytes) -> list[bytes]:
    """``block`` with a name byte above 0x7f, under the signed sum (as old tars wrote it, which
    differs from the unsigned one) and that sum plus 256."""
    changed = bytearray(block)
    changed[2] = 0xE9
    signed = sum(b - 256 if b > 127 else b for b in changed[:148]) + 256 + sum(changed[156:])
    out = []
    for total in (signed, signed + 256):
        changed[148:156] = b"%06o\0 " % total
        out.append(bytes(changed))
    return out


def full_matches(monkeypatch: pytest.MonkeyPatch, method: str) -> list[int]:
    """Where the reader's full header match (``TarReader.<method>``) runs, recorded from now on."""
    seen: list[int] = []
    original = getattr(TarReader, method)

    def counting(self: TarReader, prefix: bytes) -> object:
        seen.append(self._pos)
        return original(self, prefix)

    monkeypatch.setattr(TarReader, method, counting)
    return seen
