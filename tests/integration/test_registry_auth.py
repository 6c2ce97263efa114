"""RegistryClient authentication against a real registry: htpasswd Basic and the distribution token flow."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imgextract.auth import CredentialStore
from imgextract.auth.credentials import Credentials
from imgextract.errors import AuthError, NotFoundError
from imgextract.registry import RegistryClient, TransportSettings

regfix_oci = pytest.importorskip("regfix.oci")
regfix_registry = pytest.importorskip("regfix.registry")
regfix_push = pytest.importorskip("regfix.push")
regfix_token = pytest.importorskip("regfix.tokenserver")

pytestmark = [pytest.mark.registry, pytest.mark.oracle]

FAST = TransportSettings(retries=2, retry_base_delay=0.0, retry_max_delay=0.0, timeout=20.0)


def _layout(tmp: Path, name: str) -> Any:
    return regfix_oci.write_layout(tmp / name, regfix_oci.ImageSpec(layers=[
        [regfix_oci.File(f"{name}/a.txt", "a")], [regfix_oci.File(f"{name}/b.txt", "b" * 5000)],
        [regfix_oci.File(f"{name}/c.txt", "c")]]), tag="v1")


def _store(tmp: Path, auths: dict[str, tuple[str, str]]) -> CredentialStore:
    path = tmp / f"auth-{len(list(tmp.glob('auth-*.json')))}.json"
    path.write_text(json.dumps({"auths": {
        key: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()} for key, (u, p) in auths.items()}}))
    return CredentialStore.from_settings(creds=None, authfile=path, pull_secret=None, env={})


class _Creds:
    def __init__(self, creds: Credentials) -> None:
        self.creds = creds

    def lookup(self, registry: str, repository: str) -> Credentials | None:
        return self.creds


def _pull_everything(client: RegistryClient, repository: str, tag: str) -> int:
    """Manifest, config and every layer; returns how many blobs were read."""
    from imgextract import manifests as m

    manifest = m.parse_manifest(client.get_manifest(repository, tag).raw)
    client.read_blob(repository, manifest.config.digest, limit=1 << 20)
    for layer in manifest.layers:
        with client.open_blob(repository, layer.digest, size=layer.size) as stream:
            assert len(stream.read()) == layer.size
    return 1 + len(manifest.layers)


# --- htpasswd (Basic) --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("basic")
    with regfix_registry.start_registry(tmp / "reg", htpasswd={"carol": "carol-pw-123"}) as reg:
        regfix_push.push(_layout(tmp, "app"), reg, "team/app", "v1", creds=("carol", "carol-pw-123"))
        yield reg


def test_htpasswd_basic(basic_registry: Any, tmp_path: Path) -> None:
    store = _store(tmp_path, {basic_registry.host: ("carol", "carol-pw-123")})
    with RegistryClient(basic_registry.host, FAST, store, insecure=True) as client:
        assert _pull_everything(client, "team/app", "v1") == 4


@pytest.mark.parametrize("creds", [None, ("carol", "wrong-password-456")])
def test_htpasswd_refused(basic_registry: Any, tmp_path: Path, creds: tuple[str, str] | None) -> None:
    store = _store(tmp_path, {basic_registry.host: creds}) if creds else None
    with RegistryClient(basic_registry.host, FAST, store, insecure=True) as client:
        with pytest.raises(AuthError) as info:
            client.get_manifest("team/app", "v1")
    text = str(info.value)
    assert f"{basic_registry.host}/team/app:v1" in text and "wrong-password-456" not in text


# --- token auth -------------------------------------------------------------------------------------

class FirstTokenExpired(regfix_token.TokenServer):  # type: ignore[misc,name-defined]
    """Issues its first token already expired beyond the registry's 60 s leeway (server-side expiry)."""

    expire_next = False

    def issue(self, user: str | None, access: list[dict[str, object]], expires_in: int | None = None) -> str:
        if self.expire_next:
            self.expire_next = False
            return str(super().issue(user, access, -300))
        return str(super().issue(user, access, expires_in))


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    tmp = tmp_path_factory.mktemp("token")
    with FirstTokenExpired(tmp / "ts") as ts, regfix_registry.start_registry(tmp / "reg", token=ts) as reg:
        alice = ("alice", "alice-secret")
        for repo in ("public/app", "private/app", "bob/app"):
            regfix_push.push(_layout(tmp, repo.replace("/", "-")), reg, repo, "v1", creds=alice)
        yield reg, ts


def _token_requests(ts: Any) -> list[Any]:
    return [r for r in ts.requests if r.status == 200]


def test_anonymous_public_pull_reuses_one_token(token_registry: tuple[Any, Any]) -> None:
    reg, ts = token_registry
    ts.reset()
    with RegistryClient(reg.host, FAST, None, insecure=True) as client:
        assert _pull_everything(client, "public/app", "v1") == 4
    issued = _token_requests(ts)
    assert len(issued) == 1
    assert issued[0].user is None and issued[0].scopes == ("repository:public/app:pull",)
    assert issued[0].service == ts.service


def test_anonymous_private_refused(token_registry: tuple[Any, Any]) -> None:
    reg, _ = token_registry
    with RegistryClient(reg.host, FAST, None, insecure=True) as client, pytest.raises(AuthError):
        client.get_manifest("private/app", "v1")


def test_authenticated_private_pull_scope_per_repo(token_registry: tuple[Any, Any], tmp_path: Path) -> None:
    reg, ts = token_registry
    ts.reset()
    store = _store(tmp_path, {reg.host: ("bob", "bob-secret")})
    with RegistryClient(reg.host, FAST, store, insecure=True) as client:
        _pull_everything(client, "private/app", "v1")
        _pull_everything(client, "bob/app", "v1")
    issued = _token_requests(ts)
    assert [(r.user, r.scopes) for r in issued] == [("bob", ("repository:private/app:pull",)),
                                                     ("bob", ("repository:bob/app:pull",))]


def test_per_repository_credentials(token_registry: tuple[Any, Any], tmp_path: Path) -> None:
    reg, ts = token_registry
    ts.reset()
    store = _store(tmp_path, {f"{reg.host}/bob": ("bob", "bob-secret"), reg.host: ("alice", "alice-secret")})
    with RegistryClient(reg.host, FAST, store, insecure=True) as client:
        client.get_manifest("bob/app", "v1")
        client.get_manifest("private/app", "v1")
    assert [r.user for r in _token_requests(ts)] == ["bob", "alice"]


def test_short_expiry_refreshed_mid_pull(token_registry: tuple[Any, Any]) -> None:
    reg, ts = token_registry
    ts.reset()
    now = [0.0]
    with RegistryClient(reg.host, FAST, None, insecure=True, clock=lambda: now[0]) as client:
        client.get_manifest("public/app", "v1")
        now[0] += ts.expires_in + 1  # the token's lifetime has passed: fetch a new one before the next request
        _pull_everything(client, "public/app", "v1")
    assert len(_token_requests(ts)) == 2


def test_server_side_expiry_retried_once(token_registry: tuple[Any, Any]) -> None:
    reg, ts = token_registry
    ts.reset()
    ts.expire_next = True
    with RegistryClient(reg.host, FAST, None, insecure=True) as client:
        assert _pull_everything(client, "public/app", "v1") == 4
    assert len(_token_requests(ts)) == 2  # expired token -> 401 -> one fresh token, then reused


def test_identity_token_refresh_grant(token_registry: tuple[Any, Any]) -> None:
    reg, ts = token_registry
    ts.reset()
    creds = _Creds(Credentials(identity_token=ts.new_refresh_token("bob")))
    with RegistryClient(reg.host, FAST, creds, insecure=True) as client:
        client.get_manifest("private/app", "v1")
    issued = _token_requests(ts)
    assert [(r.method, r.grant_type, r.user) for r in issued] == [("POST", "refresh_token", "bob")]


def test_push_without_push_right_is_auth_error(token_registry: tuple[Any, Any]) -> None:
    reg, _ = token_registry
    creds = _Creds(Credentials(username="bob", password="bob-secret"))
    with RegistryClient(reg.host, FAST, creds, insecure=True) as client, pytest.raises(AuthError) as info:
        client.put_manifest("private/app", "v9", b'{"schemaVersion":2}', "application/vnd.oci.image.manifest.v1+json")
    assert "bob-secret" not in str(info.value)


def test_http_realm_refused_for_secure_registry(tmp_path: Path) -> None:
    """TLS registry whose token realm is plain HTTP: credentials are not sent there unless insecure."""
    with regfix_token.TokenServer(tmp_path / "ts") as ts, \
            regfix_registry.start_registry(tmp_path / "reg", tls=True, token=ts) as reg:
        creds = _Creds(Credentials(username="alice", password="alice-secret"))
        settings = TransportSettings(retries=1, retry_base_delay=0.0, ca_file=reg.ca_file)
        with RegistryClient(reg.host, settings, creds) as client:
            with pytest.raises(AuthError, match="plain-HTTP token realm"):
                client.get_manifest("public/app", "v1")
        assert ts.requests == []
        with RegistryClient(reg.host, settings, creds, insecure=True) as client:
            with pytest.raises(NotFoundError):  # nothing was pushed there: the token flow itself worked
                client.get_manifest("public/app", "v1")
        assert [r.user for r in ts.requests] == ["alice"]
