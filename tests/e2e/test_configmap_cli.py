"""ConfigMaps through the CLI: --format configmap against a real registry, and the `job` command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from regfix.pytest_plugin import PushedImage

from imgextract.outputs.configmap import default_name, load_yaml, read
from tests.e2e.cli import Run

D = "sha256:" + "b" * 64


@pytest.mark.registry
def test_pull_configmap_round_trips(
    cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path
) -> None:
    target = tmp_path / "cm.yaml"
    r = cli(
        "pull",
        pushed_bundle.ref,
        "--format",
        "configmap",
        "-o",
        str(target),
        "--namespace",
        "olm",
        "--insecure-registry",
        pushed_bundle.registry.host,
        "--json",
    )
    assert r.code == 0, r.stderr
    cms = load_yaml(target.read_text())
    assert len(cms) == 1
    cm = cms[0]
    assert cm["metadata"]["name"] == default_name(pushed_bundle.ref)
    assert cm["metadata"]["namespace"] == "olm"
    ann = cm["metadata"]["annotations"]
    assert ann["olm.sourceImage"] == pushed_bundle.ref
    assert ann["bundle-extract/resolved-digest"] == pushed_bundle.digest
    assert ann["operators.operatorframework.io.bundle.package.v1"] == "widget-operator"
    assert pushed_bundle.fixture is not None
    want = {
        k: v
        for k, v in pushed_bundle.fixture.files.items()
        if k.startswith(("manifests/", "metadata/")) and k != "metadata/annotations.yaml"
    }
    assert read(cms) == want
    assert r.json()["output"] == str(target)


@pytest.mark.registry
def test_pull_configmap_to_stdout(cli: Callable[..., Run], pushed_bundle: PushedImage) -> None:
    r = cli(
        "pull",
        pushed_bundle.ref,
        "--format",
        "configmap",
        "-o",
        "-",
        "--configmap-name",
        "my-bundle",
        "--source-image",
        "quay.io/original/bundle:v1",
        "--insecure-registry",
        pushed_bundle.registry.host,
    )
    assert r.code == 0, r.stderr
    cms = load_yaml(r.stdout)
    assert [c["metadata"]["name"] for c in cms] == ["my-bundle"]
    assert cms[0]["metadata"]["annotations"]["olm.sourceImage"] == "quay.io/original/bundle:v1"


def test_job_command_prints_restricted_job(cli: Callable[..., Run]) -> None:
    r = cli(
        "job",
        f"quay.io/acme/bundle@{D}",
        "--namespace",
        "olm",
        "--image",
        "quay.io/acme/bundle-extract:0.1",
        "--pull-secret-name",
        "regcred",
        "--via-imagestream",
    )
    assert r.code == 0, r.stderr
    docs = list(yaml.safe_load_all(r.stdout))
    assert [d["kind"] for d in docs] == ["ImageStream", "Job"]
    pod = docs[1]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"]["drop"] == ["ALL"]
    assert sc["readOnlyRootFilesystem"] is True
    assert "--source-image" in container["args"]
    assert container["args"][container["args"].index("--source-image") + 1] == f"quay.io/acme/bundle@{D}"
    assert "&id" not in r.stdout  # no YAML anchors


def test_job_needs_digest_for_imagestream(cli: Callable[..., Run]) -> None:
    r = cli("job", "quay.io/acme/bundle:v1", "--namespace", "olm", "--image", "x/y:1", "--via-imagestream")
    assert r.code == 2 and "digest" in r.stderr
