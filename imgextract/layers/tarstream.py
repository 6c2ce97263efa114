"""Parse a tar stream with ``tarfile`` (stream mode, parse only) under hostile-input rules.

``tarfile`` reads GNU long names and PAX records into memory whole, applies PAX *global*
headers to every later member, parses PAX records with a backtracking regex (CVE-2024-6232
on older Pythons) and keeps every member in ``TarFile.members``.  This module subclasses
``TarInfo`` so that, before any of that happens:

* an extension header (PAX ``x``, GNU ``L``/``K``) larger than ``max_header_bytes`` (in total
  for one entry) or a chain of more than 16 of them -> ``LimitExceeded``;
* a PAX global header (``g``) -> ``IntegrityError`` (Python would rename/resize every later
  member; Go ignores it; either way the archive is not what it looks like);
* PAX records are parsed by a strict linear parser; malformed records -> ``IntegrityError``;
* GNU sparse members (old ``S`` type or PAX ``GNU.sparse.*``) -> ``IntegrityError``;
* an invalid or truncated header anywhere -> ``IntegrityError`` (``tarfile`` would silently
  stop at one after the first member);
* negative sizes -> ``IntegrityError``.

Members are yielded one at a time and forgotten; the caller reads a regular file's data from
``TarReader.read_data`` before asking for the next member.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from imgextract.errors import IntegrityError, LimitExceeded

CHUNK = 1024 * 1024
MAX_EXTENSION_CHAIN = 16
_PAX_NUMERIC = {"size"}

_EXTENSION_TYPES = (
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
    tarfile.XHDTYPE,
    tarfile.SOLARIS_XHDTYPE,
)
# tarfile's extension points (_proc_member, _block, _apply_pax_info, ...) are private and untyped.
_TarInfoBase: Any = tarfile.TarInfo
_TarFileBase: Any = tarfile.TarFile
_tarmod: Any = tarfile

_CONVERTED = (tarfile.TarError, EOFError, ValueError, OverflowError, UnicodeError, RecursionError)


class _SafeTarFile(_TarFileBase):
    max_header_bytes = 1024 * 1024
    _ext_bytes = 0
    _ext_depth = 0


class _SafeTarInfo(_TarInfoBase):
    @classmethod
    def frombuf(cls, buf: Any, encoding: str, errors: str) -> Any:
        try:
            return super().frombuf(buf, encoding, errors)
        except (_tarmod.EOFHeaderError, _tarmod.EmptyHeaderError):
            raise
        except tarfile.HeaderError as e:
            raise IntegrityError(f"invalid tar header: {e}") from None
        except (ValueError, OverflowError, UnicodeError) as e:
            raise IntegrityError(f"invalid tar header: {e}") from None

    def _proc_member(self, tarfile_: Any) -> Any:
        tf: _SafeTarFile = tarfile_
        if self.size < 0:
            raise IntegrityError(f"tar member {self.name!r} has a negative size")
        if self.type == tarfile.XGLTYPE:
            raise IntegrityError(
                "tar stream contains a PAX global header (refused: it would rewrite later members)"
            )
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise IntegrityError(f"GNU sparse member {self.name!r} is not supported")
        if self.type in _EXTENSION_TYPES:
            tf._ext_bytes += self.size
            tf._ext_depth += 1
            if tf._ext_bytes > tf.max_header_bytes:
                raise LimitExceeded(f"tar extension headers larger than {tf.max_header_bytes} bytes")
            if tf._ext_depth > MAX_EXTENSION_CHAIN:
                raise LimitExceeded(f"more than {MAX_EXTENSION_CHAIN} chained tar extension headers")
            if self.type in (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE):
                return self._proc_pax_strict(tf)
            return super()._proc_member(tf)
        tf._ext_bytes = 0
        tf._ext_depth = 0
        return super()._proc_member(tf)

    def _proc_pax_strict(self, tf: _SafeTarFile) -> Any:
        padded = self._block(self.size)
        buf = tf.fileobj.read(padded)
        if len(buf) != padded:
            raise IntegrityError("truncated PAX header")
        records = _parse_pax(buf[: self.size])
        if any(k.startswith("GNU.sparse.") for k in records):
            raise IntegrityError("GNU sparse members are not supported")
        binary = records.get("hdrcharset") == b"BINARY"
        pax: dict[str, str] = {}
        for key, value in records.items():
            if key in tarfile.PAX_NAME_FIELDS:
                if b"\0" in value:
                    raise IntegrityError(f"PAX {key} contains a NUL byte")
                enc = tf.encoding if binary else "utf-8"
                pax[key] = self._decode_pax_field(value, enc, tf.encoding, tf.errors)
            else:
                pax[key] = value.decode("utf-8", "surrogateescape")
        for key in _PAX_NUMERIC & pax.keys():
            if not pax[key].isascii() or not pax[key].isdigit():
                raise IntegrityError(f"invalid PAX {key} {pax[key]!r}")
        try:
            nxt = self.fromtarfile(tf)
        except tarfile.HeaderError as e:
            raise IntegrityError(f"invalid tar header after PAX header: {e}") from None
        nxt._apply_pax_info(pax, tf.encoding, tf.errors)
        nxt.offset = self.offset
        if "size" in pax:
            offset = nxt.offset_data
            if nxt.isreg() or nxt.type not in tarfile.SUPPORTED_TYPES:
                offset += nxt._block(nxt.size)
            tf.offset = offset
        return nxt


def _parse_pax(data: bytes) -> dict[str, bytes]:
    """``"%d %s=%s\\n"`` records, strictly and in linear time."""
    out: dict[str, bytes] = {}
    pos, end = 0, len(data)
    while pos < end:
        sp = data.find(b" ", pos, min(end, pos + 21))
        digits = data[pos:sp] if sp > pos else b""
        if not digits or not digits.isdigit():
            raise IntegrityError("malformed PAX record length")
        length = int(digits)
        if length <= len(digits) + 1 or pos + length > end or data[pos + length - 1] != 0x0A:
            raise IntegrityError("malformed PAX record")
        record = data[sp + 1 : pos + length - 1]
        eq = record.find(b"=")
        if eq <= 0:
            raise IntegrityError("malformed PAX record keyword")
        try:
            key = record[:eq].decode("utf-8")
        except UnicodeDecodeError:
            raise IntegrityError("PAX keyword is not UTF-8") from None
        out[key] = record[eq + 1 :]
        pos += length
    return out


class TarReader:
    """Iterate the members of an uncompressed tar stream; read each regular file's data once."""

    def __init__(self, stream: BinaryIO, *, max_header_bytes: int) -> None:
        cls: Any = type("_BoundedTarFile", (_SafeTarFile,), {"max_header_bytes": max_header_bytes})
        self._tf: Any = None
        self._stream = stream
        self._cls = cls
        self._left = 0

    def members(self) -> Iterator[tarfile.TarInfo]:
        try:
            # small bufsize: tarfile's stream buffer copies its remainder on every read, so a big
            # buffer makes header reads quadratic; member data bypasses it (_read_direct).
            self._tf = self._cls.open(
                fileobj=self._stream,
                mode="r|",
                bufsize=tarfile.RECORDSIZE,
                tarinfo=_SafeTarInfo,
                encoding="utf-8",
                errors="surrogateescape",
            )
        except tarfile.ReadError as e:
            if str(e) == "empty file":
                return
            raise IntegrityError(f"invalid tar stream: {e}") from None
        except _CONVERTED as e:
            raise IntegrityError(f"invalid tar stream: {e}") from None
        tf = self._tf
        while True:
            try:
                member = tf.next()
            except _CONVERTED as e:
                raise IntegrityError(f"invalid tar stream: {e}") from None
            if member is None:
                return
            tf.members.clear()
            self._left = member.size if _has_data(member) else 0
            yield member
            for _ in self.read_data(member):  # skip what the consumer did not read
                pass

    def _read_direct(self, n: int) -> bytes:
        """Read member data past tarfile's small stream buffer (same position bookkeeping)."""
        s = self._tf.fileobj
        data: bytes
        if s.buf:
            data, s.buf = s.buf[:n], s.buf[n:]
        else:
            data = s.fileobj.read(n)
        s.pos += len(data)
        return data

    def read_data(self, member: tarfile.TarInfo) -> Iterator[bytes]:
        """The (rest of the) data of the current regular-file member, in chunks of at most 1 MiB."""
        assert self._tf is not None
        try:
            if self._left and self._tf.fileobj.tell() != member.offset_data + member.size - self._left:
                raise IntegrityError(f"tar member {member.name!r}: data is not where the header says")
            while self._left:
                chunk = self._read_direct(min(self._left, CHUNK))
                if not chunk:
                    raise IntegrityError(f"tar member {member.name!r} is truncated")
                self._left -= len(chunk)
                yield chunk
        except _CONVERTED as e:
            raise IntegrityError(f"invalid tar stream: {e}") from None


def _has_data(member: tarfile.TarInfo) -> bool:
    """Whether tarfile skips ``size`` bytes of data after this member's header."""
    return member.isreg() or member.type not in tarfile.SUPPORTED_TYPES
