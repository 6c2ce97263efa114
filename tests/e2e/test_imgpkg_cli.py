"""imgpkg through the CLI: `copy` to a second registry with its own credentials, then `pull -r` from it."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import yaml
from regfix import registry as regfix_registry

from imgextract import oci
from tests.e2e.cli import Run
from tests.integration.test_imgpkg_copy import populate, world

pytestmark = pytest.mark.registry

USER, PASSWORD = "mover", "mover-Secret-42"


def test_copy_then_pull_from_b_never_contacts_a(cli: Callable[..., Run], tmp_path: Path) -> None:
    reg_a = regfix_registry.start_registry(tmp_path / "a")
    try:
        with regfix_registry.start_registry(tmp_path / "b", tls=True, htpasswd={USER: PASSWORD}) as reg_b:
            src = populate(world(reg_a.host).client_for(reg_a.host), reg_a.host)
            auth = tmp_path / "auth.json"
            token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            auth.write_text(json.dumps({"auths": {reg_b.host: {"auth": token}}}))
            common = [
                "--authfile",
                str(auth),
                "--ca-file",
                str(reg_b.ca_file),
                "--insecure-registry",
                reg_a.host,
            ]
            lock = tmp_path / "lock.yml"
            r = cli(
                "copy",
                src.outer,
                "--to-repo",
                f"{reg_b.host}/team/dst",
                "--lock-output",
                str(lock),
                "--json",
                *common,
            )
            assert r.code == 0, r.stderr
            doc = r.json()
            assert doc["digest"] == src.outer_digest and len(doc["bundles"]) == 2
            assert PASSWORD not in r.stdout + r.stderr and token not in r.stdout + r.stderr
            assert yaml.safe_load(lock.read_text())["kind"] == "BundleLock"

            reg_a.stop()
            out = tmp_path / "out"
            r = cli("pull", f"{reg_b.host}/team/dst:bundle", "-o", str(out), "-r", "--json", *common)
            assert r.code == 0, r.stderr
            assert r.json()["kind"] == "imgpkg"
            images = yaml.safe_load((out / ".imgpkg" / "images.yml").read_text())["images"]
            assert [i["image"].split("@")[0] for i in images] == [f"{reg_b.host}/team/dst"] * 2
            nested = out / ".imgpkg" / "bundles" / f"sha256-{src.simple_digest.split(':')[1]}"
            nested_images = yaml.safe_load((nested / ".imgpkg" / "images.yml").read_text())["images"]
            assert nested_images[0]["image"].startswith(f"{reg_b.host}/team/dst@")
            assert (out / "README.md").read_text() == "outer\n"
    finally:
        reg_a.stop()


def test_copy_of_a_plain_image_is_refused(cli: Callable[..., Run], tmp_path: Path) -> None:
    with regfix_registry.start_registry(tmp_path / "a") as reg:
        src = populate(world(reg.host).client_for(reg.host), reg.host)
        r = cli("copy", src.app, "--to-repo", f"{reg.host}/dst", "--insecure-registry", reg.host)
        assert r.code == 6, r.stderr
        assert "Expected bundle image but found plain image" in r.stderr
        # an index is never a bundle (imgpkg reads the label from an image config only)
        r = cli("copy", src.index, "--to-repo", f"{reg.host}/dst", "--insecure-registry", reg.host)
        assert r.code == 6, r.stderr
        assert "Expected bundle image but found an image index" in r.stderr
        catalog = requests.get(f"http://{reg.host}/v2/_catalog", timeout=10).json()["repositories"]
        assert "dst" not in catalog


def _settled_log(reg: regfix_registry.Registry, start: int) -> list[str]:
    """The registry's access-log lines from line ``start`` on, once the log stops growing."""
    lines: list[str] = []
    for _ in range(20):
        now = reg.logs().splitlines()[start:]
        if now and len(now) == len(lines):
            return now
        lines = now
        time.sleep(0.1)
    return lines


def test_pull_kind_imgpkg_of_a_plain_image_is_refused_before_any_layer(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    """imgpkg refuses a plain image from its config labels alone; so does ``pull --kind imgpkg``:
    exit 6, no layer blob requested, nothing at OUT."""
    with regfix_registry.start_registry(tmp_path / "a") as reg:
        src = populate(world(reg.host).client_for(reg.host), reg.host)
        repo, _, digest = src.app.partition("/")[2].partition("@")
        accept = ", ".join(oci.MANIFEST_ACCEPT)
        got = requests.get(
            f"http://{reg.host}/v2/{repo}/manifests/{digest}", headers={"Accept": accept}, timeout=10
        )
        manifest = got.json()
        layers = [layer["digest"] for layer in manifest["layers"]]
        assert layers
        start = len(reg.logs().splitlines())
        out = tmp_path / "out"
        r = cli("pull", src.app, "--kind", "imgpkg", "-o", str(out), "--insecure-registry", reg.host)
        assert r.code == 6, r.stderr
        assert "Expected bundle image but found plain image" in r.stderr
        assert not out.exists() and list(tmp_path.glob("out*")) == []
        lines = [line for line in _settled_log(reg, start) if "GET /v2/" in line]
        assert any(f"/blobs/{manifest['config']['digest']} " in line for line in lines), lines
        assert not [line for line in lines if any(f"/blobs/{d}" in line for d in layers)]


def test_pull_says_which_image_kept_images_yml_unrewritten(cli: Callable[..., Run], tmp_path: Path) -> None:
    """imgpkg#284: a pull that leaves ``.imgpkg/images.yml`` as it is says which image and why."""
    with regfix_registry.start_registry(tmp_path / "a") as reg:
        src = populate(world(reg.host).client_for(reg.host), reg.host)
        out = tmp_path / "out"
        r = cli("pull", src.simple, "-o", str(out), "--json", "--insecure-registry", reg.host)
        assert r.code == 0, r.stderr
        assert f"images.yml not rewritten: image {src.app} not found in {reg.host}/src/simple" in r.stderr
        assert "not found (404)" in r.stderr
        report = r.json()["imgpkg"]
        assert report["rewritten"] is False and report["missing"] == src.app
        images = yaml.safe_load((out / ".imgpkg" / "images.yml").read_text())["images"]
        assert [i["image"] for i in images] == [src.app]


def test_copy_text_line_counts_blobs_in_words(cli: Callable[..., Run], tmp_path: Path) -> None:
    """The human line of ``copy`` says what happened to the blobs in words, not as a Python dict."""
    with regfix_registry.start_registry(tmp_path / "r") as reg:
        src = populate(world(reg.host).client_for(reg.host), reg.host)
        r = cli("copy", src.outer, "--to-repo", f"{reg.host}/team/dst", "--insecure-registry", reg.host)
        assert r.code == 0, r.stderr
        assert r.stdout.startswith(f"copied {src.outer} -> {reg.host}/team/dst@"), r.stdout
        assert "{" not in r.stdout and "'" not in r.stdout
        assert " mounted" in r.stdout and "2 bundles" in r.stdout
