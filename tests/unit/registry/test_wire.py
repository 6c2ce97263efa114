"""The HTTP/1.1 exchange of :mod:`imgextract.registry.wire`, rule by rule (RFC 9112).

The answers are written by hand into one end of a socket pair (or by a loopback server): a real
registry cannot send folded lines, conflicting lengths, HTTP/1.0 or interim answers.  Every read
has a socket timeout, so framing that waits for bytes that never come fails instead of hanging.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from imgextract.registry import TransportSettings
from imgextract.registry.exceptions import BodyBroken, ConnectFailed, MalformedAnswer
from imgextract.registry.response import Headers
from imgextract.registry.transport import new_session
from imgextract.registry.wire import (
    BodyReader,
    NoAnswer,
    framing,
    read_head,
    reader,
    request_head,
    send_request,
    unread,
)
from tests.unit.registry.loopback import answer, http_server


class Exchange:
    """The client end of a socket pair whose server end sent ``data`` (and closed when told)."""

    def __init__(self, data: bytes, *, close: bool = False) -> None:
        self.client, self.server = socket.socketpair()
        self.client.settimeout(2.0)
        self.writer = threading.Thread(target=self._send, args=(data, close), daemon=True)
        self.writer.start()
        self.raw, self.fp = reader(self.client)

    def _send(self, data: bytes, close: bool) -> None:
        try:
            self.server.sendall(data)
            if close:
                self.server.shutdown(socket.SHUT_WR)
        except OSError:  # the client gave up reading (a refused head): nothing more to say
            pass

    def answer(self, method: str = "GET") -> tuple[int, Headers, BodyReader]:
        minor, status, _reason, headers = read_head(self.fp)
        length, chunked, keep = framing(minor, status, method, headers)
        return status, headers, BodyReader(self.fp, length, chunked, keep)

    def leftover(self) -> int:
        return unread(self.raw, self.fp)

    def close(self) -> None:
        self.client.close()  # (wakes a writer blocked on a head the client refused)
        self.writer.join(5)
        self.server.close()


@pytest.fixture
def exchange() -> Iterator[Any]:
    made: list[Exchange] = []

    def make(data: bytes, *, close: bool = False) -> Exchange:
        made.append(Exchange(data, close=close))
        return made[-1]

    yield make
    for x in made:
        x.close()


def test_a_content_length_body_ends_at_its_length_and_keeps_the_connection(exchange: Any) -> None:
    x = exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhelloHTTP/1.1")
    status, headers, body = x.answer()
    assert (status, headers["content-type"]) == (200, "text/plain")
    assert body.read() == b"hello" and body.complete
    assert body.read() == b""
    assert x.leftover() == len(b"HTTP/1.1")  # the next answer's first bytes, not the body's


@pytest.mark.parametrize("framing", ["Content-Length: 10", "Transfer-Encoding: chunked"])
@pytest.mark.parametrize("how", ["read", "read-n", "read1", "readinto"])
def test_a_body_cut_short_gives_what_arrived_then_fails(exchange: Any, framing: str, how: str) -> None:
    """What arrived before the connection dropped is handed out (a blob resumes after it with a
    Range request); the read after it fails."""
    body_bytes = b"hello" if framing.startswith("Content") else b"a\r\nhello"
    x = exchange(f"HTTP/1.1 200 OK\r\n{framing}\r\n\r\n".encode() + body_bytes, close=True)
    _, _, body = x.answer()

    def read() -> bytes:
        if how == "read":
            return body.read()
        if how == "read-n":
            return body.read(8)
        if how == "read1":
            return body.read1(8)
        buf = bytearray(8)
        return bytes(buf[: body.readinto(buf)])

    if how == "read":  # the whole body asked for at once: it never came whole
        with pytest.raises(BodyBroken, match="IncompleteRead"):
            read()
    else:
        assert read() == b"hello"
        with pytest.raises(BodyBroken, match="IncompleteRead"):
            read()
    assert not body.complete


def _drain(body: Any, how: str, size: int) -> bytes:
    """The whole body, read ``size`` bytes at a time by ``read``, ``read1`` or ``readinto``."""
    got = b""
    while True:
        if how == "read":
            data = body.read(size)
        elif how == "read1":
            data = body.read1(size)
        else:
            buf = bytearray(size)
            data = bytes(buf[: body.readinto(buf)])
        if not data:
            return got
        got += data


@pytest.mark.parametrize("how", ["read", "read1", "readinto"])
def test_chunked_with_extensions_and_trailers(exchange: Any, how: str) -> None:
    x = exchange(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b'7 ; a=1;b="q;x"\r\n, world\r\n'
        b"000\r\nDigest: x\r\nOther: y\r\n\r\n"
    )
    _, _, body = x.answer()
    assert _drain(body, how, 4) == b"hello, world"
    assert body.complete and x.leftover() == 0  # the trailers were read too


def test_chunked_read_whole(exchange: Any) -> None:
    x = exchange(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n"
    )
    _, _, body = x.answer()
    assert body.read() == b"abc0123456789" and body.complete


@pytest.mark.parametrize(
    "chunks,words",
    [
        (b"zz\r\nab\r\n0\r\n\r\n", "bad chunk size"),
        (b"-2\r\nab\r\n0\r\n\r\n", "bad chunk size"),
        (b"0x2\r\nab\r\n0\r\n\r\n", "bad chunk size"),
        (b"1" * 17 + b"\r\n", "bad chunk size"),
        (b"2\r\nabXY0\r\n\r\n", "no CRLF after"),
        (b"5\r\nab", "IncompleteRead"),
        (b"2\r\nab\r\n", "IncompleteRead"),
    ],
)
def test_broken_chunked_framing_is_a_broken_body(exchange: Any, chunks: bytes, words: str) -> None:
    x = exchange(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks, close=True)
    _, _, body = x.answer()
    with pytest.raises(BodyBroken, match=words):
        body.read()
    assert not body.complete


@pytest.mark.parametrize("values", [["5", "5"], ["5, 5"]])
def test_repeated_equal_content_lengths_are_one(exchange: Any, values: list[str]) -> None:
    fields = "".join(f"Content-Length: {v}\r\n" for v in values)
    x = exchange(f"HTTP/1.1 200 OK\r\n{fields}\r\nhello".encode())
    _, _, body = x.answer()
    assert body.read() == b"hello" and body.complete


@pytest.mark.parametrize(
    "fields,words",
    [
        ("Content-Length: 5\r\nContent-Length: 6\r\n", "conflicting Content-Length"),
        ("Content-Length: 5, 6\r\n", "conflicting Content-Length"),
        ("Content-Length: -5\r\n", "invalid Content-Length"),
        ("Content-Length: +5\r\n", "invalid Content-Length"),
        ("Content-Length: 0x5\r\n", "invalid Content-Length"),
        ("Transfer-Encoding: gzip, chunked\r\n", "unsupported Transfer-Encoding"),
        ("Transfer-Encoding: identity\r\n", "unsupported Transfer-Encoding"),
    ],
)
def test_bad_framing_fields_are_malformed(exchange: Any, fields: str, words: str) -> None:
    x = exchange(f"HTTP/1.1 200 OK\r\n{fields}\r\nhello".encode())
    with pytest.raises(MalformedAnswer, match=words):
        x.answer()


def test_transfer_encoding_beats_content_length_and_the_connection_is_not_reused(exchange: Any) -> None:
    x = exchange(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
    )
    _, _, body = x.answer()
    assert body.read() == b"ab" and body.done and not body.complete


def test_transfer_encoding_in_http_1_0_is_malformed(exchange: Any) -> None:
    x = exchange(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n")
    with pytest.raises(MalformedAnswer, match="HTTP/1.0"):
        x.answer()


@pytest.mark.parametrize("how", ["read", "read1", "readinto"])
def test_http_1_0_without_length_runs_until_the_server_closes(exchange: Any, how: str) -> None:
    x = exchange(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it, until close", close=True)
    _, _, body = x.answer()
    assert _drain(body, how, 5) == b"all of it, until close"
    assert body.done and not body.complete  # read to the end, but the connection is gone


def test_a_1_1_answer_without_length_runs_until_close_too(exchange: Any) -> None:
    x = exchange(b"HTTP/1.1 200 OK\r\n\r\nbody", close=True)
    _, _, body = x.answer()
    assert body.read() == b"body" and body.done and not body.complete


@pytest.mark.parametrize(
    "version,connection,kept",
    [
        ("1.0", "", False),
        ("1.0", "Connection: keep-alive\r\n", True),
        ("1.0", "Connection: Keep-Alive, close\r\n", False),
        ("1.1", "", True),
        ("1.1", "Connection: close\r\n", False),
        ("1.1", "Connection: foo\r\nConnection: Close\r\n", False),
    ],
)
def test_keep_alive(exchange: Any, version: str, connection: str, kept: bool) -> None:
    x = exchange(f"HTTP/{version} 200 OK\r\n{connection}Content-Length: 2\r\n\r\nok".encode())
    _, _, body = x.answer()
    assert body.read() == b"ok" and body.done
    assert body.complete is kept


def test_interim_answers_are_skipped(exchange: Any) -> None:
    x = exchange(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
        b"HTTP/1.1 201 Created\r\nLocation: /v2/x\r\nContent-Length: 0\r\n\r\n"
    )
    status, headers, body = x.answer("PUT")
    assert status == 201 and headers["location"] == "/v2/x" and "link" not in headers
    assert body.complete


def test_more_than_five_interim_answers_are_malformed(exchange: Any) -> None:
    x = exchange(b"HTTP/1.1 100 Continue\r\n\r\n" * 6 + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(MalformedAnswer, match="interim"):
        x.answer()


def test_101_is_final_and_ends_the_connection(exchange: Any) -> None:
    x = exchange(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n")
    status, _, body = x.answer()
    assert status == 101 and body.read() == b"" and not body.complete


def test_head_answer_has_no_body_but_its_content_length(exchange: Any) -> None:
    x = exchange(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nDocker-Content-Digest: sha256:ab\r\n\r\n")
    status, headers, body = x.answer("HEAD")
    assert (status, headers["content-length"]) == (200, "1234")
    assert body.read() == b"" and body.complete and x.leftover() == 0


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body_whatever_they_say(exchange: Any, status: int) -> None:
    x = exchange(f"HTTP/1.1 {status} X\r\nContent-Length: 10\r\n\r\n".encode())
    _, _, body = x.answer()
    assert body.read() == b"" and body.complete


@pytest.mark.parametrize("lines,ok", [(100, True), (101, False)])
def test_at_most_100_header_lines(exchange: Any, lines: int, ok: bool) -> None:
    fields = b"".join(b"X-%d: y\r\n" % i for i in range(lines - 1)) + b"Content-Length: 0\r\n"
    x = exchange(b"HTTP/1.1 200 OK\r\n" + fields + b"\r\n")
    if ok:
        assert len(x.answer()[1]) == 100
    else:
        with pytest.raises(MalformedAnswer, match="more than 100 headers"):
            x.answer()


@pytest.mark.parametrize("size,ok", [(65536, True), (65537, False)])
def test_a_header_line_is_at_most_64_kib(exchange: Any, size: int, ok: bool) -> None:
    line = b"X-Long: " + b"y" * (size - len(b"X-Long: \r\n")) + b"\r\n"
    assert len(line) == size
    x = exchange(b"HTTP/1.1 200 OK\r\n" + line + b"Content-Length: 0\r\n\r\n")
    if ok:
        assert len(x.answer()[1]["x-long"]) == size - 10
    else:
        with pytest.raises(MalformedAnswer, match="header line longer than 65536"):
            x.answer()


def test_folded_lines_join_with_one_space_and_leading_whitespace_is_skipped(exchange: Any) -> None:
    x = exchange(
        b"HTTP/1.1 200 OK\r\n  stray: continuation\r\nX-Folded: first \r\n \t second\r\n\tthird\r\n"
        b"Empty:\r\nContent-Length: 0\r\n\r\n"
    )
    _, headers, _ = x.answer()
    assert headers.get_all("x-folded") == ["first second third"]
    assert headers["empty"] == "" and "stray" not in headers and len(headers) == 3


@pytest.mark.parametrize(
    "line",
    [b"no colon here\r\n", b"Name : value\r\n", b": no name\r\n", b"X-Bad: a\rb\r\n", b"X-Nul: a\x00b\r\n"],
)
def test_a_line_that_is_no_header_field_is_malformed(exchange: Any, line: bytes) -> None:
    x = exchange(b"HTTP/1.1 200 OK\r\n" + line + b"Content-Length: 0\r\n\r\n")
    with pytest.raises(MalformedAnswer, match="not a header line"):
        x.answer()


def test_values_keep_latin1_and_lose_surrounding_whitespace(exchange: Any) -> None:
    x = exchange(b"HTTP/1.1 404 Not \xc4 Found \r\nX-A: \t caf\xe9 au lait \t\r\nContent-Length: 0\n\n")
    minor, status, reason, headers = read_head(x.fp)
    assert (minor, status, reason, headers["x-a"]) == (1, 404, "Not \xc4 Found", "caf\xe9 au lait")


@pytest.mark.parametrize(
    "line,status",
    [
        (b"HTTP/1.1 200 OK", 200),
        (b"HTTP/1.1 200", 200),
        (b"HTTP/1.0  404 Not Found", 404),
        (b"HTTP/1.1 599 ", 599),
    ],
)
def test_status_lines(exchange: Any, line: bytes, status: int) -> None:
    x = exchange(line + b"\r\nContent-Length: 0\r\n\r\n")
    assert x.answer()[0] == status


@pytest.mark.parametrize(
    "line",
    [
        b"HTTP/2 200 OK",
        b"HTTP/1.2 200 OK",
        b"HTTP/0.9 200 OK",
        b"ICY 200 OK",
        b"HTTP/1.1 20 OK",
        b"HTTP/1.1 2000",
    ],
)
def test_other_status_lines_are_malformed(exchange: Any, line: bytes) -> None:
    x = exchange(line + b"\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(MalformedAnswer, match="bad status line"):
        x.answer()


def test_a_long_run_of_whitespace_in_a_refused_head_line_is_refused_in_linear_time() -> None:
    """A status, header or folded line of 64 KiB of blanks before a NUL is malformed, and found so
    at once: the line patterns backtracked over every split of the blanks between the whitespace
    before a value and the whitespace after it (some 20 s of CPU a line, with the interpreter lock
    held, so the header deadline could not cut it; a hundred such lines in one answer).  Run in a
    fresh interpreter with a time bound, so that a quadratic pattern fails the test, not the suite."""
    import subprocess
    import sys

    code = (
        "import io\n"
        "from imgextract.registry.exceptions import MalformedAnswer\n"
        "from imgextract.registry.wire import read_head\n"
        "blanks = b' \\t' * 32_000\n"
        "heads = [\n"
        "    b'HTTP/1.1 200' + blanks + b'\\x00\\r\\n\\r\\n',\n"
        "    b'HTTP/1.1 200 OK\\r\\nX-A:' + blanks + b'\\x00\\r\\n\\r\\n',\n"
        "    b'HTTP/1.1 200 OK\\r\\nX-A: a\\r\\n' + blanks + b'\\x00\\r\\n\\r\\n',\n"
        "]\n"
        "for head in heads:\n"
        "    try:\n"
        "        read_head(io.BufferedReader(io.BytesIO(head)))\n"
        "    except MalformedAnswer as exc:\n"
        "        print(str(exc)[:18])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["bad status line: '", "not a header line:", "not a header line:"]


@pytest.mark.parametrize(
    "data,error",
    [
        (b"", NoAnswer),  # closed before any byte: a stale kept-alive connection
        (b"HTTP/1.1 200", MalformedAnswer),  # closed inside the status line
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", MalformedAnswer),  # inside the header block
    ],
)
def test_a_close_before_the_head_is_complete(exchange: Any, data: bytes, error: type[Exception]) -> None:
    x = exchange(data, close=True)
    with pytest.raises(error):
        x.answer()


def test_request_head_and_bodies() -> None:
    head = request_head("PUT", "/v2/x?d=1", [("Host", "h:5000"), ("Content-Length", "3")])
    assert head == b"PUT /v2/x?d=1 HTTP/1.1\r\nHost: h:5000\r\nContent-Length: 3\r\n\r\n"

    def sent(body: Any, chunked: bool) -> bytes:
        a, b = socket.socketpair()
        with a, b:
            send_request(a, b"HEAD\r\n\r\n", body, chunked=chunked, blocksize=4)
            a.shutdown(socket.SHUT_WR)
            return b"".join(iter(lambda: b.recv(65536), b""))

    assert sent(None, False) == b"HEAD\r\n\r\n"
    assert sent(b"abc", False) == b"HEAD\r\n\r\nabc"
    assert sent(io.BytesIO(b"0123456789"), False) == b"HEAD\r\n\r\n0123456789"
    assert (
        sent(io.BytesIO(b"0123456789"), True) == b"HEAD\r\n\r\n4\r\n0123\r\n4\r\n4567\r\n2\r\n89\r\n0\r\n\r\n"
    )
    assert sent(iter([b"ab", b"", b"cde"]), True) == b"HEAD\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n"
    assert sent([b"ab", memoryview(b"cd")], False) == b"HEAD\r\n\r\nabcd"
    with pytest.raises(TypeError, match="bytes-like, readable or iterable"):
        sent(12, False)


def test_bytes_after_a_complete_answer_keep_the_connection_out_of_the_pool() -> None:
    """An answer followed in the same segment by bytes nobody asked for: the connection is shut,
    not given back (the next request would read them as its answer)."""
    heads: list[bytes] = []

    def trailing_garbage(conn: socket.socket, head: bytes) -> None:
        heads.append(head)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}garbage")

    with http_server(trailing_garbage) as (host, seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        for _ in range(2):
            with session.request("GET", f"http://{host}/v2/") as reply:
                assert reply.content == b"{}"
        pool = next(iter(session.adapter._pools.values()))  # type: ignore[attr-defined]
        assert pool._idle == []
        session.close()
    assert len(seen) == 2


def test_a_fresh_connection_closed_before_any_answer_is_a_connect_failure() -> None:
    def hang_up(conn: socket.socket, head: bytes) -> bool:
        return False  # closes without a byte

    with http_server(hang_up) as (host, seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        with pytest.raises(ConnectFailed, match="closed by the server before it answered"):
            session.request("GET", f"http://{host}/v2/")
        session.close()
    assert len(seen) == 1  # a new connection is not tried again here (retries are the policy's)


def test_an_answer_with_a_chunked_body_comes_through_the_transport() -> None:
    def chunked(conn: socket.socket, head: bytes) -> None:
        if head.startswith(b"GET /v2/ "):
            return answer(conn, b"{}")
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")

    with http_server(chunked) as (host, seen):
        session = new_session((host,), TransportSettings(), insecure=True)
        for _ in range(3):
            with session.request("GET", f"http://{host}/v2/x") as reply:
                assert reply.content == b"{}"
        session.close()
    assert len(seen) == 3


@pytest.mark.parametrize(
    "answer_bytes,words",
    [
        (b"HTTP/1.1 200 Connection established\r\n\r\nEXTRA", "bytes after its answer to CONNECT"),
        (b"HTTP/1.1 200 Connection established\r\nBad Line\r\n\r\n", "not a header line"),
        (b"", "closed the connection without answering"),
    ],
)
def test_a_connect_tunnel_the_proxy_garbles_fails_as_a_proxy_error(
    monkeypatch: pytest.MonkeyPatch, answer_bytes: bytes, words: str
) -> None:
    """The TLS handshake would start on bytes the proxy sent after its ``200`` (or on a broken
    answer): the tunnel is refused as a proxy failure instead."""
    from imgextract.registry.exceptions import ProxyFailed
    from tests.unit.registry.loopback import clear_proxy_env, proxy_loopback

    clear_proxy_env(monkeypatch)
    proxy_loopback(monkeypatch)
    connects: list[bytes] = []

    def garble(conn: socket.socket, head: bytes) -> bool:
        connects.append(head)
        conn.sendall(answer_bytes)
        return False

    with http_server(garble) as (proxy, _):
        monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy}")
        session = new_session(("127.0.0.1:1",), TransportSettings(), insecure=True)
        with pytest.raises(ProxyFailed, match=words):
            session.request("GET", "https://127.0.0.1:1/v2/")
        session.close()
    assert connects[0].startswith(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\n")
