"""Uploads against a real registry (token auth): monolithic, chunked, mount, manifest PUT read back."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from imgextract import oci
from imgextract.auth.credentials import Credentials
from imgextract.registry import RegistryClient, TransportSettings

pytest.importorskip("regfix.pytest_plugin")
regfix_oci = pytest.importorskip("regfix.oci")

pytestmark = [pytest.mark.registry, pytest.mark.oracle]

FAST = TransportSettings(retries=2, retry_base_delay=0.0, retry_max_delay=0.0, timeout=20.0)
BLOB = os.urandom(300 * 1024)
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()


class _Creds:
    def __init__(self, user: str, password: str) -> None:
        self.creds = Credentials(username=user, password=password)

    def lookup(self, registry: str, repository: str) -> Credentials | None:
        return self.creds


ALICE = _Creds("alice", "alice-secret")
BOB = _Creds("bob", "bob-secret")


@pytest.fixture
def env(token_registry: Any, push_image: Callable[..., Any]) -> tuple[Any, Any, Any]:
    """Token registry with one image at rc/src:v1 and private/rc-app:v1 (pushed by alice)."""
    image = regfix_oci.ImageSpec(
        layers=[[regfix_oci.File("x/one.txt", "one")], [regfix_oci.File("x/two.bin", os.urandom(70000))]],
        labels={"k": "v"},
    )
    pushed = push_image(token_registry, image, "rc/src", creds=("alice", "alice-secret"))
    push_image(token_registry, pushed.layout, "private/rc-app", creds=("alice", "alice-secret"))
    return token_registry, token_registry.token_server, pushed.layout


def _read(client: RegistryClient, repository: str, digest: str) -> bytes:
    with client.open_blob(repository, digest) as stream:
        return stream.read()


def test_monolithic_upload(env: tuple[Any, Any, Any]) -> None:
    reg, _, _ = env
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        assert not client.blob_exists("rc/up-mono", BLOB_DIGEST)
        client.upload_blob("rc/up-mono", io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
        assert client.blob_exists("rc/up-mono", BLOB_DIGEST)
        assert _read(client, "rc/up-mono", BLOB_DIGEST) == BLOB


def test_chunked_upload(env: tuple[Any, Any, Any]) -> None:
    reg, _, _ = env
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        client.upload_blob("rc/up-chunked", io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB), chunk_size=64 * 1024)
        assert _read(client, "rc/up-chunked", BLOB_DIGEST) == BLOB


def test_wrong_digest_upload_rejected_by_registry(env: tuple[Any, Any, Any]) -> None:
    from imgextract.errors import IntegrityError

    reg, _, _ = env
    wrong = "sha256:" + "5" * 64
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        with pytest.raises(IntegrityError):
            client.upload_blob("rc/up-bad", io.BytesIO(BLOB), wrong, len(BLOB))
        assert not client.blob_exists("rc/up-bad", wrong)


def test_mount(env: tuple[Any, Any, Any]) -> None:
    reg, ts, layout = env
    layer = layout.image.layers[1]
    ts.reset()
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        assert client.mount_blob("rc/dst", layer.digest, "rc/src") is True
        assert client.blob_exists("rc/dst", layer.digest)
        assert ("repository:rc/dst:pull,push", "repository:rc/src:pull") in [r.scopes for r in ts.requests]
        # Nothing to mount: the registry answers 202 and we report False (caller uploads instead).
        assert client.mount_blob("rc/dst", BLOB_DIGEST, "rc/nowhere") is False
        assert not client.blob_exists("rc/dst", BLOB_DIGEST)


def test_mount_without_source_access_falls_back(env: tuple[Any, Any, Any]) -> None:
    reg, _, layout = env
    layer = layout.image.layers[1]
    with RegistryClient(reg.host, FAST, BOB, insecure=True) as client:
        # bob may push bob/* but not read rc/src: the mount is refused, not an error
        assert client.mount_blob("bob/rc-copy", layer.digest, "rc/src") is False
        assert not client.blob_exists("bob/rc-copy", layer.digest)
        # bob may read private/*: mounting from there works
        assert client.mount_blob("bob/rc-copy", layer.digest, "private/rc-app") is True


def test_copy_image_and_put_manifest_read_back(env: tuple[Any, Any, Any]) -> None:
    reg, _, layout = env
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        src = client.get_manifest("rc/src", "v1")
        manifest = oci.parse_manifest(src.raw, src.media_type)
        for desc in (manifest.config, *manifest.layers):
            with client.open_blob("rc/src", desc.digest, size=desc.size) as stream:
                client.upload_blob("rc/copy", stream, desc.digest, desc.size, chunk_size=32 * 1024)
        tag = "sha256-" + src.digest.split(":", 1)[1] + ".imgpkg"
        assert client.put_manifest("rc/copy", tag, src.raw, src.media_type) == layout.digest
        head = client.head_manifest("rc/copy", tag)
        assert head is not None and head.digest == layout.digest
        assert client.get_manifest("rc/copy", layout.digest).raw == src.raw
        assert client.put_manifest("rc/copy", layout.digest, src.raw, src.media_type) == layout.digest
    # Oracle: skopeo reads what we pushed.
    out = subprocess.run(
        [
            "skopeo",
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            "alice:alice-secret",
            f"docker://{reg.host}/rc/copy:{tag}",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert hashlib.sha256(out.stdout).hexdigest() == layout.digest.split(":", 1)[1]
    assert json.loads(out.stdout)["layers"][1]["digest"] == layout.image.layers[1].digest


def test_put_manifest_missing_blob_rejected(env: tuple[Any, Any, Any]) -> None:
    from imgextract.errors import IntegrityError, RegistryError

    reg, _, _ = env
    raw = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_MANIFEST,
            "config": {"mediaType": oci.OCI_CONFIG, "digest": "sha256:" + "6" * 64, "size": 2},
            "layers": [],
        }
    ).encode()
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        with pytest.raises((IntegrityError, RegistryError)) as info:
            client.put_manifest("rc/up-orphan", "v1", raw, oci.OCI_MANIFEST)
        assert "rc/up-orphan:v1" in str(info.value)
