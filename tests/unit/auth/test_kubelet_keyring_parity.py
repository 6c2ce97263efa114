"""Pull-secret key matching against kubelet's ``credentialprovider`` keyring rules.

Rows restated from kubelet ``keyring_test.go`` (``TestUrlsMatch``, ``TestDockerKeyringForGlob``,
``TestKeyringMiss``, ``TestKeyringMissWithDockerHubCredentials``,
``TestKeyringHitWith*DockerHub``, ``TestIsDefaultRegistryMatch``), fed through our pull-secret
reader as a config.json ``auths`` map.
"""

from __future__ import annotations

import base64
import json

import pytest

from imgextract.auth.keyring import is_default_registry_match, urls_match
from imgextract.auth.pullsecret import parse_pull_secret

AUTH = base64.b64encode(b"foo:bar").decode()


def _lookup(key: str, image: str) -> list[tuple[str, str]]:
    secret = json.dumps({"auths": {key: {"email": "foo@bar.baz", "auth": AUTH}}})
    return [(c.username, c.password) for c in parse_pull_secret(secret, "secret").lookup(image)]


@pytest.mark.parametrize(
    ("glob", "target", "expected"),
    [
        ("*.kubernetes.io", "prefix.kubernetes.io", True),
        ("prefix.*.io", "prefix.kubernetes.io", True),
        ("prefix.kubernetes.*", "prefix.kubernetes.io", True),
        ("*-good.kubernetes.io", "prefix-good.kubernetes.io", True),
        ("*.kubernetes.io/blah", "prefix.kubernetes.io/blah", True),
        ("prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", True),
        ("*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah", True),
        ("prefix.*.io:1111/foo", "prefix.kubernetes.io:1111/foo/bar", True),
        ("*.kubernetes.io", "kubernetes.io", False),
        ("*.*.kubernetes.io", "prefix.kubernetes.io", False),
        ("*.*.kubernetes.io", "kubernetes.io", False),
        ("kubernetes.io", "kubernetes.com", False),
        ("k*.io", "quay.io", False),
        ("*.kubernetes.io:1234/blah", "prefix.kubernetes.io:1111/blah", False),
        ("prefix.*.io/foo", "prefix.kubernetes.io:1111/foo/bar", False),
    ],
)
def test_urls_match(glob: str, target: str, expected: bool) -> None:
    """kubelet ``URLsMatch`` (``TestUrlsMatch``)."""
    assert urls_match(glob, target) is expected


@pytest.mark.parametrize(
    ("key", "target"),
    [
        ("https://hello.kubernetes.io", "hello.kubernetes.io"),
        ("https://*.docker.io", "prefix.docker.io"),
        ("https://prefix.*.io", "prefix.docker.io"),
        ("https://prefix.docker.*", "prefix.docker.io"),
        ("https://*.docker.io/path", "prefix.docker.io/path"),
        ("https://prefix.*.io/path", "prefix.docker.io/path/subpath"),
        ("https://prefix.docker.*/path", "prefix.docker.io/path"),
        ("https://*.docker.io:8888", "prefix.docker.io:8888"),
        ("https://prefix.*.io:8888", "prefix.docker.io:8888"),
        ("https://prefix.docker.*:8888", "prefix.docker.io:8888"),
        ("https://*.docker.io/path:1111", "prefix.docker.io/path:1111"),
        ("https://*.docker.io/v1/", "prefix.docker.io/path:1111"),
        ("https://*.docker.io/v2/", "prefix.docker.io/path:1111"),
        ("https://prefix.docker.*/path:1111", "prefix.docker.io/path:1111"),
        ("prefix.docker.io:1111", "prefix.docker.io:1111/path"),
        ("*.docker.io:1111", "prefix.docker.io:1111/path"),
    ],
)
def test_keyring_for_glob(key: str, target: str) -> None:
    """kubelet ``BasicDockerKeyring.Lookup`` (``TestDockerKeyringForGlob``)."""
    assert _lookup(key, target + "/foo/bar") == [("foo", "bar")]


@pytest.mark.parametrize(
    ("key", "image"),
    [
        ("https://hello.kubernetes.io", "world.mesos.org/foo/bar"),
        ("https://*.docker.com", "prefix.docker.io/foo/bar"),
        ("https://suffix.*.io", "prefix.docker.io/foo/bar"),
        ("https://prefix.docker.c*", "prefix.docker.io/foo/bar"),
        ("https://prefix.*.io/path:1111", "prefix.docker.io/path/subpath:1111/foo/bar"),
        ("suffix.*.io", "prefix.docker.io/foo/bar"),
        ("https://index.docker.io/v1/", "world.mesos.org/foo/bar"),
    ],
)
def test_keyring_miss(key: str, image: str) -> None:
    """kubelet ``TestKeyringMiss`` and ``TestKeyringMissWithDockerHubCredentials``."""
    assert _lookup(key, image) == []


@pytest.mark.parametrize(
    "image",
    [
        "google/docker-registry",
        "jenkins",
        "index.docker.io/google/docker-registry",
        "docker.io/library/jenkins",
    ],
)
def test_keyring_hit_with_docker_hub_credentials(image: str) -> None:
    """kubelet ``TestKeyringHitWithUnqualifiedDockerHub`` / ``...UnqualifiedLibraryDockerHub`` /
    ``...QualifiedDockerHub``: a ``https://index.docker.io/v1/`` key serves Docker Hub images, once."""
    assert _lookup("https://index.docker.io/v1/", image) == [("foo", "bar")]


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("foo/bar", True),
        ("docker.io/foo/bar", True),
        ("index.docker.io/foo/bar", True),
        ("foo", True),
        ("", False),
        ("registry.tld/foo/bar", False),
        ("registry:5000/foo/bar", False),
        ("myhostdocker.io/foo/bar", False),
    ],
)
def test_is_default_registry_match(image: str, expected: bool) -> None:
    """kubelet ``isDefaultRegistryMatch`` (``TestIsDefaultRegistryMatch``)."""
    assert is_default_registry_match(image) is expected
