"""RegistryClient under injected faults (regfix FaultProxy in front of a real registry):
cross-host redirects, 429 + Retry-After, connections dropped mid-blob, corrupted bytes, connection reuse."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

import pytest

from imgextract import oci
from imgextract.auth.credentials import Credentials
from imgextract.errors import IntegrityError, RegistryError
from imgextract.registry import RegistryClient, TransportSettings

pytest.importorskip("regfix.pytest_plugin")
regfix_oci = pytest.importorskip("regfix.oci")

pytestmark = [pytest.mark.registry, pytest.mark.oracle]

IMAGE = regfix_oci.ImageSpec(
    layers=[
        [regfix_oci.File("a/small.txt", "small")],
        regfix_oci.Layer([regfix_oci.File("a/big.bin", os.urandom(200_000))], compression="none"),
    ]
)


class _Creds:
    def __init__(self, user: str, password: str) -> None:
        self.creds = Credentials(username=user, password=password)

    def lookup(self, registry: str, repository: str) -> Credentials | None:
        return self.creds


def _client(host: str, creds: Any = None, *, sleeps: list[float] | None = None, **kw: Any) -> RegistryClient:
    settings = TransportSettings(
        **{"retries": 3, "retry_base_delay": 0.0, "retry_max_delay": 60.0, "timeout": 20.0, **kw}
    )
    return RegistryClient(
        host, settings, creds, insecure=True, sleep=(sleeps.append if sleeps is not None else lambda s: None)
    )


def _sha(client: RegistryClient, repository: str, desc: oci.Descriptor) -> str:
    h = hashlib.sha256()
    with client.open_blob(repository, desc.digest, size=desc.size) as stream:
        while chunk := stream.read(65536):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _layers(client: RegistryClient, repository: str) -> oci.Manifest:
    got = client.get_manifest(repository, "v1")
    return oci.parse_manifest(got.raw, got.media_type)


def test_cross_host_redirect_strips_authorization(
    htpasswd_registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    user, password = next(iter(htpasswd_registry.users.items()))
    pushed = push_image(htpasswd_registry, IMAGE, "faults/redirect", creds=(user, password))
    fp = fault_proxy(htpasswd_registry)
    fp.plan.redirect_blobs = True
    with _client(fp.host, _Creds(user, password)) as client:
        manifest = _layers(client, "faults/redirect")
        for layer in manifest.layers:
            assert _sha(client, "faults/redirect", layer) == layer.digest
    redirected = [r for r in fp.requests if r.fault == "redirect"]
    assert len(redirected) == len(pushed.layout.image.layers)
    assert all("Authorization" in r.headers for r in redirected)  # the registry itself got credentials
    assert len(fp.redirect_requests) == len(redirected)
    for seen in fp.redirect_requests:  # ... the other host never did
        assert not any(k.lower() == "authorization" for k in seen)


def test_429_retry_after_honoured(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    pushed = push_image(registry, IMAGE, "faults/ratelimit")
    fp = fault_proxy(registry)
    fp.plan.rate_limit_times = 2
    fp.plan.rate_limit_path = r"/manifests/"
    fp.plan.retry_after = "7"
    sleeps: list[float] = []
    with _client(fp.host, sleeps=sleeps) as client:
        assert client.get_manifest("faults/ratelimit", "v1").digest == pushed.digest
    assert sleeps == [7.0, 7.0]
    assert [r.status for r in fp.requests if "/manifests/" in r.path] == [429, 429, 200]


def test_429_beyond_retries_is_registry_error(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    push_image(registry, IMAGE, "faults/ratelimit2")
    fp = fault_proxy(registry)
    fp.plan.rate_limit_times = 100
    fp.plan.rate_limit_path = r"/manifests/"
    with _client(fp.host, retries=2) as client, pytest.raises(RegistryError, match="429"):
        client.get_manifest("faults/ratelimit2", "v1")


def test_connection_dropped_mid_blob_is_resumed_with_range(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    push_image(registry, IMAGE, "faults/drop")
    fp = fault_proxy(registry)
    with _client(fp.host) as client:
        manifest = _layers(client, "faults/drop")
        big = max(manifest.layers, key=lambda d: d.size)
        fp.plan.drop_blob_after = 50_000
        fp.plan.drop_times = 1
        assert _sha(client, "faults/drop", big) == big.digest
    blob_gets = [r for r in fp.requests if r.path.endswith(big.digest)]
    assert [r.fault for r in blob_gets] == ["drop", None]
    assert blob_gets[1].headers.get("Range") == "bytes=50000-"


def test_corrupted_blob_detected(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    pushed = push_image(registry, IMAGE, "faults/corrupt")
    fp = fault_proxy(registry)
    fp.plan.corrupt_blobs = {pushed.layout.image.config_digest}
    with _client(fp.host) as client:
        manifest = _layers(client, "faults/corrupt")
        with pytest.raises(IntegrityError, match="digest mismatch"):
            client.read_blob("faults/corrupt", manifest.config.digest, limit=1 << 20)


def test_one_session_reuses_connections(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    push_image(registry, IMAGE, "faults/reuse")
    fp = fault_proxy(registry)
    with _client(fp.host) as client:
        for _ in range(3):
            manifest = _layers(client, "faults/reuse")
            for layer in manifest.layers:
                assert _sha(client, "faults/reuse", layer) == layer.digest
    assert len(fp.requests) >= 10
    assert fp.connections <= 2
