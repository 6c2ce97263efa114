"""The tar reader's fast path (one regular-expression match per common header) against its general
parser, on generated and mutated headers: both must read every archive the same way, member for
member, or refuse it with the same error.  ``tarfile`` is the oracle for the common writers' shapes.
"""

from __future__ import annotations

import io
import os
import tarfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers import tarheader
from imgextract.layers.tarstream import TarReader
from tests.unit.layers.layerkit import END, ext_member, pad, pax_record, raw_header
from tests.unit.layers.test_tarstream import archive, by_tarfile, read_all, rechecksum

FUZZ = settings(
    max_examples=int(os.environ.get("LAYERS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

NAME, MODE, UID, GID, SIZE, MTIME, CHKSUM, TYPE, LINK, MAGIC, DEVMAJOR, DEVMINOR, PREFIX = (
    0,
    100,
    108,
    116,
    124,
    136,
    148,
    156,
    157,
    257,
    329,
    337,
    345,
)
NUMERIC = [(MODE, 8), (UID, 8), (GID, 8), (SIZE, 12), (MTIME, 12), (DEVMAJOR, 8), (DEVMINOR, 8)]


def outcome(data: bytes, *, fast: bool) -> object:
    """What a reader makes of ``data``: every member with its data, or the error it raised."""
    reader = TarReader(io.BytesIO(data), max_header_bytes=1 << 16, fast=fast)
    out: list[tuple[object, ...]] = []
    try:
        for m in reader.members():
            body = b"".join(bytes(c) for c in reader.read_data(m))
            out.append((m.name, m.linkname, m.type, m.mode, m.mtime, m.size, body))
    except (IntegrityError, LimitExceeded) as e:
        return (out, type(e).__name__, str(e))
    return out


def same_both_ways(data: bytes) -> object:
    fast, general = outcome(data, fast=True), outcome(data, fast=False)
    assert fast == general
    return fast


def members_both_ways(data: bytes) -> list[tuple[Any, ...]]:
    """The members both readers read alike from ``data``, which must read without an error."""
    got = same_both_ways(data)
    assert isinstance(got, list), got
    return got


def libarchive_style(name: str, size: int) -> bytes:
    """A header as libarchive (bsdtar) writes numbers: six digits + " \\0", eleven digits + " "."""
    block = bytearray(raw_header(name, size=size))
    block[MODE:UID] = b"000644 \0"
    block[UID:GID] = b"000000 \0"
    block[GID:SIZE] = b"000000 \0"
    block[SIZE:MTIME] = b"%011o " % size
    block[MTIME:CHKSUM] = b"%011o " % 1_600_000_000
    return rechecksum(bytes(block))


def test_the_common_writers_headers_take_the_fast_path() -> None:
    """Else the comparisons below would only compare the general parser with itself."""
    blocks = [raw_header("a", size=5), raw_header("d/", type_=tarfile.DIRTYPE), libarchive_style("b", 7)]
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        ti = tarfile.TarInfo("x/" * 60 + "y")
        ti.size, ti.mtime, ti.mode = 3, 1_600_000_000, 0o755
        buf = ti.tobuf(format=fmt, encoding="utf-8", errors="surrogateescape")
        blocks.append(buf[-512:])  # the member's own header (after any extension headers)
    for block in blocks:
        assert tarheader._FAST_HEADER(block) is not None, block[:120]


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_generated_archives_read_the_same_both_ways_and_as_tarfile(fmt: int) -> None:
    data = archive(fmt)
    assert outcome(data, fast=True) == outcome(data, fast=False)
    assert read_all(data) == by_tarfile(data)


def test_libarchive_numbers_read_as_tarfile_reads_them() -> None:
    data = libarchive_style("b", 7) + pad(b"1234567") + END
    [(name, _, type_, mode, mtime, size, body)] = members_both_ways(data)
    [(t_name, _, t_type, t_mode, t_mtime, t_size, t_body)] = by_tarfile(data)
    assert (name, type_, mode, mtime, size, body) == (t_name, t_type, t_mode, t_mtime, t_size, t_body)


def base_archive() -> bytes:
    """Members of every kind the fast path must hand on correctly: a file after a GNU long name,
    after PAX records, a ustar prefix, base-256 numbers, links, directories."""
    gnu = ext_member(tarfile.GNUTYPE_LONGNAME, b"gnu/" + b"n" * 120 + b"\0", "././@LongLink")
    pax = ext_member(tarfile.XHDTYPE, pax_record("path", "pax/" + "p" * 120) + pax_record("mtime", "5.5"))
    prefixed = tarfile.TarInfo("pre/" * 30 + "fix")
    prefixed.size, prefixed.mtime = 2, 7
    big = bytearray(raw_header("base256", size=3))
    big[MTIME:CHKSUM] = b"\x80" + (2**40).to_bytes(11, "big")
    return b"".join(
        [
            raw_header("d", type_=tarfile.DIRTYPE, mode=0o755),
            raw_header("d/a", size=5) + pad(b"hello"),
            gnu + raw_header("short", size=3) + pad(b"gnu"),
            pax + raw_header("short2", size=3) + pad(b"pax"),
            prefixed.tobuf(format=tarfile.USTAR_FORMAT) + pad(b"pf"),
            rechecksum(bytes(big)) + pad(b"b25"),
            raw_header("d/s", type_=tarfile.SYMTYPE, linkname="a"),
            raw_header("d/h", type_=tarfile.LNKTYPE, linkname="d/a"),
            raw_header("d/empty", size=0),
            END,
        ]
    )


BASE = base_archive()
HEADERS = [  # every header block (the data blocks here are short text), and the end marker's first
    *(i for i in range(0, len(BASE), 512) if BASE[i + MAGIC : i + MAGIC + 5] == b"ustar"),
    len(BASE) - 1024,
]
ALPHABET = b"01234567 \0\x80\xff89x/.-+_\t"


def test_the_base_archive_is_read_by_both_ways_and_by_tarfile() -> None:
    got = members_both_ways(BASE)
    assert len(got) == 9
    names = [m[0] for m in got]
    assert names[2].startswith("gnu/") and names[3].startswith("pax/") and names[4].startswith("pre/")
    assert [m[0] for m in by_tarfile(BASE)] == [n.rstrip("/") for n in names]


@FUZZ
@given(
    header=st.sampled_from(HEADERS),
    edits=st.lists(
        st.tuples(
            st.one_of(
                st.sampled_from([off for off, width in NUMERIC for off in range(off, off + width)]),
                st.sampled_from([TYPE, MAGIC, MAGIC + 5, NAME, NAME + 99, LINK, PREFIX, CHKSUM]),
                st.integers(0, 511),
            ),
            st.sampled_from(ALPHABET),
        ),
        min_size=1,
        max_size=6,
    ),
    fix_checksum=st.booleans(),
)
def test_mutated_headers_read_the_same_both_ways(
    header: int, edits: list[tuple[int, int]], fix_checksum: bool
) -> None:
    """Numeric fields with signs, radix prefixes, tabs, base-256 markers, embedded NULs and blanks;
    other types, other magic, names cut short; valid and invalid checksums."""
    block = bytearray(BASE[header : header + 512])
    for pos, value in edits:
        block[pos] = value
    new = rechecksum(bytes(block)) if fix_checksum else bytes(block)
    same_both_ways(BASE[:header] + new + BASE[header + 512 :])


@FUZZ
@given(
    field=st.sampled_from(NUMERIC),
    digits=st.integers(0, 12),
    pads=st.text(alphabet=" \0", min_size=0, max_size=12),
    lead=st.text(alphabet=" \0", min_size=0, max_size=3),
)
def test_numbers_in_every_padding_read_the_same_both_ways(
    field: tuple[int, int], digits: int, pads: str, lead: str
) -> None:
    """Octal digits with leading/trailing NULs and blanks in any mix, in each numeric field of a
    regular file's header (a changed size makes the data truncated or trailing: same error)."""
    off, width = field
    text = (lead.encode() + b"7" * digits + pads.encode())[:width].ljust(width, b"\0")
    block = bytearray(raw_header("f", size=5))
    block[off : off + width] = text
    same_both_ways(rechecksum(bytes(block)) + pad(b"12345") + END)


def test_every_single_byte_change_of_a_header_field_reads_the_same_both_ways() -> None:
    """Exhaustive over one byte: each position of every numeric field, the type, the magic and
    version, the text fields' first and last bytes, in every header of the base archive, set to
    each byte of the alphabet (checksum made valid: the change itself must be judged alike)."""
    positions = sorted(
        {off for start, width in NUMERIC for off in range(start, start + width)}
        | {TYPE, NAME, NAME + 99, LINK, LINK + 99, PREFIX, PREFIX + 154}
        | set(range(MAGIC, MAGIC + 8))
    )
    for header in HEADERS:
        for pos in positions:
            for value in ALPHABET:
                block = bytearray(BASE[header : header + 512])
                block[pos] = value
                same_both_ways(BASE[:header] + rechecksum(bytes(block)) + BASE[header + 512 :])


@pytest.mark.parametrize(
    "magic", [b"ustar\x0000", b"ustar  \x00", b"ustar\x00  ", b"\x00" * 8, b"ustaR\x0000"]
)
def test_the_prefix_counts_only_with_the_posix_magic(magic: bytes) -> None:
    """... and in a GNU header whose atime (where "prefix" is) does not parse: a header Go before
    1.8 wrote, whose prefix Go reads (test_tarstream has the details)."""
    block = bytearray(raw_header("name", size=0))
    block[PREFIX : PREFIX + 6] = b"prefix"
    block[MAGIC : MAGIC + 8] = magic
    [member] = members_both_ways(rechecksum(bytes(block)) + END)
    prefixed = magic.startswith(b"ustar\0") or magic == b"ustar  \0"
    assert member[0] == ("prefix/name" if prefixed else "name")


@pytest.mark.parametrize("fast", [True, False])
def test_a_star_header_has_a_131_byte_prefix(fast: bool) -> None:
    """A ustar header with star's trailer ("tar\\0" in its last four bytes) keeps atime and ctime
    after a 131-byte prefix: Go reads the prefix only that far, and so must we (else the same
    layer names another file here than in containers/image)."""
    block = bytearray(raw_header("f", size=3))
    block[PREFIX : PREFIX + 131] = b"p" * 131
    block[PREFIX + 131 : PREFIX + 143] = b"14712345670\0"  # atime
    block[PREFIX + 143 : PREFIX + 155] = b"14712345671\0"  # ctime
    block[508:512] = b"tar\0"
    data = rechecksum(bytes(block)) + pad(b"abc") + END
    assert outcome(data, fast=fast) == [
        ("p" * 131 + "/f", "", b"0", 0o644, int(data[MTIME : MTIME + 11], 8), 3, b"abc")
    ]
    # without the trailer it is plain ustar: the prefix runs on to its first NUL
    block[508:512] = bytes(4)
    data = rechecksum(bytes(block)) + pad(b"abc") + END
    assert outcome(data, fast=fast) == [
        ("p" * 131 + "14712345670/f", "", b"0", 0o644, int(data[MTIME : MTIME + 11], 8), 3, b"abc")
    ]
