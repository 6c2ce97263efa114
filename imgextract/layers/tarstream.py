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

The header block's format (layout, numbers, checksum, the fast path's shapes) is in
``tarheader.py``, PAX records in ``tarpax.py``, and the runs of plain files and sibling
directories the applier takes without member objects in ``tarruns.py`` (``TarReader``'s base).
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.member import Member
from imgextract.layers.tarheader import (
    _DATALESS,
    _FAST_HEADER,
    _GENERAL_TYPES,
    _GNU_LONG,
    _GNU_MAGIC,
    _GNU_VERSION,
    _HEADER,
    _PAX_TYPES,
    _STAR_PREFIX,
    _STAR_TRAILER,
    _USTAR,
    _ZERO,
    BLOCK,
    _checksum_ok,
    _gnu_times_readable,
    _number,
    _text,
)
from imgextract.layers.tarpax import _parse_pax, _pax_fields
from imgextract.layers.tarruns import PlainRuns

CHUNK = 1024 * 1024
MAX_EXTENSION_CHAIN = 16
_NEW_TYPE = tarfile.TarInfo.__new__


class TarReader(PlainRuns):
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
