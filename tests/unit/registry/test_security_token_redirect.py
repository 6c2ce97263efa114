"""Security: the OAuth2 refresh token (identity token) POSTed to the token realm must not follow a
307/308 redirect, which resends the body: to plain HTTP or a private address, past ``check_realm``."""

from __future__ import annotations

import pytest

from imgextract.auth.credentials import Credentials
from imgextract.errors import ImgExtractError
from imgextract.registry.bearer import TokenSource
from imgextract.registry.response import Request
from imgextract.registry.retry import RetryPolicy
from imgextract.registry.transport import TransportSettings, new_session
from tests.unit.registry.fakehttp import Reply, fake_transport

SECRET = "refresh-token-secret-value"


@pytest.mark.parametrize("status", [307, 308])
def test_refresh_token_post_is_not_redirected(status: int) -> None:
    def handler(request: Request) -> Reply:
        if (request.url or "").startswith("https://auth.example.com/"):
            return Reply(status, b"", {"Location": "http://10.0.0.5/steal"})
        return Reply(200, b'{"token": "stolen-ok"}')

    session = new_session(("registry.example.com",), TransportSettings(), insecure=False)
    adapter = fake_transport(session, handler)
    source = TokenSource(
        session=session,
        realm="https://auth.example.com/token",
        service="svc",
        credentials=Credentials(identity_token=SECRET),
        registry_host="registry.example.com",
        insecure=False,
        timeout=5.0,
        policy=RetryPolicy(tries=1, sleep=lambda _: None),
    )
    with pytest.raises(ImgExtractError):
        source.authorization(["repository:a/b:pull"])
    for request in adapter.requests:
        if not (request.url or "").startswith("https://auth.example.com/"):
            assert SECRET not in str(request.body or "")
