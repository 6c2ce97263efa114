"""Real-world bundles through the CLI against the real registry: never stricter than OLM.

OLM and opm read metadata/annotations.yaml (sigs.k8s.io/yaml into Go strings) and never the
labels; operator-registry's own test bundles carry channel labels that differ from it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix import bundles
from regfix.pytest_plugin import PushedImage

from imgextract.bundles import labels as L
from tests.e2e.cli import Run, run_cli

pytestmark = pytest.mark.registry


def _pull(home: Path, img: PushedImage, *extra: str) -> Run:
    return run_cli(
        "pull",
        img.ref,
        "-o",
        str(home / "out"),
        "--insecure-registry",
        img.registry.host,
        "--force",
        "--json",
        *extra,
        home=home,
    )


def _annotations(text: str) -> dict[str, bytes]:
    return {"metadata/annotations.yaml": text.encode()}


RAW_ANNOTATIONS = f"""annotations:
  {L.MEDIATYPE}: registry+v1
  {L.MANIFESTS}: manifests/
  {L.METADATA}: metadata/
  {L.PACKAGE}: widget-operator
  {L.CHANNELS}: {{channels}}
  {L.DEFAULT_CHANNEL}: {{default}}
"""


@pytest.fixture(scope="module")
def channel_label_differs(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> PushedImage:
    from regfix.oci import write_layout
    from regfix.push import push

    fx = bundles.registry_v1_bundle(
        large_crd=False,
        scorecard=False,
        label_overrides={L.CHANNELS: "beta", L.DEFAULT_CHANNEL: "beta"},
        annotation_overrides={L.CHANNELS: "beta,stable", L.DEFAULT_CHANNEL: "stable"},
    )
    layout = write_layout(tmp_path_factory.mktemp("chan-layout"), fx.spec, "v1")
    return PushedImage(push(layout, registry, "hardening/channels", "v1"), layout, fx, registry)


def test_channels_label_disagreement_is_a_warning(channel_label_differs: PushedImage, tmp_path: Path) -> None:
    r = _pull(tmp_path, channel_label_differs)
    assert r.code == 0, r.stderr
    bundle = r.json()["bundle"]
    assert bundle["channels"] == ["beta", "stable"] and bundle["defaultChannel"] == "stable"
    assert "disagrees" in r.stderr and L.CHANNELS in r.stderr


def test_unquoted_numeric_channel_matches_opm(
    registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    fx = bundles.registry_v1_bundle(
        large_crd=False,
        scorecard=False,
        label_overrides={L.CHANNELS: "4.10", L.DEFAULT_CHANNEL: "4.10"},
        extra_files=_annotations(RAW_ANNOTATIONS.format(channels="4.10", default="4.10")),
    )
    img = push_image(registry, fx, "hardening/numeric-channel")
    r = _pull(tmp_path, img)
    assert r.code == 0, r.stderr
    bundle = r.json()["bundle"]
    assert bundle["channels"] == ["4.1"] and bundle["defaultChannel"] == "4.1"  # as opm reads it


def test_package_disagreement_stays_exit_6(
    registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    fx = bundles.registry_v1_bundle(large_crd=False, scorecard=False, label_overrides={L.PACKAGE: "other"})
    r = _pull(tmp_path, push_image(registry, fx, "hardening/package"))
    assert r.code == 6, r.stderr
    assert "'other'" in r.stderr and "'widget-operator'" in r.stderr
    assert not (tmp_path / "out").exists()


def test_strict_makes_a_channels_disagreement_fatal(
    channel_label_differs: PushedImage, tmp_path: Path
) -> None:
    r = _pull(tmp_path, channel_label_differs, "--strict")
    assert r.code == 6, r.stderr
    assert "'beta'" in r.stderr and "'beta,stable'" in r.stderr and "--strict" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def label_less(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> PushedImage:
    from regfix.oci import write_layout
    from regfix.push import push

    fx = bundles.registry_v1_bundle(
        large_crd=False, scorecard=False, label_overrides=dict.fromkeys(L.BUNDLE_KEYS)
    )
    assert not any(k.startswith(L.BUNDLE_PREFIX) for k in fx.labels)
    layout = write_layout(tmp_path_factory.mktemp("nolabels-layout"), fx.spec, "v1")
    return PushedImage(push(layout, registry, "hardening/no-labels", "v1"), layout, fx, registry)


def test_label_less_bundle_needs_kind(label_less: PushedImage, tmp_path: Path) -> None:
    r = _pull(tmp_path, label_less)
    assert r.code == 2, r.stderr
    r = _pull(tmp_path, label_less, "--kind", "registry+v1")
    assert r.code == 0, r.stderr
    assert r.json()["kind"] == "registry+v1" and r.json()["bundle"]["package"] == "widget-operator"
    assert (tmp_path / "out" / "metadata" / "annotations.yaml").is_file()


def test_label_less_bundle_as_configmap_with_kind(label_less: PushedImage, tmp_path: Path) -> None:
    out = tmp_path / "cm.yaml"
    r = run_cli(
        "pull",
        label_less.ref,
        "-o",
        str(out),
        "--format",
        "configmap",
        "--kind",
        "registry+v1",
        "--insecure-registry",
        label_less.registry.host,
        home=tmp_path,
    )
    assert r.code == 0, r.stderr
    assert "widget-operator.clusterserviceversion.yaml" in out.read_text()


def test_configmap_refuses_a_manifests_subdirectory(
    registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    fx = bundles.registry_v1_bundle(
        large_crd=False, scorecard=False, extra_files={"manifests/extra/service.yaml": b"kind: Service\n"}
    )
    img = push_image(registry, fx, "hardening/subdir")
    out = tmp_path / "cm.yaml"
    args = ("-o", str(out), "--format", "configmap", "--insecure-registry", img.registry.host)
    r = run_cli("pull", img.ref, *args, home=tmp_path)
    assert r.code == 6, r.stderr
    assert "manifests/extra/" in r.stderr and "directory" in r.stderr
    assert not out.exists()


def test_compress_never_over_the_limit_suggests_auto(
    registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    fx = bundles.registry_v1_bundle(large_crd=True, large_crd_bytes=1_200_000, scorecard=False)
    img = push_image(registry, fx, "hardening/big-cm")
    out = tmp_path / "cm.yaml"
    args = ("-o", str(out), "--format", "configmap", "--compress", "never")
    r = run_cli("pull", img.ref, *args, "--insecure-registry", img.registry.host, home=tmp_path)
    assert r.code == 6, r.stderr
    assert "--compress auto" in r.stderr and "OLM cannot read" in r.stderr


def test_configmap_reads_a_symlinked_manifest_through(
    registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    """opm's ConfigMap writer reads every entry of manifests/ with ReadFile, which follows a
    symlink (operator-registry master, pkg/configmap/configmap_writer.go Populate); earlier the
    symlink was left out of the ConfigMap without a word."""
    import dataclasses

    from regfix.oci import Layer, Symlink

    fx = bundles.registry_v1_bundle(large_crd=False, scorecard=False)
    csv = "manifests/widget-operator.clusterserviceversion.yaml"
    spec = dataclasses.replace(
        fx.spec,
        layers=[
            *fx.spec.layers,
            Layer([Symlink("manifests/alias.yaml", "widget-operator.clusterserviceversion.yaml")]),
        ],
    )
    img = push_image(registry, spec, "hardening/symlinked-manifest")
    out = tmp_path / "cm.yaml"
    args = ("-o", str(out), "--format", "configmap", "--insecure-registry", img.registry.host)
    r = run_cli("pull", img.ref, *args, home=tmp_path)
    assert r.code == 0, r.stderr
    from imgextract.outputs.configmap import load_yaml

    [cm] = load_yaml(out.read_text())
    assert cm["data"]["alias.yaml"] == fx.files[csv].decode()
    assert cm["data"]["widget-operator.clusterserviceversion.yaml"] == fx.files[csv].decode()
