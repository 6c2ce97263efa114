"""``job --image``: the container image of the generated pod is validated before anything is printed.

The kubelet parses a container's ``image`` with distribution/reference ``ParseNormalizedNamed`` and
leaves the pod in ``InvalidImageName`` when that fails, so a value it would refuse is refused here,
with a one-line error and exit code 2, and no half-printed manifest.  A password typed into
``--image`` (``user:password@host/...``) is refused without being repeated, never written into the
Job.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.cli import run_cli

SECRET = "hunter2-not-for-the-manifest"
DIGEST = "sha256:" + "a" * 64
SINGLE = ("job", "quay.io/ns/bundle@" + DIGEST, "--namespace", "ns")
CATALOG = ("job", "--from-catalog", "quay.io/ns/index:v1", "--shards", "2", "--namespace", "ns")


@pytest.mark.parametrize("form", [SINGLE, CATALOG], ids=["job", "indexed-job"])
@pytest.mark.parametrize(
    "image",
    [
        f"bob:{SECRET}@quay.io/tools/bundle-extract:1",
        f"https://bob:{SECRET}@quay.io/tools/bundle-extract:1",
    ],
)
def test_userinfo_in_image_is_refused_without_echoing_it(
    tmp_path: Path, form: tuple[str, ...], image: str
) -> None:
    run = run_cli(*form, "--image", image, home=tmp_path)
    assert run.code == 2, run.stderr
    assert run.stdout == ""
    assert SECRET not in run.stderr
    assert "--image takes no user:password@" in run.stderr
    assert "quay.io/tools/bundle-extract:1" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("form", [SINGLE, CATALOG], ids=["job", "indexed-job"])
@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("quay.io/tools/bundle-extract:1\nmalicious: true", "--image: invalid reference format"),
        ("quay.io/tools/bundle-extract:1\n", "--image: invalid reference format"),
        ("quay.io/Tools/bundle-extract:1", "--image: repository name must be lowercase"),
        ("quay.io/tools/bundle-extract:1 ", "--image: invalid reference format"),
        ("", "--image: invalid reference format"),
        ("docker://quay.io/tools/bundle-extract:1", "--image takes no docker:// prefix"),
        ("quay.io/tools/bundle-extract@sha256:abc", "--image: invalid reference format"),
        ("quay.io/tools/bundle-extract@sha256:" + "a" * 40, "--image: invalid sha256 digest length"),
    ],
)
def test_invalid_image_is_refused(tmp_path: Path, form: tuple[str, ...], image: str, message: str) -> None:
    """distribution/reference ParseNormalizedNamed refuses each of these."""
    run = run_cli(*form, "--image", image, home=tmp_path)
    assert run.code == 2, run.stderr
    assert run.stdout == ""
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "image",
    ["bundle-extract:0.1", "localhost:5000/bundle-extract", f"quay.io/tools/bundle-extract:1@{DIGEST}"],
)
def test_valid_image_is_printed_as_given(tmp_path: Path, image: str) -> None:
    """A short name is valid for the kubelet (it normalises it to docker.io/library/...), so it is
    kept as typed; so are a port and tag+digest."""
    run = run_cli(*SINGLE, "--image", image, home=tmp_path)
    assert run.code == 0, run.stderr
    assert f"image: {image}\n" in run.stdout


@pytest.mark.parametrize(
    ("host", "message"),
    [
        (f"bob:{SECRET}@registry.example:5000", "--registry-host takes no user:password@"),
        ("registry.example:5000/ns", "--registry-host: not a registry host[:port]"),
        ("registry.example:5000\nmalicious: true", "--registry-host: not a registry host[:port]"),
        ("https://registry.example", "--registry-host: not a registry host[:port]"),
        ("", "--registry-host: not a registry host[:port]"),
    ],
)
def test_invalid_registry_host_is_refused(tmp_path: Path, host: str, message: str) -> None:
    """``--registry-host`` becomes the host of the pod's pull reference (HOST/NS/NAME@DIGEST), so it
    must be a distribution/reference domain[:port]; user information is refused unrepeated."""
    run = run_cli(*SINGLE, "--image", "be:1", "--via-imagestream", "--registry-host", host, home=tmp_path)
    assert run.code == 2, run.stderr
    assert run.stdout == ""
    assert SECRET not in run.stderr
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_valid_registry_host_is_used(tmp_path: Path) -> None:
    run = run_cli(
        *SINGLE, "--image", "be:1", "--via-imagestream", "--registry-host", "localhost:5000", home=tmp_path
    )
    assert run.code == 0, run.stderr
    assert "- localhost:5000/ns/bundle-" in run.stdout
