"""RegistryClient against a real CNCF distribution registry: manifests, indexes, blobs, TLS, insecure."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from imgextract import manifests as m
from imgextract.errors import NotFoundError, UnreachableError
from imgextract.registry import RegistryClient, TransportSettings

regfix_oci = pytest.importorskip("regfix.oci")
regfix_registry = pytest.importorskip("regfix.registry")
regfix_push = pytest.importorskip("regfix.push")

pytestmark = [pytest.mark.registry, pytest.mark.oracle]

FAST = {"retries": 2, "retry_base_delay": 0.0, "retry_max_delay": 0.0, "timeout": 20.0}


def _need_tools() -> None:
    if regfix_registry.registry_binary() is None or shutil.which("skopeo") is None:
        pytest.fail("docker-registry and skopeo are required for registry integration tests")


def _image(name: str, arch: str = "amd64", variant: str | None = None) -> object:
    return regfix_oci.ImageSpec(
        layers=[regfix_oci.Layer([regfix_oci.File(f"{name}/{arch}.txt", f"{name} on {arch}\n")]),
                regfix_oci.Layer([regfix_oci.File("big.bin", bytes(range(256)) * 4096)], compression="zstd")],
        labels={"test.name": name}, architecture=arch, variant=variant)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, dict[str, object]]]:
    _need_tools()
    tmp = tmp_path_factory.mktemp("plain")
    with regfix_registry.start_registry(tmp / "reg") as reg:
        single = regfix_oci.write_layout(tmp / "single", _image("single"), tag="v1")
        regfix_push.push(single, reg, "ns/single", "v1")
        multi = regfix_oci.write_layout(tmp / "multi", [_image("multi", "amd64"), _image("multi", "arm64", "v8"),
                                                          _image("multi", "arm", "v7")], tag="v2")
        regfix_push.push(multi, reg, "ns/multi", "v2")
        docker = regfix_oci.write_layout(tmp / "docker", [
            regfix_oci.ImageSpec(layers=[[regfix_oci.File("d.txt", "docker")]], media="docker"),
            regfix_oci.ImageSpec(layers=[[regfix_oci.File("d.txt", "docker")]], media="docker",
                                 architecture="ppc64le")], tag="v3")
        regfix_push.push(docker, reg, "ns/docker", "v3")
        yield reg, {"single": single, "multi": multi, "docker": docker}


def _client(host: str, **kw: object) -> RegistryClient:
    insecure = bool(kw.pop("insecure", True))
    return RegistryClient(host, TransportSettings(**{**FAST, **kw}), None, insecure=insecure)  # type: ignore[arg-type]


def test_manifest_by_tag_and_digest(plain: tuple[object, dict[str, object]]) -> None:
    reg, layouts = plain
    single = layouts["single"]
    with _client(reg.host) as client:  # type: ignore[attr-defined]
        by_tag = client.get_manifest("ns/single", "v1")
        assert by_tag.digest == single.digest  # type: ignore[attr-defined]
        assert by_tag.media_type == m.OCI_MANIFEST
        by_digest = client.get_manifest("ns/single", single.digest)  # type: ignore[attr-defined]
        assert by_digest.raw == by_tag.raw
        head = client.head_manifest("ns/single", "v1")
        assert head == m.Descriptor(media_type=m.OCI_MANIFEST, digest=single.digest,  # type: ignore[attr-defined]
                                    size=len(by_tag.raw))


def test_index_and_platform_selection(plain: tuple[object, dict[str, object]]) -> None:
    reg, layouts = plain
    multi = layouts["multi"]
    with _client(reg.host) as client:  # type: ignore[attr-defined]
        top = client.get_manifest("ns/multi", "v2")
        assert top.media_type == m.OCI_INDEX and top.digest == multi.digest  # type: ignore[attr-defined]
        index = m.parse_index(top.raw, top.media_type)
        chosen = m.select_platform(index, m.Platform.parse("linux/arm64"))
        arm64 = next(im for im in multi.images if im.platform["architecture"] == "arm64")  # type: ignore[attr-defined]
        assert chosen.digest == arm64.digest
        manifest = m.parse_manifest(client.get_manifest("ns/multi", chosen.digest).raw)
        config = m.parse_config(client.read_blob("ns/multi", manifest.config.digest, limit=1 << 20))
        assert (config.architecture, config.variant) == ("arm64", "v8")
        assert config.labels == {"test.name": "multi"}
        with pytest.raises(NotFoundError, match="linux/amd64, linux/arm/v7, linux/arm64/v8"):
            m.select_platform(index, m.Platform.parse("linux/s390x"))


def test_docker_manifest_list(plain: tuple[object, dict[str, object]]) -> None:
    reg, layouts = plain
    docker = layouts["docker"]
    with _client(reg.host) as client:  # type: ignore[attr-defined]
        top = client.get_manifest("ns/docker", "v3")
        assert (top.media_type, top.digest) == (m.DOCKER_MANIFEST_LIST, docker.digest)  # type: ignore[attr-defined]
        chosen = m.select_platform(m.parse_index(top.raw, top.media_type), m.Platform.parse("linux/ppc64le"))
        got = client.get_manifest("ns/docker", chosen.digest)
        manifest = m.parse_manifest(got.raw, got.media_type)
        assert manifest.media_type == m.DOCKER_MANIFEST and manifest.config.media_type == m.DOCKER_CONFIG


def test_blob_streaming_matches_digest(plain: tuple[object, dict[str, object]]) -> None:
    reg, layouts = plain
    image = layouts["single"].image  # type: ignore[attr-defined]
    with _client(reg.host) as client:  # type: ignore[attr-defined]
        for layer in image.layers:
            h = hashlib.sha256()
            total = 0
            with client.open_blob("ns/single", layer.digest, size=layer.size) as stream:
                while chunk := stream.read(4096):
                    h.update(chunk)
                    total += len(chunk)
            assert ("sha256:" + h.hexdigest(), total) == (layer.digest, layer.size)
        big = image.layers[1]
        with client.open_blob("ns/single", big.digest, size=big.size, offset=100) as stream:
            tail = stream.read()
        with client.open_blob("ns/single", big.digest) as stream:
            assert stream.read()[100:] == tail
        assert client.blob_exists("ns/single", big.digest)
        assert not client.blob_exists("ns/single", "sha256:" + "0" * 64)


def test_not_found(plain: tuple[object, dict[str, object]]) -> None:
    reg, _ = plain
    with _client(reg.host) as client:  # type: ignore[attr-defined]
        with pytest.raises(NotFoundError) as info:
            client.get_manifest("ns/single", "nope")
        assert f"{reg.host}/ns/single:nope" in str(info.value)  # type: ignore[attr-defined]
        with pytest.raises(NotFoundError):
            client.get_manifest("ns/absent", "v1")
        assert client.head_manifest("ns/single", "nope") is None
        with pytest.raises(NotFoundError), client.open_blob("ns/single", "sha256:" + "1" * 64) as s:
            s.read()


def test_plain_http_only_when_insecure(plain: tuple[object, dict[str, object]]) -> None:
    reg, _ = plain
    with _client(reg.host, insecure=False) as client, pytest.raises(UnreachableError):  # type: ignore[attr-defined]
        client.get_manifest("ns/single", "v1")
    listed = _client(reg.host, insecure=False, insecure_registries=frozenset({reg.host}))  # type: ignore[attr-defined]
    with listed:
        assert listed.ping() == f"http://{reg.host}"  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    _need_tools()
    tmp = tmp_path_factory.mktemp("tls")
    with regfix_registry.start_registry(tmp / "reg", tls=True) as reg:
        layout = regfix_oci.write_layout(tmp / "img", _image("tls"), tag="v1")
        regfix_push.push(layout, reg, "tls/app", "v1")
        yield reg, layout


def test_tls_with_ca_file(tls: tuple[object, object]) -> None:
    reg, layout = tls
    with _client(reg.host, insecure=False, ca_file=reg.ca_file) as client:  # type: ignore[attr-defined]
        assert client.ping() == f"https://{reg.host}"  # type: ignore[attr-defined]
        assert client.get_manifest("tls/app", "v1").digest == layout.digest  # type: ignore[attr-defined]


def test_tls_with_certs_d(tls: tuple[object, object], tmp_path: Path) -> None:
    reg, layout = tls
    host_dir = tmp_path / "certs.d" / reg.host  # type: ignore[attr-defined]
    host_dir.mkdir(parents=True)
    shutil.copy(reg.ca_file, host_dir / "registry-ca.crt")  # type: ignore[attr-defined]
    with _client(reg.host, insecure=False, cert_dir=tmp_path / "certs.d") as client:  # type: ignore[attr-defined]
        assert client.get_manifest("tls/app", "v1").digest == layout.digest  # type: ignore[attr-defined]


def test_tls_untrusted_is_unreachable_unless_insecure(tls: tuple[object, object]) -> None:
    reg, layout = tls
    with _client(reg.host, insecure=False) as client, pytest.raises(UnreachableError, match="TLS"):  # type: ignore[attr-defined]
        client.get_manifest("tls/app", "v1")
    with _client(reg.host, insecure=True) as client:  # type: ignore[attr-defined]
        assert client.ping() == f"https://{reg.host}"  # type: ignore[attr-defined]  # unverified TLS, not HTTP
        assert client.get_manifest("tls/app", "v1").digest == layout.digest  # type: ignore[attr-defined]
