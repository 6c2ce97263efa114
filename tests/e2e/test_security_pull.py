"""Security, end to end: an image must not make bundle-extract read host files through the bundle's
own metadata (an absolute symlink as metadata/annotations.yaml)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from regfix.oci import Dir, File, ImageSpec, Layer, Symlink
from regfix.registry import Registry

from tests.e2e.cli import Run

pytestmark = pytest.mark.registry

LABELS = {
    "operators.operatorframework.io.bundle.mediatype.v1": "registry+v1",
    "operators.operatorframework.io.bundle.manifests.v1": "manifests/",
    "operators.operatorframework.io.bundle.metadata.v1": "metadata/",
    "operators.operatorframework.io.bundle.package.v1": "pkg",
    "operators.operatorframework.io.bundle.channels.v1": "stable",
}


@pytest.mark.parametrize("fmt", ["dir", "configmap"])
def test_annotations_symlink_to_host_file_is_not_read(
    cli: Callable[..., Run], registry: Registry, push_image: Callable[..., object], tmp_path: Path, fmt: str
) -> None:
    host = tmp_path / "host-annotations.yaml"
    host.write_text(
        "annotations:\n  operators.operatorframework.io.bundle.channel.default.v1: HOST-SECRET-VALUE\n"
    )
    spec = ImageSpec(
        layers=[
            Layer(
                [
                    Dir("manifests"),
                    File("manifests/csv.yaml", "kind: ClusterServiceVersion\n"),
                    Dir("metadata"),
                    Symlink("metadata/annotations.yaml", str(host)),
                ]
            )
        ],
        labels=LABELS,
    )
    push_image(registry, spec, f"security/annsymlink-{fmt}")
    out = tmp_path / "out.yaml" if fmt == "configmap" else tmp_path / "out"
    r = cli(
        "pull",
        f"{registry.host}/security/annsymlink-{fmt}:v1",
        "-o",
        str(out),
        "--format",
        fmt,
        "--insecure-registry",
        registry.host,
        "--json",
    )
    assert "HOST-SECRET-VALUE" not in r.stdout + r.stderr
    if out.is_file():
        assert "HOST-SECRET-VALUE" not in out.read_text()
