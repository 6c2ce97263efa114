"""One 512-byte tar header block, as Go's ``archive/tar`` reads it (``tarstream.py`` reads the
stream): its layout and type flags, the magics of the ustar, GNU and star formats, numeric fields
(octal or base-256, ``_number``), the checksum (unsigned, or signed as old tars wrote it), text
fields, and the regular-expression shapes of the headers the common writers produce
(``_FAST_HEADER`` for ``TarReader.members``, ``_PLAIN_HEADER`` and ``_DIR_HEADER`` for its runs):
every header a shape matches, the general parser reads the same way."""

from __future__ import annotations

import re
import struct
import tarfile
import zlib

from imgextract.errors import IntegrityError

BLOCK = 512

# name, mode, uid, gid, size, mtime, chksum, type, linkname, magic, (uname, gname), devmajor,
# devminor, prefix
_HEADER = struct.Struct("100s8s8s8s12s12s8sc100s6s2x32x32x8s8s155s12x")
_ZERO = bytes(BLOCK)
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
