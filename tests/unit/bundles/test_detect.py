from __future__ import annotations

import re
from pathlib import Path

import pytest

from imgextract.bundles import detect, registry_v1
from imgextract.bundles import labels as L
from imgextract.cli.exits import exit_code_for
from imgextract.errors import InvalidBundleError, UsageError

V1 = {
    L.MEDIATYPE: "registry+v1",
    L.MANIFESTS: "manifests/",
    L.METADATA: "metadata/",
    L.PACKAGE: "etcd",
    L.CHANNELS: "alpha,stable",
    L.DEFAULT_CHANNEL: "stable",
}


def test_kinds() -> None:
    assert detect.detect_kind(V1) == "registry+v1"
    assert detect.detect_kind({L.MEDIATYPE: "plain"}) == "plain+v0"
    assert detect.detect_kind({L.FBC_CONFIGS: "/configs"}) == "fbc"
    assert detect.detect_kind({L.IMGPKG_BUNDLE: "true"}) == "imgpkg"
    assert detect.detect_kind({}) == "image"
    with pytest.raises(InvalidBundleError, match="sqlite"):
        detect.detect_kind({L.SQLITE_INDEX: "/database/index.db"})


@pytest.mark.parametrize("value", ["true", "false", ""])
def test_is_bundle_tests_the_label_presence_only(value: str) -> None:
    """imgpkg's ``Bundle.IsBundle``: the label's presence makes a bundle, whatever its value."""
    assert detect.detect_kind({L.IMGPKG_BUNDLE: value}) == "imgpkg"
    assert detect.detect_kind({"dev.carvel.imgpkg.bundle.other": "true"}) == "image"


@pytest.mark.parametrize("labels", [{}, V1, {"dev.carvel.imgpkg.bundle.other": "true"}])
def test_kind_imgpkg_needs_the_bundle_label(labels: dict[str, str]) -> None:
    """imgpkg refuses a plain image from its config labels (``Expected bundle image but found plain
    image``), before any layer: ``kind="imgpkg"`` cannot make one a bundle."""
    with pytest.raises(InvalidBundleError, match="^Expected bundle image but found plain image$") as info:
        detect.plan(labels, kind="imgpkg", all_paths=True)
    assert exit_code_for(info.value) == 6
    assert detect.plan({L.IMGPKG_BUNDLE: ""}, kind="imgpkg").kind == "imgpkg"


def test_plans() -> None:
    p = detect.plan(V1)
    assert p.paths == ("manifests", "metadata") and p.manifests_dir == "manifests/"
    odd = detect.plan({**V1, L.MANIFESTS: "/deploy/manifests", L.METADATA: "./deploy/meta/"})
    assert odd.paths == ("deploy/manifests", "deploy/meta")
    assert detect.plan({L.FBC_CONFIGS: "/configs"}).paths == ("configs",)
    assert detect.plan({L.MEDIATYPE: "plain"}).paths == ("manifests",)
    assert detect.plan({}, paths=["/etc/../opt/x/"]).paths == ("opt/x",)
    assert detect.plan({}, paths=["/"]).paths is None
    assert detect.plan({}, all_paths=True).paths is None
    assert detect.plan({L.IMGPKG_BUNDLE: "true"}).paths is None


def test_generic_image_needs_a_path() -> None:
    with pytest.raises(UsageError, match=r"paths=\[\.\.\.\] or all=True"):
        detect.plan({})
    with pytest.raises(UsageError):
        detect.plan({}, paths=["a"], all_paths=True)


def test_label_naming_the_root_is_invalid() -> None:
    with pytest.raises(InvalidBundleError):
        detect.plan({**V1, L.MANIFESTS: "/"})


def _bundle(root: Path, annotations: dict[str, str]) -> None:
    (root / "manifests").mkdir()
    (root / "manifests" / "csv.yaml").write_text("kind: ClusterServiceVersion\n")
    (root / "metadata").mkdir()
    body = "".join(f"  {k}: {v}\n" for k, v in annotations.items())
    (root / "metadata" / "annotations.yaml").write_text("annotations:\n" + body)


def test_check_agreeing_bundle(tmp_path: Path) -> None:
    _bundle(tmp_path, {**V1, L.CHANNELS: "stable, alpha", L.MANIFESTS: "/manifests"})
    info = registry_v1.check(tmp_path, detect.plan(V1))
    assert info.package == "etcd" and set(info.channels) == {"alpha", "stable"}
    assert info.to_json()["defaultChannel"] == "stable"


@pytest.mark.parametrize(
    ("key", "value", "strict"),
    [
        (L.PACKAGE, "other", False),
        (L.METADATA, "meta/", False),
        (L.MEDIATYPE, "plain+v0", False),
        (L.CHANNELS, "beta", True),
        (L.DEFAULT_CHANNEL, "beta", True),
    ],
)
def test_check_disagreement_names_both_values(tmp_path: Path, key: str, value: str, strict: bool) -> None:
    _bundle(tmp_path, {**V1, key: value})
    with pytest.raises(InvalidBundleError) as exc:
        registry_v1.check(tmp_path, detect.plan(V1), strict=strict)
    assert exit_code_for(exc.value) == 6
    assert repr(V1[key]) in str(exc.value) and repr(value) in str(exc.value)


def test_check_missing_annotations(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    with pytest.raises(InvalidBundleError, match="annotations.yaml"):
        registry_v1.check(tmp_path, detect.plan(V1))


def test_check_bad_yaml(tmp_path: Path) -> None:
    _bundle(tmp_path, V1)
    (tmp_path / "metadata" / "annotations.yaml").write_text("annotations: [unclosed\n")
    with pytest.raises(InvalidBundleError, match="not valid YAML"):
        registry_v1.check(tmp_path, detect.plan(V1))


@pytest.mark.parametrize("key", [L.CHANNELS, L.DEFAULT_CHANNEL])
def test_channel_disagreement_is_a_warning_and_annotations_win(
    tmp_path: Path, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    # operator-registry's own test bundles: channels label "beta", annotations.yaml "beta,stable"
    _bundle(tmp_path, {**V1, L.CHANNELS: "beta,stable", L.DEFAULT_CHANNEL: "beta"})
    labels = {**V1, L.CHANNELS: "beta", L.DEFAULT_CHANNEL: "stable"}
    with caplog.at_level("WARNING"):
        info = registry_v1.check(tmp_path, detect.plan(labels))
    assert info.channels == ("beta", "stable") and info.default_channel == "beta"
    assert any(key in r.getMessage() and "disagrees" in r.getMessage() for r in caplog.records)


def test_unquoted_numeric_channel_reads_as_opm_does(tmp_path: Path) -> None:
    # label 4.10, annotation 4.10 unquoted: opm reads "4.1" (a float formatted back), no exit 6
    _bundle(tmp_path, {**V1, L.CHANNELS: "4.10", L.DEFAULT_CHANNEL: "4.10"})
    info = registry_v1.check(tmp_path, detect.plan({**V1, L.CHANNELS: "4.10", L.DEFAULT_CHANNEL: "4.10"}))
    assert info.channels == ("4.1",) and info.default_channel == "4.1"


@pytest.mark.parametrize("layout", ["subdir-only", "empty"])
def test_manifests_without_a_file_of_its_own_is_refused(tmp_path: Path, layout: str) -> None:
    """A manifests directory holding only a subdirectory is not a bundle.

    operator-registry master, pkg/registry/parse.go bundleParser.addManifests (stored commit
    0830b1b): subdirectories are skipped, and no object left is "no bundle objects found";
    operator-controller main, rukpak/bundle/source/source.go fsBundleSource.GetBundle
    (5f37a67): a subdirectory of manifests/ is an error. Earlier this check only asked for
    *some* entry, so manifests/nested/csv.yaml passed.
    """
    _bundle(tmp_path, V1)
    (tmp_path / "manifests" / "csv.yaml").unlink()
    if layout == "subdir-only":
        (tmp_path / "manifests" / "nested").mkdir()
        (tmp_path / "manifests" / "nested" / "csv.yaml").write_text("kind: ClusterServiceVersion\n")
    with pytest.raises(InvalidBundleError, match="manifests/ has no file") as exc:
        registry_v1.check(tmp_path, detect.plan(V1))
    assert exit_code_for(exc.value) == 6


def test_manifests_symlink_leaving_the_image_is_refused(tmp_path: Path) -> None:
    """A manifests/ symlink to a host directory is not listed (nothing outside the image is read)."""
    root = tmp_path / "root"
    root.mkdir()
    _bundle(root, V1)
    outside = tmp_path / "host"
    outside.mkdir()
    (outside / "csv.yaml").write_text("kind: ClusterServiceVersion\n")
    for p in (root / "manifests").iterdir():
        p.unlink()
    (root / "manifests").rmdir()
    (root / "manifests").symlink_to(outside)
    with pytest.raises(InvalidBundleError, match="leads outside the image"):
        registry_v1.check(root, detect.plan(V1))


def test_manifests_symlink_within_the_image_is_read(tmp_path: Path) -> None:
    """opm lists manifests/ through os.DirFS, which follows a symlink to a directory in the image."""
    _bundle(tmp_path, V1)
    (tmp_path / "manifests").rename(tmp_path / "deploy")
    (tmp_path / "manifests").symlink_to("deploy")
    assert registry_v1.check(tmp_path, detect.plan(V1)).package == "etcd"


PLAIN = {L.MEDIATYPE: "plain"}


def test_plain_manifests_subdirectory_is_refused(tmp_path: Path) -> None:
    """rukpak's plain provisioner reads manifests/ flat and fails on a subdirectory, naming it
    (operator-framework/rukpak, internal/provisioner/plain/controllers/bundle_controller.go
    getObjects, stored commit 6f691be; the later LoadPlainV0 keeps the rule). We accepted a
    subdirectory as long as one file sat next to it."""
    (tmp_path / "manifests" / "extra").mkdir(parents=True)
    (tmp_path / "manifests" / "00-ns.yaml").write_text("kind: Namespace\n")
    (tmp_path / "manifests" / "extra" / "cm.yaml").write_text("kind: ConfigMap\n")
    with pytest.raises(InvalidBundleError, match=r"manifests/extra/ is a directory") as exc:
        registry_v1.check_plain(tmp_path, detect.plan(PLAIN))
    assert exit_code_for(exc.value) == 6


def test_plain_flat_manifests_pass(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "00-ns.yaml").write_text("kind: Namespace\n")
    assert registry_v1.check_plain(tmp_path, detect.plan(PLAIN)).manifests_dir == "manifests/"


@pytest.mark.parametrize("mediatype", ["helm", "registry+v2"])
def test_unsupported_bundle_media_type_is_named(mediatype: str) -> None:
    """operator-registry's bundle media types are registry+v1, plain and helm (pkg/lib/bundle
    generate.go, stored commit 689410c); a helm (or unknown) bundle is not extracted by kind,
    and the error names its media type instead of saying the type could not be determined."""
    with pytest.raises(
        UsageError, match=rf"bundle media type '{re.escape(mediatype)}' is not supported"
    ) as exc:
        detect.plan({L.MEDIATYPE: mediatype, L.PACKAGE: "p"})
    assert "paths=[...] or all=True" in str(exc.value)
    assert detect.plan({L.MEDIATYPE: mediatype}, all_paths=True).paths is None
