from __future__ import annotations

import json

import pytest

from imgextract.auth.redact import forget_all_secrets, register_secret
from imgextract.errors import AuthError, IntegrityError, NotFoundError, RegistryError, UnreachableError
from imgextract.registry.errors import endpoint_of, error_for_exception, error_for_response
from imgextract.registry.exceptions import ConnectFailed, TLSFailed
from imgextract.registry.response import BytesBody, Headers, Request, Response


def _response(
    status: int,
    body: dict[str, object] | None = None,
    method: str = "GET",
    url: str = "https://reg.example/v2/ns/app/manifests/v1?state=secretstate",
) -> Response:
    data = json.dumps(body).encode() if body is not None else b""
    return Response(Request(method, url, Headers()), status, "", Headers(), BytesBody(data))


def test_endpoint_drops_userinfo_query_fragment() -> None:
    assert (
        endpoint_of("https://user:pw@s3.example:8443/b/k?X-Amz-Signature=abc#f")
        == "https://s3.example:8443/b/k"
    )
    assert endpoint_of("http://[::1]:5000/v2/") == "http://[::1]:5000/v2/"


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, None, AuthError),
        (
            403,
            {"errors": [{"code": "DENIED", "message": "requested access to the resource is denied"}]},
            AuthError,
        ),
        (404, {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}, NotFoundError),
        (400, {"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known"}]}, NotFoundError),
        (400, {"errors": [{"code": "DIGEST_INVALID", "message": "digest did not match"}]}, IntegrityError),
        (500, None, RegistryError),
        (429, {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]}, RegistryError),
    ],
)
def test_status_mapping(status: int, body: dict[str, object] | None, cls: type[Exception]) -> None:
    err = error_for_response(_response(status, body), what="manifest", reference="reg.example/ns/app:v1")
    assert type(err) is cls
    text = str(err)
    assert "reg.example/ns/app:v1" in text
    assert "https://reg.example/v2/ns/app/manifests/v1" in text
    assert "secretstate" not in text
    assert "\n" not in text


def test_registry_message_is_redacted() -> None:
    register_secret("hunter2-password")
    try:
        body: dict[str, object] = {
            "errors": [{"code": "UNAUTHORIZED", "message": "bad password hunter2-password"}]
        }
        err = error_for_response(_response(401, body), what="blob", reference=None)
        assert "hunter2-password" not in str(err)
        assert "UNAUTHORIZED" in str(err)
    finally:
        forget_all_secrets()


def test_network_errors_are_unreachable() -> None:
    err = error_for_exception(
        ConnectFailed("x"),
        what="registry ping",
        url="https://u:p@reg.example/v2/",
        reference="reg.example/a",
    )
    assert isinstance(err, UnreachableError)
    assert "u:p" not in str(err) and "https://reg.example/v2/" in str(err)
    tls = error_for_exception(TLSFailed("x"), what="ping", url="https://r/v2/", reference=None)
    assert "TLS" in str(tls)
