"""A JSON number that a read cuts: whether it decodes must not depend on where the read ends.

``1`` followed by 5,000 zeros and ``e-4900`` is 1e100 (Go's float64 takes it); its integer part
alone is past Python's 4,300-digit conversion limit and past float64.  A window of the stream that
ends inside the digits makes the decoder convert the integer part; that failure is no verdict on
the number, and the readers must read on (as they do for any value the window cuts).

And a number that fails where the window does not cut it (a Go float64 out of range) fails
without the rest of the stream being read: the failure is the number's own.
"""

from __future__ import annotations

import io

import pytest

from imgextract.bundles import plain
from imgextract.catalog import fbc

_NUMBER = b"1" + b"0" * 5000 + b"e-4900"
_TWO = b'{"schema":"olm.package","name":"a"}\n{"schema":"olm.package","name":"c"}\n'


class _Counting(io.BytesIO):
    """A stream that counts the bytes read from it."""

    taken = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.taken += len(data)
        return data


def _catalog(pad: int) -> bytes:
    return _TWO + b'{"schema":"olm.package","name":"d","p":"' + b"x" * pad + b'","x":' + _NUMBER + b"}\n"


@pytest.mark.parametrize("pad", range(64_000, 66_000, 100))
def test_catalog_number_across_a_read_decodes(pad: int) -> None:
    # the first read ends somewhere in the digits for some of these paddings
    objects = list(fbc.iter_stream(io.BytesIO(_catalog(pad)), "c.json"))
    assert [o.name for o in objects] == ["a", "c", "d"]


@pytest.mark.parametrize("pad", range((1 << 20) - 6_000, (1 << 20) + 1_000, 500))
def test_plain_manifest_number_across_a_read_decodes(pad: int) -> None:
    data = b'{"kind":"A","p":"' + b"x" * pad + b'","x":' + _NUMBER + b"}\n"
    assert plain.count_objects(io.BytesIO(data), "m.json") == 1


def test_catalog_number_out_of_range_fails_where_it_is() -> None:
    bad = _TWO + b'{"schema":"olm.package","name":"d","x":1' + b"0" * 400 + b"}\n"
    tail = b"".join(b'{"schema":"olm.bundle","name":"b%d","package":"a"}\n' % i for i in range(60_000))
    stream = _Counting(bad + tail)
    with pytest.raises(fbc.CatalogFormatError, match=r"c\.json: object 2: invalid JSON: number out of range"):
        list(fbc.iter_stream(stream, "c.json"))
    assert stream.taken < len(bad) + 256 * 1024  # not the whole file (about 3 MB)
