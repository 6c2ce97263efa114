"""A tar stream's runs of plain files and sibling directories, for the applier: ``TarReader``'s
``plain_run``, ``next_plain`` and ``next_dir`` (a base class of the reader, which holds the state
they read, declared here): the members most of a layer of many small files has, taken from the
current buffer without a member object, a generator step of ``members`` or a second look at the
name.  Each header is read with the same checks and fields as ``members``' fast path
(``tarheader.py``); anything else ends the run, nothing of it consumed."""

from __future__ import annotations

import re
import tarfile
import zlib
from collections.abc import Callable, Iterator

from imgextract.layers.tarheader import _DIR_HEADER, _PLAIN_HEADER, BLOCK, _checksum_ok, _unsigned_sum

_FILL = (0, 0x20)  # what follows a numeric field's digits: NUL or space
_PLAIN_MEMO = 4096  # size fields and checksums plain_run keeps, each


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


class PlainRuns:
    """The runs of ``TarReader`` (which sets these attributes: see its ``__init__``)."""

    _buf: bytes
    _view: memoryview
    _pos: int
    _current: tarfile.TarInfo | None
    _left: int
    _padding: int
    _fast: Callable[[bytes], re.Match[bytes] | None] | None
    _plain_known: tuple[bytes, bytes, bytes, int, bytes, int, int] | None
    _plain_fields: dict[bytes, tuple[int, int, int]]
    _plain_sums: dict[int, bytes]
    _dir_known: tuple[bytes, bytes, int, bytes, int, int] | None

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
