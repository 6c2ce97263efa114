"""An in-process fake HTTP layer for unit tests: a requests adapter that calls a Python handler.

No sockets: each request is recorded and answered by ``handler(request) -> Reply``.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from imgextract.registry.client import RegistryClient
from imgextract.registry.transport import TransportSettings


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    raise_exc: BaseException | None = None


Handler = Callable[[requests.PreparedRequest], Reply]


class FakeAdapter(HTTPAdapter):
    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.requests: list[requests.PreparedRequest] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        self.requests.append(request)
        reply = self.handler(request)
        if reply.raise_exc is not None:
            raise reply.raise_exc
        headers = dict(reply.headers)
        if request.method != "HEAD":
            headers.setdefault("Content-Length", str(len(reply.body)))
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(reply.body),
            headers=headers,
            status=reply.status,
            preload_content=False,
            decode_content=False,
        )
        response = requests.Response()
        response.status_code = reply.status
        response.headers = CaseInsensitiveDict(headers)
        response.raw = raw
        response.url = request.url or ""
        response.request = request
        response.reason = "fake"
        return response


def fast_settings(**kw: Any) -> TransportSettings:
    kw.setdefault("retry_base_delay", 0.0)
    kw.setdefault("retry_max_delay", 0.0)
    kw.setdefault("retries", 3)
    return TransportSettings(**kw)


def fake_client(
    handler: Handler,
    *,
    registry: str = "reg.example",
    credentials: Any = None,
    insecure: bool = False,
    sleeps: list[float] | None = None,
    clock: Callable[[], float] | None = None,
    **settings: Any,
) -> tuple[RegistryClient, FakeAdapter]:
    recorded = sleeps if sleeps is not None else []
    kwargs: dict[str, Any] = {"insecure": insecure, "sleep": recorded.append}
    if clock is not None:
        kwargs["clock"] = clock
    client = RegistryClient(registry, fast_settings(**settings), credentials, **kwargs)
    adapter = FakeAdapter(handler)
    client.http.session.mount("https://", adapter)
    client.http.session.mount("http://", adapter)
    return client, adapter


class StaticCreds:
    """A CredentialStore stand-in: fixed credentials per repository (``None`` key: any)."""

    def __init__(self, by_repo: dict[str | None, Any]) -> None:
        self.by_repo = by_repo
        self.calls: list[tuple[str, str]] = []

    def lookup(self, registry: str, repository: str) -> Any:
        self.calls.append((registry, repository))
        return self.by_repo.get(repository, self.by_repo.get(None))
