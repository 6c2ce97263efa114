"""Manifest shapes containers/image pulls that a hand-written check might trip on: the same layer
listed twice (``LayerInfos``: "the list may contain duplicates, and they are semantically
relevant"), compared with umoci's unpack of the same image where it can read it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from regfix.oci import File, ImageSpec, Whiteout
from regfix.pytest_plugin import PushedImage
from regfix.umoci import umoci_unpack

from tests.e2e.cli import Run

pytestmark = pytest.mark.registry


def test_the_same_layer_twice_is_applied_twice(
    cli: Callable[..., Run], registry: object, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    """Layers A, B, A: A's file comes back after B whited it out (each listing is applied in turn,
    as containers/storage applies a repeated layer; a dedup by digest would leave it deleted)."""
    a = [File("etc/motd", "hello\n")]
    spec = ImageSpec(layers=[a, [Whiteout("etc/motd")], a])
    img = push_image(registry, spec, "shapes/twice")
    out = tmp_path / "out"
    r = cli("pull", img.ref, "-o", str(out), "--all", "--insecure-registry", img.registry.host, "--json")
    assert r.code == 0, r.stderr
    layers = r.json()["layers"]
    assert len(layers) == 3 and layers[0]["digest"] == layers[2]["digest"]
    assert (out / "etc" / "motd").read_text() == "hello\n"
    theirs = umoci_unpack(img.layout.path, img.layout.tag, tmp_path / "bundle")  # the oracle
    assert (theirs / "etc" / "motd").read_text() == "hello\n"
