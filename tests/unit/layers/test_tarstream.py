"""The layer tar reader against ``tarfile`` (the reference for what well-formed archives say) and on
the archives it must refuse or read differently (Go archive/tar's rules)."""

from __future__ import annotations

import io
import struct
import tarfile

import pytest

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.tarstream import TarReader
from tests.unit.layers.layerkit import END, MTIME, ext_member, pad, pax_record, raw_header


class Trickle(io.RawIOBase):
    """A stream that returns at most ``step`` bytes per read (buffer boundaries everywhere)."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._pos = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self._step if n < 0 else min(n, self._step)
        out = bytes(self._data[self._pos : self._pos + n])
        self._pos += len(out)
        return out


def read_all(data: bytes, step: int = 1 << 30) -> list[tuple[str, str, bytes, int, float, int, bytes]]:
    reader = TarReader(Trickle(data, step), max_header_bytes=1 << 20)  # type: ignore[arg-type]
    out = []
    for m in reader.members():
        body = b"".join(bytes(c) for c in reader.read_data(m))
        out.append((m.name.rstrip("/"), m.linkname, m.type, m.mode, m.mtime, m.size, body))
    return out


def by_tarfile(data: bytes) -> list[tuple[str, str, bytes, int, float, int, bytes]]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|", encoding="utf-8", errors="surrogateescape") as tf:
        for m in tf:
            f = tf.extractfile(m) if m.isreg() else None
            body = f.read() if f is not None else b""
            out.append((m.name, m.linkname, m.type, m.mode, m.mtime, m.size, body))
    return out


def archive(fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tf:

        def add(name: str, type_: bytes = tarfile.REGTYPE, data: bytes = b"", **kw: object) -> None:
            ti = tarfile.TarInfo(name)
            ti.type, ti.size, ti.mtime, ti.mode = type_, len(data), 1_600_000_000, 0o640
            for k, v in kw.items():
                setattr(ti, k, v)
            tf.addfile(ti, io.BytesIO(data) if type_ == tarfile.REGTYPE else None)

        add("etc", tarfile.DIRTYPE, mode=0o755)
        for size in (0, 1, 511, 512, 513, 70_000, (1 << 20) + 3):
            add(f"etc/f{size}", data=bytes(range(256)) * (size // 256) + b"z" * (size % 256))
        add("prefix/" * 20 + "x", data=b"ustar: prefix + name")
        if fmt != tarfile.USTAR_FORMAT:  # GNU: L and K headers, PAX: path and linkpath records
            add("etc/" + "long-" * 40 + "name", data=b"long")
            add("deep/" * 60 + "x", data=b"deeper than ustar's prefix")
            add("etc/link", tarfile.SYMTYPE, linkname="../" + "t" * 150)
        add("etc/hard", tarfile.LNKTYPE, linkname="etc/f1")
        add("etc/fifo", tarfile.FIFOTYPE)
        add("etc/ünïcödé", data=b"u")
        add("etc/bad-\udcff-utf8", data=b"b")
        add("etc/exec", data=b"#!", mode=0o4755)
        if fmt != tarfile.USTAR_FORMAT:
            add("etc/future", data=b"t", mtime=2**34)  # base-256 (GNU) or a PAX mtime
    return buf.getvalue()


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
@pytest.mark.parametrize("step", [1 << 30, 700, 512])
def test_members_are_what_tarfile_reads(fmt: int, step: int) -> None:
    data = archive(fmt)
    assert read_all(data, step) == by_tarfile(data)


def test_pax_fields_and_fractional_mtime() -> None:
    records = pax_record("path", "p/" + "q" * 200) + pax_record("mtime", "1600000000.25")
    records += pax_record("linkpath", "t") + pax_record("comment", "ignored")
    tar = ext_member(tarfile.XHDTYPE, records) + raw_header("short", type_=tarfile.SYMTYPE) + END
    [(name, link, type_, _, mtime, _, _)] = read_all(tar)
    assert (name, link, type_, mtime) == ("p/" + "q" * 200, "t", tarfile.SYMTYPE, 1600000000.25)


def test_gnu_long_name_wins_over_pax_path_in_either_order() -> None:
    """Go's archive/tar (umoci, containerd) applies PAX records, then GNU long names over them."""
    pax = ext_member(tarfile.XHDTYPE, pax_record("path", "from-pax"))
    gnu = ext_member(tarfile.GNUTYPE_LONGNAME, b"from-gnu\0", "././@LongLink")
    for chain in (pax + gnu, gnu + pax):
        assert [m[0] for m in read_all(chain + raw_header("header", size=0) + END)] == ["from-gnu"]


def test_a_later_pax_header_replaces_an_earlier_one() -> None:
    first = ext_member(tarfile.XHDTYPE, pax_record("path", "first") + pax_record("linkpath", "l1"))
    second = ext_member(tarfile.XHDTYPE, pax_record("path", "second"))
    [m] = read_all(first + second + raw_header("h", type_=tarfile.SYMTYPE, linkname="hl") + END)
    assert (m[0], m[1]) == ("second", "hl")


def test_v7_regular_file_with_a_slash_is_a_directory() -> None:
    [m] = read_all(raw_header("dir/", type_=tarfile.AREGTYPE) + END)
    assert m[2] == tarfile.DIRTYPE


def test_no_end_marker_is_a_clean_end_and_nothing_after_the_marker_is_read() -> None:
    one = raw_header("a", size=3) + pad(b"abc")
    assert [m[0] for m in read_all(one)] == ["a"]
    assert [m[0] for m in read_all(one + END + b"garbage" * 100)] == ["a"]
    assert read_all(b"") == []


def test_signed_checksum_is_accepted() -> None:
    block = bytearray(raw_header("\xe9t\xe9", size=0))  # bytes >= 0x80: signed and unsigned sums differ
    block[148:156] = b" " * 8
    signed = sum(struct.unpack("148b8x356b", bytes(block))) + 256
    block[148:156] = b"%06o\0 " % signed
    assert [m[0] for m in read_all(bytes(block) + END)] == ["\xe9t\xe9"]


def rechecksum(block: bytes) -> bytes:
    fixed = bytearray(block)
    fixed[148:156] = b" " * 8
    fixed[148:156] = b"%06o\0 " % sum(fixed)
    return bytes(fixed)


@pytest.mark.parametrize(
    "tar",
    [
        pytest.param(raw_header("a", size=5) + b"ab", id="truncated-data"),
        pytest.param(raw_header("a", size=0) + raw_header("b", size=0)[:300], id="truncated-header"),
        pytest.param(raw_header("a", size=0) + b"x" * 512 + END, id="bad-checksum-after-a-member"),
        pytest.param(ext_member(tarfile.GNUTYPE_LONGNAME, b"x" * 100)[:600], id="truncated-extension"),
        pytest.param(rechecksum(raw_header("a", size=0).replace(b"0000644", b"00006x4", 1)), id="bad-number"),
    ],
)
def test_malformed_streams_are_integrity_errors(tar: bytes) -> None:
    with pytest.raises(IntegrityError):
        read_all(tar)


def test_extension_bytes_are_capped_per_entry() -> None:
    big = ext_member(tarfile.XHDTYPE, pax_record("comment", "x" * 3000))
    tar = big + raw_header("a") + big + raw_header("b") + END
    reader = TarReader(io.BytesIO(tar), max_header_bytes=4096)
    assert [m.name for m in reader.members()] == ["a", "b"]  # the cap is per entry, not per layer
    with pytest.raises(LimitExceeded):
        list(TarReader(io.BytesIO(big + big + raw_header("a") + END), max_header_bytes=4096).members())


def test_data_is_read_only_for_the_current_member() -> None:
    tar = raw_header("a", size=1) + pad(b"1") + raw_header("b", size=1) + pad(b"2") + END
    reader = TarReader(io.BytesIO(tar), max_header_bytes=4096)
    it = reader.members()
    first = next(it)
    second = next(it)  # a's data skipped unread
    assert b"".join(reader.read_data(second)) == b"2"
    with pytest.raises(IntegrityError):
        list(reader.read_data(first))


def with_field(block: bytes, start: int, value: bytes) -> bytes:
    """``block`` with the field at ``start`` replaced by ``value`` and the checksum made valid."""
    out = bytearray(block)
    out[start : start + len(value)] = value
    return rechecksum(bytes(out))


UID, GID, SIZE, MTIME_FIELD, DEVMAJOR, DEVMINOR = 108, 116, 124, 136, 329, 337


@pytest.mark.parametrize(
    ("start", "value"),
    [
        pytest.param(UID, b"00001x0\0", id="uid"),
        pytest.param(GID, b"zzzzzzz\0", id="gid"),
        pytest.param(DEVMAJOR, b"0000q00\0", id="devmajor"),
        pytest.param(DEVMINOR, b"-000001\0", id="devminor-signed"),
        pytest.param(SIZE, b"+0000000005\0", id="size-with-a-sign"),
        pytest.param(SIZE, b"0o000000005\0", id="size-with-a-radix-prefix"),
        pytest.param(SIZE, b"00_00000005\0", id="size-with-an-underscore"),
        pytest.param(SIZE, b"0000000\t005", id="size-with-a-tab"),
    ],
)
def test_every_numeric_field_is_strict_octal(start: int, value: bytes) -> None:
    """As Go's archive/tar (and tarfile, for the fields it reads): a header whose numeric fields
    are not octal digits padded with spaces or NULs is invalid, whichever field it is."""
    header = with_field(raw_header("a", size=5), start, value)
    with pytest.raises(IntegrityError):
        read_all(header + pad(b"12345") + END)


def test_numeric_fields_of_extension_headers_are_checked_too() -> None:
    payload = pax_record("path", "p")
    bad = with_field(
        raw_header("././@PaxHeader", type_=tarfile.XHDTYPE, size=len(payload)), MTIME_FIELD, b"junk"
    )
    with pytest.raises(IntegrityError):
        read_all(bad + pad(payload) + raw_header("a") + END)


def test_leading_nuls_and_blanks_in_a_number_are_padding() -> None:
    """Go trims NULs and spaces on both sides before parsing: a size written after leading NULs
    is that size (reading it as 0 would take the data for the next header)."""
    header = with_field(raw_header("a", size=5), SIZE, b"\0\0\0 0000005\0")
    tar = header + pad(b"12345") + raw_header("b", size=1) + pad(b"x") + END
    assert [(m[0], m[6]) for m in read_all(tar)] == [("a", b"12345"), ("b", b"x")]


def test_a_lone_zero_block_before_more_headers_is_refused() -> None:
    """Go's archive/tar: the end of the archive is two zero blocks; one zero block followed by a
    header is an invalid archive (the members after it are not silently hidden)."""
    hidden = raw_header("hidden", size=1) + pad(b"x")
    with pytest.raises(IntegrityError):
        read_all(raw_header("a") + bytes(512) + hidden + END)
    # one zero block at the very end, or two followed by anything: a clean end
    assert [m[0] for m in read_all(raw_header("a") + bytes(512))] == ["a"]
    assert [m[0] for m in read_all(raw_header("a") + END + hidden)] == ["a"]


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(pax_record("comm\0ent", "x"), id="nul-in-a-keyword"),
        pytest.param(pax_record("uname", "ro\0ot"), id="nul-in-uname"),
        pytest.param(pax_record("gname", "wh\0eel"), id="nul-in-gname"),
    ],
)
def test_pax_records_go_refuses_are_refused(record: bytes) -> None:
    """Go's archive/tar: a keyword with a NUL, or a NUL in a name value, makes the header invalid."""
    with pytest.raises(IntegrityError):
        read_all(ext_member(tarfile.XHDTYPE, record) + raw_header("a") + END)


def test_an_empty_pax_value_keeps_the_header_field() -> None:
    """Go's archive/tar ``mergePAX``: a record with an empty value is skipped ("keep the original
    USTAR value"), whatever its keyword: the header's name, link target, size and mtime stay."""
    records = pax_record("path", "") + pax_record("linkpath", "") + pax_record("mtime", "")
    records += pax_record("size", "") + pax_record("uid", "") + pax_record("atime", "")
    tar = ext_member(tarfile.XHDTYPE, records) + raw_header("name", size=2) + pad(b"ok")
    tar += ext_member(tarfile.XHDTYPE, pax_record("linkpath", "")) + raw_header(
        "link", type_=tarfile.SYMTYPE, linkname="target"
    )
    members = read_all(tar + END)
    assert [(m[0], m[1], m[4], m[5], m[6]) for m in members] == [
        ("name", "", 1_600_000_000, 2, b"ok"),
        ("link", "target", 1_600_000_000, 0, b""),
    ]


def test_an_empty_gnu_long_name_or_link_keeps_the_header_field() -> None:
    """Go's archive/tar ``Reader.next``: a GNU long name or long link overrides the header only
    when it is not empty (``if gnuLongName != ""``); an empty one keeps the header's."""
    name = ext_member(tarfile.GNUTYPE_LONGNAME, b"\0", "././@LongLink")
    link = ext_member(tarfile.GNUTYPE_LONGLINK, b"", "././@LongLink")
    tar = name + link + raw_header("keep", type_=tarfile.SYMTYPE, linkname="there") + END
    assert [(m[0], m[1]) for m in read_all(tar)] == [("keep", "there")]


@pytest.mark.parametrize(
    ("records", "size"),
    [
        pytest.param({"size": "+3"}, 3, id="size-with-a-plus"),
        pytest.param({"size": "0003"}, 3, id="size-with-leading-zeros"),
        pytest.param({"uid": "-1", "gid": "+70000"}, 0, id="signed-ids"),
    ],
)
def test_pax_numbers_go_reads_are_read(records: dict[str, str], size: int) -> None:
    """Go's ``mergePAX`` reads size, uid and gid with ``strconv.ParseInt(v, 10, 64)``: a sign is
    allowed (a negative size is refused later)."""
    payload = b"".join(pax_record(k, v) for k, v in records.items())
    tar = ext_member(tarfile.XHDTYPE, payload) + raw_header("a", size=0) + pad(b"abc"[:size]) + END
    assert [(m[0], m[5], m[6]) for m in read_all(tar)] == [("a", size, b"abc"[:size])]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("size", "-1"),
        ("size", "9223372036854775808"),
        ("size", "1_0"),
        ("size", "٣"),  # a digit, but not an ASCII one
        ("uid", "abc"),
        ("uid", "9223372036854775808"),
        ("gid", "1.0"),
        ("gid", "-"),
    ],
)
def test_pax_numbers_go_refuses_are_refused(key: str, value: str) -> None:
    """``strconv.ParseInt(v, 10, 64)`` fails (or the size is negative): Go's reader refuses the
    header, uid and gid included, although ownership is never applied here."""
    with pytest.raises(IntegrityError):
        read_all(ext_member(tarfile.XHDTYPE, pax_record(key, value)) + raw_header("a") + END)


@pytest.mark.parametrize(
    ("start", "value", "mtime"),
    [
        pytest.param(UID, b"\x81" + bytes(7), MTIME, id="uid-with-bits-in-the-first-byte"),
        pytest.param(GID, b"\xbf" + b"\xff" * 7, MTIME, id="gid-largest-in-8-bytes"),
        pytest.param(
            MTIME_FIELD, b"\x80" + bytes(7) + (1_700_000_000).to_bytes(4, "big"), 1_700_000_000, id="mtime"
        ),
        pytest.param(MTIME_FIELD, b"\xff" * 12, -1, id="negative-mtime"),
        pytest.param(MTIME_FIELD, b"\xff" * 4 + b"\x80" + bytes(7), -(1 << 63), id="smallest-int64"),
    ],
)
def test_base256_numbers_go_reads_are_read(start: int, value: bytes, mtime: int) -> None:
    """Go's ``parseNumeric``: a field whose first byte has the 0x80 bit is base-256 (the 0x40 bit
    is the sign, the other bits of the first byte belong to the number), within int64."""
    header = with_field(raw_header("a", size=1), start, value)
    [member] = read_all(header + pad(b"x") + END)
    assert (member[0], member[4], member[6]) == ("a", mtime, b"x")


@pytest.mark.parametrize(
    ("start", "value"),
    [
        pytest.param(MTIME_FIELD, b"\x80" + bytes(3) + b"\x80" + bytes(7), id="mtime-past-int64"),
        pytest.param(SIZE, b"\x81" + bytes(11), id="size-past-int64"),
        pytest.param(MTIME_FIELD, b"\xbf" + b"\xff" * 11, id="mtime-far-past-int64"),
        pytest.param(MTIME_FIELD, b"\xc0" + bytes(3) + b"\x80" + bytes(7), id="mtime-below-int64"),
        pytest.param(SIZE, b"\xff" * 12, id="negative-size"),
    ],
)
def test_base256_numbers_go_refuses_are_refused(start: int, value: bytes) -> None:
    """``parseNumeric`` overflowing int64 is an invalid header in Go (``ErrHeader``); so is a
    negative size."""
    header = with_field(raw_header("a", size=1), start, value)
    with pytest.raises(IntegrityError):
        read_all(header + pad(b"x") + END)


def test_a_base256_checksum_is_invalid() -> None:
    """Go reads the checksum with ``parseOctal`` (never base-256)."""
    block = bytearray(raw_header("a"))
    block[148:156] = b" " * 8
    total = sum(block)
    block[148:156] = b"\x80" + total.to_bytes(7, "big")
    with pytest.raises(IntegrityError):
        read_all(bytes(block) + END)


@pytest.mark.parametrize(
    "magic",
    [b"\0" * 8, b"ustar 0\0", b"ustxr\x0000", b"GNUtar \0"],
    ids=["none", "gnu-magic-without-gnu-version", "misspelt", "other"],
)
def test_v7_headers_leave_the_ustar_fields_unread(magic: bytes) -> None:
    """Go's ``readHeader``: a header whose magic is neither USTAR's (``ustar\\0``) nor GNU's
    (``ustar `` with version `` \\0``) is V7, and the fields after the link name (uname, gname,
    devmajor, devminor, prefix) are not read: junk there is no error (it is in USTAR and GNU
    headers)."""
    header = with_field(raw_header("v7", size=1), 257, magic + b"junk" * 8)
    header = with_field(header, DEVMAJOR, b"zz\x80zzzzz" + b"\xffyyyyyyy")
    [member] = read_all(header + pad(b"x") + END)
    assert (member[0], member[6]) == ("v7", b"x")
    ustar = with_field(raw_header("u", size=1), DEVMAJOR, b"zz\x80zzzzz")
    with pytest.raises(IntegrityError):
        read_all(ustar + pad(b"x") + END)


@pytest.mark.parametrize(
    "tail",
    [END, b"", bytes(512)],
    ids=["end-of-archive", "end-of-stream", "one-zero-block"],
)
def test_extension_headers_before_the_end_are_a_clean_end(tail: bytes) -> None:
    """Go's ``Reader.next``: extension headers (PAX, GNU long name/link) followed by the end of
    the archive end it cleanly (``readHeader`` returns io.EOF, which ``Next`` passes on); the
    members before them are read."""
    exts = ext_member(tarfile.XHDTYPE, pax_record("path", "p"))
    exts += ext_member(tarfile.GNUTYPE_LONGLINK, b"", "././@LongLink")
    tar = raw_header("a", size=1) + pad(b"1") + exts + tail
    assert [(m[0], m[6]) for m in read_all(tar)] == [("a", b"1")]


def test_a_negative_pax_size_on_an_entry_without_data_is_read() -> None:
    """Go's ``handleRegularFile`` refuses a negative size only for entries that carry data (a
    symlink, link, directory, device or FIFO has none, whatever its size says)."""
    pax = ext_member(tarfile.XHDTYPE, pax_record("size", "-1"))
    tar = pax + raw_header("s", type_=tarfile.SYMTYPE, linkname="t") + raw_header("f", size=1) + pad(b"F")
    assert [(m[0], m[1], m[6]) for m in read_all(tar + END)] == [("s", "t", b""), ("f", "", b"F")]
    with pytest.raises(IntegrityError):
        read_all(pax + raw_header("f", size=1) + pad(b"F") + END)


def test_only_the_last_pax_header_of_a_member_has_its_values_read() -> None:
    """Go's ``Reader.next`` replaces the PAX records with each PAX header and reads their values
    (``mergePAX``) once, for the member: an unreadable uid or mtime in a PAX header that a later
    one replaces is no error."""
    first = ext_member(tarfile.XHDTYPE, pax_record("uid", "root") + pax_record("mtime", "later"))
    second = ext_member(tarfile.XHDTYPE, pax_record("path", "second"))
    [m] = read_all(first + second + raw_header("h", size=1) + pad(b"H") + END)
    assert (m[0], m[4], m[6]) == ("second", MTIME, b"H")


@pytest.mark.parametrize("cut", [0, 1, 200, 500])
def test_a_stream_that_ends_in_the_padding_ends_cleanly(cut: int) -> None:
    """Go's ``Reader.next`` skips the padding after a member's data with ``tryReadFull``, which
    reports io.EOF when the stream ends before it: the end of the archive.  The member's data
    must be whole (a short read of it is ``ErrUnexpectedEOF``)."""
    member = raw_header("a", size=5) + pad(b"12345")
    assert [(m[0], m[6]) for m in read_all(member[: 512 + 5 + cut])] == [("a", b"12345")]
    ext = ext_member(tarfile.GNUTYPE_LONGNAME, b"long-name\0", "././@LongLink")
    assert [m[0] for m in read_all(member + ext[: 512 + 10 + cut])] == ["a"]
    for truncated in (member[: 512 + 4], member + ext[: 512 + 9]):
        with pytest.raises(IntegrityError):
            read_all(truncated)


@pytest.mark.parametrize("rest", [1, 511])
def test_a_zero_block_then_a_partial_block_is_refused(rest: int) -> None:
    """Go's ``readHeader``: after a zero block, the next block is read with ``io.ReadFull``: the
    end of the stream there is fine, part of a block is ``ErrUnexpectedEOF``."""
    one = raw_header("a", size=1) + pad(b"1") + bytes(512)
    assert [m[0] for m in read_all(one)] == ["a"]
    with pytest.raises(IntegrityError):
        read_all(one + bytes(rest))


def gnu_header(name: str, area: bytes, size: int = 1) -> bytes:
    """A GNU-format header (magic ``ustar  \\0``) whose atime/ctime/prefix area (345..500) is ``area``."""
    header = with_field(raw_header(name, size=size), 257, b"ustar  \0")
    return with_field(header, 345, area.ljust(155, b"\0"))


@pytest.mark.parametrize(
    ("area", "name"),
    [
        pytest.param(b"legacy/dir", "legacy/dir/file", id="unreadable-times-are-a-prefix"),
        pytest.param(b"00000000000\0" + b"13000000000\0", "file", id="readable-times"),
        pytest.param(b"\0" * 12 + b"ctime-junk", "file", id="unreadable-ctime-but-no-prefix"),
        pytest.param(b"caf\xc3\xa9/dir", "file", id="a-prefix-that-is-not-ascii"),
    ],
)
def test_gnu_headers_of_go_before_1_8_have_their_prefix_read(area: bytes, name: str) -> None:
    """Go's ``readHeader`` (golang.org/issues/12594, 21005): Go before 1.8 wrote GNU headers with
    a USTAR prefix where GNU keeps atime and ctime.  When those do not parse as numbers, Go reads
    the bytes as the prefix (if they are ASCII), so the name is what the old writer meant."""
    [m] = read_all(gnu_header("file", area) + pad(b"x") + END)
    assert (m[0], m[6]) == (name, b"x")


@pytest.mark.parametrize("length", ["+{n}", "0000000000000000000000{n}"], ids=["plus", "many-leading-zeros"])
def test_pax_record_lengths_as_go_reads_them(length: str) -> None:
    """Go's ``parsePAXRecord`` reads a record's length with ``strconv.ParseInt(s, 10, 0)``: a
    sign and any number of leading zeros are allowed (a negative or too small length is not)."""
    body = " path=renamed\n"
    n = len(body)
    while len(length.format(n=n)) + len(body) != n:
        n += 1
    record = (length.format(n=n) + body).encode()
    [m] = read_all(ext_member(tarfile.XHDTYPE, record) + raw_header("a") + END)
    assert m[0] == "renamed"
    for bad in (b"-14 path=renamed\n", b"4 a=\n"):
        with pytest.raises(IntegrityError):
            read_all(ext_member(tarfile.XHDTYPE, bad) + raw_header("a") + END)


@pytest.mark.parametrize("key", ["size", "uid", "mtime"])
def test_pax_numbers_of_thousands_of_digits_are_read_or_refused_not_crashed_on(key: str) -> None:
    """Leading zeros do not count (Go's ParseInt); a number past int64 is refused; neither hits
    Python's limit on int() of more than 4300 digits (a ValueError, not our error)."""
    ok = ext_member(tarfile.XHDTYPE, pax_record(key, "0" * 5000 + "1")) + raw_header("a", size=1) + pad(b"A")
    assert [m[0] for m in read_all(ok + END)] == ["a"]
    with pytest.raises(IntegrityError):
        read_all(ext_member(tarfile.XHDTYPE, pax_record(key, "1" * 5000)) + raw_header("a") + END)
