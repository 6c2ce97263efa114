"""HTTP/1.1 on a connected socket (RFC 9112): the request out, the answer's head and body framing in.

- request: the head (request line, then the fields as given, ``Host`` first) and the body: bytes,
  a stream with ``read()`` (read in blocks) or an iterable of byte blocks, framed with
  ``Transfer-Encoding: chunked`` when the request says so.
- answer head (:func:`read_head`): a status line of HTTP/1.0 or HTTP/1.1 (anything else is a
  :class:`~imgextract.registry.exceptions.MalformedAnswer`), 1xx interim answers skipped (up to
  five, as Go's transport; 101 is final), header lines as ``http.client`` bounds them (64 KiB a
  line, 100 lines).  An obsolete folded line is joined to the field above with one space
  (RFC 9112 5.2, as Go does; ``http.client`` kept the CRLF inside the value); whitespace before
  the first field is skipped (as ``email`` did); a line without a field name and a colon, a name
  with whitespace, or a CR or NUL in a value is malformed (``email`` dropped such a line and every
  field after it, silently).
- body framing (:func:`framing`, RFC 9112 6.3): no body for HEAD, 1xx, 204 and 304;
  ``Transfer-Encoding: chunked`` (the only coding accepted: we ask for no other); else
  ``Content-Length`` (repeated equal values accepted, differing or invalid ones malformed); else
  the body runs until the server closes.  The connection is kept unless the answer says
  ``Connection: close``, is HTTP/1.0 without ``keep-alive``, runs until close, or carries both a
  ``Transfer-Encoding`` and a ``Content-Length``.
- :class:`BodyReader` reads one answer's body in its framing; a broken one raises
  :class:`~imgextract.registry.exceptions.BodyBroken` (or ``ReadTimedOut``).

Nothing here knows connections, pools or proxies: :mod:`~imgextract.registry.connections` does.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

from imgextract.registry.exceptions import BodyBroken, MalformedAnswer, ReadTimedOut, TransportError
from imgextract.registry.response import Headers

MAX_LINE = 65536  # bytes in a status, header, chunk-size or trailer line, its CRLF included
MAX_FIELDS = 100  # header (or trailer) lines of one answer
MAX_INTERIM = 5  # 1xx answers before the final one (Go's transport)
BUFFER = 64 * 1024
_JOIN_BELOW = 64 * 1024  # a bytes body up to this size goes out in the head's send

# a field value: runs of visible characters (and obs-text) separated by SP/HTAB, without the
# whitespace around it; CR, LF and NUL are refused (RFC 9110 5.5).  Every quantifier is possessive
# (a run of blanks or of visible characters is never given back: nothing after it could match what
# it gives back), so a line that fails, 64 KiB of blanks before a NUL, fails in linear time; with
# backtracking, the blanks before an empty value and those after it were split every way first.
_VALUE = r"((?:[^ \t\r\n\x00]++(?:[ \t]++[^ \t\r\n\x00]++)*+)?+)[ \t]*+\r?\n"
_STATUS = re.compile(r"HTTP/1\.([01]) ++([1-9][0-9][0-9])(?:[ \t]++|(?=[ \t]*+\r?\n))" + _VALUE)
_FIELD = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]++):[ \t]*+" + _VALUE)
_FOLDED = re.compile(r"[ \t]++" + _VALUE)
_CHUNK_SIZE = re.compile(rb"0*([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\r\n\x00]*)?\r?\n")
_LENGTH = re.compile(r"[0-9]{1,18}")


class NoAnswer(ConnectionError):
    """The server closed the connection before the first byte of an answer: on a kept-alive
    connection, it had closed it while idle and processed nothing."""


class SocketReader(io.RawIOBase):
    """The raw side of a connection's buffered reader; counts what it received, so that bytes
    left in the buffer after an answer (:func:`unread`) can be told from none."""

    def __init__(self, sock: Any) -> None:
        super().__init__()
        self._recv_into = sock.recv_into
        self.received = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n: int = self._recv_into(buffer)
        self.received += n
        return n

    def tell(self) -> int:
        return self.received


def reader(sock: Any) -> tuple[SocketReader, io.BufferedReader]:
    """A buffered reader of ``sock`` (one per connection) and its raw side."""
    raw = SocketReader(sock)
    return raw, io.BufferedReader(raw, BUFFER)


def unread(raw: SocketReader, fp: io.BufferedReader) -> int:
    """Bytes received but not read yet (sitting in ``fp``'s buffer)."""
    return raw.received - fp.tell()


# --- the request ---------------------------------------------------------------------------------


def request_head(method: str, target: str, fields: Iterable[tuple[str, str]]) -> bytes:
    """The request line and the header fields, in order, ending with the blank line."""
    lines = [f"{method} {target} HTTP/1.1\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in fields)
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def send_request(sock: Any, head: bytes, body: Any, *, chunked: bool, blocksize: int) -> None:
    """``head``, then ``body`` (None, bytes-like, ``read()``-able or an iterable of blocks), each
    block framed as a chunk when ``chunked`` (empty blocks skipped: one would end the body)."""
    if body is None:
        sock.sendall(head)
        return
    if not chunked and isinstance(body, bytes | bytearray) and len(body) <= _JOIN_BELOW:
        sock.sendall(head + body)  # one send, one segment for a small body
        return
    sock.sendall(head)
    for block in _blocks(body, blocksize):
        if not block:
            continue
        if chunked:
            sock.sendall(b"%X\r\n%b\r\n" % (len(block), block))
        else:
            sock.sendall(block)
    if chunked:
        sock.sendall(b"0\r\n\r\n")


def _blocks(body: Any, blocksize: int) -> Iterator[Any]:
    if hasattr(body, "read"):
        while block := body.read(blocksize):
            yield block.encode("latin-1") if isinstance(block, str) else block
        return
    try:
        memoryview(body)
    except TypeError:
        try:
            yield from iter(body)
        except TypeError:
            raise TypeError(
                f"a request body is bytes-like, readable or iterable, not {type(body)!r}"
            ) from None
        return
    yield body


# --- the answer's head ---------------------------------------------------------------------------


def _fields(fp: io.BufferedReader) -> list[tuple[str, str]]:
    """Header lines up to the blank line, as (name, value) pairs in the order sent."""
    pairs: list[tuple[str, str]] = []
    readline, field = fp.readline, _FIELD.fullmatch
    for _ in range(MAX_FIELDS + 1):
        raw = readline(MAX_LINE)  # (a longer line comes back cut, without its LF)
        if raw == b"\r\n" or raw == b"\n":
            return pairs
        line = raw.decode("latin-1")
        match = field(line)
        if match is not None:
            pairs.append(match.groups())  # type: ignore[arg-type]
        else:
            _other_line(line, pairs)
    raise MalformedAnswer(f"got more than {MAX_FIELDS} headers")


def _other_line(line: str, pairs: list[tuple[str, str]]) -> None:
    """A folded line (joined to the field above with one space, RFC 9112 5.2; skipped before the
    first field, as RFC 9112 2.2 allows), or what is wrong with the line."""
    if line[-1:] != "\n":
        if len(line) >= MAX_LINE:
            raise MalformedAnswer(f"header line longer than {MAX_LINE} bytes")
        raise MalformedAnswer("connection closed inside the header block")
    folded = _FOLDED.fullmatch(line)
    if folded is None:
        raise MalformedAnswer(f"not a header line: {line[:40]!r}")
    if pairs:
        name, value = pairs[-1]
        pairs[-1] = (name, f"{value} {folded[1]}" if value else folded[1])


def read_head(fp: io.BufferedReader) -> tuple[int, int, str, Headers]:
    """The final answer's HTTP minor version (0 or 1), status, reason and header fields; 1xx
    interim answers (but 101) are read and dropped.  :class:`NoAnswer` when the connection
    closes before the first byte."""
    for _ in range(MAX_INTERIM + 1):
        raw = fp.readline(MAX_LINE)
        if not raw:
            raise NoAnswer("the server closed the connection without answering")
        line = raw.decode("latin-1")
        match = _STATUS.fullmatch(line)
        if match is None:
            if len(raw) >= MAX_LINE and line[-1:] != "\n":
                raise MalformedAnswer(f"status line longer than {MAX_LINE} bytes")
            what = "connection closed inside the status line" if line[-1:] != "\n" else "bad status line"
            raise MalformedAnswer(f"{what}: {line[:40]!r}")
        minor, status = int(match[1]), int(match[2])
        pairs = _fields(fp)
        if status >= 200 or status == 101:
            return minor, status, match[3], Headers(pairs)
    raise MalformedAnswer(f"more than {MAX_INTERIM} interim (1xx) answers")


def _tokens(headers: Headers, name: str) -> list[str]:
    return [t for value in headers.get_all(name) for t in (s.strip().lower() for s in value.split(",")) if t]


def framing(minor: int, status: int, method: str, headers: Headers) -> tuple[int, bool, bool]:
    """How the body is delimited: (its length, -1 when it runs until the server closes; chunked;
    whether the connection can carry another request afterwards)."""
    connection = _tokens(headers, "connection") if "connection" in headers else ()
    keep = "close" not in connection and (minor == 1 or "keep-alive" in connection)
    if method == "HEAD" or status < 200 or status == 204 or status == 304:
        return 0, False, keep and status != 101
    if "transfer-encoding" in headers:
        codings = _tokens(headers, "transfer-encoding")
        if minor == 0:
            raise MalformedAnswer("Transfer-Encoding in an HTTP/1.0 answer")
        if codings != ["chunked"]:
            raise MalformedAnswer(f"unsupported Transfer-Encoding {', '.join(codings)[:40]!r}")
        # with a Content-Length too (a smuggling attempt, or a broken proxy): chunked wins, and
        # the connection is not trusted with another request (RFC 9112 6.3)
        return 0, True, keep and "content-length" not in headers
    if "content-length" in headers:
        values = {v.strip() for value in headers.get_all("content-length") for v in value.split(",")}
        if len(values) != 1:
            raise MalformedAnswer(f"conflicting Content-Length values {sorted(values)[:4]!r}")
        (value,) = values
        if not _LENGTH.fullmatch(value):
            raise MalformedAnswer(f"invalid Content-Length {value[:40]!r}")
        return int(value), False, keep
    return -1, False, False


# --- the answer's body ---------------------------------------------------------------------------


class BodyReader:
    """One answer's body in its framing: ``read``, ``read1``, ``readinto``; ``done`` once read to
    its end, ``complete`` when the connection may carry the next request too."""

    __slots__ = ("_chunked", "_crlf", "_fp", "_left", "broken", "closed", "done", "keep_alive")

    def __init__(self, fp: io.BufferedReader, length: int, chunked: bool, keep_alive: bool) -> None:
        self._fp = fp
        self._chunked = chunked
        self._left = length  # chunked: bytes left in the current chunk; -1: until the server closes
        self._crlf = False  # chunked: the CRLF after the current chunk's data is still to read
        self.keep_alive = keep_alive
        self.done = not chunked and length == 0
        self.broken = False
        self.closed = False

    @property
    def complete(self) -> bool:
        return self.done and self.keep_alive and not self.broken

    def _fail(self, exc: BaseException) -> TransportError:
        self.broken = True
        if isinstance(exc, TransportError):
            return exc
        if isinstance(exc, TimeoutError):
            return ReadTimedOut(f"read timed out ({exc})")
        return BodyBroken(f"connection broken: {exc.__class__.__name__}: {exc}")

    def _short(self) -> BodyBroken:
        return BodyBroken(
            f"IncompleteRead(the connection closed with {self._left} bytes of the body to come)"
        )

    def read(self, n: int = -1, /) -> bytes:
        if self.closed or self.done or n == 0:
            return b""
        if n is None:
            n = -1
        try:
            if self._chunked:
                return self._read_chunked(n)
            left = self._left
            if left < 0:  # until the server closes
                data = self._fp.read(n)
                if n < 0 or len(data) < n:
                    self.done = True
                return data
            want = left if n < 0 or n > left else n
            data = self._fp.read(want)
            self._left = left - len(data)
            # cut short: what came of ``n`` bytes is returned (the next read fails), a whole body not
            if not data or (n < 0 and self._left):
                raise self._short()
            self.done = not self._left
            return data
        except (OSError, ValueError, TransportError) as exc:
            raise self._fail(exc) from None

    def read1(self, n: int = -1, /) -> bytes:
        """Whatever has arrived, up to ``n`` bytes (at most one socket read); b"" at the end."""
        if self.closed or self.done or n == 0:
            return b""
        if n is None:
            n = -1
        try:
            left = self._left
            if self._chunked and not left:
                left = self._next_chunk()
                if not left:
                    return b""
            elif left < 0:
                data = self._fp.read1(n)
                self.done = not data
                return data
            data = self._fp.read1(left if n < 0 or n > left else n)
            if not data:
                raise self._short()
            self._left = left = left - len(data)
            self.done = not left and not self._chunked
            return data
        except (OSError, ValueError, TransportError) as exc:
            raise self._fail(exc) from None

    def readinto(self, buffer: Any) -> int:
        """Up to ``len(buffer)`` bytes straight into ``buffer`` (several socket reads if need be);
        0 at the end."""
        if self.closed or self.done:
            return 0
        view = memoryview(buffer).cast("B")
        try:
            if self._chunked:
                return self._readinto_chunked(view)
            left = self._left
            if left < 0:
                n = self._fp.readinto(view)
                self.done = n < len(view)
                return n
            if len(view) > left:
                view = view[:left]
            n = self._fp.readinto(view)
            self._left = left - n
            if not n and len(view):
                raise self._short()
            self.done = not self._left
            return n
        except (OSError, ValueError, TransportError) as exc:
            raise self._fail(exc) from None

    # chunked framing (RFC 9112 7.1): size line [; extensions] CRLF, data CRLF ... 0 CRLF trailers CRLF

    def _next_chunk(self) -> int:
        """The size of the next chunk (0: the body ended; its trailers are read and dropped)."""
        fp = self._fp
        if self._crlf:
            if fp.readline(3) not in (b"\r\n", b"\n"):
                raise BodyBroken("chunked body: no CRLF after a chunk's data")
            self._crlf = False
        line = fp.readline(MAX_LINE + 1)
        match = _CHUNK_SIZE.fullmatch(line)
        if match is None:
            if not line.endswith(b"\n") and len(line) <= MAX_LINE:
                raise BodyBroken("IncompleteRead(connection closed inside the chunked body)")
            raise BodyBroken(f"chunked body: bad chunk size line {line[:40]!r}")
        size = int(match[1], 16)
        if size:
            self._left = size
            self._crlf = True
            return size
        self._trailers()
        self.done = True
        return 0

    def _trailers(self) -> None:
        for _ in range(MAX_FIELDS + 1):
            line = self._fp.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                raise BodyBroken(f"chunked body: trailer line longer than {MAX_LINE} bytes")
            if line in (b"\r\n", b"\n"):
                return
            if not line.endswith(b"\n"):  # closed without the last CRLF: every byte is here,
                self.keep_alive = False  # but the connection is not trusted with more
                return
        raise BodyBroken(f"chunked body: more than {MAX_FIELDS} trailer lines")

    def _read_chunked(self, n: int) -> bytes:
        parts: list[bytes] = []
        while n:
            left = self._left or self._next_chunk()
            if not left:
                break
            want = left if n < 0 or n > left else n
            data = self._fp.read(want)
            self._left = left - len(data)
            if len(data) < want:
                if n > 0 and (parts or data):  # what arrived is returned; the next read fails
                    parts.append(data)
                    break
                raise self._short()
            parts.append(data)
            if n > 0:
                n -= want
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _readinto_chunked(self, view: memoryview) -> int:
        pos, size = 0, len(view)
        while pos < size:
            left = self._left or self._next_chunk()
            if not left:
                break
            want = min(left, size - pos)
            n = self._fp.readinto(view[pos : pos + want])
            self._left = left - n
            pos += n
            if n < want:
                if pos:  # what arrived is returned; the next read fails
                    break
                raise self._short()
        return pos
