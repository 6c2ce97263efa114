"""Documents shaped as today's builders and registries write them still decode under the Go-style
rules (our own data, in the shapes of Docker buildx, BuildKit attestations, cosign, Helm/ORAS
artifacts, the Docker classic builder, buildah/podman, kaniko, ko and jib configs, Windows
manifest lists).  Strictness must not refuse what containers/image accepts on a pull.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from imgextract import oci
from imgextract.errors import IntegrityError, NotFoundError

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64
D4 = "sha256:" + "4" * 64
IN_TOTO = "application/vnd.in-toto+json"


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def _buildx_index() -> bytes:
    """docker buildx --provenance / --sbom: an image per platform plus an attestation manifest per
    image, on ``unknown/unknown`` and pointing back with ``vnd.docker.reference.*``."""

    def image(digest: str, arch: str, variant: str | None = None) -> dict[str, Any]:
        platform = {"architecture": arch, "os": "linux"}
        if variant:
            platform["variant"] = variant
        return {"mediaType": oci.OCI_MANIFEST, "digest": digest, "size": 1234, "platform": platform}

    def attestation(digest: str, ref: str) -> dict[str, Any]:
        return {
            "mediaType": oci.OCI_MANIFEST,
            "digest": digest,
            "size": 840,
            "annotations": {
                "vnd.docker.reference.digest": ref,
                "vnd.docker.reference.type": "attestation-manifest",
            },
            "platform": {"architecture": "unknown", "os": "unknown"},
        }

    return _dump(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_INDEX,
            "manifests": [image(D1, "amd64"), image(D2, "arm64"), attestation(D3, D1), attestation(D4, D2)],
        }
    )


@pytest.mark.parametrize(
    ("platform", "digest"), [("linux/amd64", D1), ("linux/arm64", D2), ("linux/arm64/v8", D2)]
)
def test_a_buildx_index_with_attestations_chooses_the_image(platform: str, digest: str) -> None:
    assert (
        oci.select_platform(oci.parse_index(_buildx_index()), oci.Platform.parse(platform)).digest == digest
    )


def test_a_buildx_index_names_only_real_platforms_when_none_matches() -> None:
    with pytest.raises(NotFoundError, match=r"available: linux/amd64, linux/arm64\)"):
        oci.select_platform(oci.parse_index(_buildx_index()), oci.Platform.parse("linux/s390x"))


def test_a_buildkit_attestation_manifest_and_its_config_decode() -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": {"mediaType": oci.OCI_CONFIG, "digest": D1, "size": 167},
        "layers": [
            {
                "mediaType": IN_TOTO,
                "digest": D2,
                "size": 1500,
                "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
            },
            {
                "mediaType": IN_TOTO,
                "digest": D3,
                "size": 9000,
                "annotations": {"in-toto.io/predicate-type": "https://spdx.dev/Document"},
            },
        ],
    }
    parsed = oci.parse_manifest(_dump(manifest), oci.OCI_MANIFEST)
    assert [layer.media_type for layer in parsed.layers] == [IN_TOTO, IN_TOTO]
    config = {
        "architecture": "unknown",
        "os": "unknown",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [D2, D3]},
    }
    assert oci.parse_config(_dump(config), media_type=oci.OCI_CONFIG).diff_ids == (D2, D3)


def test_a_cosign_signature_manifest_and_its_config_decode() -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": {"mediaType": oci.OCI_CONFIG, "size": 233, "digest": D1},
        "layers": [
            {
                "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "size": 250,
                "digest": D2,
                "annotations": {
                    "dev.cosignproject.cosign/signature": "MEUCIQD=",
                    "dev.sigstore.cosign/bundle": json.dumps({"SignedEntryTimestamp": "x", "Payload": {}}),
                },
            }
        ],
    }
    assert oci.parse_manifest(_dump(manifest)).layers[0].annotations["dev.cosignproject.cosign/signature"]
    config = {
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": [D3]},
        "config": {},
    }
    assert oci.parse_config(_dump(config), media_type=oci.OCI_CONFIG).diff_ids == (D3,)


def test_an_oci_1_1_artifact_with_the_empty_config_and_a_subject_decodes() -> None:
    manifest = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "artifactType": "application/vnd.example.sbom.v1",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": D1, "size": 2, "data": "e30="},
        "layers": [{"mediaType": "application/spdx+json", "digest": D2, "size": 10}],
        "subject": {"mediaType": oci.OCI_MANIFEST, "digest": D3, "size": 500},
        "annotations": {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
    }
    parsed = oci.parse_manifest(_dump(manifest))
    assert parsed.artifact_type == "application/vnd.example.sbom.v1"
    assert parsed.subject is not None and parsed.subject.digest == D3
    with pytest.raises(IntegrityError, match="not a container image"):
        oci.parse_config(b"{}", media_type="application/vnd.oci.empty.v1+json")


def test_a_helm_chart_is_named_an_artifact() -> None:
    config = {"name": "chart", "version": "1.0.0", "apiVersion": "v2"}
    with pytest.raises(IntegrityError, match="not a container image"):
        oci.parse_config(_dump(config), media_type="application/vnd.cncf.helm.config.v1+json")


def test_a_docker_manifest_list_with_windows_and_arm_entries_decodes() -> None:
    """Docker Hub's lists: ``os.version``/``os.features`` on Windows entries, ``variant`` on arm,
    and Docker's own ``features`` (not in the OCI platform) ignored."""
    entries = [
        {"os": "linux", "architecture": "amd64"},
        {"os": "linux", "architecture": "arm", "variant": "v6"},
        {"os": "linux", "architecture": "arm64", "variant": "v8"},
        {
            "os": "windows",
            "architecture": "amd64",
            "os.version": "10.0.17763.5576",
            "os.features": ["win32k"],
        },
        {"os": "linux", "architecture": "amd64", "features": ["sse4"]},
    ]
    doc = {
        "schemaVersion": 2,
        "mediaType": oci.DOCKER_MANIFEST_LIST,
        "manifests": [
            {"mediaType": oci.DOCKER_MANIFEST, "size": 100, "digest": f"sha256:{i:064x}", "platform": p}
            for i, p in enumerate(entries)
        ],
    }
    index = oci.parse_index(_dump(doc), oci.DOCKER_MANIFEST_LIST)
    assert oci.select_platform(index, oci.Platform.parse("linux/arm/v7")).digest == f"sha256:{1:064x}"
    assert index.manifests[3].platform is not None and index.manifests[3].platform.os_features == ("win32k",)


def test_a_docker_manifest_with_a_foreign_layer_decodes() -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": oci.DOCKER_MANIFEST,
        "config": {"mediaType": oci.DOCKER_CONFIG, "size": 100, "digest": D1},
        "layers": [
            {
                "mediaType": oci.DOCKER_FOREIGN_LAYER,
                "size": 1000,
                "digest": D2,
                "urls": ["https://mcr.microsoft.com/v2/windows/servercore/blobs/" + D2],
            },
            {"mediaType": oci.DOCKER_LAYER, "size": 10, "digest": D3},
        ],
    }
    assert oci.parse_manifest(_dump(doc), oci.DOCKER_MANIFEST).layers[0].urls


CONFIGS: dict[str, dict[str, Any]] = {
    "docker classic builder": {
        "architecture": "amd64",
        "config": {
            "Hostname": "",
            "Domainname": "",
            "User": "",
            "AttachStdin": False,
            "Tty": False,
            "Env": ["PATH=/usr/bin"],
            "Cmd": ["/bin/sh"],
            "ArgsEscaped": True,
            "Image": D4,
            "Volumes": None,
            "WorkingDir": "",
            "Entrypoint": None,
            "OnBuild": None,
            "Labels": None,
            "Healthcheck": {"Test": ["CMD", "true"], "Interval": 30000000000},
            "StopTimeout": 10,
            "Shell": ["/bin/sh", "-c"],
        },
        "container": "3a1b",
        "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD"], "Labels": {}},
        "created": "2024-01-01T00:00:00.123456789Z",
        "docker_version": "20.10.23",
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh", "empty_layer": True}],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [D1]},
    },
    "buildah/podman": {
        "created": "2024-01-01T00:00:00.1Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["A=1"], "Cmd": ["x"], "WorkingDir": "/", "Labels": {"io.buildah.version": "1.33"}},
        "rootfs": {"type": "layers", "diff_ids": [D1, D2]},
        "history": [
            {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) LABEL", "empty_layer": True}
        ],
    },
    "kaniko": {
        "architecture": "amd64",
        "created": "2024-01-01T00:00:00Z",
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "COPY . .", "author": "kaniko"}],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [D1]},
        "config": {"Env": ["PATH=/bin"], "Volumes": {"/data": {}}, "Labels": {"a": "b"}},
    },
    "ko": {
        "architecture": "arm64",
        "variant": "v8",
        "created": "1970-01-01T00:00:00Z",
        "history": [
            {"author": "ko", "created": "0001-01-01T00:00:00Z", "created_by": "ko build", "comment": "kodata"}
        ],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [D1]},
        "config": {"Entrypoint": ["/ko-app/x"], "Env": ["KO_DATA_PATH=/var/run/ko"], "User": "65532"},
    },
    "jib": {
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["JAVA_HOME=/opt/java"],
            "Entrypoint": ["java", "-cp", "@/app/jib-classpath-file", "Main"],
            "ExposedPorts": {"8080/tcp": {}},
            "Labels": {},
            "Volumes": {},
            "WorkingDir": "/app",
            "User": "",
        },
        "history": [
            {
                "created": "1970-01-01T00:00:00Z",
                "author": "Jib",
                "created_by": "jib:3.4",
                "comment": "classes",
            }
        ],
        "rootfs": {"type": "layers", "diff_ids": [D1]},
    },
    "windows": {
        "architecture": "amd64",
        "os": "windows",
        "os.version": "10.0.17763.5576",
        "config": {"Env": [], "Cmd": ["c:\\windows\\system32\\cmd.exe"]},
        "rootfs": {"type": "layers", "diff_ids": [D1, D2]},
    },
}


@pytest.mark.parametrize("builder", sorted(CONFIGS))
def test_configs_of_common_builders_decode(builder: str) -> None:
    config = oci.parse_config(_dump(CONFIGS[builder]), media_type=oci.DOCKER_CONFIG)
    assert config.diff_ids and config.os in ("linux", "windows")
