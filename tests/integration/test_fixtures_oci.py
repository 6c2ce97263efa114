"""The image-building fixtures: deterministic layouts, realistic bundles, the umoci oracle and tree diff."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
import zstandard
from regfix import bundles
from regfix.oci import (
    OCI_LAYER_ZSTD,
    REF_NAME,
    Device,
    File,
    ImageSpec,
    Layer,
    Layout,
    Raw,
    sha256_digest,
    write_layout,
)
from regfix.umoci import compare_trees, umoci_unpack

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def test_layouts_are_deterministic(tmp_path: Path) -> None:
    a = write_layout(tmp_path / "a", bundles.generic_multilayer().spec, "v1")
    b = write_layout(tmp_path / "b", bundles.generic_multilayer().spec, "v1")
    assert a.digest == b.digest
    assert sorted(p.name for p in (tmp_path / "a/blobs/sha256").iterdir()) == sorted(
        p.name for p in (tmp_path / "b/blobs/sha256").iterdir()
    )


def test_layout_structure_and_digests(oci_layout_factory: Callable[..., Layout]) -> None:
    lay = oci_layout_factory(
        ImageSpec(layers=[Layer([File("a", "x")], compression="zstd")], labels={"k": "v"}), "t1"
    )
    lay2 = oci_layout_factory(ImageSpec(layers=[[File("b", "y")]]), "t2", name=lay.path.name)
    index = json.loads((lay.path / "index.json").read_text())
    assert [m["annotations"][REF_NAME] for m in index["manifests"]] == ["t1", "t2"]
    assert index["manifests"][1]["digest"] == lay2.digest
    assert json.loads((lay.path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    for blob in (lay.path / "blobs/sha256").iterdir():
        assert sha256_digest(blob.read_bytes()) == "sha256:" + blob.name
    layer = lay.image.layers[0]
    assert layer.media_type == OCI_LAYER_ZSTD
    raw = (lay.path / "blobs/sha256" / layer.digest.split(":")[1]).read_bytes()
    assert sha256_digest(zstandard.ZstdDecompressor().decompress(raw)) == layer.diff_id
    config = json.loads(lay.image.config)
    assert config["config"]["Labels"] == {"k": "v"} and config["rootfs"]["diff_ids"] == [layer.diff_id]


def test_special_entries_and_diff_id_override(tmp_path: Path) -> None:
    ti = tarfile.TarInfo("../escape")
    ti.type = tarfile.REGTYPE
    lay = write_layout(
        tmp_path / "l",
        ImageSpec(
            layers=[
                Layer(
                    [Device("dev/null"), Raw(ti, b"boom")], compression="none", diff_id="sha256:" + "0" * 64
                )
            ]
        ),
    )
    members = tarfile.open(fileobj=io.BytesIO(lay.image.layers[0].tar)).getmembers()
    assert [(m.name, m.ischr(), m.size) for m in members] == [("dev/null", True, 0), ("../escape", False, 4)]
    assert json.loads(lay.image.config)["rootfs"]["diff_ids"] == ["sha256:" + "0" * 64]


def test_registry_v1_bundle_is_consistent() -> None:
    fx = bundles.registry_v1_bundle()
    ann = yaml.safe_load(fx.files["metadata/annotations.yaml"])["annotations"]
    assert ann == fx.annotations
    assert {k: fx.labels[k] for k in bundles.BUNDLE_KEYS} == {k: ann[k] for k in bundles.BUNDLE_KEYS}
    big = fx.files["manifests/widgetpolicies.widgets.acme.example.test.crd.yaml"]
    assert 250_000 < len(big) < 400_000
    crd = yaml.load(big, Loader=LOADER)
    assert crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    kinds = [yaml.load(v, Loader=LOADER)["kind"] for k, v in fx.files.items() if k.startswith("manifests/")]
    assert kinds.count("ClusterServiceVersion") == 1 and kinds.count("CustomResourceDefinition") == 3
    assert yaml.safe_load(fx.files["metadata/dependencies.yaml"])["dependencies"]


def test_mismatched_labels_variant_disagrees() -> None:
    fx = bundles.mismatched_labels_bundle()
    assert fx.labels[bundles.PACKAGE] != fx.annotations[bundles.PACKAGE]
    assert fx.labels[bundles.MEDIATYPE] == fx.annotations[bundles.MEDIATYPE] == "registry+v1"


def test_plain_and_fbc_labels() -> None:
    assert bundles.plain_v0_bundle().labels[bundles.MEDIATYPE] == "plain"
    fbc = bundles.fbc_catalog()
    assert fbc.labels[bundles.INDEX_CONFIGS] == "/configs"
    docs = list(yaml.safe_load_all(fbc.files["configs/widget-operator/catalog.yaml"]))
    assert {d["schema"] for d in docs} == {"olm.package", "olm.channel", "olm.bundle"}


@pytest.mark.oracle
def test_umoci_unpack_matches_generic_fixture_expectation(tmp_path: Path, need_umoci: str) -> None:
    fx = bundles.generic_multilayer()
    lay = write_layout(tmp_path / "layout", fx.spec, "v1")
    rootfs = umoci_unpack(lay.path, "v1", tmp_path / "bundle")
    for rel, content in fx.files.items():
        assert (rootfs / rel).read_bytes() == content, rel
    for rel, target in fx.symlinks.items():
        assert (rootfs / rel).readlink().as_posix() == target
    for rel in fx.absent:
        assert not (rootfs / rel).exists(), rel


@pytest.mark.oracle
def test_compare_trees_reports_differences(tmp_path: Path, need_umoci: str) -> None:
    fx = bundles.generic_multilayer()
    lay = write_layout(tmp_path / "layout", fx.spec, "v1")
    a = umoci_unpack(lay.path, "v1", tmp_path / "a")
    b = umoci_unpack(lay.path, "v1", tmp_path / "b")
    assert compare_trees(a, b) == ""
    (b / "etc/motd").write_text("changed\n")
    (b / "usr/bin/tool-link").unlink()
    (b / "usr/bin/tool-link").symlink_to("elsewhere")
    (b / "extra").mkdir()
    (a / "var/cache/c").unlink()
    diff = compare_trees(a, b).splitlines()
    assert [line.split()[0:2] for line in diff] == [
        ["~", "content"],
        ["+", "extra"],
        ["~", "target"],
        ["+", "extra"],
    ]
    assert "var/cache/c" in diff[3] and "etc/motd" in diff[0]
