"""imgpkg's IMGPKG_REGISTRY_* environment credentials."""

from __future__ import annotations

import logging

import pytest

from imgextract.auth import Credentials, CredentialStore
from imgextract.auth.envcreds import imgpkg_env_keyring


def test_default_and_numbered_entries_with_project_paths() -> None:
    keyring = imgpkg_env_keyring(
        {
            "IMGPKG_REGISTRY_HOSTNAME": "harbor.example.com",
            "IMGPKG_REGISTRY_USERNAME": "robot-all",
            "IMGPKG_REGISTRY_PASSWORD": "pw-all-1",
            "IMGPKG_REGISTRY_HOSTNAME_1": "https://harbor.example.com/v2/project-a",
            "IMGPKG_REGISTRY_USERNAME_1": "robot-a",
            "IMGPKG_REGISTRY_PASSWORD_1": "pw-a-1",
            "IMGPKG_REGISTRY_HOSTNAME_gcr": "*.gcr.io",
            "IMGPKG_REGISTRY_IDENTITY_TOKEN_gcr": "id-tok-gcr",
            "IMGPKG_REGISTRY_HOSTNAME_2": "ghcr.io",
            "IMGPKG_REGISTRY_REGISTRY_TOKEN_2": "reg-tok-gh",
        }
    )
    assert keyring.lookup("harbor.example.com/project-a/app")[0] == Credentials(
        username="robot-a", password="pw-a-1"
    )
    assert keyring.lookup("harbor.example.com/project-b/app")[0] == Credentials(
        username="robot-all", password="pw-all-1"
    )
    assert keyring.lookup("eu.gcr.io/p/i") == [Credentials(identity_token="id-tok-gcr")]
    assert keyring.lookup("ghcr.io/o/i") == [Credentials(registry_token="reg-tok-gh")]
    assert keyring.lookup("quay.io/o/i") == []


def test_bad_entries_ignored_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        keyring = imgpkg_env_keyring(
            {
                "IMGPKG_REGISTRY_USERNAME_3": "nohost",
                "IMGPKG_REGISTRY_PASSWORD_3": "pw-nohost",
                "IMGPKG_REGISTRY_COLOR": "blue",
                "IMGPKG_REGISTRY_AZURE_CR_CONFIG": "/x",
                "UNRELATED": "1",
            }
        )
    assert len(keyring) == 0
    assert "IMGPKG_REGISTRY_HOSTNAME_3" in caplog.text and "IMGPKG_REGISTRY_COLOR" in caplog.text
    assert "pw-nohost" not in caplog.text and "AZURE" not in caplog.text


def test_docker_hub_hostnames(env: dict[str, str]) -> None:
    for host in ("docker.io", "index.docker.io", "https://index.docker.io/v1/"):
        env.update(
            {
                "IMGPKG_REGISTRY_HOSTNAME": host,
                "IMGPKG_REGISTRY_USERNAME": "hub",
                "IMGPKG_REGISTRY_PASSWORD": "pw-hub-1",
            }
        )
        store = CredentialStore.from_settings(creds=None, authfile=None, pull_secret=None, env=env)
        assert store.lookup("docker.io", "library/busybox") == Credentials(
            username="hub", password="pw-hub-1"
        ), host
