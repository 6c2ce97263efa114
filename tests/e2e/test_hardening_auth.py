"""Credentials under hostile conditions, through the CLI against real registries: short passwords
echoed back by a registry, non-latin-1 passwords on token registries, 429 at the token endpoint."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix import bundles
from regfix.pytest_plugin import TOKEN_USER, PushedImage

from tests.e2e.cli import Run, run_cli

pytestmark = pytest.mark.registry

SMALL = bundles.registry_v1_bundle(large_crd=False)


def _pull(home: Path, ref: str, host: str, *extra: str) -> Run:
    return run_cli(
        "pull", ref, "-o", str(home / "out"), "--insecure-registry", host, "--force", *extra, home=home
    )


def test_three_character_password_echoed_by_the_registry_is_redacted(
    registry_factory: Callable[..., Any],
    push_image: Callable[..., PushedImage],
    fault_proxy: Callable[..., Any],
    tmp_path: Path,
) -> None:
    reg = registry_factory(htpasswd={"carol": "abc"})
    push_image(reg, SMALL, "short/pw", creds=("carol", "abc"))
    fp = fault_proxy(reg)
    fp.plan.echo_authorization = True
    r = _pull(tmp_path, f"{fp.host}/short/pw:v1", fp.host, "--creds", "carol:abc", "-v", "-v")
    assert r.code != 0
    assert any(s.fault == "echo" for s in fp.requests)  # the registry did echo the header
    assert "not accepted here" in r.stderr
    text = r.stdout + r.stderr
    assert base64.b64encode(b"carol:abc").decode() not in text
    assert "carol:abc" not in text


def test_non_latin1_password_on_a_token_registry(
    token_registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    push_image(token_registry, SMALL, "utf8/bundle", creds=TOKEN_USER)
    token_registry.token_server.reset()
    password = "pässwörd-✓-密码"
    token_registry.token_server.policy.users["zoë"] = password
    token_registry.token_server.policy.grants["zoë"] = {"*": ("pull",)}
    r = _pull(
        tmp_path, f"{token_registry.host}/utf8/bundle:v1", token_registry.host, "--creds", f"zoë:{password}"
    )
    assert r.code == 0, r.stderr
    assert (tmp_path / "out" / "manifests").is_dir()
    assert password not in r.stdout + r.stderr
    seen = [q for q in token_registry.token_server.requests if q.status == 200]
    assert seen and all(q.user == "zoë" for q in seen)


def test_429_from_the_token_endpoint_is_retried(
    token_registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    push_image(token_registry, SMALL, "ratelimited/bundle", creds=TOKEN_USER)
    ts = token_registry.token_server
    ts.reset()
    ts.fail_next.extend([429, 429])
    r = _pull(
        tmp_path,
        f"{token_registry.host}/ratelimited/bundle:v1",
        token_registry.host,
        "--creds",
        "alice:alice-secret",
    )
    assert r.code == 0, r.stderr
    statuses = [q.status for q in ts.requests]
    assert statuses[:3] == [429, 429, 200], statuses
