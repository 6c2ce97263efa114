"""RegistryClient manifest operations against the in-process fake HTTP layer."""

from __future__ import annotations

import hashlib
import json

import pytest

from imgextract import oci
from imgextract.errors import IntegrityError, LimitExceeded, NotFoundError, UnreachableError
from imgextract.registry.exceptions import TLSFailed
from imgextract.registry.response import Request
from tests.unit.registry.fakehttp import Reply, fake_client

MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": {"mediaType": oci.OCI_CONFIG, "digest": "sha256:" + "a" * 64, "size": 2},
        "layers": [],
    }
).encode()
DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


def _serve(
    body: bytes = MANIFEST,
    content_type: str = oci.OCI_MANIFEST,
    status: int = 200,
    extra: dict[str, str] | None = None,
):
    def handler(req: Request) -> Reply:
        if req.url and req.url.endswith("/v2/"):
            return Reply(200)
        headers = {"Content-Type": content_type, **(extra or {})}
        return Reply(status, body if req.method != "HEAD" else b"", headers)

    return handler


def test_manifest_by_tag_sends_full_accept_and_ignores_params() -> None:
    client, adapter = fake_client(_serve(content_type=oci.OCI_MANIFEST + "; charset=utf-8"))
    got = client.get_manifest("ns/app", "v1")
    assert got.raw == MANIFEST and got.media_type == oci.OCI_MANIFEST and got.digest == DIGEST
    req = adapter.requests[-1]
    assert req.url == "https://reg.example/v2/ns/app/manifests/v1"
    accept = req.headers["Accept"]
    for media_type in (
        oci.OCI_MANIFEST,
        oci.OCI_INDEX,
        oci.DOCKER_MANIFEST,
        oci.DOCKER_MANIFEST_LIST,
        oci.DOCKER_SCHEMA1,
        oci.DOCKER_SCHEMA1_SIGNED,
    ):
        assert media_type in accept


def test_tag_digest_is_computed_not_taken_from_header() -> None:
    client, _ = fake_client(_serve(extra={"Docker-Content-Digest": "sha256:" + "f" * 64}))
    assert client.get_manifest("ns/app", "v1").digest == DIGEST


def test_manifest_by_digest_verified() -> None:
    client, _ = fake_client(_serve())
    assert client.get_manifest("ns/app", DIGEST).digest == DIGEST
    wrong = "sha256:" + "0" * 64
    with pytest.raises(IntegrityError, match="digest mismatch") as info:
        client.get_manifest("ns/app", wrong)
    assert f"reg.example/ns/app@{wrong}" in str(info.value)


def test_schema1_rejected() -> None:
    body = json.dumps({"schemaVersion": 1, "name": "ns/app", "tag": "v1", "fsLayers": []}).encode()
    client, _ = fake_client(_serve(body, oci.DOCKER_SCHEMA1_SIGNED))
    with pytest.raises(IntegrityError, match="schema1 manifests are not supported"):
        client.get_manifest("ns/app", "v1")
    client, _ = fake_client(_serve(body, "application/json"))
    with pytest.raises(IntegrityError, match="schema1"):
        client.get_manifest("ns/app", "v1")


def test_manifest_size_cap() -> None:
    big = b"{" + b" " * (4 * 1024 * 1024) + b"}"
    client, _ = fake_client(_serve(big))
    with pytest.raises(LimitExceeded):
        client.get_manifest("ns/app", "v1")


def test_manifest_not_found() -> None:
    body = json.dumps({"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}).encode()
    client, _ = fake_client(_serve(body, "application/json", status=404))
    with pytest.raises(NotFoundError, match="manifest not found") as info:
        client.get_manifest("ns/app", "v1")
    assert "reg.example/ns/app:v1" in str(info.value)
    assert client.head_manifest("ns/app", "v1") is None


def test_head_manifest_descriptor() -> None:
    client, adapter = fake_client(
        _serve(extra={"Docker-Content-Digest": DIGEST, "Content-Length": str(len(MANIFEST))})
    )
    desc = client.head_manifest("ns/app", "v1")
    assert desc == oci.Descriptor(media_type=oci.OCI_MANIFEST, digest=DIGEST, size=len(MANIFEST))
    assert adapter.requests[-1].method == "HEAD"


def test_head_without_digest_header_falls_back_to_get() -> None:
    client, adapter = fake_client(_serve())
    desc = client.head_manifest("ns/app", "v1")
    assert desc is not None and desc.digest == DIGEST
    assert [r.method for r in adapter.requests[1:]] == ["HEAD", "GET"]


def test_put_manifest_checks_reported_digest() -> None:
    def handler(req: Request) -> Reply:
        if req.url and req.url.endswith("/v2/"):
            return Reply(200)
        return Reply(201, headers={"Docker-Content-Digest": DIGEST})

    client, adapter = fake_client(handler)
    assert client.put_manifest("ns/app", "v1", MANIFEST, oci.OCI_MANIFEST) == DIGEST
    put = adapter.requests[-1]
    assert put.method == "PUT" and put.headers["Content-Type"] == oci.OCI_MANIFEST and put.body == MANIFEST
    with pytest.raises(IntegrityError):
        client.put_manifest("ns/app", "v1", MANIFEST + b" ", oci.OCI_MANIFEST)
    with pytest.raises(IntegrityError):
        client.put_manifest("ns/app", "sha256:" + "0" * 64, MANIFEST, oci.OCI_MANIFEST)


def test_http_fallback_only_when_insecure() -> None:
    def handler(req: Request) -> Reply:
        if req.url and req.url.startswith("https://"):
            return Reply(raise_exc=TLSFailed("wrong version number"))
        return _serve()(req)

    client, adapter = fake_client(handler, registry="localhost:5000")
    with pytest.raises(UnreachableError, match="TLS"):
        client.get_manifest("app", "v1")
    assert all(r.url and r.url.startswith("https://") for r in adapter.requests)

    client, adapter = fake_client(handler, registry="localhost:5000", insecure=True)
    assert client.get_manifest("app", "v1").digest == DIGEST
    assert adapter.requests[-1].url == "http://localhost:5000/v2/app/manifests/v1"


def test_insecure_from_settings_list() -> None:
    client, _ = fake_client(
        _serve(), registry="localhost:5000", insecure_registries=frozenset({"localhost:5000"})
    )
    assert client.insecure


def test_docker_hub_uses_api_host() -> None:
    client, adapter = fake_client(_serve(), registry="docker.io")
    client.get_manifest("library/busybox", "latest")
    assert adapter.requests[-1].url == "https://registry-1.docker.io/v2/library/busybox/manifests/latest"


@pytest.mark.parametrize(
    "digest", ["blake3:" + "c" * 64, "sha256+b64:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"]
)
def test_a_digest_of_an_unsupported_algorithm_is_refused_before_asking(digest: str) -> None:
    """go-digest ``Digest.Validate`` (``ErrDigestUnsupported``): an index entry of an algorithm we
    cannot verify (the spec lets an index hold one) is refused without a request for it."""
    client, adapter = fake_client(_serve())
    with pytest.raises(IntegrityError, match="unsupported digest algorithm"):
        client.get_manifest("ns/app", digest)
    assert not [r for r in adapter.requests if r.url and "/manifests/" in r.url]
