"""Authentication through the CLI: every credential source against real authenticating registries."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from regfix import bundles
from regfix.pytest_plugin import HTPASSWD_USER, TOKEN_USER, PushedImage

from tests.e2e.cli import Run, run_cli

pytestmark = pytest.mark.registry

USER, PASSWORD = HTPASSWD_USER
B64 = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def private(htpasswd_registry: Any, tmp_path_factory: pytest.TempPathFactory) -> PushedImage:
    from regfix.oci import write_layout
    from regfix.push import push

    fx = bundles.registry_v1_bundle(large_crd=False)
    layout = write_layout(tmp_path_factory.mktemp("auth-layout"), fx.spec, "v1")
    return PushedImage(
        push(layout, htpasswd_registry, "auth/bundle", "v1", creds=HTPASSWD_USER),
        layout,
        fx,
        htpasswd_registry,
    )


def _pull(home: Path, img: PushedImage, *extra: str, env: dict[str, str] | None = None) -> Run:
    assert img.registry.ca_file is None
    return run_cli(
        "pull",
        img.ref,
        "-o",
        str(home / "out"),
        "--insecure-registry",
        img.registry.host,
        "--force",
        *extra,
        env=env,
        home=home,
    )


def _auths(host: str, **entry: str) -> str:
    return json.dumps({"auths": {host: entry or {"auth": B64}}})


def _no_secret(r: Run) -> None:
    text = r.stdout + r.stderr
    assert PASSWORD not in text and B64 not in text


def test_no_credentials_exit_3(private: PushedImage, tmp_path: Path) -> None:
    r = _pull(tmp_path, private)
    assert r.code == 3, r.stderr
    assert private.registry.host in r.stderr
    assert not (tmp_path / "out").exists()


def test_wrong_password_exit_3_and_no_secret_in_output(private: PushedImage, tmp_path: Path) -> None:
    wrong = "Wrong-Pass-123"
    r = _pull(tmp_path, private, "--creds", f"{USER}:{wrong}", "-v", "-v", "--json")
    assert r.code == 3, r.stderr
    wrong_b64 = base64.b64encode(f"{USER}:{wrong}".encode()).decode()
    assert wrong not in r.stdout + r.stderr and wrong_b64 not in r.stdout + r.stderr


def test_creds_flag(private: PushedImage, tmp_path: Path) -> None:
    r = _pull(tmp_path, private, "--creds", f"{USER}:{PASSWORD}", "-v", "-v")
    assert r.code == 0, r.stderr
    _no_secret(r)


@pytest.mark.parametrize(
    "where",
    [
        "authfile-flag",
        "REGISTRY_AUTH_FILE",
        "XDG_RUNTIME_DIR",
        "xdg-config",
        "DOCKER_CONFIG",
        "docker-home",
        "dockercfg",
        "namespaced-key",
    ],
)
def test_each_credential_file(private: PushedImage, tmp_path: Path, where: str) -> None:
    host = private.registry.host
    home = tmp_path
    extra: list[str] = []
    env: dict[str, str] = {}

    def put(path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    if where == "authfile-flag":
        extra = ["--authfile", str(put(tmp_path / "a.json", _auths(host)))]
    elif where == "REGISTRY_AUTH_FILE":
        env["REGISTRY_AUTH_FILE"] = str(put(tmp_path / "a.json", _auths(host)))
    elif where == "XDG_RUNTIME_DIR":
        put(tmp_path / "run" / "containers" / "auth.json", _auths(host))
        env["XDG_RUNTIME_DIR"] = str(tmp_path / "run")
    elif where == "xdg-config":
        put(home / ".config" / "containers" / "auth.json", _auths(host))
    elif where == "DOCKER_CONFIG":
        put(tmp_path / "dc" / "config.json", _auths(host, username=USER, password=PASSWORD))
        env["DOCKER_CONFIG"] = str(tmp_path / "dc")
    elif where == "docker-home":
        put(home / ".docker" / "config.json", _auths(host))
    elif where == "dockercfg":
        put(home / ".dockercfg", json.dumps({host: {"auth": B64}}))
    elif where == "namespaced-key":
        # most specific key wins: a wrong host-wide entry and a right one for the repository
        wrong = base64.b64encode(f"{USER}:nope".encode()).decode()
        put(
            home / ".config" / "containers" / "auth.json",
            json.dumps({"auths": {host: {"auth": wrong}, f"{host}/auth/bundle": {"auth": B64}}}),
        )
    r = _pull(home, private, *extra, env=env)
    assert r.code == 0, r.stderr
    _no_secret(r)


def test_credential_helper(private: PushedImage, tmp_path: Path) -> None:
    host = private.registry.host
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "helper.log"
    helper = bindir / "docker-credential-regfix"
    helper.write_text(f"""#!/bin/sh
[ "$1" = get ] || exit 1
read server
echo "$server" >> {log}
printf '{{"ServerURL":"%s","Username":"{USER}","Secret":"{PASSWORD}"}}' "$server"
""")
    helper.chmod(helper.stat().st_mode | stat.S_IEXEC)
    (tmp_path / ".docker").mkdir()
    (tmp_path / ".docker" / "config.json").write_text(json.dumps({"credHelpers": {host: "regfix"}}))
    r = _pull(tmp_path, private, env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    assert r.code == 0, r.stderr
    assert host in log.read_text()
    _no_secret(r)


def _secret(host: str, kind: str) -> dict[str, Any]:
    cfg = {"auths": {host: {"auth": B64}}}
    if kind == "dockercfg":
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/dockercfg",
            "metadata": {"name": "old"},
            "data": {".dockercfg": base64.b64encode(json.dumps(cfg["auths"]).encode()).decode()},
        }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "regcred"},
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(cfg).encode()).decode()},
    }


@pytest.mark.parametrize("kind", ["dockerconfigjson", "dockercfg"])
def test_pull_secret_glob_host(private: PushedImage, tmp_path: Path, kind: str) -> None:
    port = private.registry.port
    secret = tmp_path / "secret.yaml"
    secret.write_text(yaml.safe_dump(_secret(f"127.*.*.1:{port}", kind)))
    r = _pull(tmp_path, private, "--pull-secret", str(secret))
    assert r.code == 0, r.stderr
    _no_secret(r)


def test_pull_secret_for_another_host_does_not_match(private: PushedImage, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(yaml.safe_dump(_secret("*.example.com", "dockerconfigjson")))
    r = _pull(tmp_path, private, "--pull-secret", str(secret))
    assert r.code == 3, r.stderr


def test_token_registry_public_anonymous_private_authenticated(
    pushed_private_bundle: PushedImage, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    reg = pushed_private_bundle.registry
    public = push_image(reg, bundles.registry_v1_bundle(large_crd=False), "public/bundle", creds=TOKEN_USER)
    r = _pull(tmp_path, public)
    assert r.code == 0, r.stderr
    r = _pull(tmp_path, pushed_private_bundle)
    assert r.code == 3, r.stderr
    r = _pull(tmp_path, pushed_private_bundle, "--creds", "bob:bob-secret")
    assert r.code == 0, r.stderr
    assert "bob-secret" not in r.stdout + r.stderr


def test_identity_token_oauth2_end_to_end(pushed_private_bundle: PushedImage, tmp_path: Path) -> None:
    reg = pushed_private_bundle.registry
    ts = reg.token_server
    assert ts is not None
    refresh = ts.new_refresh_token("bob")
    auth = tmp_path / "auth.json"
    auth.write_text(json.dumps({"auths": {reg.host: {"identitytoken": refresh}}}))
    ts.reset()
    r = _pull(tmp_path, pushed_private_bundle, "--authfile", str(auth))
    assert r.code == 0, r.stderr
    assert refresh not in r.stdout + r.stderr
    assert any(req.method == "POST" and req.grant_type == "refresh_token" for req in ts.requests)
