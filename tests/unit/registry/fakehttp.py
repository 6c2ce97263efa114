"""An in-process fake HTTP layer for unit tests: a transport adapter that calls a Python handler.

No sockets: each request is recorded and answered by ``handler(request) -> Reply``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imgextract.registry.client import RegistryClient
from imgextract.registry.response import BytesBody, Headers, Request, Response
from imgextract.registry.transport import TransportSettings


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    raise_exc: BaseException | None = None


Handler = Callable[[Request], Reply]


class FakeAdapter:
    """What :class:`~imgextract.registry.transport.Transport` sends through instead of its connections."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    def send(self, request: Request, timeout: Any = None) -> Response:
        self.requests.append(request)
        reply = self.handler(request)
        if reply.raise_exc is not None:
            raise reply.raise_exc
        headers = Headers(reply.headers)
        if request.method != "HEAD" and "content-length" not in headers:
            headers["Content-Length"] = str(len(reply.body))
        body = BytesBody(reply.body if request.method != "HEAD" else b"")
        return Response(request, reply.status, "fake", headers, body)

    def close(self) -> None:
        pass


def fast_settings(**kw: Any) -> TransportSettings:
    kw.setdefault("retry_base_delay", 0.0)
    kw.setdefault("retry_max_delay", 0.0)
    kw.setdefault("retries", 3)
    return TransportSettings(**kw)


def fake_transport(transport: Any, handler: Handler) -> FakeAdapter:
    """Route ``transport``'s requests to ``handler``."""
    adapter = FakeAdapter(handler)
    transport.adapter = adapter
    return adapter


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
    return client, fake_transport(client.http.session, handler)


class StaticCreds:
    """A CredentialStore stand-in: fixed credentials per repository (``None`` key: any)."""

    def __init__(self, by_repo: dict[str | None, Any]) -> None:
        self.by_repo = by_repo
        self.calls: list[tuple[str, str]] = []

    def lookup(self, registry: str, repository: str) -> Any:
        self.calls.append((registry, repository))
        return self.by_repo.get(repository, self.by_repo.get(None))
