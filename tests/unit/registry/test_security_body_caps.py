"""Security: answers we do not need whole (ping) or cap (token endpoint) are not read whole into memory.

A hostile registry or token realm can answer with an endless body; ``requests`` without
``stream=True`` buffers all of it before our code sees the response.
"""

from __future__ import annotations

import io
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from imgextract.auth.credentials import Credentials
from imgextract.errors import ImgExtractError
from imgextract.registry.bearer import TokenSource
from imgextract.registry.ping import ping
from imgextract.registry.retry import RetryPolicy
from imgextract.registry.transport import TransportSettings, new_session

HUGE = 256 * 1024 * 1024


class Endless(io.RawIOBase):
    def __init__(self, prefix: bytes) -> None:
        super().__init__()
        self.prefix = prefix
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(b), HUGE - self.served)
        start = self.served
        data = self.prefix[start : start + n] if start < len(self.prefix) else b""
        data += b" " * (n - len(data))
        b[:n] = data
        self.served += n
        return n


class EndlessAdapter(HTTPAdapter):
    def __init__(self, status: int, headers: dict[str, str], prefix: bytes) -> None:
        super().__init__()
        self.status, self.headers, self.prefix = status, headers, prefix
        self.bodies: list[Endless] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        body = Endless(self.prefix)
        self.bodies.append(body)
        raw = urllib3.HTTPResponse(
            body=body, headers=self.headers, status=self.status, preload_content=False, decode_content=False
        )
        response = requests.Response()
        response.status_code = self.status
        response.headers = CaseInsensitiveDict(self.headers)
        response.raw = raw
        response.url = request.url or ""
        response.request = request
        if not stream:
            response.content  # noqa: B018 - what requests' Session.send does when not streaming
        return response


def _session(adapter: HTTPAdapter) -> requests.Session:
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
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

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        self.sent += 1
        if self.sent > 1:
            return self.final.send(request, stream, timeout, verify, cert, proxies)
        return super().send(request, stream, timeout, verify, cert, proxies)


def test_ping_redirect_body_is_not_buffered() -> None:
    final = EndlessAdapter(401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")
    adapter = EndlessRedirectAdapter(final)
    session = new_session(("reg.example",), TransportSettings(), insecure=False)
    session.mount("https://", adapter)
    ping(
        session, "reg.example", insecure=False, timeout=5.0, policy=RetryPolicy(tries=1, sleep=lambda _: None)
    )
    assert sum(b.served for b in adapter.bodies) < 4 * 1024 * 1024


def test_token_redirect_body_is_not_buffered() -> None:
    final = EndlessAdapter(200, {}, b'{"token": "abcdefgh"}')
    adapter = EndlessRedirectAdapter(final)
    session = new_session(("reg.example",), TransportSettings(), insecure=False)
    session.mount("https://", adapter)
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
