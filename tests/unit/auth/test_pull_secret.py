"""Kubernetes pull secrets: file formats and kubelet's matching rules."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest

from imgextract.auth import Credentials, CredentialStore
from imgextract.auth.keyring import Keyring, normalize_key, urls_match
from imgextract.auth.pullsecret import load_pull_secret, parse_pull_secret
from imgextract.errors import ConfigError


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _entry(user: str, password: str) -> dict[str, str]:
    return {"auth": _b64(f"{user}:{password}")}


GLOB_AUTHS = {
    "auths": {"*.example.com": _entry("wild", "wild-pw-1"), "quay.io/team": _entry("team", "team-pw-1")}
}

DOCKERCONFIGJSON_YAML = f"""
apiVersion: v1
kind: Secret
metadata: {{name: pull, namespace: default}}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: {_b64(json.dumps(GLOB_AUTHS))}
"""


def _only_user(keyring: Keyring, image: str) -> str | None:
    found = keyring.lookup(image)
    return found[0].username if found else None


def test_dockerconfigjson_secret_glob_host_matches_and_other_host_does_not() -> None:
    keyring = parse_pull_secret(DOCKERCONFIGJSON_YAML, "secret.yaml")
    assert _only_user(keyring, "registry.example.com/ns/app") == "wild"
    assert _only_user(keyring, "example.com/ns/app") is None  # label count differs
    assert _only_user(keyring, "a.b.example.com/ns/app") is None  # label count differs
    assert _only_user(keyring, "registry.example.org/ns/app") is None
    assert _only_user(keyring, "registry.example.com:5000/ns/app") is None  # ports must be equal
    assert _only_user(keyring, "quay.io/team/app") == "team"
    assert _only_user(keyring, "quay.io/other/app") is None


def test_string_data_and_json_secret() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": json.dumps(GLOB_AUTHS)},
    }
    assert _only_user(parse_pull_secret(json.dumps(doc), "s.json"), "x.example.com/a") == "wild"


def test_dockercfg_secret_and_bare_config_json() -> None:
    cfg = {"https://quay.io/v1/": _entry("legacy", "legacy-pw")}
    doc = {"kind": "Secret", "type": "kubernetes.io/dockercfg", "data": {".dockercfg": _b64(json.dumps(cfg))}}
    assert _only_user(parse_pull_secret(json.dumps(doc), "s"), "quay.io/ns/app") == "legacy"
    bare = {"auths": {"localhost:5000": {"username": "u", "password": "plain-pw"}}}
    assert parse_pull_secret(json.dumps(bare), "config.json").lookup("localhost:5000/a") == [
        Credentials(username="u", password="plain-pw")
    ]


def test_multiple_documents_and_list() -> None:
    first = {
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": json.dumps({"auths": {"a.io": _entry("a", "pw-a1")}})},
    }
    second = {
        "kind": "List",
        "items": [
            {
                "kind": "Secret",
                "type": "kubernetes.io/dockerconfigjson",
                "stringData": {".dockerconfigjson": json.dumps({"auths": {"b.io": _entry("b", "pw-b1")}})},
            }
        ],
    }
    keyring = parse_pull_secret(json.dumps(first) + "\n---\n" + json.dumps(second), "multi.yaml")
    assert (_only_user(keyring, "a.io/x"), _only_user(keyring, "b.io/x")) == ("a", "b")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "kind: ConfigMap\ndata: {}\n",
        "kind: Secret\ntype: Opaque\ndata: {password: cGFzcw==}\n",
        "kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata: {.dockerconfigjson: '!!!'}\n",
        "kind: Secret\ntype: kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '{nope'}\n",
        "- just\n- a list\n",
        "kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata: []\n",
        "key: [unclosed\n",
    ],
)
def test_not_a_pull_secret_is_config_error(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_pull_secret(text, "bad.yaml")


def test_auths_key_in_any_case_as_kubelet_and_containers_image_decode_it() -> None:
    """kubelet (``secrets.MakeDockerKeyring``) decodes ``.dockerconfigjson`` into
    ``credentialprovider.DockerConfigJSON`` with Go's ``encoding/json``, and containers/image reads a
    config.json the same way: ``auths`` matches in any case, and every key naming it adds to one
    map (a later entry for the same registry wins).  The Secret's own fields stay case-sensitive."""
    a, b_old, b = (json.dumps(_entry(*e)) for e in (("a", "pw-a2"), ("b-old", "pw-b2"), ("b", "pw-b3")))
    payload = f'{{"Auths": {{"a.io": {a}}}, "AUTHS": {{"b.io": {b_old}}}, "auths": {{"b.io": {b}}}}}'
    secret = {
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": _b64(payload)},
    }
    for text in (json.dumps(secret), payload):  # a Secret, and a bare config.json
        keyring = parse_pull_secret(text, "s.json")
        assert _only_user(keyring, "a.io/ns/app") == "a"
        assert _only_user(keyring, "b.io/ns/app") == "b"
    with pytest.raises(ConfigError):  # no auths at all in the Secret's payload: still an error
        parse_pull_secret(
            json.dumps({**secret, "data": {".dockerconfigjson": _b64('{"credHelpers": {}}')}}), "s.json"
        )


def test_malformed_entry_in_secret_skipped(caplog: pytest.LogCaptureFixture) -> None:
    data = {"auths": {"quay.io": {"auth": "%%%"}, "quay.io/ns": _entry("ok", "pw-ok1")}}
    with caplog.at_level(logging.WARNING):
        keyring = parse_pull_secret(json.dumps(data), "s.json")
    assert [c.username for c in keyring.lookup("quay.io/ns/app")] == ["ok"]
    assert "'quay.io'" in caplog.text


def test_all_matches_most_specific_first() -> None:
    data = {
        "auths": {
            "quay.io": _entry("host", "pw-host"),
            "quay.io/ns": _entry("ns", "pw-ns1"),
            "*.io": _entry("glob", "pw-glob"),
            "https://quay.io/v2/": _entry("v2", "pw-v21"),
        }
    }
    keyring = parse_pull_secret(json.dumps(data), "s.json")
    assert [c.username for c in keyring.lookup("quay.io/ns/app")] == ["ns", "host", "v2", "glob"]


def test_docker_hub_default_key() -> None:
    keyring = parse_pull_secret(
        json.dumps({"auths": {"https://index.docker.io/v1/": _entry("hub", "pw-hub")}}), "s"
    )
    assert _only_user(keyring, "docker.io/library/busybox") == "hub"
    assert _only_user(keyring, "quay.io/library/busybox") is None


@pytest.mark.parametrize(
    ("location", "key"),
    [
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("http://quay.io/v2/ns", "quay.io/ns"),
        ("quay.io/ns/repo", "quay.io/ns/repo"),
        ("localhost:5000", "localhost:5000"),
        ("https://quay.io/", "quay.io"),
    ],
)
def test_normalize_key(location: str, key: str) -> None:
    assert normalize_key(location) == key


@pytest.mark.parametrize(
    ("glob", "target", "match"),
    [
        ("*.gcr.io", "us.gcr.io/p/i", True),
        ("*.gcr.io", "gcr.io/p/i", False),
        ("*.*.gcr.io", "a.b.gcr.io/p", True),
        ("gcr.io", "gcr.io/p/i", True),
        ("gcr.io/p", "gcr.io/p/i", True),
        ("gcr.io/p", "gcr.io/q/i", False),
        ("gcr.io:8080", "gcr.io:8080/p", True),
        ("gcr.io:8080", "gcr.io/p", False),
        ("gcr.io", "gcr.io:8080/p", False),
        ("GCR.io", "gcr.io/p", False),
    ],
)
def test_urls_match(glob: str, target: str, match: bool) -> None:
    assert urls_match(glob, target) is match


def test_store_with_pull_secret_file(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "pull-secret.yaml"
    path.write_text(DOCKERCONFIGJSON_YAML)
    store = CredentialStore.from_settings(creds=None, authfile=None, pull_secret=path, env=env)
    assert store.lookup("mirror.example.com", "ns/app") == Credentials(username="wild", password="wild-pw-1")
    assert store.lookup("mirror.example.net", "ns/app") is None
    assert len(load_pull_secret(path)) == 2
