"""Choosing from an index as containers/image chooses, skopeo (``inspect --override-*``) the oracle:
an OCI index entry without a platform is taken when no platform matches (``OCI1Index.chooseInstance``:
a candidate of the lowest preference), and a wanted variant also takes the entry of the bare
architecture (``WantedPlatforms`` always ends with the empty variant); what is not found, or is
an artifact and no image, is said in containers/image's words.
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import imgextract
from imgextract import oci
from imgextract.errors import IntegrityError, NotFoundError
from imgextract.registry import RegistryClient, TransportSettings

pytest.importorskip("regfix.pytest_plugin")
regfix_oci = pytest.importorskip("regfix.oci")
from regfix.push import skopeo_binary  # noqa: E402

pytestmark = [pytest.mark.registry, pytest.mark.oracle]


def _image(name: str, arch: str) -> Any:
    return regfix_oci.ImageSpec(
        layers=[regfix_oci.Layer([regfix_oci.File(f"{name}.txt", f"{name}\n")])],
        labels={"test.name": name},
        architecture=arch,
    )


def _index(registry: Any, push_image: Callable[..., Any], repo: str, entries: dict[str, Any]) -> None:
    """Push one image per entry and an OCI index (tag ``index``) listing them with the given
    platforms (None: no ``platform`` key at all)."""
    listed = []
    with RegistryClient(registry.host, TransportSettings(timeout=20.0), None, insecure=True) as client:
        for name, (arch, platform) in entries.items():
            pushed = push_image(registry, _image(name, arch), repo, name)
            size = len(client.get_manifest(repo, pushed.digest).raw)
            entry: dict[str, Any] = {"mediaType": oci.OCI_MANIFEST, "digest": pushed.digest, "size": size}
            if platform is not None:
                entry["platform"] = platform
            listed.append(entry)
        raw = json.dumps({"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": listed}).encode()
        client.put_manifest(repo, "index", raw, oci.OCI_INDEX)


def _skopeo(registry: Any, repo: str, arch: str, variant: str = "") -> subprocess.CompletedProcess[str]:
    skopeo = skopeo_binary()
    assert skopeo is not None
    args = [skopeo, "inspect", "--tls-verify=false", "--override-os", "linux", "--override-arch", arch]
    if variant:
        args += ["--override-variant", variant]
    return subprocess.run(
        [*args, f"docker://{registry.host}/{repo}:index"], capture_output=True, text=True, timeout=60
    )


def _ours(registry: Any, repo: str, platform: str, tmp_path: Path) -> imgextract.InspectResult:
    return imgextract.inspect(
        f"{registry.host}/{repo}:index",
        insecure_registries=[registry.host],
        platform=platform,
        cache_dir=str(tmp_path / "cache"),
    )


def test_an_entry_without_a_platform_is_taken_when_none_matches(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    repo = "oracle/noplatform"
    amd64 = {"architecture": "amd64", "os": "linux"}
    _index(registry, push_image, repo, {"amd": ("amd64", amd64), "plain": ("arm64", None)})
    for arch, expected in (("arm64", "plain"), ("amd64", "amd")):
        theirs = _skopeo(registry, repo, arch)
        assert theirs.returncode == 0, theirs.stderr
        assert json.loads(theirs.stdout)["Labels"]["test.name"] == expected
        ours = _ours(registry, repo, f"linux/{arch}", tmp_path)
        assert ours.labels["test.name"] == expected
        assert ours.platform == f"linux/{arch}"  # (the platform-less entry's: its config's)


def test_a_wanted_variant_takes_the_bare_architecture(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    repo = "oracle/bare"
    riscv = {"architecture": "riscv64", "os": "linux"}
    _index(registry, push_image, repo, {"riscv": ("riscv64", riscv)})
    theirs = _skopeo(registry, repo, "riscv64", "rva23")
    assert theirs.returncode == 0, theirs.stderr
    assert json.loads(theirs.stdout)["Labels"]["test.name"] == "riscv"
    assert _ours(registry, repo, "linux/riscv64/rva23", tmp_path).labels["test.name"] == "riscv"


def test_no_match_is_said_in_containers_image_words(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    repo = "oracle/nomatch"
    _index(registry, push_image, repo, {"amd": ("amd64", {"architecture": "amd64", "os": "linux"})})
    theirs = _skopeo(registry, repo, "s390x")
    assert theirs.returncode != 0
    assert "no image found in image index for architecture" in theirs.stderr
    with pytest.raises(NotFoundError) as info:
        _ours(registry, repo, "linux/s390x", tmp_path)
    message = str(info.value)
    assert 'no image found in image index for architecture "s390x", variant "", OS "linux"' in message
    assert "(available: linux/amd64)" in message


def _push_artifact(registry: Any, repo: str, config_type: str, artifact_type: str | None) -> None:
    """An OCI artifact (a Helm chart's shape: its own config type, a non-tar layer) tagged ``index``."""
    config, layer = b'{"name": "chart", "version": "1.0.0"}', b"not a tar"
    blobs = [(config, config_type), (layer, "application/vnd.cncf.helm.chart.content.v1.tar+gzip")]
    descriptors = []
    with RegistryClient(registry.host, TransportSettings(timeout=20.0), None, insecure=True) as client:
        for data, media_type in blobs:
            digest = oci.compute_digest(data)
            client.upload_blob(repo, io.BytesIO(data), digest, len(data))
            descriptors.append({"mediaType": media_type, "digest": digest, "size": len(data)})
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": oci.OCI_MANIFEST,
            "config": descriptors[0],
            "layers": descriptors[1:],
        }
        if artifact_type is not None:
            manifest["artifactType"] = artifact_type
        client.put_manifest(repo, "index", json.dumps(manifest).encode(), oci.OCI_MANIFEST)


def test_an_artifact_is_named_in_containers_image_words(registry: Any, tmp_path: Path) -> None:
    """containers/image ``NewNonImageArtifactError``: "unsupported image-specific operation on
    artifact with type %q", the config's type (skopeo inspect says it), or the manifest's
    ``artifactType`` when it has one (containers/image >= 5.29; skopeo 1.9 predates it)."""
    helm = "application/vnd.cncf.helm.config.v1+json"
    _push_artifact(registry, "oracle/artifact", helm, None)
    theirs = _skopeo(registry, "oracle/artifact", "amd64")
    words = f'unsupported image-specific operation on artifact with type "{helm}"'
    assert theirs.returncode != 0 and words in theirs.stderr.replace('\\"', '"'), theirs.stderr  # (logrus)
    with pytest.raises(IntegrityError) as info:
        _ours(registry, "oracle/artifact", "linux/amd64", tmp_path)
    assert words in str(info.value)
    _push_artifact(registry, "oracle/sbom", oci.OCI_EMPTY, "application/spdx+json")
    with pytest.raises(IntegrityError) as info:
        _ours(registry, "oracle/sbom", "linux/amd64", tmp_path)
    assert 'operation on artifact with type "application/spdx+json"' in str(info.value)
