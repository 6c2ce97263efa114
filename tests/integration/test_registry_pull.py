"""RegistryClient against a real CNCF distribution registry: manifests, indexes, blobs, TLS, insecure.

Registries and pushes come from the regfix pytest plugin (session registries, skopeo pushes).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgextract import oci
from imgextract.errors import NotFoundError, UnreachableError
from imgextract.registry import RegistryClient, TransportSettings

pytest.importorskip("regfix.pytest_plugin")
regfix_oci = pytest.importorskip("regfix.oci")

pytestmark = [pytest.mark.registry, pytest.mark.oracle]

FAST = {"retries": 2, "retry_base_delay": 0.0, "retry_max_delay": 0.0, "timeout": 20.0}
BIG = bytes(range(256)) * 4096


def _image(name: str, arch: str = "amd64", variant: str | None = None, media: str = "oci") -> Any:
    return regfix_oci.ImageSpec(
        layers=[
            regfix_oci.Layer([regfix_oci.File(f"{name}/{arch}.txt", f"{name} on {arch}\n")]),
            regfix_oci.Layer(
                [regfix_oci.File("big.bin", BIG)], compression="zstd" if media == "oci" else "gzip"
            ),
        ],
        labels={"test.name": name},
        architecture=arch,
        variant=variant,
        media=media,
    )


def _client(host: str, *, insecure: bool = True, **kw: Any) -> RegistryClient:
    return RegistryClient(host, TransportSettings(**{**FAST, **kw}), None, insecure=insecure)


def test_manifest_by_tag_and_digest(registry: Any, push_image: Callable[..., Any]) -> None:
    pushed = push_image(registry, _image("single"), "pull/single")
    with _client(registry.host) as client:
        by_tag = client.get_manifest("pull/single", "v1")
        assert (by_tag.digest, by_tag.media_type) == (pushed.digest, oci.OCI_MANIFEST)
        by_digest = client.get_manifest("pull/single", pushed.digest)
        assert by_digest.raw == by_tag.raw
        assert client.head_manifest("pull/single", "v1") == oci.Descriptor(
            media_type=oci.OCI_MANIFEST, digest=pushed.digest, size=len(by_tag.raw)
        )


def test_index_and_platform_selection(registry: Any, push_image: Callable[..., Any]) -> None:
    pushed = push_image(
        registry,
        [_image("multi", "amd64"), _image("multi", "arm64", "v8"), _image("multi", "arm", "v7")],
        "pull/multi",
    )
    with _client(registry.host) as client:
        top = client.get_manifest("pull/multi", "v1")
        assert (top.media_type, top.digest) == (oci.OCI_INDEX, pushed.digest)
        index = oci.parse_index(top.raw, top.media_type)
        chosen = oci.select_platform(index, oci.Platform.parse("linux/arm64"))
        arm64 = next(im for im in pushed.layout.images if im.platform["architecture"] == "arm64")
        assert chosen.digest == arm64.digest
        manifest = oci.parse_manifest(client.get_manifest("pull/multi", chosen.digest).raw)
        config = oci.parse_config(client.read_blob("pull/multi", manifest.config.digest, limit=1 << 20))
        assert (config.architecture, config.variant, dict(config.labels)) == (
            "arm64",
            "v8",
            {"test.name": "multi"},
        )
        with pytest.raises(NotFoundError, match="linux/amd64, linux/arm/v7, linux/arm64/v8"):
            oci.select_platform(index, oci.Platform.parse("linux/s390x"))


def test_docker_manifest_list(registry: Any, push_image: Callable[..., Any]) -> None:
    pushed = push_image(
        registry, [_image("d", media="docker"), _image("d", "ppc64le", media="docker")], "pull/docker"
    )
    with _client(registry.host) as client:
        top = client.get_manifest("pull/docker", "v1")
        assert (top.media_type, top.digest) == (oci.DOCKER_MANIFEST_LIST, pushed.digest)
        chosen = oci.select_platform(
            oci.parse_index(top.raw, top.media_type), oci.Platform.parse("linux/ppc64le")
        )
        got = client.get_manifest("pull/docker", chosen.digest)
        manifest = oci.parse_manifest(got.raw, got.media_type)
        assert (manifest.media_type, manifest.config.media_type) == (oci.DOCKER_MANIFEST, oci.DOCKER_CONFIG)


def test_blob_streaming_and_range(registry: Any, push_image: Callable[..., Any]) -> None:
    pushed = push_image(registry, _image("blobs"), "pull/blobs")
    with _client(registry.host) as client:
        for layer in pushed.layout.image.layers:
            h = hashlib.sha256()
            total = 0
            with client.open_blob("pull/blobs", layer.digest, size=layer.size) as stream:
                while chunk := stream.read(4096):
                    h.update(chunk)
                    total += len(chunk)
            assert ("sha256:" + h.hexdigest(), total) == (layer.digest, layer.size)
        big = pushed.layout.image.layers[1]
        with client.open_blob("pull/blobs", big.digest, size=big.size, offset=100) as stream:
            tail = stream.read()
        with client.open_blob("pull/blobs", big.digest) as stream:
            assert stream.read()[100:] == tail
        assert client.blob_exists("pull/blobs", big.digest)
        assert not client.blob_exists("pull/blobs", "sha256:" + "0" * 64)


def test_not_found(registry: Any, push_image: Callable[..., Any]) -> None:
    push_image(registry, _image("nf"), "pull/nf")
    with _client(registry.host) as client:
        with pytest.raises(NotFoundError) as info:
            client.get_manifest("pull/nf", "nope")
        assert f"{registry.host}/pull/nf:nope" in str(info.value)
        with pytest.raises(NotFoundError):
            client.get_manifest("pull/absent", "v1")
        assert client.head_manifest("pull/nf", "nope") is None
        with pytest.raises(NotFoundError), client.open_blob("pull/nf", "sha256:" + "1" * 64) as s:
            s.read()


def test_plain_http_only_when_insecure(registry: Any, push_image: Callable[..., Any]) -> None:
    push_image(registry, _image("http"), "pull/http")
    with _client(registry.host, insecure=False) as client, pytest.raises(UnreachableError):
        client.get_manifest("pull/http", "v1")
    with _client(registry.host, insecure=False, insecure_registries=frozenset({registry.host})) as client:
        assert client.ping() == f"http://{registry.host}"
        assert client.get_manifest("pull/http", "v1")


def test_tls_with_ca_file(tls_registry: Any, push_image: Callable[..., Any]) -> None:
    pushed = push_image(tls_registry, _image("tls"), "tls/app")
    with _client(tls_registry.host, insecure=False, ca_file=tls_registry.ca_file) as client:
        assert client.ping() == f"https://{tls_registry.host}"
        assert client.get_manifest("tls/app", "v1").digest == pushed.digest


def test_tls_with_certs_d(tls_registry: Any, push_image: Callable[..., Any], tmp_path: Path) -> None:
    pushed = push_image(tls_registry, _image("tls-d"), "tls/certsd")
    host_dir = tmp_path / "certs.d" / tls_registry.host
    host_dir.mkdir(parents=True)
    shutil.copy(tls_registry.ca_file, host_dir / "registry-ca.crt")
    with _client(tls_registry.host, insecure=False, cert_dir=tmp_path / "certs.d") as client:
        assert client.get_manifest("tls/certsd", "v1").digest == pushed.digest


def test_tls_untrusted_is_unreachable_unless_insecure(
    tls_registry: Any, push_image: Callable[..., Any]
) -> None:
    pushed = push_image(tls_registry, _image("tls-u"), "tls/untrusted")
    with _client(tls_registry.host, insecure=False) as client, pytest.raises(UnreachableError, match="TLS"):
        client.get_manifest("tls/untrusted", "v1")
    with _client(tls_registry.host, insecure=True) as client:
        assert client.ping() == f"https://{tls_registry.host}"  # unverified TLS, not a downgrade to HTTP
        assert client.get_manifest("tls/untrusted", "v1").digest == pushed.digest


def _tls_files(tmp_path: Path, *names: str) -> Any:
    """A fresh CA (trustme) and a server certificate for ``names``, written as regfix's TLSFiles."""
    import trustme
    from regfix.registry import TLSFiles

    ca = trustme.CA()
    cert = ca.issue_cert(*names)
    files = TLSFiles(tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server.key")
    ca.cert_pem.write_to_path(str(files.ca_file))
    cert.private_key_pem.write_to_path(str(files.key_file))
    files.cert_file.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    return files


def test_tls_checks_the_certificate_against_the_name_in_the_reference(tmp_path: Path) -> None:
    # a certificate for 127.0.0.1 only: the registry answers as 127.0.0.1, and the same server
    # reached as localhost is refused (the name the TLS layer checks is the reference's host)
    from regfix.registry import start_registry

    files = _tls_files(tmp_path, "127.0.0.1")
    with start_registry(tmp_path / "registry", tls=files) as reg:
        port = reg.host.rsplit(":", 1)[1]
        with _client(f"127.0.0.1:{port}", insecure=False, ca_file=files.ca_file) as client:
            assert client.ping() == f"https://127.0.0.1:{port}"
        with (
            _client(f"localhost:{port}", insecure=False, ca_file=files.ca_file) as client,
            pytest.raises(UnreachableError, match="TLS"),
        ):
            client.ping()


def test_tls_checks_a_host_name_for_names_given_as_bytes(tmp_path: Path) -> None:
    # ASCII host names reach the TLS layer as bytes: the certificate's DNS name holds for the
    # name in any case (as DNS names compare); the refusal of a name the certificate does not
    # hold is the test above (localhost against an address-only certificate)
    from regfix.registry import start_registry

    files = _tls_files(tmp_path, "127.0.0.1", "localhost")
    with start_registry(tmp_path / "registry", tls=files) as reg:
        port = reg.host.rsplit(":", 1)[1]
        for name in ("localhost", "LocalHost"):
            with _client(f"{name}:{port}", insecure=False, ca_file=files.ca_file) as client:
                assert client.ping() == f"https://{name}:{port}"
