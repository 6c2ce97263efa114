"""RegistryClient authentication against a real registry: htpasswd Basic and the distribution token flow
(regfix TokenServer: alice full access; bob bob/* push+pull and private/* pull; anonymous public/* pull)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgextract import oci
from imgextract.auth import CredentialStore
from imgextract.auth.credentials import Credentials
from imgextract.errors import AuthError, NotFoundError
from imgextract.registry import RegistryClient, TransportSettings

pytest.importorskip("regfix.pytest_plugin")
regfix_oci = pytest.importorskip("regfix.oci")

pytestmark = [pytest.mark.registry, pytest.mark.oracle]

FAST = TransportSettings(retries=2, retry_base_delay=0.0, retry_max_delay=0.0, timeout=20.0)
ALICE = ("alice", "alice-secret")
IMAGE = regfix_oci.ImageSpec(
    layers=[
        [regfix_oci.File("a.txt", "a")],
        [regfix_oci.File("b.txt", "b" * 5000)],
        [regfix_oci.File("c.txt", "c")],
    ]
)


def _store(tmp: Path, auths: dict[str, tuple[str, str]]) -> CredentialStore:
    path = tmp / f"auth-{len(list(tmp.glob('auth-*.json')))}.json"
    path.write_text(
        json.dumps(
            {
                "auths": {
                    key: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()}
                    for key, (u, p) in auths.items()
                }
            }
        )
    )
    return CredentialStore.from_settings(creds=None, authfile=path, pull_secret=None, env={})


class _Fixed:
    def __init__(self, creds: Credentials) -> None:
        self.creds = creds

    def lookup(self, registry: str, repository: str) -> Credentials | None:
        return self.creds


def _pull_everything(client: RegistryClient, repository: str, tag: str = "v1") -> int:
    """Manifest, config and every layer; returns how many blobs were read."""
    manifest = oci.parse_manifest(client.get_manifest(repository, tag).raw)
    client.read_blob(repository, manifest.config.digest, limit=1 << 20)
    for layer in manifest.layers:
        with client.open_blob(repository, layer.digest, size=layer.size) as stream:
            assert len(stream.read()) == layer.size
    return 1 + len(manifest.layers)


def _ok(ts: Any) -> list[Any]:
    return [r for r in ts.requests if r.status == 200]


# --- htpasswd (Basic) --------------------------------------------------------------------------------


def test_htpasswd_basic(htpasswd_registry: Any, push_image: Callable[..., Any], tmp_path: Path) -> None:
    user, password = next(iter(htpasswd_registry.users.items()))
    push_image(htpasswd_registry, IMAGE, "basic/app", creds=(user, password))
    store = _store(tmp_path, {htpasswd_registry.host: (user, password)})
    with RegistryClient(htpasswd_registry.host, FAST, store, insecure=True) as client:
        assert _pull_everything(client, "basic/app") == 4


@pytest.mark.parametrize("wrong", [False, True])
def test_htpasswd_refused(
    htpasswd_registry: Any, push_image: Callable[..., Any], tmp_path: Path, wrong: bool
) -> None:
    user, password = next(iter(htpasswd_registry.users.items()))
    push_image(htpasswd_registry, IMAGE, "basic/refused", creds=(user, password))
    store = _store(tmp_path, {htpasswd_registry.host: (user, "wrong-password-456")}) if wrong else None
    with RegistryClient(htpasswd_registry.host, FAST, store, insecure=True) as client:
        with pytest.raises(AuthError) as info:
            client.get_manifest("basic/refused", "v1")
    text = str(info.value)
    assert f"{htpasswd_registry.host}/basic/refused:v1" in text and "wrong-password-456" not in text


# --- token auth -------------------------------------------------------------------------------------


def test_anonymous_public_pull_reuses_one_token(token_registry: Any, push_image: Callable[..., Any]) -> None:
    push_image(token_registry, IMAGE, "public/anon", creds=ALICE)
    ts = token_registry.token_server
    ts.reset()
    with RegistryClient(token_registry.host, FAST, None, insecure=True) as client:
        assert _pull_everything(client, "public/anon") == 4
    issued = _ok(ts)
    assert [(r.user, r.scopes, r.service) for r in issued] == [
        (None, ("repository:public/anon:pull",), ts.service)
    ]


def test_anonymous_private_refused(token_registry: Any, push_image: Callable[..., Any]) -> None:
    push_image(token_registry, IMAGE, "private/anon", creds=ALICE)
    with RegistryClient(token_registry.host, FAST, None, insecure=True) as client, pytest.raises(AuthError):
        client.get_manifest("private/anon", "v1")


def test_authenticated_private_pull_scope_per_repo(
    token_registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    push_image(token_registry, IMAGE, "private/scoped", creds=ALICE)
    push_image(token_registry, IMAGE, "bob/scoped", creds=ALICE)
    ts = token_registry.token_server
    ts.reset()
    store = _store(tmp_path, {token_registry.host: ("bob", "bob-secret")})
    with RegistryClient(token_registry.host, FAST, store, insecure=True) as client:
        _pull_everything(client, "private/scoped")
        _pull_everything(client, "bob/scoped")
    assert [(r.user, r.scopes) for r in _ok(ts)] == [
        ("bob", ("repository:private/scoped:pull",)),
        ("bob", ("repository:bob/scoped:pull",)),
    ]


def test_per_repository_credentials(
    token_registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    push_image(token_registry, IMAGE, "bob/perrepo", creds=ALICE)
    push_image(token_registry, IMAGE, "private/perrepo", creds=ALICE)
    ts = token_registry.token_server
    ts.reset()
    store = _store(
        tmp_path, {f"{token_registry.host}/bob": ("bob", "bob-secret"), token_registry.host: ALICE}
    )
    with RegistryClient(token_registry.host, FAST, store, insecure=True) as client:
        client.get_manifest("bob/perrepo", "v1")
        client.get_manifest("private/perrepo", "v1")
    assert [r.user for r in _ok(ts)] == ["bob", "alice"]


def test_short_expiry_refreshed_mid_pull(token_registry: Any, push_image: Callable[..., Any]) -> None:
    push_image(token_registry, IMAGE, "public/expiry", creds=ALICE)
    ts = token_registry.token_server
    ts.expires_in = 61
    ts.reset()
    now = [0.0]
    with RegistryClient(token_registry.host, FAST, None, insecure=True, clock=lambda: now[0]) as client:
        client.get_manifest("public/expiry", "v1")
        now[0] += 62  # the token's lifetime has passed: a new one is fetched before the next request
        _pull_everything(client, "public/expiry")
    assert len(_ok(ts)) == 2


def test_server_side_expiry_retried_once(
    token_registry: Any, push_image: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    push_image(token_registry, IMAGE, "public/revoked", creds=ALICE)
    ts = token_registry.token_server
    original = ts.issue
    first = [True]

    def issue(user: str | None, access: list[dict[str, object]], expires_in: int | None = None) -> str:
        if first[0]:  # already expired beyond the registry's 60 s leeway
            first[0] = False
            return str(original(user, access, -300))
        return str(original(user, access, expires_in))

    monkeypatch.setattr(ts, "issue", issue)
    ts.reset()
    with RegistryClient(token_registry.host, FAST, None, insecure=True) as client:
        assert _pull_everything(client, "public/revoked") == 4
    assert len(_ok(ts)) == 2  # expired token -> 401 -> one fresh token, then reused for every blob


def test_identity_token_refresh_grant(token_registry: Any, push_image: Callable[..., Any]) -> None:
    push_image(token_registry, IMAGE, "private/idtoken", creds=ALICE)
    ts = token_registry.token_server
    ts.reset()
    creds = _Fixed(Credentials(identity_token=ts.new_refresh_token("bob")))
    with RegistryClient(token_registry.host, FAST, creds, insecure=True) as client:
        client.get_manifest("private/idtoken", "v1")
    assert [(r.method, r.grant_type, r.user) for r in _ok(ts)] == [("POST", "refresh_token", "bob")]


def test_push_without_push_right_is_auth_error(token_registry: Any) -> None:
    creds = _Fixed(Credentials(username="bob", password="bob-secret"))
    with (
        RegistryClient(token_registry.host, FAST, creds, insecure=True) as client,
        pytest.raises(AuthError) as info,
    ):
        client.put_manifest("private/nopush", "v9", b'{"schemaVersion":2}', oci.OCI_MANIFEST)
    assert "bob-secret" not in str(info.value)


def test_http_realm_refused_for_secure_registry(
    registry_factory: Callable[..., Any], token_server_factory: Callable[..., Any]
) -> None:
    """TLS registry whose token realm is plain HTTP: credentials are not sent there unless insecure."""
    ts = token_server_factory()
    reg = registry_factory(tls=True, token=ts)
    creds = _Fixed(Credentials(username="alice", password="alice-secret"))
    settings = TransportSettings(retries=1, retry_base_delay=0.0, ca_file=reg.ca_file)
    with RegistryClient(reg.host, settings, creds) as client:
        with pytest.raises(AuthError, match="plain-HTTP token realm"):
            client.get_manifest("public/app", "v1")
    assert ts.requests == []
    with RegistryClient(reg.host, settings, creds, insecure=True) as client:
        with pytest.raises(NotFoundError):  # nothing was pushed there: the token flow itself worked
            client.get_manifest("public/app", "v1")
    assert [r.user for r in ts.requests] == ["alice"]
