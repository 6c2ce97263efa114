"""Parse a layer's tar stream, one member at a time, under hostile-input rules.

A small parser of its own (``tarfile``'s per-header Python work was the largest share of the CPU
a layer of many small files costs): it reads the stream in 1 MiB pieces and slices headers and
small files' data out of them without copying.  A header of the shape the common writers produce
(numbers as octal digits then NUL/space padding) is read with one regular-expression match; any
other header goes to the general parser below, which decides (the tests hold the two to the same
reading of every header, ``fast=False``).  It understands what layers contain, following
Go's ``archive/tar`` (what containers/image, containerd and umoci read layers with):

* ustar / POSIX headers (``prefix`` + ``name``), GNU and V7 headers, base-256 numbers;
* PAX extended headers (``x``; Solaris ``X`` is an entry of an unknown type, as in Go):
  ``path``, ``linkpath``, ``size``, ``mtime``
  (other records are parsed and ignored).  A later PAX header replaces an
  earlier one for the same member; a record with an empty value keeps the header's field;
* GNU long names and long link names (``L``, ``K``); they win over PAX ``path``/``linkpath``
  (an empty one keeps the header's);
* a V7 regular file whose name ends in ``/`` is a directory;
* link, symlink, device, FIFO and directory headers carry no data; every other type (regular
  files and unknown types) is followed by ``size`` bytes, padded to 512.

Refused, before any of it is applied:

* an extension header (PAX ``x``/``X``, GNU ``L``/``K``) larger than ``max_header_bytes`` (in
  total for one entry) or a chain of more than 16 of them -> ``LimitExceeded``;
* a PAX global header (``g``) -> ``IntegrityError`` (Python would rename/resize every later
  member; Go ignores it; either way the archive is not what it looks like);
* malformed PAX records (strict, linear-time parser), a NUL in a PAX keyword or in a
  ``path``/``linkpath``/``uname``/``gname`` value, a PAX ``size``, ``uid`` or ``gid`` that Go's
  ``strconv.ParseInt`` does not read (or a negative size), a PAX ``mtime``, ``atime`` or
  ``ctime`` that Go's ``parsePAXTime`` does not read -> ``IntegrityError``.  A PAX time keeps its
  nanoseconds exactly (``ExactTime``: a float cannot);
* GNU sparse members (old ``S`` type or PAX ``GNU.sparse.*``) -> ``IntegrityError``;
* an invalid (checksum, number fields) or truncated header anywhere, truncated member data,
  negative sizes -> ``IntegrityError``.

The stream ends at the end-of-archive marker (two zero blocks; one zero block then the end of
the stream too; one zero block then data, or part of a block, is refused, as Go does) or cleanly
at a header boundary or inside the padding after a member's data (extension headers without
their member before the end included, as Go's ``Next``);
what follows the marker is not read here (the pipeline drains it for the diff_id).
Members are ``tarfile.TarInfo`` objects with ``name``, ``linkname``, ``type``, ``mode``,
``mtime`` and ``size`` set (ownership is never applied: uid/gid are not read); they are yielded
one at a time and forgotten.  The
caller reads a regular file's data from ``TarReader.read_data`` before asking for the next one.
"""

from __future__ import annotations

import re
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.member import ExactTime, Member

CHUNK = 1024 * 1024
BLOCK = 512
MAX_EXTENSION_CHAIN = 16

# name, mode, uid, gid, size, mtime, chksum, type, linkname, magic, (uname, gname), devmajor,
# devminor, prefix
_HEADER = struct.Struct("100s8s8s8s12s12s8sc100s6s2x32x32x8s8s155s12x")
_ZERO = bytes(BLOCK)
_NEW_TYPE = tarfile.TarInfo.__new__
_DATALESS = frozenset(
    {tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE}
)
_PAX_TYPES = (tarfile.XHDTYPE,)  # (Solaris' "X" is an entry of an unknown type to Go)
_GNU_LONG = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
_USTAR = b"ustar\0"
_GNU_MAGIC, _GNU_VERSION = b"ustar ", b" \0"
# star's ustar headers (Go reads them): this trailer, and the prefix is 131 bytes (atime, ctime follow)
_STAR_TRAILER = b"tar\0"
_STAR_PREFIX = 131
_OCTAL_DIGITS = b"01234567"
_FILL = (0, 0x20)  # what follows a numeric field's digits: NUL or space
_PLAIN_MEMO = 4096  # size fields and checksums plain_run keeps, each
_GO_INT = re.compile(rb"[+-]?[0-9]+")
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_NAME_KEYWORDS = frozenset({"path", "linkpath", "uname", "gname"})  # values must not hold a NUL
# Header types the fast path leaves to the general parser: extension headers and refused types.
_GENERAL_TYPES = frozenset({*_PAX_TYPES, *_GNU_LONG, tarfile.XGLTYPE, tarfile.GNUTYPE_SPARSE})


def _octal(width: int, capture: bool) -> bytes:
    """A numeric field as the common writers (Go, GNU tar, libarchive, Python) write it: octal
    digits filling all but one or two bytes, then NULs/spaces; or only NULs/spaces.  Captured:
    its digits, in one of two groups (by how many there are; neither for none): one pass over
    the field, where a look-ahead for the digits and then the forms scanned them twice."""
    if capture:
        return rb"(?:([0-7]{%d})[ \0]|([0-7]{%d})[ \0]{2}|[ \0]{%d})" % (width - 1, width - 2, width)
    return rb"(?:[0-7]{%d}[ \0]|[0-7]{%d}[ \0]{2}|[ \0]{%d})" % (width - 1, width - 2, width)


# The fields every header pattern below starts with: the name up to its first NUL, the digits of
# mode, size, mtime and checksum; uid and gid checked but not captured.
_LEADING_FIELDS = (
    rb"(?s)(?=([^\0]{0,100})).{100}"  # name
    + _octal(8, True)  # mode
    + _octal(8, False)  # uid
    + _octal(8, False)  # gid
    + _octal(12, True)  # size
    + _octal(12, True)  # mtime
    + _octal(8, True)  # checksum
)
# A header of the common shape in one regular-expression match (the general parser below takes
# everything else, and decides on anything this does not match): the text fields up to their
# first NUL, the digits of mode, size, mtime and checksum; uid, gid, devmajor and devminor checked
# but not captured.  Every header it matches, the general parser reads the same way.
_FAST_HEADER = re.compile(
    _LEADING_FIELDS
    + rb"(.)(?=([^\0]{0,100})).{100}"  # type, linkname
    + rb"(.{6}).{66}"  # magic; version, uname, gname (not read)
    + _octal(8, False)  # devmajor
    + _octal(8, False)  # devminor
    + rb"([^\0]{0,155})"  # prefix
).match
# After the leading fields, a header of type %s with an empty ustar prefix (its first byte NUL):
# linkname, magic, version, uname and gname matched, not read; device numbers as the fast path.
_UNPREFIXED_REST = rb"%s.{172}" + _octal(8, False) + _octal(8, False) + rb"\0"
# The headers ``TarReader.plain_run`` takes: those ``_FAST_HEADER`` matches with type "0" and an
# empty ustar prefix (its first byte NUL), with the same groups for the fields it reads (name,
# mode, size, mtime, checksum); link name, magic and the other fields are matched, not captured.
_PLAIN_HEADER = re.compile(_LEADING_FIELDS + _UNPREFIXED_REST % b"0").match


# The headers ``TarReader.next_dir`` takes: those ``_FAST_HEADER`` matches with type "5" and an
# empty ustar prefix, with the same groups for the fields it reads (name, mode, mtime, checksum;
# the size is checked, not used: a directory has no data).
_DIR_HEADER = re.compile(_LEADING_FIELDS + _UNPREFIXED_REST % b"5").match


def _plain_size(field: bytes) -> int | None:
    """A size field in the form ``plain_run`` reads without the full match (11 octal digits,
    then NUL or space), or None."""
    digits = field[:11]
    if not digits.isdigit() or field[11] not in _FILL:
        return None
    try:
        return int(digits, 8)  # (ASCII digits: only an 8 or 9 fails)
    except ValueError:
        return None


def _dir_base(rest: bytes) -> bytes | None:
    """For ``next_dir``: ``rest`` when a directory named prefix + ``rest`` is a child of the
    prefix's (one component, an optional trailing ``/``; not ``.``, ``..`` or a whiteout), or None."""
    base = rest[:-1] if rest[-1:] == b"/" else rest
    if not base or 0x2F in base:  # "/"
        return None
    if base[0] == 0x2E and (base == b"." or base == b".." or base.startswith(b".wh.")):
        return None
    return rest


def _number(field: bytes, what: str, *, base256: bool = True) -> int:
    """A numeric header field as Go's ``parseNumeric`` reads it: octal ASCII (up to the first
    NUL, blanks allowed), or base-256 when the first byte has its 0x80 bit (0x40: negative, two's
    complement; the first byte's other bits are part of the number), within int64.  The checksum
    is octal only (``base256=False``: Go's ``parseOctal``)."""
    first = field[0] if field else 0
    if first & 0x80 and base256:
        bits = 8 * len(field) - 1
        x = int.from_bytes(field, "big")
        if first & 0x40:
            x = ~x  # (the 0x80 bit goes below)
        x &= (1 << bits) - 1
        if x >> 63:
            raise IntegrityError(f"invalid tar header: {what} field {field!r} overflows")
        return ~x if first & 0x40 else x
    # as Go: NULs and spaces around the digits are padding; the digits end at a NUL; nothing but
    # octal digits (int() would also take a sign, "0o", "_" and other white space)
    text = field.strip(b" \0").split(b"\0", 1)[0]
    if not text:
        return 0
    if text.translate(None, _OCTAL_DIGITS):
        raise IntegrityError(f"invalid tar header: bad {what} field {field!r}")
    return int(text, 8)


def _gnu_times_readable(area: bytes) -> bool:
    """Whether a GNU header's atime and ctime (the first 24 bytes of USTAR's prefix field) parse
    as numbers (each only if its first byte is not NUL), as Go's ``readHeader`` decides whether
    it is a GNU header or one of the USTAR-in-GNU headers Go before 1.8 wrote."""
    for field in (area[:12], area[12:24]):
        if field[0]:
            try:
                _number(field, "GNU time")
            except IntegrityError:
                return False
    return True


def _unsigned_sum(block: bytes) -> int:
    """A header block's unsigned byte sum with the checksum field counted as blanks.  Adler-32's low
    half is 1 + the byte sum mod 65521: exact for ranges of up to 256 bytes (hence three ranges,
    whose three 1s and eight blanks make the 253)."""
    return (
        (zlib.adler32(block[:148]) & 0xFFFF)
        + (zlib.adler32(block[156:356]) & 0xFFFF)
        + (zlib.adler32(block[356:512]) & 0xFFFF)
        + 253
    )


def _checksum_ok(block: bytes, stored: int) -> bool:
    """The stored checksum matches the unsigned (or, as old tars wrote it, signed) byte sum, with
    the checksum field counted as blanks."""
    if _unsigned_sum(block) == stored:
        return True
    signed: int = sum(struct.unpack_from("148b8x356b", block)) + 8 * 32
    return signed == stored


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _parse_pax(data: bytes) -> dict[str, bytes]:
    """``"%d %s=%s\\n"`` records, strictly and in linear time."""
    out: dict[str, bytes] = {}
    pos, end = 0, len(data)
    while pos < end:
        sp = data.find(b" ", pos, end)  # (the length is read as Go's ParseInt reads it)
        digits = data[pos:sp] if sp > pos else b""
        length = _parse_int64(digits)
        if length is None:
            raise IntegrityError("malformed PAX record length")
        if length < 5 or length <= len(digits) + 1 or pos + length > end or data[pos + length - 1] != 0x0A:
            raise IntegrityError("malformed PAX record")
        record = data[sp + 1 : pos + length - 1]
        eq = record.find(b"=")
        if eq <= 0:
            raise IntegrityError("malformed PAX record keyword")
        try:
            key = record[:eq].decode("utf-8")
        except UnicodeDecodeError:
            raise IntegrityError("PAX keyword is not UTF-8") from None
        value = record[eq + 1 :]
        if key in _NAME_KEYWORDS:  # (Go's validPAXRecord, record by record)
            if b"\0" in value:
                raise IntegrityError(f"PAX {key} contains a NUL byte")
        elif "\0" in key:
            raise IntegrityError("PAX keyword contains a NUL byte")
        out[key] = value
        pos += length
    return out


def _pax_fields(records: dict[str, bytes]) -> dict[str, Any]:
    """The records a member's metadata takes, decoded and checked."""
    if any(k.startswith("GNU.sparse.") for k in records):
        raise IntegrityError("GNU sparse members are not supported")
    out: dict[str, Any] = {}
    # a record with an empty value keeps the header's field (Go's mergePAX skips it)
    for key, attr in (("path", "name"), ("linkpath", "linkname")):
        value = records.get(key)
        if value:
            out[attr] = value.decode("utf-8", "surrogateescape")
    size = records.get("size")
    if size:
        out["size"] = _go_int(size, "size")  # (negative: refused below for entries with data)
    for key in ("uid", "gid"):  # not used, but Go refuses the header when they do not parse
        value = records.get(key)
        if value:
            _go_int(value, key)
    for key in ("atime", "ctime"):  # the same for times not used
        value = records.get(key)
        if value:
            _pax_time(value, key)
    mtime = records.get("mtime")
    if mtime:
        out["mtime"] = _pax_time(mtime, "mtime")
    return out


def _parse_int64(value: bytes) -> int | None:
    """``value`` as Go's ``strconv.ParseInt(v, 10, 64)`` reads it (an optional sign, ASCII digits,
    any number of leading zeros, within int64); None if it does not."""
    if _GO_INT.fullmatch(value) is None:
        return None
    magnitude = value.lstrip(b"+-").lstrip(b"0")
    if len(magnitude) > 19:  # (and int() of thousands of digits would raise)
        return None
    n = int(magnitude or b"0")
    n = -n if value[:1] == b"-" else n
    return n if _INT64_MIN <= n <= _INT64_MAX else None


def _go_int(value: bytes, key: str) -> int:
    """A PAX number as Go reads it (``_parse_int64``); an ``IntegrityError`` if it does not."""
    n = _parse_int64(value)
    if n is None:
        raise IntegrityError(f"invalid PAX {key} {value[:40].decode('utf-8', 'replace')!r}")
    return n


def _pax_time(value: bytes, key: str) -> ExactTime:
    """A PAX time as Go's ``parsePAXTime`` reads it: whole seconds (``ParseInt``), then optionally
    ``.`` and digits, of which the first nine are the nanoseconds (the rest are cut off)."""
    seconds, _, fraction = value.partition(b".")
    whole = _go_int(seconds, key)
    if fraction.translate(None, b"0123456789"):
        raise IntegrityError(f"invalid PAX {key} {value.decode('utf-8', 'replace')!r}")
    nanos = int(fraction[:9].ljust(9, b"0")) if fraction else 0
    return ExactTime.from_ns(whole * 1_000_000_000 + (-nanos if seconds.startswith(b"-") else nanos))


class TarReader:
    """Iterate the members of an uncompressed tar stream; read each regular file's data once."""

    def __init__(self, stream: BinaryIO, *, max_header_bytes: int, fast: bool = True) -> None:
        """``fast=False``: every header through the general parser (what the fast path is
        checked against)."""
        self._stream = stream
        self._fast = _FAST_HEADER if fast else None
        self._max_header_bytes = max_header_bytes
        self._buf = b""
        self._view = memoryview(self._buf)  # of the buffer (renewed when the buffer is)
        # plain_run: the last header it matched in full (its fields after the size and
        # checksum, the mode, uid and gid, the mtime), the sum of its bytes past the first 148
        # (checksum field as blanks), its checksum's form, and its mode and mtime
        self._plain_known: tuple[bytes, bytes, bytes, int, bytes, int, int] | None = None
        self._plain_fields: dict[bytes, tuple[int, int, int]] = {}  # see _read_fields
        # unsigned sums -> their checksum field in that form + the known header's bytes after it
        self._plain_sums: dict[int, bytes] = {}
        # next_dir: the last directory header it matched in full (bytes 100-148, those after the
        # checksum), the sum of its bytes but the name (checksum field as blanks) - 1, its
        # checksum's form, and its mode and mtime
        self._dir_known: tuple[bytes, bytes, int, bytes, int, int] | None = None
        self._pos = 0
        self._eof = False
        self._current: tarfile.TarInfo | None = None
        self._left = 0  # data bytes of the current member not yet read
        self._padding = 0  # and the padding after them

    # -- the buffer ---------------------------------------------------------------------------

    def _more(self) -> bool:
        """Replace the (consumed) buffer by the next piece of the stream; False at the end."""
        if self._eof:
            return False
        data = self._stream.read(CHUNK)
        if not data:
            self._eof = True
            return False
        self._buf, self._pos = data, 0
        return True

    def _take(self, n: int) -> bytes:
        """Exactly ``n`` bytes (fewer only at the end of the stream); across pieces of the stream,
        only the bytes taken are copied (not the whole next piece)."""
        start = self._pos
        if len(self._buf) - start >= n:
            self._pos = start + n
            return self._buf[start : start + n]
        parts = [self._buf[start:]]
        got = len(parts[0])
        self._buf, self._pos = b"", 0
        while got < n and self._more():
            need = n - got
            if len(self._buf) > need:
                parts.append(self._buf[:need])
                self._pos = need
                break
            parts.append(self._buf)
            got += len(self._buf)
            self._buf = b""
        return b"".join(parts)

    def _skip(self, n: int) -> bool:
        """Pass over ``n`` bytes; False if the stream ended first."""
        while n:
            avail = len(self._buf) - self._pos
            if avail >= n:
                self._pos += n
                return True
            n -= avail
            self._buf, self._pos = b"", 0
            if not self._more():
                return False
        return True

    # -- members ------------------------------------------------------------------------------

    def members(self) -> Iterator[tarfile.TarInfo]:
        fast_header = self._fast
        adler32 = zlib.adler32
        while True:
            pos = self._pos
            block: bytes | None
            if len(self._buf) - pos >= BLOCK and self._buf[pos] and fast_header is not None:
                block = self._buf[pos : pos + BLOCK]  # (a header starting with NUL: _block decides)
                self._pos = pos + BLOCK
            else:
                block = self._block()
                if block is None:
                    return
            member: Any = None
            fast = fast_header(block) if fast_header is not None else None
            if fast is not None:  # a header of the common shape (most headers): read here
                (
                    name_b,
                    mode_d,
                    mode_e,
                    size_d,
                    size_e,
                    mtime_d,
                    mtime_e,
                    sum_d,
                    sum_e,
                    type_,
                    link_b,
                    magic,
                    prefix_b,
                ) = fast.groups()
                sum_d = sum_d or sum_e
                if (
                    type_ not in _GENERAL_TYPES
                    and not (prefix_b and magic == _GNU_MAGIC)  # (the general parser decides)
                    and sum_d
                    and (
                        # _unsigned_sum, inline (most headers); the signed sum in _checksum_ok
                        (adler32(block[:148]) & 0xFFFF)
                        + (adler32(block[156:356]) & 0xFFFF)
                        + (adler32(block[356:]) & 0xFFFF)
                        + 253
                        == int(sum_d, 8)
                        or _checksum_ok(block, int(sum_d, 8))
                    )
                ):
                    member = _NEW_TYPE(tarfile.TarInfo)
                    name = name_b.decode("utf-8", "surrogateescape")
                    if prefix_b and magic == _USTAR:
                        if block[508:] == _STAR_TRAILER:  # (star: atime and ctime after 131 bytes)
                            prefix_b = prefix_b[:_STAR_PREFIX]
                        name = prefix_b.decode("utf-8", "surrogateescape") + "/" + name
                    member.name = name
                    member.linkname = link_b.decode("utf-8", "surrogateescape")
                    mode_d = mode_d or mode_e
                    member.mode = int(mode_d, 8) if mode_d else 0
                    mtime_d = mtime_d or mtime_e
                    member.mtime = int(mtime_d, 8) if mtime_d else 0
                    size_d = size_d or size_e
                    member.size = size = int(size_d, 8) if size_d else 0
                    if type_ == tarfile.AREGTYPE and name.endswith("/"):
                        type_ = tarfile.DIRTYPE
                    member.type = type_
                    if type_ in _DATALESS:
                        self._left = self._padding = 0
                    else:
                        self._left, self._padding = size, -size % BLOCK
                    self._current = member
            if member is None:
                member = self._next(block)
                if member is None:
                    return
            yield member
            if self._left or self._padding:  # what the consumer did not read, and the padding
                if self._left and not self._skip(self._left):
                    raise IntegrityError(f"tar member {member.name!r} is truncated")
                ended = self._padding and not self._skip(self._padding)
                self._left = self._padding = 0
                if ended:  # the stream ends in the padding: the end of the archive, as in Go
                    self._current = None
                    return
            self._current = None

    def _block(self) -> bytes | None:
        """The next header block; None at a clean end of the stream or at the end-of-archive marker."""
        pos = self._pos
        if len(self._buf) - pos >= BLOCK:
            self._pos = pos + BLOCK
            block = self._buf[pos : pos + BLOCK]
        else:
            block = self._take(BLOCK)
            if not block:
                return None
            if len(block) != BLOCK:
                raise IntegrityError("invalid tar stream: truncated header")
        if block == _ZERO:
            # the end is two zero blocks (as Go reads it): one followed by anything else is not an
            # end, and the members after it must not be silently dropped
            second = self._take(BLOCK)
            if second.strip(b"\0"):
                raise IntegrityError("invalid tar stream: a zero block followed by more data")
            if second and len(second) != BLOCK:  # (Go's io.ReadFull: the end, or a whole block)
                raise IntegrityError("invalid tar stream: a zero block followed by part of a block")
            return None
        return block

    def _extension(self, size: int, spent: int) -> bytes:
        if size < 0:
            raise IntegrityError("tar extension header with a negative size")
        if spent + size > self._max_header_bytes:
            raise LimitExceeded(f"tar extension headers larger than {self._max_header_bytes} bytes")
        data = self._take(size)
        if len(data) != size:
            raise IntegrityError("truncated tar extension header")
        self._skip(-size % BLOCK)  # (the stream may end in the padding: then the archive ends)
        return data

    def _next(self, block: bytes | None) -> tarfile.TarInfo | None:
        """The member whose first header block is ``block`` (extension headers, then its own),
        by the general parser."""
        pax: dict[str, bytes] | None = None
        long_name: str | None = None
        long_link: str | None = None
        spent = 0
        chain = 0
        while True:
            if block is None:  # (after extension headers too: Go's Next ends the archive there)
                return None
            (
                name_f,
                mode_f,
                uid_f,
                gid_f,
                size_f,
                mtime_f,
                sum_f,
                type_,
                link_f,
                magic,
                major_f,
                minor_f,
                prefix,
            ) = _HEADER.unpack(block)
            if not _checksum_ok(block, _number(sum_f, "checksum", base256=False)):
                raise IntegrityError("invalid tar header: bad checksum")
            if magic == _USTAR and block[508:] == _STAR_TRAILER:
                prefix = prefix[:_STAR_PREFIX]  # star: the prefix's last 24 bytes are atime, ctime
            elif magic == _GNU_MAGIC and prefix[0] and block[263:265] == _GNU_VERSION:
                if not _gnu_times_readable(prefix):  # Go before 1.8 wrote a USTAR prefix there
                    magic = _USTAR if _text(prefix).isascii() else magic  # (as Go reads it)
            size = _number(size_f, "size")
            # fields not used are still checked, as Go does: uid and gid in every header, the
            # device numbers in USTAR, PAX and GNU ones (a V7 header ends after the link name)
            _number(uid_f, "uid")
            _number(gid_f, "gid")
            if magic == _USTAR or (magic == _GNU_MAGIC and block[263:265] == _GNU_VERSION):
                _number(major_f, "devmajor")
                _number(minor_f, "devminor")
            if type_ in _PAX_TYPES or type_ in _GNU_LONG:
                chain += 1
                _number(mode_f, "mode")
                _number(mtime_f, "mtime")
                if chain > MAX_EXTENSION_CHAIN:
                    raise LimitExceeded(f"more than {MAX_EXTENSION_CHAIN} chained tar extension headers")
                data = self._extension(size, spent)
                spent += size
                if type_ in _PAX_TYPES:
                    pax = _parse_pax(data)  # (read for the member: a later PAX header replaces it)
                elif type_ == tarfile.GNUTYPE_LONGNAME:
                    long_name = _text(data)
                else:
                    long_link = _text(data)
                block = self._block()
                continue
            if type_ == tarfile.XGLTYPE:
                raise IntegrityError(
                    "tar stream contains a PAX global header (refused: it would rewrite later members)"
                )
            if type_ == tarfile.GNUTYPE_SPARSE:
                raise IntegrityError(f"GNU sparse member {_text(name_f)!r} is not supported")
            return self._member(
                (name_f, mode_f, size, mtime_f, type_, link_f, magic, prefix),
                pax,
                long_name,
                long_link,
            )

    def _member(
        self,
        fields: tuple[bytes, bytes, int, bytes, bytes, bytes, bytes, bytes],
        pax: dict[str, bytes] | None,
        long_name: str | None,
        long_link: str | None,
    ) -> tarfile.TarInfo:
        name_f, mode_f, size, mtime_f, type_, link_f, magic, prefix = fields
        m: Any = _NEW_TYPE(tarfile.TarInfo)
        name = _text(name_f)
        if magic == _USTAR and prefix[0]:
            name = _text(prefix) + "/" + name
        m.name = name
        m.linkname = _text(link_f) if link_f[0] else ""
        m.mode = _number(mode_f, "mode")
        m.mtime = _number(mtime_f, "mtime")
        m.size = size
        return self._complete(m, type_, pax, long_name, long_link)

    def _complete(
        self,
        m: Any,
        type_: bytes,
        pax: dict[str, bytes] | None,
        long_name: str | None,
        long_link: str | None,
    ) -> tarfile.TarInfo:
        """The member's extension records over its header's fields; where its data is."""
        if pax:
            for attr, value in _pax_fields(pax).items():
                setattr(m, attr, value)
        if long_name:  # (an empty one keeps the header's, as Go)
            m.name = long_name
        if long_link:
            m.linkname = long_link
        if type_ == tarfile.AREGTYPE and m.name.endswith("/"):
            type_ = tarfile.DIRTYPE
        m.type = type_
        size = m.size
        if type_ in _DATALESS:  # (whatever the size says, as Go's handleRegularFile)
            self._left = self._padding = 0
        elif size < 0:
            raise IntegrityError(f"tar member {m.name!r} has a negative size")
        else:
            self._left, self._padding = size, -size % BLOCK
        self._current = m
        return m  # type: ignore[no-any-return]

    def next_plain(self, prefix: bytes) -> tuple[bytes, int, int, memoryview] | None:
        """The first member ``plain_run(prefix)`` gives, or None (nothing consumed)."""
        return next(self.plain_run(prefix), None)

    def plain_run(self, prefix: bytes) -> Iterator[tuple[bytes, int, int, memoryview]]:
        """The next members, each consumed with its data, for as long as they are what most members
        of a layer of many small files are: a regular file (type ``0``) whose header the fast path
        of ``members`` reads (the same checks; the same fields), named ``prefix`` + a base name
        without ``/`` in the name field alone (an empty ustar prefix), that is not ``.``, ``..``
        or a whiteout, with its data and padding in the current buffer: (base name as bytes,
        mode, mtime, its data as a view of the buffer, valid until the next member is asked for).
        The run ends before anything else, nothing of it consumed, and ``members`` reads it as
        usual.  Only between members whose data was read (else an empty run).  While a run is
        suspended the caller asks nothing else of the reader; a run left for ``members`` is not
        resumed (if it is, it ends: it checks that the reader is where it left it).

        For the applier's runs of files in one directory: no member object, no generator step of
        ``members``, no call per file, no second look at the name.  The tests hold it to
        ``members`` on the same archives.

        Most headers of such a layer differ from the last one matched in full only in name, size
        and checksum: when every other byte is the same as there (the fields a full match
        checked), only those three are read here (``_PLAIN_HEADER``'s forms for them, the checksum
        in the form the last one had: anything else is matched in full)."""
        if self._left or self._padding or self._fast is None or not prefix:
            return
        buf = self._buf
        end = len(buf)
        view = self._view
        if view.obj is not buf:
            view = self._view = memoryview(buf)
        sums = self._plain_sums  # (a layer's files have a few hundred; cleared, never replaced)
        memo = self._plain_fields
        known = self._plain_known
        if known is not None:
            mode, mtime = known[5], known[6]
        at = len(prefix)
        pos = self._pos
        adler32 = zlib.adler32
        while True:
            if self._pos != pos or self._buf is not buf:  # (the caller read on meanwhile)
                return
            start = pos + BLOCK
            if start > end:
                return
            if known is not None:
                if buf[pos + 156] != 0x30:  # not type "0" (the directory after a run, mostly)
                    return
                # the name: prefix + base, up to the first NUL
                name = buf[pos : pos + 100]
                if not name.startswith(prefix):
                    return
                stop = name.find(b"\0", at)
                base = name[at:] if stop < 0 else name[at:stop]
                if not base or 0x2F in base:  # "/" (as an int: ``bytes in bytes`` fails as an index)
                    return
                if base[0] == 0x2E and (base == b"." or base == b".." or base.startswith(b".wh.")):
                    return
                # mode, uid, gid, size and mtime: as in the known header but for the size
                fields = buf[pos + 100 : pos + 148]
                read = memo.get(fields)
                if read is None:
                    read = self._read_fields(fields)
                if read is not None:
                    size, span, partial_sum = read
                    total = (adler32(name) & 0xFFFF) + partial_sum  # the unsigned sum
                    rest = sums.get(total)
                    if rest is None:
                        if len(sums) >= _PLAIN_MEMO:
                            sums.clear()
                        rest = sums[total] = known[4] % total + known[0]
                    # the checksum, then the known header's type to prefix (else another form,
                    # the signed sum, other fields: matched in full below)
                    if rest == buf[pos + 148 : start]:
                        after = pos + span
                        if after > end:
                            return
                        self._pos = pos = after
                        self._current = None
                        yield base, mode, mtime, view[start : start + size]
                        continue
            got = self._plain_matched(prefix)
            if got is None:
                return
            known = self._plain_known
            if known is not None:
                mode, mtime = known[5], known[6]
            pos = self._pos
            yield got

    def _read_fields(self, fields: bytes) -> tuple[int, int, int] | None:
        """For ``plain_run``: a header's bytes 100-148 (mode, uid, gid, size, mtime) when they are
        the known header's but for a size in the form ``_plain_size`` reads: its size, the bytes
        from the header's start to the next one's (header, data, padding), and the sum of the
        header's bytes but its name (checksum field as blanks) + 1; kept for the next ones (a
        layer's files have a few thousand sizes)."""
        known = self._plain_known
        assert known is not None
        if fields[:24] != known[1] or fields[36:] != known[2]:
            return None
        size = _plain_size(fields[24:36])
        if size is None:
            return None
        memo = self._plain_fields
        if len(memo) >= _PLAIN_MEMO:
            memo.clear()
        read = memo[fields] = (size, BLOCK + size + (-size % BLOCK), sum(fields) + known[3])
        return read

    def _plain_matched(self, prefix: bytes) -> tuple[bytes, int, int, memoryview] | None:
        """``plain_run``'s next member by a full match of the header; what it takes becomes the
        header the next ones are compared with."""
        got = self._full_match(_PLAIN_HEADER, prefix)
        if got is None:
            return None
        groups, block, summed, mode, mtime = got
        base = groups[0][len(prefix) :]
        if not base or 0x2F in base:  # "/"
            return None
        if base[0] == 0x2E and (base == b"." or base == b".." or base.startswith(b".wh.")):
            return None
        size_d = groups[3] or groups[4]
        size = int(size_d, 8) if size_d else 0
        buf = self._buf
        start = self._pos + BLOCK
        after = start + size + (-size % BLOCK)  # (and its padding)
        if after > len(buf):
            return None
        self._pos = after
        self._current = None
        if summed is not None:  # the next headers: compared with this one
            self._plain_sums.clear()  # (they are in this header's form)
            self._plain_fields.clear()
            self._plain_known = (
                block[156:],
                block[100:124],
                block[136:148],
                summed[0] - (zlib.adler32(block[:148]) & 0xFFFF),
                summed[1],
                mode,
                mtime,
            )
        view = self._view
        if view.obj is not buf:
            view = self._view = memoryview(buf)
        return base, mode, mtime, view[start : start + size]

    def next_dir(self, prefix: bytes) -> tuple[bytes, int, int] | None:
        """The next member, consumed, when it is a directory (type ``5``) whose header the fast
        path of ``members`` reads (the same checks; the same fields), named ``prefix`` + a base
        name + an optional ``/`` in the name field alone (an empty ustar prefix), the base name
        without ``/``, not ``.``, ``..`` or a whiteout: (the name after ``prefix`` as bytes,
        mode, mtime).  Anything else: None, nothing consumed, and ``members`` reads it as usual.
        Only between members whose data was read (else None).

        For the applier's directories next to the ones it just wrote (a layer lists a directory's
        subdirectories one after the other, each followed by its files): no member object, no
        generator step.  A header that differs from the last one this matched in full only in
        its name and checksum is read from those two (the checksum in the form the last one had);
        any other is matched in full.  The tests hold it to ``members`` on the same archives."""
        if self._left or self._padding or self._fast is None or not prefix:
            return None
        buf = self._buf
        pos = self._pos
        start = pos + BLOCK
        if start > len(buf) or buf[pos + 156] != 0x35:  # type "5"
            return None
        name = buf[pos : pos + 100]
        if not name.startswith(prefix):
            return None
        known = self._dir_known
        if known is None or buf[pos + 100 : pos + 148] != known[0]:
            return self._dir_matched(prefix)
        total = (zlib.adler32(name) & 0xFFFF) + known[2]  # the unsigned sum
        if known[3] % total + known[1] != buf[pos + 148 : start]:
            return self._dir_matched(prefix)
        stop = name.find(b"\0", len(prefix))
        rest = _dir_base(name[len(prefix) :] if stop < 0 else name[len(prefix) : stop])
        if rest is None:
            return None
        self._pos = start
        self._current = None
        return rest, known[4], known[5]

    def _dir_matched(self, prefix: bytes) -> tuple[bytes, int, int] | None:
        """``next_dir`` by a full match of the header; what it takes becomes the header the next
        ones are compared with."""
        got = self._full_match(_DIR_HEADER, prefix)
        if got is None:
            return None
        groups, block, summed, mode, mtime = got
        rest = _dir_base(groups[0][len(prefix) :])
        if rest is None:
            return None
        self._pos += BLOCK
        self._current = None
        if summed is not None:  # the next directory headers: compared with this one
            self._dir_known = (
                block[100:148],
                block[156:],
                summed[0] - (zlib.adler32(block[:100]) & 0xFFFF),
                summed[1],
                mode,
                mtime,
            )
        return rest, mode, mtime

    def _full_match(
        self, pattern: Callable[[bytes, int], re.Match[bytes] | None], prefix: bytes
    ) -> tuple[tuple[bytes, ...], bytes, tuple[int, bytes] | None, int, int] | None:
        """For ``_plain_matched`` and ``_dir_matched``: the header block at the current position
        when ``pattern`` (``_PLAIN_HEADER`` or ``_DIR_HEADER``, anchored; it spans one block
        exactly) matches it, its name starts with ``prefix`` and ``members`` accepts its
        checksum: (the pattern's groups, the block, when the checksum holds the unsigned sum: that
        sum and the checksum's form as a format for it (its digits, then NULs/spaces), else None;
        mode, mtime).  Else None; nothing consumed either way."""
        buf = self._buf
        pos = self._pos
        fast = pattern(buf, pos)
        if fast is None:
            return None
        groups = fast.groups()
        name_b, mode_d, mode_e, _, _, mtime_d, mtime_e, sum_d, sum_e = groups
        sum_d = sum_d or sum_e
        if not sum_d or not name_b.startswith(prefix):
            return None
        block = buf[pos : pos + BLOCK]
        stored = int(sum_d, 8)
        unsigned = _unsigned_sum(block)
        if unsigned != stored and not _checksum_ok(block, stored):
            return None  # (members refuses it)
        summed = (
            (unsigned, b"%%0%do%s" % (len(sum_d), block[148 + len(sum_d) : 156]))
            if unsigned == stored
            else None
        )
        mode_d = mode_d or mode_e
        mtime_d = mtime_d or mtime_e
        return (
            groups,
            block,
            summed,
            int(mode_d, 8) if mode_d else 0,
            int(mtime_d, 8) if mtime_d else 0,
        )

    def read_data(self, member: Member) -> Iterable[bytes | memoryview]:
        """The (rest of the) data of the current member, in pieces of at most 1 MiB (views of the
        stream's buffer: valid until the next member is asked for)."""
        if member is not self._current:
            raise IntegrityError(f"tar member {member.name!r}: data is not where the header says")
        left = self._left
        if not left:
            return ()
        start = self._pos
        end = start + left
        if end + self._padding <= len(self._buf):  # all of it (and its padding) in this piece
            self._pos = end + self._padding
            self._left = self._padding = 0
            view = self._view
            if view.obj is not self._buf:
                view = self._view = memoryview(self._buf)
            return (view[start:end],)
        return self._pieces(member)

    def _pieces(self, member: Member) -> Iterator[bytes | memoryview]:
        while self._left:
            avail = len(self._buf) - self._pos
            if not avail:
                self._buf, self._pos = b"", 0
                if not self._more():
                    raise IntegrityError(f"tar member {member.name!r} is truncated")
                avail = len(self._buf)
            pos = self._pos
            step = min(avail, self._left)
            self._pos = pos + step
            self._left -= step
            yield memoryview(self._buf)[pos : pos + step]
