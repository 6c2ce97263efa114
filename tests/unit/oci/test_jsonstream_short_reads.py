"""A stream that returns less than asked (a pipe, a socket, a decompressor handing over what it
has): the window of a large value still grows geometrically, so the value is decoded a few times,
not once per short read (which made a 16 MB catalog object read in 64 KiB pieces cost 14 times
its decoding, and a 256 MiB one hours)."""

from __future__ import annotations

import io
import json
from typing import Any

from imgextract.oci import jsonstream


class ShortReads(io.BytesIO):
    """Never more than ``most`` bytes per read."""

    def __init__(self, data: bytes, most: int) -> None:
        super().__init__(data)
        self.most = most

    def read(self, size: int | None = -1) -> bytes:
        return super().read(self.most if size is None or size < 0 else min(size, self.most))


def _attempts(data: bytes, most: int, read_size: int) -> tuple[list[Any], int]:
    decoder = json.JSONDecoder()
    calls = 0

    def decode(text: str, pos: int) -> tuple[Any, int]:
        nonlocal calls
        calls += 1
        return decoder.raw_decode(text, pos)

    got = list(jsonstream.iter_values(ShortReads(data, most), decode, read_size=read_size, max_value=1 << 30))
    return got, calls


def test_a_large_value_in_short_reads_is_decoded_a_few_times() -> None:
    value = {"items": ["x" * 100] * 40_000}  # about 4 MB
    data = json.dumps(value).encode() + b"\n" + json.dumps({"after": 1}).encode()
    got, calls = _attempts(data, most=4096, read_size=4096)
    assert got == [value, {"after": 1}]
    assert calls <= 2 * (len(data) // 4096).bit_length() + 4  # (about 1000 reads of 4 KiB)


def test_short_reads_give_the_values_of_whole_reads() -> None:
    docs = [{"a": "\u00e9\u20ac\U0001f600" * 50, "n": 12345}, [1, 2.5, None], "s", 7, {"b": {}}]
    data = b" ".join(json.dumps(d, ensure_ascii=False).encode() for d in docs)
    for most in (1, 2, 3, 7, 64):
        assert _attempts(data, most=most, read_size=16)[0] == docs
