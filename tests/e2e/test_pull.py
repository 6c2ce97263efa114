"""End to end: `bundle-extract pull` against a real docker-registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from regfix.bundles import Fixture
from regfix.pytest_plugin import PushedImage
from regfix.umoci import compare_trees, snapshot, umoci_unpack

from tests.e2e.cli import Run

pytestmark = pytest.mark.registry


def _tree_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _expected_bundle(fx: Fixture) -> dict[str, bytes]:
    return {k: v for k, v in fx.files.items() if k.startswith(("manifests/", "metadata/"))}


@pytest.mark.parametrize("by", ["tag", "digest"])
def test_pull_registry_v1_bundle(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path, by: str
) -> None:
    img = pushed_fixtures["registry-v1"]
    ref = img.ref if by == "tag" else img.digest_ref
    out = tmp_path / "out"
    r = cli("pull", ref, "-o", str(out), "--insecure-registry", img.registry.host, "--json")
    assert r.code == 0, r.stderr
    assert img.fixture is not None
    assert _tree_files(out) == _expected_bundle(img.fixture)
    assert sorted(p.name for p in out.iterdir()) == ["manifests", "metadata"]
    doc = r.json()
    assert doc["kind"] == "registry+v1"
    assert doc["resolved"]["digest"] == img.digest
    assert doc["bundle"]["package"] == img.fixture.package
    assert doc["source"] == f"{img.registry.host}/{img.repository}"
    assert doc["files"] == len(_expected_bundle(img.fixture))
    assert r.stderr == ""
    # nothing but OUT was left beside it (no staging directories)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "out"]


def test_docker_media_types_bundle(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    img = pushed_fixtures["docker-media"]
    out = tmp_path / "out"
    r = cli("pull", img.ref, "-o", str(out), "--insecure-registry", img.registry.host, "--json")
    assert r.code == 0, r.stderr
    assert r.json()["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert img.fixture is not None and _tree_files(out) == _expected_bundle(img.fixture)


def test_plain_and_fbc(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    for name, kind, top in (("plain-v0", "plain+v0", ["manifests"]), ("fbc", "fbc", ["configs"])):
        img = pushed_fixtures[name]
        out = tmp_path / name
        r = cli("pull", img.ref, "-o", str(out), "--insecure-registry", img.registry.host, "--json")
        assert r.code == 0, r.stderr
        assert r.json()["kind"] == kind
        assert sorted(p.name for p in out.iterdir()) == top
        assert img.fixture is not None
        want = {k: v for k, v in img.fixture.files.items() if k.split("/")[0] in top}
        assert _tree_files(out) == want


def test_labels_disagreeing_with_annotations_exit_6(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    img = pushed_fixtures["mismatched-labels"]
    out = tmp_path / "out"
    r = cli("pull", img.ref, "-o", str(out), "--insecure-registry", img.registry.host)
    assert r.code == 6, r.stderr
    assert "disagrees" in r.stderr and img.ref in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


@pytest.mark.parametrize("name", ["generic", "generic-zstd"])
def test_all_equals_umoci(
    cli: Callable[..., Run],
    pushed_fixtures: dict[str, PushedImage],
    need_umoci: str,
    tmp_path: Path,
    name: str,
) -> None:
    img = pushed_fixtures[name]
    out = tmp_path / "out"
    r = cli("pull", img.ref, "-o", str(out), "--all", "--insecure-registry", img.registry.host)
    assert r.code == 0, r.stderr
    # umoci 0.4.7 cannot read zstd layers: the zstd image has the same layers as "generic", gzip-compressed,
    # so umoci unpacks that one as the oracle.
    oracle = pushed_fixtures["generic"]
    rootfs = umoci_unpack(oracle.layout.path, "v1", tmp_path / "umoci")
    assert compare_trees(rootfs, out) == ""
    assert img.fixture is not None
    snap = snapshot(out)
    for path in img.fixture.absent:
        assert path not in snap
    for path, target in img.fixture.symlinks.items():
        assert snap[path].target == target


def test_generic_image_needs_path_or_all(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    img = pushed_fixtures["generic"]
    r = cli("pull", img.ref, "-o", str(tmp_path / "out"), "--insecure-registry", img.registry.host)
    assert r.code == 2 and "--path" in r.stderr
    r = cli(
        "pull",
        img.ref,
        "-o",
        str(tmp_path / "out"),
        "--path",
        "/etc",
        "--insecure-registry",
        img.registry.host,
    )
    assert r.code == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["etc"]
    r = cli(
        "pull",
        img.ref,
        "-o",
        str(tmp_path / "out2"),
        "--path",
        "/nonexistent",
        "--insecure-registry",
        img.registry.host,
    )
    assert r.code == 4 and not (tmp_path / "out2").exists()
    assert "path '/nonexistent' not in image" in r.stderr  # (as the user wrote it)


def test_multi_arch_platform_selection(
    cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage], tmp_path: Path
) -> None:
    img = pushed_fixtures["multi-arch"]
    host = img.registry.host
    r = cli(
        "pull",
        img.ref,
        "-o",
        str(tmp_path / "arm"),
        "--platform",
        "linux/arm64",
        "--insecure-registry",
        host,
        "--json",
    )
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["kind"] == "registry+v1" and doc["platform"] == "linux/arm64/v8"
    assert doc["resolved"]["digest"] == img.digest
    r = cli(
        "pull",
        img.ref,
        "-o",
        str(tmp_path / "amd"),
        "--platform",
        "linux/amd64",
        "--all",
        "--insecure-registry",
        host,
        "--json",
    )
    assert r.code == 0, r.stderr
    assert r.json()["kind"] == "image" and (tmp_path / "amd" / "etc" / "motd").exists()
    r = cli(
        "pull",
        img.ref,
        "-o",
        str(tmp_path / "s390"),
        "--platform",
        "linux/s390x",
        "--insecure-registry",
        host,
    )
    assert r.code == 4, r.stderr
    assert "linux/arm64" in r.stderr and not (tmp_path / "s390").exists()


def test_plain_http_needs_insecure_flag(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    r = cli("pull", pushed_bundle.ref, "-o", str(tmp_path / "out"))
    assert r.code == 7, r.stderr
    assert pushed_bundle.registry.host in r.stderr
    assert not (tmp_path / "out").exists()


def test_tls_registry_with_ca_file(
    cli: Callable[..., Run], tls_registry: object, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    from regfix import bundles

    img = push_image(tls_registry, bundles.registry_v1_bundle(large_crd=False), "tls/bundle")
    r = cli("pull", img.ref, "-o", str(tmp_path / "untrusted"))
    assert r.code == 7 and "certificate" in r.stderr.lower(), r.stderr
    assert img.registry.ca_file is not None
    r = cli("pull", img.ref, "-o", str(tmp_path / "out"), "--ca-file", str(img.registry.ca_file))
    assert r.code == 0, r.stderr
    assert (tmp_path / "out" / "metadata" / "annotations.yaml").exists()


def test_missing_tag_and_malformed_reference(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    host = pushed_bundle.registry.host
    out = tmp_path / "out"
    r = cli(
        "pull", f"{host}/{pushed_bundle.repository}:no-such-tag", "-o", str(out), "--insecure-registry", host
    )
    assert r.code == 4, r.stderr
    assert "no-such-tag" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    r = cli("pull", f"{host}/nope/nothing:v1", "-o", str(out), "--insecure-registry", host)
    assert r.code == 4, r.stderr
    r = cli("pull", "UPPER/Case:v1", "-o", str(out))
    assert r.code == 2 and "lowercase" in r.stderr
    r = cli("pull", "bad ref", "-o", str(out))
    assert r.code == 2
    assert not out.exists()


def test_corrupted_blob_exit_5_nothing_written(
    cli: Callable[..., Run], pushed_bundle: PushedImage, fault_proxy: Callable[..., object], tmp_path: Path
) -> None:
    proxy = fault_proxy(pushed_bundle.registry)
    proxy.plan.corrupt_blobs = True  # type: ignore[attr-defined]
    ref = pushed_bundle.ref.replace(pushed_bundle.registry.host, proxy.host)  # type: ignore[attr-defined]
    out = tmp_path / "out"
    r = cli("pull", ref, "-o", str(out), "--insecure-registry", proxy.host)  # type: ignore[attr-defined]
    assert r.code == 5, r.stderr
    assert "digest" in r.stderr.lower()
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_existing_output_is_kept_without_force(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep").write_text("mine")
    host = pushed_bundle.registry.host
    r = cli("pull", pushed_bundle.ref, "-o", str(out), "--insecure-registry", host)
    assert r.code == 2 and "--force" in r.stderr
    assert (out / "keep").read_text() == "mine"
    r = cli("pull", pushed_bundle.ref, "-o", str(out), "--insecure-registry", host, "--force")
    assert r.code == 0, r.stderr
    assert not (out / "keep").exists() and (out / "manifests").is_dir()


def test_inspect_json(cli: Callable[..., Run], pushed_fixtures: dict[str, PushedImage]) -> None:
    img = pushed_fixtures["multi-arch"]
    r = cli(
        "inspect", img.ref, "--platform", "linux/arm64/v8", "--insecure-registry", img.registry.host, "--json"
    )
    assert r.code == 0, r.stderr
    doc = r.json()
    assert doc["resolved"]["digest"] == img.digest
    assert doc["kind"] == "registry+v1"
    assert set(doc["platforms"]) == {"linux/amd64", "linux/arm64/v8"}
    assert doc["labels"]["operators.operatorframework.io.bundle.package.v1"]
    assert all(not layer["fetched"] for layer in doc["layers"])


def test_quiet_pipe_has_no_progress(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    r = cli(
        "pull",
        pushed_bundle.ref,
        "-o",
        str(tmp_path / "o"),
        "--insecure-registry",
        pushed_bundle.registry.host,
    )
    assert r.code == 0 and r.stderr == ""
    assert "registry+v1" in r.stdout and len(r.stdout.strip().splitlines()) == 1
