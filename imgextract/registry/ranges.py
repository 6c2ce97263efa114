"""Byte ranges of one blob over HTTP ``Range`` requests: coalesced, multi-range, with fallbacks.

``BlobRanges.prepare(ranges)`` takes the ranges that will be read, in blob order.  Ranges closer
than ``gap`` bytes are merged into one span (a few wasted bytes cost less than a request), and up
to ``max_parts`` spans go into one request (``Range: bytes=a-b,c-d``).  The answer may be:

* 206 ``multipart/byteranges``: parts are read in order, each located by its ``Content-Range``;
* 206 with one ``Content-Range`` (a server may merge the ranges itself): used as one part;
* 200, the whole blob (a registry or a redirect target that ignores ``Range``): the body is read
  forward to each wanted offset, and the remaining ranges are served from the same body.

``open_range(start, end)`` returns a reader of exactly those bytes, whether or not they were
planned (an unplanned range is fetched on its own).  ``read_head(start)`` reads a small range
for the TOC: when the server answers it with the whole blob, ``RangeIgnored`` carries that body
so the caller can apply the layer whole (and verify its digest) without fetching it twice.
``bytes_fetched`` counts every body byte received (part headers and skipped bytes included).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from imgextract.errors import IntegrityError, RegistryError, UnreachableError
from imgextract.registry.errors import endpoint_of
from imgextract.registry.exceptions import TransportError, label_of
from imgextract.registry.response import Response
from imgextract.registry.scopes import pull_scope

if TYPE_CHECKING:
    from imgextract.registry.client import RegistryClient

DEFAULT_GAP = 64 * 1024
MAX_PARTS = 64  # ranges per request (keeps the Range header well under common 8 KiB limits)
_LINE_LIMIT = 8192
BLOCK = 1024 * 1024  # socket reads of what has arrived, up to this
DIRECT = 64 * 1024  # a ``readinto`` this large goes straight to the socket (no block between)
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
# one "; name=value" parameter of a media type, the value a token or a quoted string
_PARAMETER = re.compile(r';\s*([^\s;=]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]*))')
_BROKEN = (TransportError, ConnectionError, TimeoutError)


def multipart_boundary(content_type: str) -> str | None:
    """The ``boundary`` parameter of a ``multipart/byteranges`` Content-Type, matched by name as
    containers/image's ``parseMediaType`` matches it (a quoted value may hold ``;``), or None."""
    for match in _PARAMETER.finditer(content_type):
        if match.group(1).lower() == "boundary":
            quoted = match.group(2)
            value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match.group(3)
            return value or None
    return None


def coalesce(ranges: Sequence[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    """Sorted ``[start, end)`` spans covering ``ranges``, merging those less than ``gap`` apart."""
    spans: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if spans and start <= spans[-1][1] + gap:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans


class RangeIgnored(Exception):
    """The server sent the whole blob for a Range request; ``body`` reads it from byte 0."""

    def __init__(self, body: io.BufferedReader) -> None:
        super().__init__("range request answered with the whole blob")
        self.body = body


class _Wire:
    """The body of one response, counted, read in blocks of what has arrived (``read1``): the
    caller's many small reads (one per file) cost one socket read per block, not one each."""

    def __init__(self, owner: BlobRanges, response: Response) -> None:
        self.owner = owner
        self.response = response
        self._buf = b""
        self._off = 0  # next unread byte of _buf
        # bytes at the end of a large ``readinto`` read through a block of what has arrived, for
        # an answer with more after the ranges read (multipart: the next part's header, the
        # closing delimiter; a whole blob: the rest): read and counted as every read did before
        self.tail = 0

    def _raw(self, n: int, *, block: bool) -> bytes:
        try:
            raw = self.response.raw
            data = raw.read1(n) if block else raw.read(n)
        except _BROKEN as exc:
            raise self.owner.lost(exc) from None
        self.owner.bytes_fetched += len(data)
        return bytes(data)

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (fewer when that is what has arrived); b"" at the end."""
        if self._off < len(self._buf):
            data = self._buf[self._off : self._off + n]
            self._off += len(data)
            return data
        if n >= BLOCK:
            return self._raw(n, block=False)
        data = self._raw(BLOCK, block=True)
        self._buf, self._off = data, min(n, len(data))
        return data[:n] if len(data) > n else data

    def readinto(self, view: memoryview) -> int:
        """Up to ``len(view)`` bytes into ``view``: what is buffered, else (a large read, but for
        its last ``tail`` bytes) straight from the socket, without a block in between; 0 at the
        end."""
        if self._off < len(self._buf):
            data = self._buf[self._off : self._off + len(view)]
            view[: len(data)] = data
            self._off += len(data)
            return len(data)
        into = getattr(self.response.raw, "readinto", None)
        if into is None or len(view) < DIRECT or len(view) <= self.tail:
            data = self.read(len(view))
            view[: len(data)] = data
            return len(data)
        try:
            n = int(into(view[: len(view) - self.tail]))
        except _BROKEN as exc:
            raise self.owner.lost(exc) from None
        self.owner.bytes_fetched += n
        return n

    def read_exact(self, n: int) -> bytes:
        parts = []
        while n:
            data = self.read(min(n, 1024 * 1024))
            if not data:
                raise self.owner.lost(None)
            parts.append(data)
            n -= len(data)
        return b"".join(parts)

    def skip(self, n: int) -> None:
        if self._off >= len(self._buf) and n < DIRECT:
            # a few bytes between two files (their tar headers' frames): read just those, not a
            # block of what has arrived, which a large ``readinto`` would then copy out again
            while n:
                data = self._raw(n, block=False)
                if not data:
                    raise self.owner.lost(None)
                n -= len(data)
            return
        while n:
            data = self.read(min(n, 1024 * 1024))
            if not data:
                raise self.owner.lost(None)
            n -= len(data)

    def readline(self) -> bytes:
        line = b""
        while True:
            if self._off >= len(self._buf):
                self._buf, self._off = self._raw(BLOCK, block=True), 0
                if not self._buf:
                    raise self.owner.lost(None)
            end = self._buf.find(b"\n", self._off)
            if end >= 0:
                line += self._buf[self._off : end + 1]
                self._off = end + 1
                return line
            line += self._buf[self._off :]
            self._off = len(self._buf)
            if len(line) > _LINE_LIMIT:
                raise self.owner.malformed("multipart header line too long")

    def close(self) -> None:
        self.response.close()


class _Part:
    def __init__(self, start: int, end: int) -> None:
        self.start, self.end, self.pos = start, end, start  # [start, end), pos = next byte on the wire


class _Response:
    """One answer: its parts in order (multipart), one part (single range), or the whole blob."""

    def __init__(
        self, owner: BlobRanges, wire: _Wire, *, boundary: bytes | None, single: _Part | None
    ) -> None:
        self.owner = owner
        self.spans: tuple[tuple[int, int], ...] = ()  # what was asked for
        self.wire = wire
        self.boundary = boundary
        self.part = single
        self.finished = False
        self.whole = (
            boundary is None and single is not None and single.start == 0 and single.end == owner.size
        )

    def next_part(self) -> _Part | None:
        """Move past the current part; the next one (multipart only), or None."""
        if self.boundary is None:
            self.finished = True
            return None
        if self.part is not None:
            self.wire.skip(self.part.end - self.part.pos)
            self.part.pos = self.part.end
        while True:
            line = self.wire.readline().strip()
            if not line:
                continue
            if line == b"--" + self.boundary + b"--":
                self.finished = True
                self.part = None
                return None
            if line != b"--" + self.boundary:
                raise self.owner.malformed("unexpected multipart delimiter")
            break
        content_range = None
        while True:
            line = self.wire.readline().strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-range":
                content_range = value.decode("latin-1")
        if content_range is None:
            raise self.owner.malformed("multipart part without Content-Range")
        self.part = self.owner.parse_content_range(content_range)
        return self.part

    def seek_to(self, start: int, end: int) -> _Part | None:
        """The part holding ``[start, end)``, read forward to ``start``; None if this answer cannot."""
        while not self.finished:
            part = self.part if self.part is not None else self.next_part()
            if part is None:
                return None
            if part.pos <= start and end <= part.end:
                self.wire.skip(start - part.pos)
                part.pos = start
                return part
            if start < part.pos:
                return None  # behind us: a new request
            if start >= part.end or end > part.end:
                if self.boundary is None:
                    self.finished = True
                    return None
                self.next_part()
                continue
        return None


class _RangeReader:
    def __init__(self, wire: _Wire, part: _Part, end: int) -> None:
        self.wire, self.part, self.end, self.left = wire, part, end, end - part.pos

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0:
            parts = []
            while chunk := self.read(1024 * 1024):
                parts.append(chunk)
            return b"".join(parts)
        if self.left <= 0:
            return b""
        n = min(n, self.left)
        try:
            data = self.wire.read(n)
        except UnreachableError:
            data = b""
        if not data:  # the connection broke: ask again for the rest of this range
            self.wire, self.part = self.wire.owner.resume(self.part.pos, self.end)
            return self.read(n)
        self.left -= len(data)
        self.part.pos += len(data)
        return data

    def readinto(self, view: memoryview) -> int:
        """Up to ``len(view)`` bytes of the range into ``view`` (0 at its end); a broken
        connection is resumed as in ``read``."""
        if self.left <= 0:
            return 0
        if len(view) > self.left:
            view = view[: self.left]
        try:
            n = self.wire.readinto(view)
        except UnreachableError:
            n = 0
        if not n:  # the connection broke: ask again for the rest of this range
            self.wire, self.part = self.wire.owner.resume(self.part.pos, self.end)
            return self.readinto(view)
        self.left -= n
        self.part.pos += n
        return n


class _WholeBody(io.RawIOBase):
    def __init__(self, wire: _Wire) -> None:
        super().__init__()
        self.wire = wire

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self.wire.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.wire.close()
        super().close()


class BlobRanges:
    """Ranges of the blob ``digest`` (``size`` bytes) in ``repository``."""

    def __init__(
        self,
        client: RegistryClient,
        repository: str,
        digest: str,
        size: int,
        *,
        gap: int = DEFAULT_GAP,
        max_parts: int = MAX_PARTS,
        max_resumes: int = 3,
    ) -> None:
        self.client = client
        self.repository = repository
        self.digest = digest
        self.size = size
        self.gap = gap
        self.max_parts = max_parts
        self.bytes_fetched = 0
        self.requests = 0
        self.whole_answers = 0  # 200s to Range requests
        self.resumes_left = max_resumes
        self.reference = f"{client.registry}/{repository}@{digest}"
        self.endpoint: str | None = None
        self._batches: list[list[tuple[int, int]]] = []
        self._current: _Response | None = None

    # -- errors ------------------------------------------------------------------------------

    def lost(self, cause: BaseException | None) -> UnreachableError:
        reason = label_of(cause) if cause is not None else "body ended early"
        return UnreachableError(
            f"blob ranges: connection lost ({reason})", reference=self.reference, endpoint=self.endpoint
        )

    def malformed(self, what: str) -> IntegrityError:
        return IntegrityError(f"blob ranges: {what}", reference=self.reference, endpoint=self.endpoint)

    def parse_content_range(self, value: str) -> _Part:
        m = _CONTENT_RANGE.match(value)
        if m is None:
            raise self.malformed(f"unparsable Content-Range {value!r}")
        start, last = int(m.group(1)), int(m.group(2))
        if last < start or last >= self.size or (m.group(3) != "*" and int(m.group(3)) != self.size):
            raise self.malformed(f"Content-Range {value!r} does not fit a {self.size}-byte blob")
        return _Part(start, last + 1)

    # -- requests ----------------------------------------------------------------------------

    def _get(self, spans: Sequence[tuple[int, int]]) -> _Response:
        answer = self._ask(spans)
        answer.spans = tuple(spans)
        return answer

    def _ask(self, spans: Sequence[tuple[int, int]]) -> _Response:
        header = "bytes=" + ",".join(f"{s}-{e - 1}" for s, e in spans)
        self.requests += 1
        response = self.client.http.request(
            "GET",
            f"/v2/{self.repository}/blobs/{self.digest}",
            repository=self.repository,
            scopes=(pull_scope(self.repository),),
            what="blob",
            reference=self.reference,
            headers={"Range": header, "Accept-Encoding": "identity"},
            follow_redirects=True,
        )
        self.endpoint = endpoint_of(response.url)
        if response.status_code not in (200, 206):
            raise self.client.http.fail(response, what="blob", reference=self.reference)
        wire = _Wire(self, response)
        if response.status_code == 200:
            self.whole_answers += 1
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) != self.size:
                response.close()
                raise IntegrityError(
                    f"blob is {length} bytes, the manifest says {self.size}",
                    reference=self.reference,
                    endpoint=self.endpoint,
                )
            wire.tail = DIRECT  # (the rest of the blob follows: read on as block reads did)
            return _Response(self, wire, boundary=None, single=_Part(0, self.size))
        ctype = response.headers.get("Content-Type", "")
        if ctype.lower().startswith("multipart/byteranges"):
            boundary = multipart_boundary(ctype)
            if boundary is None:
                response.close()
                raise self.malformed("multipart answer without a boundary")
            wire.tail = DIRECT  # (see _Wire.tail: the body is read to its end, as block reads did)
            return _Response(self, wire, boundary=boundary.encode("latin-1"), single=None)
        part = self.parse_content_range(response.headers.get("Content-Range", ""))
        return _Response(self, wire, boundary=None, single=part)

    def _drop_current(self) -> None:
        if self._current is not None:
            self._current.wire.close()
            self._current = None

    def close(self) -> None:
        self._drop_current()

    def resume(self, position: int, end: int) -> tuple[_Wire, _Part]:
        """After a broken connection: ``[position, end)`` in a new request (``max_resumes`` times)."""
        self._drop_current()
        if self.resumes_left <= 0:
            raise self.lost(None)
        self.resumes_left -= 1
        self._current = self._get([(position, end)])
        part = self._current.seek_to(position, end)
        if part is None:
            self._drop_current()
            raise self.malformed(f"asked for bytes {position}-{end - 1}, got another range")
        return self._current.wire, part

    # -- API ---------------------------------------------------------------------------------

    def read_head(self, start: int, end: int) -> bytes:
        """``[start, end)`` in one request; ``RangeIgnored`` (with the whole body) on a 200."""
        answer = self._get([(start, end)])
        if answer.whole:
            raise RangeIgnored(io.BufferedReader(_WholeBody(answer.wire), buffer_size=1024 * 1024))
        self._current = answer
        part = answer.seek_to(start, end)
        if part is None:
            self._drop_current()
            raise self.malformed(f"asked for bytes {start}-{end - 1}, got another range")
        data = _RangeReader(answer.wire, part, end).read()
        self._drop_current()
        return data

    def read_span(self, start: int, end: int, into: memoryview) -> None:
        """Exactly the bytes ``[start, end)`` into ``into`` (``end - start`` long), read from the
        socket straight into it.  For several nearby files at once: the bytes between them are
        on the wire anyway (a planned span holds them), so asking for them costs nothing."""
        reader = self.open_range(start, end)
        got, want = 0, end - start
        while got < want:
            got += reader.readinto(into[got:want])  # (resumes a broken connection, or raises)

    def prepare(self, ranges: Sequence[tuple[int, int]]) -> None:
        spans = coalesce(ranges, self.gap)
        self._batches = [spans[i : i + self.max_parts] for i in range(0, len(spans), self.max_parts)]

    def open_range(self, start: int, end: int) -> _RangeReader:
        if not 0 <= start < end <= self.size:
            raise self.malformed(f"range {start}-{end} outside the {self.size}-byte blob")
        if self._current is not None:
            part = self._current.seek_to(start, end)
            if part is not None:
                return _RangeReader(self._current.wire, part, end)
        self._drop_current()
        while self._batches and self._batches[0][-1][1] <= start:
            self._batches.pop(0)  # planned but not needed after all
        batch = self._batches.pop(0) if self._batches and self._batches[0][0][0] <= start else None
        if batch is None or not any(s <= start and end <= e for s, e in batch):
            if batch is not None:
                self._batches.insert(0, batch)
            batch = [(start, end)]
        self._current = self._get(batch)
        part = self._current.seek_to(start, end)
        if part is None:
            self._drop_current()
            raise RegistryError(
                f"blob ranges: the answer does not hold bytes {start}-{end - 1}",
                reference=self.reference,
                endpoint=self.endpoint,
            )
        return _RangeReader(self._current.wire, part, end)
