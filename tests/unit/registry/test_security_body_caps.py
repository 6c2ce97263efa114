"""Security: answers we do not need whole (ping) or cap (token endpoint) are not read whole into memory.

A hostile registry or token realm can answer with an endless body; a client that reads answers
whole before our code sees them (requests without ``stream=True``) buffers all of it.
"""

from __future__ import annotations

from typing import Any

from imgextract.auth.credentials import Credentials
from imgextract.errors import ImgExtractError
from imgextract.registry.bearer import TokenSource
from imgextract.registry.ping import ping
from imgextract.registry.response import Headers, Request, Response
from imgextract.registry.retry import RetryPolicy
from imgextract.registry.transport import Transport, TransportSettings, new_session

HUGE = 256 * 1024 * 1024


class Endless:
    """A body of ``HUGE`` bytes (``prefix``, then spaces), counting what was read of it."""

    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix
        self.served = 0

    def read(self, n: int = -1, /) -> bytes:
        n = HUGE - self.served if n < 0 else min(n, HUGE - self.served)
        start = self.served
        data = self.prefix[start : start + n] if start < len(self.prefix) else b""
        data += b" " * (n - len(data))
        self.served += n
        return data

    read1 = read

    def close(self) -> None:
        pass


class EndlessAdapter:
    def __init__(self, status: int, headers: dict[str, str], prefix: bytes) -> None:
        self.status, self.headers, self.prefix = status, headers, prefix
        self.bodies: list[Endless] = []

    def send(self, request: Request, timeout: Any = None) -> Response:
        body = Endless(self.prefix)
        self.bodies.append(body)
        return Response(request, self.status, "endless", Headers(self.headers), body)

    def close(self) -> None:
        pass


def _session(adapter: EndlessAdapter) -> Transport:
    session = new_session(("reg.example",), TransportSettings(), insecure=False)
    session.adapter = adapter
    return session


def test_ping_does_not_buffer_an_endless_body() -> None:
    adapter = EndlessAdapter(401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")
    ping(
        _session(adapter),
        "reg.example",
        insecure=False,
        timeout=5.0,
        policy=RetryPolicy(tries=1, sleep=lambda _: None),
    )
    assert sum(b.served for b in adapter.bodies) < 4 * 1024 * 1024


def test_token_answer_is_capped_while_reading() -> None:
    adapter = EndlessAdapter(200, {}, b'{"token": "abcdefgh"}')
    source = TokenSource(
        session=_session(adapter),
        realm="https://auth.example/token",
        service="s",
        credentials=Credentials(username="u", password="pass-word"),
        registry_host="reg.example",
        insecure=False,
        timeout=5.0,
        policy=RetryPolicy(tries=1, sleep=lambda _: None),
    )
    try:
        source.authorization(["repository:a:pull"])
    except ImgExtractError:
        pass  # refusing an oversized answer is fine; reading all of it is not
    assert sum(b.served for b in adapter.bodies) < 4 * 1024 * 1024


class EndlessRedirectAdapter(EndlessAdapter):
    """First answer: a redirect with an endless body; then ``final``."""

    def __init__(self, final: EndlessAdapter) -> None:
        super().__init__(302, {"Location": "/elsewhere"}, b"")
        self.final = final
        self.sent = 0

    def send(self, request: Request, timeout: Any = None) -> Response:
        self.sent += 1
        if self.sent > 1:
            return self.final.send(request, timeout)
        return super().send(request, timeout)


def test_ping_redirect_body_is_not_buffered() -> None:
    final = EndlessAdapter(401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")
    adapter = EndlessRedirectAdapter(final)
    session = _session(adapter)
    ping(
        session, "reg.example", insecure=False, timeout=5.0, policy=RetryPolicy(tries=1, sleep=lambda _: None)
    )
    assert sum(b.served for b in adapter.bodies) < 4 * 1024 * 1024


def test_token_redirect_body_is_not_buffered() -> None:
    final = EndlessAdapter(200, {}, b'{"token": "abcdefgh"}')
    adapter = EndlessRedirectAdapter(final)
    session = _session(adapter)
    source = TokenSource(
        session=session,
        realm="https://auth.example/token",
        service="s",
        credentials=None,
        registry_host="reg.example",
        insecure=False,
        timeout=5.0,
        policy=RetryPolicy(tries=1, sleep=lambda _: None),
    )
    try:
        source.authorization(["repository:a:pull"])
    except ImgExtractError:
        pass
    assert sum(b.served for b in adapter.bodies) < 4 * 1024 * 1024
