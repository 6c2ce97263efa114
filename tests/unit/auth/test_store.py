"""CredentialStore: where credentials are looked up, and in which order."""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgextract.auth import Credentials, CredentialStore
from imgextract.auth.store import auth_file_paths
from imgextract.cli.exits import exit_code_for
from imgextract.errors import ConfigError, UsageError

WriteJson = Callable[[Path, Any], Path]


def _auth(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def _store(env: dict[str, str], **kw: Any) -> CredentialStore:
    args: dict[str, Any] = {"creds": None, "authfile": None, "pull_secret": None}
    args.update(kw)
    return CredentialStore.from_settings(env=env, **args)


def _user(store: CredentialStore, registry: str = "quay.io", repository: str = "ns/app") -> str | None:
    found = store.lookup(registry, repository)
    return found.username if found else None


@pytest.fixture
def chain(tmp_path: Path, env: dict[str, str], home: Path, write_json: WriteJson) -> dict[str, Path]:
    """One file at every default location, each with its own user for quay.io."""
    files = {
        "runtime": Path(env["XDG_RUNTIME_DIR"]) / "containers" / "auth.json",
        "xdg_config": home / ".config" / "containers" / "auth.json",
        "docker": home / ".docker" / "config.json",
    }
    for name, path in files.items():
        write_json(path, {"auths": {"quay.io": _auth(name, "pw-" + name)}})
    files["dockercfg"] = write_json(home / ".dockercfg", {"https://quay.io/v1/": _auth("dockercfg", "pw-l")})
    return files


def test_default_search_order(chain: dict[str, Path], env: dict[str, str]) -> None:
    seen = []
    for name in ("runtime", "xdg_config", "docker", "dockercfg"):
        seen.append(_user(_store(env)))
        chain[name].unlink()
    assert seen == ["runtime", "xdg_config", "docker", "dockercfg"]
    assert _user(_store(env)) is None


def test_xdg_config_home_and_docker_config_relocate_files(
    chain: dict[str, Path], env: dict[str, str], tmp_path: Path, write_json: WriteJson
) -> None:
    chain["runtime"].unlink()
    write_json(
        tmp_path / "xdg" / "containers" / "auth.json", {"auths": {"quay.io": _auth("moved-xdg", "p1234")}}
    )
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    assert _user(_store(env)) == "moved-xdg"
    (tmp_path / "xdg" / "containers" / "auth.json").unlink()
    chain["xdg_config"].unlink()  # not read any more: XDG_CONFIG_HOME points elsewhere anyway
    write_json(tmp_path / "dc" / "config.json", {"auths": {"quay.io": _auth("moved-docker", "p1234")}})
    env["DOCKER_CONFIG"] = str(tmp_path / "dc")
    assert _user(_store(env)) == "moved-docker"
    (tmp_path / "dc" / "config.json").unlink()
    # $DOCKER_CONFIG replaces ~/.docker: ~/.docker/config.json is not read, ~/.dockercfg still is.
    assert _user(_store(env)) == "dockercfg"


def test_authfile_flag_is_the_only_file(
    chain: dict[str, Path], env: dict[str, str], tmp_path: Path, write_json: WriteJson
) -> None:
    flag = write_json(tmp_path / "flag.json", {"auths": {"example.com": _auth("flag", "p1234")}})
    store = _store(env, authfile=flag)
    assert _user(store, "example.com", "x") == "flag"
    assert _user(store) is None  # podman: with --authfile the default files are not read
    assert store.source_names == [str(flag)]


def test_registry_auth_file_env_and_flag_precedence(
    chain: dict[str, Path], env: dict[str, str], tmp_path: Path, write_json: WriteJson
) -> None:
    env["REGISTRY_AUTH_FILE"] = str(
        write_json(tmp_path / "env.json", {"auths": {"quay.io": _auth("envfile", "p1234")}})
    )
    assert _user(_store(env)) == "envfile"
    flag = write_json(tmp_path / "flag.json", {"auths": {"quay.io": _auth("flag", "p1234")}})
    assert _user(_store(env, authfile=flag)) == "flag"


def test_explicit_files_must_exist_and_parse(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        _store(env, authfile=tmp_path / "missing.json")
    env["REGISTRY_AUTH_FILE"] = str(tmp_path / "missing.json")
    with pytest.raises(ConfigError):
        _store(env)
    bad = tmp_path / "bad.json"
    bad.write_text('{"auths": ')
    with pytest.raises(ConfigError, match="not valid JSON") as exc:
        _store(env, authfile=bad)
    assert exit_code_for(exc.value) == 2
    bad.write_text('{"auths": []}')
    with pytest.raises(ConfigError, match="'auths' must be an object"):
        _store(env, authfile=bad)


def test_broken_default_file_is_skipped_with_warning(
    chain: dict[str, Path], env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    chain["runtime"].write_text('{"auths": {"quay.io": {"auth": "c2VjcmV0LXVzZXI6aHVudGVyMg=="')
    with caplog.at_level(logging.WARNING):
        store = _store(env)
    assert _user(store) == "xdg_config"
    assert any(str(chain["runtime"]) in r.getMessage() for r in caplog.records)
    assert "c2VjcmV0" not in caplog.text


def test_malformed_entry_skipped_and_next_key_used(
    env: dict[str, str], home: Path, write_json: WriteJson, caplog: pytest.LogCaptureFixture
) -> None:
    write_json(
        home / ".docker" / "config.json",
        {
            "auths": {
                "quay.io/ns/app": {"auth": "bm8tY29sb24taGVyZS1zM2NyM3Q="},  # decodes without ':'
                "quay.io/ns": {"auth": "!!not base64!!"},
                "quay.io": _auth("host-level", "pw-host"),
            }
        },
    )
    with caplog.at_level(logging.WARNING):
        assert _user(_store(env)) == "host-level"
    messages = [r.getMessage() for r in caplog.records]
    assert any("'quay.io/ns/app'" in m for m in messages)
    assert any("'quay.io/ns'" in m for m in messages)
    assert "no-colon-here-s3cr3t" not in caplog.text and "bm8tY29sb24" not in caplog.text


def test_empty_entry_falls_through(env: dict[str, str], home: Path, write_json: WriteJson) -> None:
    write_json(
        home / ".docker" / "config.json", {"auths": {"quay.io/ns": {}, "quay.io": _auth("host", "pw12")}}
    )
    assert _user(_store(env)) == "host"


def test_creds_flag_wins_everywhere(chain: dict[str, Path], env: dict[str, str]) -> None:
    store = _store(env, creds="alice:pa:ss")
    assert store.lookup("quay.io", "ns/app") == Credentials(username="alice", password="pa:ss")
    assert store.lookup("other.example", "x") == Credentials(username="alice", password="pa:ss")
    assert _store(env, creds="bob").lookup("quay.io", "a") == Credentials(username="bob")
    with pytest.raises(UsageError):
        _store(env, creds=":nopass")


def test_pull_secret_before_files_then_files(
    chain: dict[str, Path], env: dict[str, str], tmp_path: Path, write_json: WriteJson
) -> None:
    secret = write_json(tmp_path / "ps.json", {"auths": {"quay.io": _auth("from-secret", "p1234")}})
    store = _store(env, pull_secret=secret)
    assert _user(store) == "from-secret"
    assert store.source_names[0] == f"pull secret {secret}"
    other = write_json(tmp_path / "ps2.json", {"auths": {"registry.example": _auth("x", "p1234")}})
    assert _user(_store(env, pull_secret=other)) == "runtime"  # no match in the secret: the files


def test_pull_secret_missing_is_config_error(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        _store(env, pull_secret=tmp_path / "nope.yaml")


def test_imgpkg_env_is_lowest_priority(chain: dict[str, Path], env: dict[str, str]) -> None:
    env.update(
        {
            "IMGPKG_REGISTRY_HOSTNAME": "quay.io",
            "IMGPKG_REGISTRY_USERNAME": "imgpkg",
            "IMGPKG_REGISTRY_PASSWORD": "pw-imgpkg",
        }
    )
    assert _user(_store(env)) == "runtime"
    for path in chain.values():
        path.unlink()
    store = _store(env)
    assert _user(store) == "imgpkg"
    assert store.source_names[-1] == "IMGPKG_REGISTRY_* environment"


def test_docker_auth_config_variable(env: dict[str, str], home: Path, write_json: WriteJson) -> None:
    write_json(home / ".docker" / "config.json", {"auths": {"quay.io": _auth("file", "pw12")}})
    env["DOCKER_AUTH_CONFIG"] = json.dumps({"auths": {"quay.io": _auth("variable", "pw12")}})
    assert _user(_store(env)) == "variable"
    env["DOCKER_AUTH_CONFIG"] = "{not json"
    assert _user(_store(env)) == "file"


def test_hub_aliases_and_identity_token(env: dict[str, str], home: Path, write_json: WriteJson) -> None:
    write_json(
        home / ".docker" / "config.json",
        {
            "auths": {
                "https://index.docker.io/v1/": {
                    "auth": base64.b64encode(b"hubuser:").decode(),
                    "identitytoken": "idtok-123",
                },
                "localhost:5000": {"username": "u", "password": "plain-pw", "registrytoken": "regtok-456"},
            }
        },
    )
    store = _store(env)
    assert store.lookup("docker.io", "library/busybox") == Credentials(
        username="hubuser", identity_token="idtok-123"
    )
    assert store.lookup("localhost:5000", "a/b") == Credentials(
        username="u", password="plain-pw", registry_token="regtok-456"
    )
    assert store.lookup("localhost:5001", "a/b") is None


def test_default_environment_from_os_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, write_json: WriteJson
) -> None:
    """env=None reads os.environ: HOME, XDG_*, DOCKER_CONFIG, REGISTRY_AUTH_FILE are honoured."""
    home = tmp_path / "h"
    for var in ("REGISTRY_AUTH_FILE", "DOCKER_AUTH_CONFIG", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    for var in list(os.environ):
        if var.startswith("IMGPKG_REGISTRY_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dockercfgdir"))
    write_json(
        tmp_path / "dockercfgdir" / "config.json", {"auths": {"quay.io": _auth("docker-config", "p1234")}}
    )
    store = CredentialStore.from_settings(creds=None, authfile=None, pull_secret=None)
    assert _user(store) == "docker-config"
    write_json(
        tmp_path / "run" / "containers" / "auth.json", {"auths": {"quay.io": _auth("runtime", "p1234")}}
    )
    assert _user(CredentialStore.from_settings(creds=None, authfile=None, pull_secret=None)) == "runtime"
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(write_json(tmp_path / "raf.json", {"auths": {}})))
    assert _user(CredentialStore.from_settings(creds=None, authfile=None, pull_secret=None)) is None


def test_auth_file_paths_without_xdg_runtime_dir(tmp_path: Path) -> None:
    paths = [p for p, _, _ in auth_file_paths({"HOME": str(tmp_path)})]
    assert paths == [
        Path(f"/run/containers/{os.getuid()}/auth.json"),
        tmp_path / ".config" / "containers" / "auth.json",
        tmp_path / ".docker" / "config.json",
        tmp_path / ".dockercfg",
    ]
    assert [legacy for _, legacy, _ in auth_file_paths({"HOME": str(tmp_path)})] == [
        False,
        False,
        False,
        True,
    ]


def test_lookup_is_cached(env: dict[str, str], home: Path, write_json: WriteJson) -> None:
    path = write_json(home / ".docker" / "config.json", {"auths": {"quay.io": _auth("first", "pw12")}})
    store = _store(env)
    assert _user(store) == "first"
    path.unlink()  # files are read once, when the store is built
    assert _user(store) == "first"
    assert store.candidates("quay.io", "ns/app") == [Credentials(username="first", password="pw12")]


def test_creds_flag_goes_only_to_the_scoped_registries(tmp_path: Path) -> None:
    from imgextract.auth.store import CredentialStore as Store

    store = Store.from_settings(
        creds="alice:s3cret-pw", authfile=None, pull_secret=None, env={"HOME": str(tmp_path)}
    )
    assert store.lookup("elsewhere.example", "x") is not None  # unscoped: a one-registry library store
    store.scope_flag_credentials(["registry.example:5000", "mirror.example", "docker.io"])
    assert store.lookup("registry.example:5000", "team/app") is not None
    assert store.lookup("mirror.example", "team/app") is not None
    assert store.lookup("registry-1.docker.io", "library/x") is not None  # Docker Hub's spellings are one
    assert store.lookup("attacker.example", "team/app") is None  # a host named by image content
