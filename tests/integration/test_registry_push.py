"""Uploads against a real registry (token auth): monolithic, chunked, mount, manifest PUT read back."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imgextract import manifests as m
from imgextract.auth.credentials import Credentials
from imgextract.registry import RegistryClient, TransportSettings

regfix_oci = pytest.importorskip("regfix.oci")
regfix_registry = pytest.importorskip("regfix.registry")
regfix_push = pytest.importorskip("regfix.push")
regfix_token = pytest.importorskip("regfix.tokenserver")

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


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Any]]:
    tmp = tmp_path_factory.mktemp("push")
    with regfix_token.TokenServer(tmp / "ts") as ts, regfix_registry.start_registry(tmp / "reg", token=ts) as reg:
        layout = regfix_oci.write_layout(tmp / "img", regfix_oci.ImageSpec(
            layers=[[regfix_oci.File("x/one.txt", "one")], [regfix_oci.File("x/two.bin", os.urandom(70000))]],
            labels={"k": "v"}), tag="v1")
        regfix_push.push(layout, reg, "src/app", "v1", creds=("alice", "alice-secret"))
        regfix_push.push(layout, reg, "private/app", "v1", creds=("alice", "alice-secret"))
        yield reg, ts, layout


def _read(client: RegistryClient, repository: str, digest: str) -> bytes:
    with client.open_blob(repository, digest) as stream:
        return stream.read()


def test_monolithic_upload(env: tuple[Any, Any, Any]) -> None:
    reg, _, _ = env
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        assert not client.blob_exists("up/mono", BLOB_DIGEST)
        client.upload_blob("up/mono", io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB))
        assert client.blob_exists("up/mono", BLOB_DIGEST)
        assert _read(client, "up/mono", BLOB_DIGEST) == BLOB


def test_chunked_upload(env: tuple[Any, Any, Any]) -> None:
    reg, _, _ = env
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        client.upload_blob("up/chunked", io.BytesIO(BLOB), BLOB_DIGEST, len(BLOB), chunk_size=64 * 1024)
        assert _read(client, "up/chunked", BLOB_DIGEST) == BLOB


def test_wrong_digest_upload_rejected_by_registry(env: tuple[Any, Any, Any]) -> None:
    from imgextract.errors import IntegrityError

    reg, _, _ = env
    wrong = "sha256:" + "5" * 64
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        with pytest.raises(IntegrityError):
            client.upload_blob("up/bad", io.BytesIO(BLOB), wrong, len(BLOB))
        assert not client.blob_exists("up/bad", wrong)


def test_mount(env: tuple[Any, Any, Any]) -> None:
    reg, ts, layout = env
    layer = layout.image.layers[1]
    ts.reset()
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        assert client.mount_blob("dst/app", layer.digest, "src/app") is True
        assert client.blob_exists("dst/app", layer.digest)
        assert ("repository:dst/app:pull,push", "repository:src/app:pull") in [r.scopes for r in ts.requests]
        # Nothing to mount: the registry answers 202 and we report False (caller uploads instead).
        assert client.mount_blob("dst/app", BLOB_DIGEST, "nowhere/app") is False
        assert not client.blob_exists("dst/app", BLOB_DIGEST)


def test_mount_without_source_access_falls_back(env: tuple[Any, Any, Any]) -> None:
    reg, _, layout = env
    layer = layout.image.layers[1]
    with RegistryClient(reg.host, FAST, BOB, insecure=True) as client:
        # bob may push bob/* but not read src/app: the mount is refused, not an error
        assert client.mount_blob("bob/copy", layer.digest, "src/app") is False
        assert not client.blob_exists("bob/copy", layer.digest)
        # bob may read private/app: mounting from there works
        assert client.mount_blob("bob/copy", layer.digest, "private/app") is True


def test_copy_image_and_put_manifest_read_back(env: tuple[Any, Any, Any]) -> None:
    reg, _, layout = env
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        src = client.get_manifest("src/app", "v1")
        manifest = m.parse_manifest(src.raw, src.media_type)
        for desc in (manifest.config, *manifest.layers):
            with client.open_blob("src/app", desc.digest, size=desc.size) as stream:
                client.upload_blob("copy/app", stream, desc.digest, desc.size, chunk_size=32 * 1024)
        tag = "sha256-" + src.digest.split(":", 1)[1] + ".imgpkg"
        assert client.put_manifest("copy/app", tag, src.raw, src.media_type) == layout.digest
        head = client.head_manifest("copy/app", tag)
        assert head is not None and head.digest == layout.digest
        assert client.get_manifest("copy/app", layout.digest).raw == src.raw
        assert client.put_manifest("copy/app", layout.digest, src.raw, src.media_type) == layout.digest
    # Oracle: skopeo reads what we pushed.
    out = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", "--creds", "alice:alice-secret",
                          f"docker://{reg.host}/copy/app:{tag}"], capture_output=True, timeout=60, check=True)
    assert hashlib.sha256(out.stdout).hexdigest() == layout.digest.split(":", 1)[1]
    assert json.loads(out.stdout)["layers"][1]["digest"] == layout.image.layers[1].digest


def test_put_manifest_missing_blob_rejected(env: tuple[Any, Any, Any], tmp_path: Path) -> None:
    from imgextract.errors import IntegrityError, RegistryError

    reg, _, _ = env
    raw = json.dumps({"schemaVersion": 2, "mediaType": m.OCI_MANIFEST,
                      "config": {"mediaType": m.OCI_CONFIG, "digest": "sha256:" + "6" * 64, "size": 2},
                      "layers": []}).encode()
    with RegistryClient(reg.host, FAST, ALICE, insecure=True) as client:
        with pytest.raises((IntegrityError, RegistryError)) as info:
            client.put_manifest("up/orphan", "v1", raw, m.OCI_MANIFEST)
        assert "up/orphan:v1" in str(info.value)
