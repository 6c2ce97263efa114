"""Requests and responses of the registry transport: headers, a streamed body, the status.

A :class:`Response` exposes what the registry code reads: ``status_code``, ``reason``, ``headers``
(case-insensitive; a repeated header such as ``WWW-Authenticate`` or ``Link`` reads as its values
joined with ", "), ``url``, ``raw`` (the undecoded body: ``read(n)``, ``read1(n)``; Content-Encoding
is never undone, since blob digests are over the bytes sent), ``iter_content``, ``content``,
``json()``, ``is_redirect`` and ``close()``.  Closing hands the connection back for reuse only when
the body was read to its end; otherwise the socket is closed, so a half-read body can never be
mistaken for the next answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import Any, Protocol

from imgextract.oci import jsontext
from imgextract.registry.redirects import REDIRECT_STATUSES


class Headers(MutableMapping[str, str]):
    """Case-insensitive header fields that keep every value of a repeated field."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> None:
        self._fields: dict[str, tuple[str, list[str]]] = {}
        if fields is not None:
            items = fields.items() if isinstance(fields, Mapping) else fields
            for name, value in items:
                self.add(name, value)

    def add(self, name: str, value: str) -> None:
        """Another value for ``name`` (kept beside the earlier ones)."""
        key = name.lower()
        known = self._fields.get(key)
        if known is None:
            self._fields[key] = (name, [value])
        else:
            known[1].append(value)

    def get_all(self, name: str) -> list[str]:
        known = self._fields.get(name.lower())
        return list(known[1]) if known is not None else []

    def __getitem__(self, name: str) -> str:
        return ", ".join(self._fields[name.lower()][1])

    def __setitem__(self, name: str, value: str) -> None:
        self._fields[name.lower()] = (name, [value])

    def __delitem__(self, name: str) -> None:
        del self._fields[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields.values())

    def __len__(self) -> int:
        return len(self._fields)

    def fields(self) -> Iterator[tuple[str, str]]:
        """Every (name, value) pair, repeated fields one pair each."""
        for name, values in self._fields.values():
            for value in values:
                yield name, value

    def copy(self) -> Headers:
        return Headers(self.fields())

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


class Request:
    """What is sent: method, absolute URL, headers, and a body (bytes or a ``read()``-able stream)."""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(self, method: str, url: str, headers: Headers, body: Any = None) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


class Body(Protocol):
    """The undecoded body of one answer."""

    def read(self, n: int = -1, /) -> bytes: ...

    def read1(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class BytesBody:
    """A body already in memory (answers built in tests, or by a fake transport)."""

    def __init__(self, data: bytes, *, on_close: Callable[[], None] | None = None) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._on_close = on_close
        self.closed = False

    def read(self, n: int = -1, /) -> bytes:
        if self.closed:
            return b""
        end = len(self._data) if n is None or n < 0 else min(len(self._data), self._pos + n)
        data = bytes(self._data[self._pos : end])
        self._pos = end
        return data

    read1 = read

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._on_close is not None:
                self._on_close()


class Response:
    """One answer; the body is streamed from ``raw`` and must be closed (or read whole)."""

    __slots__ = ("_content", "headers", "raw", "reason", "request", "status_code", "url", "__weakref__")

    def __init__(self, request: Request, status_code: int, reason: str, headers: Headers, raw: Body) -> None:
        self.request = request
        self.url = request.url
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.raw = raw
        self._content: bytes | None = None

    @property
    def is_redirect(self) -> bool:
        return self.status_code in REDIRECT_STATUSES and "location" in self.headers

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    def iter_content(self, chunk_size: int = 64 * 1024) -> Iterator[bytes]:
        """The body in pieces of up to ``chunk_size`` bytes (whatever has arrived); closes at the end."""
        if self._content is not None:
            for i in range(0, len(self._content), chunk_size):
                yield self._content[i : i + chunk_size]
            return
        read = self.raw.read1
        while True:
            data = read(chunk_size)
            if not data:
                self.close()
                return
            yield data

    @property
    def content(self) -> bytes:
        """The whole body (for small answers only: the callers that cap sizes use ``iter_content``)."""
        if self._content is None:
            try:
                self._content = self.raw.read()
            finally:
                self.close()
        return self._content

    def json(self) -> Any:
        return jsontext.loads(self.content)

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}] {self.request.method} {self.url}>"
