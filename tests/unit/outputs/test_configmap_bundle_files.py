"""Which files of an extracted bundle go into its ConfigMap (operations._bundle_files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.errors import InvalidBundleError
from imgextract.operations import _bundle_files

DIRS = ["manifests/", "metadata/"]


def _tree(root: Path) -> None:
    (root / "manifests").mkdir()
    (root / "metadata").mkdir()
    (root / "manifests" / "widget.crd.yaml").write_text("kind: CustomResourceDefinition\n")
    (root / "metadata" / "annotations.yaml").write_text("annotations: {}\n")


def test_symlinked_manifest_is_kept_under_its_own_name(tmp_path: Path) -> None:
    """opm's ConfigMap writer lists manifests/ with ioutil.ReadDir and reads each entry with
    ioutil.ReadFile, which follows a symlink (operator-registry master,
    pkg/configmap/configmap_writer.go ConfigMapWriter.Populate): the CSV kept as a symlink
    becomes a key with the target's bytes. We dropped symlinks silently, so such a bundle
    lost its CSV. An absolute target is resolved inside the image, as in the container."""
    _tree(tmp_path)
    (tmp_path / "manifests" / "real").write_text("kind: ClusterServiceVersion\n")
    (tmp_path / "manifests" / "real").rename(tmp_path / "metadata" / "csv.src")
    (tmp_path / "manifests" / "widget.clusterserviceversion.yaml").symlink_to("../metadata/csv.src")
    (tmp_path / "manifests" / "abs.yaml").symlink_to("/manifests/widget.crd.yaml")
    files = _bundle_files(tmp_path, DIRS)
    assert files["manifests/widget.clusterserviceversion.yaml"] == b"kind: ClusterServiceVersion\n"
    assert files["manifests/abs.yaml"] == b"kind: CustomResourceDefinition\n"


def test_dangling_symlink_is_an_error_not_a_silent_gap(tmp_path: Path) -> None:
    """opm fails reading a symlink whose target is missing; leaving it out could drop the CSV."""
    _tree(tmp_path)
    (tmp_path / "manifests" / "csv.yaml").symlink_to("../elsewhere/csv.yaml")
    with pytest.raises(InvalidBundleError, match=r"manifests/csv\.yaml is a symlink to elsewhere/csv\.yaml"):
        _bundle_files(tmp_path, DIRS)


def test_symlink_leaving_the_image_reads_nothing_outside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _tree(root)
    (tmp_path / "secret").write_text("host data\n")
    (root / "manifests" / "x.yaml").symlink_to("../../secret")
    with pytest.raises(InvalidBundleError, match="symlink"):
        _bundle_files(root, DIRS)


def test_symlink_to_a_directory_is_refused_like_a_directory(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "manifests" / "more").symlink_to("../metadata")
    with pytest.raises(InvalidBundleError, match="is a directory"):
        _bundle_files(tmp_path, DIRS)
