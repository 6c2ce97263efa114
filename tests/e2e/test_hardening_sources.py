"""A blob that fails verification from one source is fetched from the next source in the pull order,
and a resumed partial that fails verification is fetched again whole: through the CLI, a real
registry, and the fault relay serving wrong bytes as a bad mirror would."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix.pytest_plugin import PushedImage

from tests.e2e.cli import Run, run_cli

pytestmark = pytest.mark.registry


@pytest.fixture(scope="module")
def image(registry: Any, tmp_path_factory: pytest.TempPathFactory) -> PushedImage:
    from regfix.oci import File, ImageSpec, Layer, write_layout
    from regfix.push import push

    spec = ImageSpec(layers=[Layer([File("data/blob.bin", os.urandom(300_000))], compression="none")])
    layout = write_layout(tmp_path_factory.mktemp("sources-layout"), spec, "v1")
    return PushedImage(push(layout, registry, "sources/app", "v1"), layout, None, registry)


def _conf(tmp_path: Path, primary: str, *mirrors: str) -> list[str]:
    text = f'[[registry]]\nlocation = "{primary}/sources"\ninsecure = true\n'
    for m in mirrors:
        text += f'\n[[registry.mirror]]\nlocation = "{m}/sources"\ninsecure = true\n'
    conf = tmp_path / "registries.conf"
    conf.write_text(text)
    (tmp_path / "conf.d").mkdir(exist_ok=True)
    return ["--registries-conf", str(conf), "--registries-conf-dir", str(tmp_path / "conf.d")]


def _pull(tmp_path: Path, ref: str, *extra: str) -> Run:
    return run_cli("pull", ref, "-o", str(tmp_path / "out"), "--all", "--json", *extra, home=tmp_path)


def test_wrong_bytes_from_a_mirror_are_fetched_from_the_next_source(
    image: PushedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    layer = image.layout.image.layers[0].digest
    bad = fault_proxy(image.registry)
    bad.plan.corrupt_blobs = {layer}
    r = _pull(tmp_path, image.ref, *_conf(tmp_path, image.registry.host, bad.host))
    assert r.code == 0, r.stderr
    assert any(q.fault == "corrupt" for q in bad.requests)  # the mirror was tried and served bad bytes
    assert "digest mismatch" in r.stderr and bad.host in r.stderr and image.registry.host in r.stderr
    assert (tmp_path / "out" / "data" / "blob.bin").stat().st_size == 300_000


def test_every_source_wrong_names_each(
    image: PushedImage, fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    layer = image.layout.image.layers[0].digest
    first, second = fault_proxy(image.registry), fault_proxy(image.registry)
    first.plan.corrupt_blobs = {layer}
    second.plan.corrupt_blobs = {layer}
    ref = f"{second.host}/sources/app:v1"
    r = _pull(tmp_path, ref, *_conf(tmp_path, second.host, first.host))
    assert r.code == 5, r.stderr
    assert "every source" in r.stderr and first.host in r.stderr and second.host in r.stderr
    assert not (tmp_path / "out").exists()


def test_a_bad_partial_is_discarded_and_fetched_whole(image: PushedImage, tmp_path: Path) -> None:
    layer = image.layout.image.layers[0].digest
    alg, hexd = layer.split(":")
    cache = tmp_path / "cache"
    (cache / "blobs" / alg).mkdir(parents=True)
    partial = cache / "blobs" / alg / f"{hexd}.partial"
    partial.write_bytes(b"\0" * 100_000)  # what a killed download from a bad mirror left
    r = _pull(tmp_path, image.ref, "--cache-dir", str(cache), "--insecure-registry", image.registry.host)
    assert r.code == 0, r.stderr
    assert "again whole" in r.stderr
    assert not partial.exists() and (cache / "blobs" / alg / hexd).is_file()
