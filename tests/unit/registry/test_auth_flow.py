"""Challenge -> Basic/Bearer flow, token cache and 401 retries, against the in-process fake."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from imgextract.auth.credentials import Credentials
from imgextract.errors import AuthError
from imgextract.registry.bearer import check_realm
from imgextract.registry.response import Request
from tests.unit.registry.fakehttp import Reply, StaticCreds, fake_client

REALM = "https://auth.example/token"
CHALLENGE = f'Bearer realm="{REALM}",service="reg.example"'
BLOB = "sha256:" + "c" * 64


class TokenRegistry:
    """Registry + token server: tokens are "tok-N"; the registry accepts the ones in ``valid``."""

    def __init__(
        self, *, token_field: str = "token", expires_in: int | None = None, post_status: int = 200
    ) -> None:
        self.issued = 0
        self.valid: set[str] = set()
        self.token_requests: list[Request] = []
        self.token_field = token_field
        self.expires_in = expires_in
        self.post_status = post_status
        self.insufficient_once = False

    def __call__(self, req: Request) -> Reply:
        url = req.url or ""
        if url.startswith(REALM):
            self.token_requests.append(req)
            if req.method == "POST" and self.post_status != 200:
                return Reply(self.post_status)
            self.issued += 1
            token = f"tok-{self.issued}"
            self.valid.add(token)
            body: dict[str, object] = {self.token_field: token}
            if self.expires_in is not None:
                body["expires_in"] = self.expires_in
            return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        auth = req.headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self.valid:
            return Reply(401, b"", {"WWW-Authenticate": CHALLENGE})
        if self.insufficient_once:
            self.insufficient_once = False
            return Reply(
                401,
                b"",
                {"WWW-Authenticate": CHALLENGE + ',scope="repository:other:pull",error="insufficient_scope"'},
            )
        if url.endswith("/v2/"):
            return Reply(200)
        if req.method == "POST" and "/blobs/uploads/" in url:
            return Reply(201)
        return Reply(200, b"blob-bytes", {"Content-Type": "application/octet-stream"})


def _query(req: Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(req.url or "").query)


def test_anonymous_token_with_service_and_scope() -> None:
    reg = TokenRegistry()
    client, _ = fake_client(reg)
    assert client.blob_exists("ns/app", BLOB)
    assert len(reg.token_requests) == 1
    q = _query(reg.token_requests[0])
    assert q == {"service": ["reg.example"], "scope": ["repository:ns/app:pull"]}
    assert "Authorization" not in reg.token_requests[0].headers


def test_credentials_sent_to_token_endpoint_with_account() -> None:
    reg = TokenRegistry(token_field="access_token")
    creds = StaticCreds({"ns/app": Credentials(username="alice", password="s3cret")})
    client, _ = fake_client(reg, credentials=creds)
    assert client.blob_exists("ns/app", BLOB)
    req = reg.token_requests[0]
    assert _query(req)["account"] == ["alice"]
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert ("reg.example", "ns/app") in creds.calls


def test_token_cached_per_scope_and_reused() -> None:
    reg = TokenRegistry()
    client, _ = fake_client(reg)
    for _ in range(3):
        client.blob_exists("ns/app", BLOB)
    assert reg.issued == 1
    client.blob_exists("ns/other", BLOB)
    assert reg.issued == 2
    assert _query(reg.token_requests[1])["scope"] == ["repository:ns/other:pull"]


def test_token_lifetime_minimum_60s() -> None:
    now = [1000.0]
    reg = TokenRegistry(expires_in=5)
    client, _ = fake_client(reg, clock=lambda: now[0])
    client.blob_exists("ns/app", BLOB)
    now[0] += 59
    client.blob_exists("ns/app", BLOB)
    assert reg.issued == 1
    now[0] += 2
    client.blob_exists("ns/app", BLOB)
    assert reg.issued == 2


def test_expired_token_refetched_once_on_401() -> None:
    reg = TokenRegistry()
    client, _ = fake_client(reg)
    client.blob_exists("ns/app", BLOB)
    reg.valid.clear()  # server-side expiry
    assert client.blob_exists("ns/app", BLOB)
    assert reg.issued == 2


def test_persistent_401_is_auth_error_without_secrets() -> None:
    reg = TokenRegistry()
    creds = StaticCreds({None: Credentials(username="bob", password="pa55word-xyz")})
    client, _ = fake_client(reg, credentials=creds)
    client.blob_exists("ns/app", BLOB)
    reg.valid.clear()
    original = reg.__call__

    def never_valid(req: Request) -> Reply:
        reply = original(req)
        reg.valid.clear()
        return reply

    client.http.session.adapter.handler = never_valid  # type: ignore[attr-defined]
    with pytest.raises(AuthError) as info:
        client.blob_exists("ns/app", BLOB)
    assert "pa55word" not in str(info.value) and "tok-" not in str(info.value)


def test_insufficient_scope_retried_with_server_scope() -> None:
    reg = TokenRegistry()
    client, _ = fake_client(reg)
    client.blob_exists("ns/app", BLOB)
    reg.insufficient_once = True
    assert client.blob_exists("ns/app", BLOB)
    assert _query(reg.token_requests[-1])["scope"] == ["repository:ns/app:pull", "repository:other:pull"]


def test_identity_token_uses_oauth2_refresh_post() -> None:
    reg = TokenRegistry()
    creds = StaticCreds({None: Credentials(identity_token="refresh-abc")})
    client, _ = fake_client(reg, credentials=creds)
    client.blob_exists("ns/app", BLOB)
    req = reg.token_requests[0]
    assert req.method == "POST"
    form = parse_qs(req.body.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["refresh-abc"]
    assert form["service"] == ["reg.example"] and form["scope"] == ["repository:ns/app:pull"]
    assert form["client_id"]


def test_identity_token_post_404_falls_back_to_get() -> None:
    reg = TokenRegistry(post_status=404)
    creds = StaticCreds({None: Credentials(identity_token="refresh-abc")})
    client, _ = fake_client(reg, credentials=creds)
    assert client.blob_exists("ns/app", BLOB)
    assert [r.method for r in reg.token_requests] == ["POST", "GET"]


def test_registry_token_sent_as_bearer_without_exchange() -> None:
    reg = TokenRegistry()
    reg.valid.add("regtok-123")
    creds = StaticCreds({None: Credentials(registry_token="regtok-123")})
    client, adapter = fake_client(reg, credentials=creds)
    assert client.blob_exists("ns/app", BLOB)
    assert reg.token_requests == []
    assert adapter.requests[-1].headers["Authorization"] == "Bearer regtok-123"


def test_basic_challenge() -> None:
    expected = "Basic " + base64.b64encode(b"u:p").decode()

    def handler(req: Request) -> Reply:
        if req.headers.get("Authorization") != expected:
            return Reply(401, headers={"WWW-Authenticate": 'Basic realm="Registry Realm"'})
        return Reply(200)

    client, _ = fake_client(handler, credentials=StaticCreds({None: Credentials(username="u", password="p")}))
    assert client.blob_exists("ns/app", BLOB)
    anonymous, adapter = fake_client(handler)
    with pytest.raises(AuthError, match="access denied"):
        anonymous.blob_exists("ns/app", BLOB)
    assert len(adapter.requests) == 2  # ping + one try: retrying without credentials cannot help


def test_challenge_first_seen_on_repository_request() -> None:
    """/v2/ open, the repository protected: the 401's challenge starts the token flow."""
    reg = TokenRegistry()

    def handler(req: Request) -> Reply:
        if (req.url or "").endswith("/v2/"):
            return Reply(200)
        return reg(req)

    client, _ = fake_client(handler)
    assert client.blob_exists("ns/app", BLOB)
    assert reg.issued == 1


@pytest.mark.parametrize(
    ("realm", "host", "insecure", "ok"),
    [
        ("https://auth.example/token", "reg.example", False, True),
        ("http://auth.example/token", "reg.example", False, False),
        ("http://auth.example/token", "reg.example", True, True),
        ("https://127.0.0.1:9000/token", "reg.example", False, False),
        ("https://10.1.2.3/token", "reg.example", False, False),
        ("https://localhost/token", "reg.example", False, False),
        ("https://127.0.0.1:9000/token", "127.0.0.1:5000", False, True),
        ("https://10.1.2.3/token", "10.1.2.4:5000", False, True),
        ("ftp://auth.example/token", "reg.example", True, False),
        ("https://[::1/token", "reg.example", True, False),  # a hostile realm: unclosed IPv6 literal
        ("https://auth.example:99999/token", "reg.example", True, False),  # port out of range
        ("https://[::1]:http/token", "reg.example", True, False),
    ],
)
def test_realm_safety(realm: str, host: str, insecure: bool, ok: bool) -> None:
    if ok:
        check_realm(realm, host, insecure=insecure)
    else:
        with pytest.raises(AuthError, match="refusing"):
            check_realm(realm, host, insecure=insecure)


def test_unsafe_realm_refused_before_sending_credentials() -> None:
    sent_to_realm: list[str] = []

    def handler(req: Request) -> Reply:
        if (req.url or "").startswith("http://evil.example"):
            sent_to_realm.append(req.url or "")
            return Reply(200, b'{"token": "x"}')
        return Reply(401, headers={"WWW-Authenticate": 'Bearer realm="http://evil.example/t",service="s"'})

    creds = StaticCreds({None: Credentials(username="u", password="secret-pw")})
    client, _ = fake_client(handler, credentials=creds)
    with pytest.raises(AuthError, match="plain-HTTP token realm"):
        client.blob_exists("ns/app", BLOB)
    assert sent_to_realm == []


def test_mount_asks_push_and_source_pull_scopes() -> None:
    reg = TokenRegistry()
    client, _ = fake_client(reg)
    client.mount_blob("ns/app", BLOB, "ns/base")
    assert _query(reg.token_requests[-1])["scope"] == [
        "repository:ns/app:pull,push",
        "repository:ns/base:pull",
    ]


def test_put_manifest_asks_push_scope() -> None:
    reg = TokenRegistry()
    client, _ = fake_client(reg)
    client.put_manifest("ns/app", "v1", b"{}", "application/vnd.oci.image.manifest.v1+json")
    assert _query(reg.token_requests[-1])["scope"] == ["repository:ns/app:pull,push"]


def test_chunk_patch_retried_after_token_expiry() -> None:
    """A PATCH answered 401 (token expired server-side) is resent once with a fresh token."""
    import hashlib
    import io

    data = b"z" * 3000
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    reg = TokenRegistry()
    received = bytearray()
    expire_on_patch = [True]

    def handler(req: Request) -> Reply:
        url = req.url or ""
        if url.startswith(REALM) or url.endswith("/v2/"):
            return reg(req)
        if req.method == "PATCH" and expire_on_patch[0]:
            expire_on_patch[0] = False
            reg.valid.clear()
        if req.headers.get("Authorization", "").removeprefix("Bearer ") not in reg.valid:
            return Reply(401, headers={"WWW-Authenticate": CHALLENGE})
        if req.method == "HEAD":
            return Reply(404)
        if req.method == "POST":
            return Reply(202, headers={"Location": "/v2/ns/app/blobs/uploads/u"})
        if req.method == "PATCH":
            received.extend(req.body if isinstance(req.body, bytes) else b"")
            return Reply(
                202, headers={"Location": "/v2/ns/app/blobs/uploads/u", "Range": f"0-{len(received) - 1}"}
            )
        return Reply(201, headers={"Docker-Content-Digest": digest})

    client, _ = fake_client(handler)
    client.upload_blob("ns/app", io.BytesIO(data), digest, len(data), chunk_size=1000)
    assert bytes(received) == data
    assert reg.issued == 3  # pull (HEAD), push (POST), push again after the 401 on PATCH


@pytest.mark.parametrize(
    "expires_in", [10**400, 2**63, 3.5, "300", True], ids=["huge", "past-int64", "float", "string", "bool"]
)
def test_expires_in_that_is_no_go_int_fails_the_token_request(expires_in: object) -> None:
    """containers/image decodes ``expires_in`` into an ``int``: a token answer whose value is out of
    int64 range or no integer is an error; 10**400 made float() raise OverflowError (exit 1)."""
    from imgextract.errors import RegistryError

    reg = TokenRegistry(expires_in=expires_in)  # type: ignore[arg-type]
    client, _ = fake_client(reg)
    with pytest.raises(RegistryError, match="expires_in"):
        client.blob_exists("ns/app", BLOB)
