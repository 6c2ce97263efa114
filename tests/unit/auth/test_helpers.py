"""Docker credential helpers, driven through a small helper script put on PATH."""

from __future__ import annotations

import base64
import logging
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgextract.auth import Credentials, CredentialStore
from imgextract.auth.helpers import run_helper
from imgextract.auth.redact import redact
from imgextract.cli.exits import exit_code_for
from imgextract.errors import AuthError, ConfigError

WriteJson = Callable[[Path, Any], Path]

SCRIPT = """#!/bin/sh
read -r url
echo "$1 $url" >> "{log}"
case "$url" in
  https://index.docker.io/v1/) echo '{{"ServerURL":"https://index.docker.io/v1/","Username":"hubuser","Secret":"hub-secret-1"}}';;
  quay.io) echo '{{"ServerURL":"quay.io","Username":"<token>","Secret":"refresh-tok-9"}}';;
  fail.example) echo "boom helper-stderr-secret-XYZ" >&2; exit 3;;
  badjson.example) echo 'not json at all';;
  useronly.example) echo '{{"Username":"robot","Secret":""}}';;
  emptytoken.example) echo '{{"Username":"<token>","Secret":""}}';;
  trailing.example) printf '  {{"Username":"trail","Secret":"trail-secret"}}\nhelper log line\n';;
  *) echo "credentials not found in native keychain"; exit 1;;
esac
"""


@pytest.fixture
def helper_log(tmp_path: Path, env: dict[str, str]) -> Path:
    """Install docker-credential-test on a PATH of its own; returns the call log."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "helper-calls.log"
    exe = bindir / "docker-credential-test"
    exe.write_text(SCRIPT.format(log=log))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    env["PATH"] = f"{bindir}:/usr/bin:/bin"
    return log


def _calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def _store(env: dict[str, str]) -> CredentialStore:
    return CredentialStore.from_settings(creds=None, authfile=None, pull_secret=None, env=env)


def _config(home: Path, write_json: WriteJson, data: dict[str, Any]) -> None:
    write_json(home / ".docker" / "config.json", data)


def test_cred_helper_for_host_identity_token(
    helper_log: Path, env: dict[str, str], home: Path, write_json: WriteJson
) -> None:
    _config(home, write_json, {"credHelpers": {"quay.io": "test"}})
    store = _store(env)
    assert store.lookup("quay.io", "ns/app") == Credentials(identity_token="refresh-tok-9")
    assert _calls(helper_log) == ["get quay.io"]
    assert store.lookup("registry.example", "x") is None  # credHelpers applies to its host only
    assert _calls(helper_log) == ["get quay.io"]


def test_creds_store_for_docker_hub_uses_login_url(
    helper_log: Path, env: dict[str, str], home: Path, write_json: WriteJson
) -> None:
    _config(home, write_json, {"credsStore": "test", "auths": {"https://index.docker.io/v1/": {}}})
    store = _store(env)
    assert store.lookup("docker.io", "library/busybox") == Credentials(
        username="hubuser", password="hub-secret-1"
    )
    assert store.lookup("docker.io", "library/alpine") == Credentials(
        username="hubuser", password="hub-secret-1"
    )
    assert _calls(helper_log) == ["get https://index.docker.io/v1/"]  # once: cached


def test_cred_helpers_key_spelled_as_hub_alias(
    helper_log: Path, env: dict[str, str], home: Path, write_json: WriteJson
) -> None:
    _config(home, write_json, {"credHelpers": {"index.docker.io": "test"}})
    assert _store(env).lookup("docker.io", "library/busybox") == Credentials(
        username="hubuser", password="hub-secret-1"
    )


def test_not_found_falls_back_to_auths_then_next_file(
    helper_log: Path, env: dict[str, str], home: Path, write_json: WriteJson
) -> None:
    auth = base64.b64encode(b"fileuser:file-pw").decode()
    _config(home, write_json, {"credsStore": "test", "auths": {"other.example": {"auth": auth}}})
    write_json(
        home / ".dockercfg", {"unknown.example": {"auth": base64.b64encode(b"legacy:leg-pw").decode()}}
    )
    store = _store(env)
    assert store.lookup("other.example", "a") == Credentials(username="fileuser", password="file-pw")
    assert store.lookup("unknown.example", "a") == Credentials(username="legacy", password="leg-pw")
    assert store.lookup("nothing.example", "a") is None
    assert _calls(helper_log) == ["get other.example", "get unknown.example", "get nothing.example"]


def test_helper_failure_is_auth_error_without_output(
    helper_log: Path, env: dict[str, str], home: Path, write_json: WriteJson
) -> None:
    _config(home, write_json, {"credHelpers": {"fail.example": "test"}})
    with pytest.raises(AuthError) as exc:
        _store(env).lookup("fail.example", "x")
    assert exit_code_for(exc.value) == 3
    assert "docker-credential-test" in str(exc.value) and "fail.example" in str(exc.value)
    assert "helper-stderr-secret" not in str(exc.value)
    assert _calls(helper_log) == ["get fail.example"]


def test_helper_invalid_json_is_auth_error(helper_log: Path, env: dict[str, str]) -> None:
    with pytest.raises(AuthError, match="invalid JSON"):
        run_helper("test", "badjson.example", env=env)


def test_missing_helper_warns_and_uses_auths(
    env: dict[str, str], home: Path, write_json: WriteJson, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    env["PATH"] = str(tmp_path / "empty-bin")
    auth = base64.b64encode(b"fileuser:file-pw").decode()
    _config(home, write_json, {"credsStore": "desktop", "auths": {"quay.io": {"auth": auth}}})
    with caplog.at_level(logging.WARNING):
        found = _store(env).lookup("quay.io", "a")
    assert found == Credentials(username="fileuser", password="file-pw")
    assert "docker-credential-desktop not found" in caplog.text


def test_helper_name_cannot_be_a_path(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        run_helper("../../bin/sh", "quay.io", env=env)


def test_helper_secrets_are_registered_for_redaction(helper_log: Path, env: dict[str, str]) -> None:
    creds = run_helper("test", "quay.io", env=env)
    assert creds == Credentials(identity_token="refresh-tok-9")
    assert "refresh-tok-9" not in redact("token was refresh-tok-9")


def test_helper_answer_is_its_first_json_value(helper_log: Path, env: dict[str, str]) -> None:
    """docker-credential-helpers' ``client.Get`` decodes the answer with ``json.NewDecoder(...).Decode``:
    the first JSON value on stdout, whatever follows it (a helper's log line) is not read."""
    assert run_helper("test", "trailing.example", env=env) == Credentials(
        username="trail", password="trail-secret"
    )


def test_helper_answer_with_a_user_name_only_is_used(helper_log: Path, env: dict[str, str]) -> None:
    """containers/image ``getCredsFromCredHelper`` (and the docker CLI's native store) turn the answer
    into ``{Username, Password: Secret}``: a user name with an empty secret is a credential (Basic
    ``robot:``); only an answer with neither, or ``<token>`` without a token, is "no credentials"."""
    assert run_helper("test", "useronly.example", env=env) == Credentials(username="robot", password="")
    assert run_helper("test", "emptytoken.example", env=env) is None
