"""The content cache through the CLI, warm re-pulls and `cache prune`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from regfix.oci import Dir, File, ImageSpec, Layer
from regfix.pytest_plugin import PushedImage

from tests.e2e.cli import Run

pytestmark = pytest.mark.registry

FBC = {"operators.operatorframework.io.index.configs.v1": "/configs"}


# the smallest catalog opm accepts: a package with its default channel and one bundle in it
_WIDGET_FBC = """schema: olm.package
name: widget
defaultChannel: stable
---
schema: olm.channel
package: widget
name: stable
entries:
- name: widget.v1.0.0
---
schema: olm.bundle
package: widget
name: widget.v1.0.0
image: registry.example/widget-bundle:v1.0.0
properties:
- type: olm.package
  value: {packageName: widget, version: 1.0.0}
"""


def _catalog(version: str) -> ImageSpec:
    base = [Dir("bin"), File("bin/opm", b"\x7fELF opm " * 20000, 0o755)]
    configs = [
        Dir("configs"),
        Dir("configs/widget"),
        File("configs/widget/catalog.yaml", _WIDGET_FBC + f"# {version}\n"),
    ]
    return ImageSpec(layers=[Layer(base), Layer(configs)], labels=FBC)


def test_warm_repull_fetches_only_changed_layer(
    cli: Callable[..., Run], registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    v1 = push_image(registry, _catalog("v1"), "cache/catalog", tag="v1")
    v2 = push_image(registry, _catalog("v2"), "cache/catalog", tag="v2")
    host = registry.host
    r = cli("pull", v1.ref, "-o", str(tmp_path / "a"), "--insecure-registry", host, "--json")
    assert r.code == 0, r.stderr
    assert [layer["fetched"] for layer in r.json()["layers"]] == [True, True]
    r = cli("pull", v2.ref, "-o", str(tmp_path / "b"), "--insecure-registry", host, "--json")
    assert r.code == 0, r.stderr
    layers = r.json()["layers"]
    assert [layer["fetched"] for layer in layers] == [False, True]
    assert (tmp_path / "b" / "configs" / "widget" / "catalog.yaml").read_text().endswith("# v2\n")
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["configs"]
    # --no-cache fetches everything again
    r = cli("pull", v2.ref, "-o", str(tmp_path / "c"), "--insecure-registry", host, "--json", "--no-cache")
    assert r.code == 0, r.stderr
    assert [layer["fetched"] for layer in r.json()["layers"]] == [True, True]


def test_cache_prune(cli: Callable[..., Run], pushed_bundle: PushedImage, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    r = cli(
        "pull",
        pushed_bundle.ref,
        "-o",
        str(tmp_path / "o"),
        "--insecure-registry",
        pushed_bundle.registry.host,
        "--cache-dir",
        str(cache),
    )
    assert r.code == 0, r.stderr
    assert any(p.is_file() for p in cache.rglob("*"))
    r = cli("cache", "prune", "--cache-dir", str(cache))
    assert r.code == 2
    r = cli("cache", "prune", "--cache-dir", str(cache), "--all")
    assert r.code == 0, r.stderr
    assert "removed" in r.stdout
    assert not any(p.is_file() and "blobs" in p.parts for p in cache.rglob("*"))


def test_digest_pull_served_from_cache_when_registry_is_gone(
    cli: Callable[..., Run],
    registry_factory: Callable[..., Any],
    push_image: Callable[..., PushedImage],
    tmp_path: Path,
) -> None:
    """cli.md 'Caching': by digest, verified content may come from the cache; tags always ask a source."""
    from regfix import bundles

    reg = registry_factory()
    img = push_image(reg, bundles.registry_v1_bundle(large_crd=False), "cache/offline")
    host = reg.host
    r = cli("pull", img.digest_ref, "-o", str(tmp_path / "a"), "--insecure-registry", host)
    assert r.code == 0, r.stderr
    reg.stop()
    r = cli("pull", img.digest_ref, "-o", str(tmp_path / "b"), "--insecure-registry", host, "--json")
    assert r.code == 0, r.stderr
    assert not any(layer["fetched"] for layer in r.json()["layers"])
    assert (tmp_path / "b" / "metadata" / "annotations.yaml").read_bytes() == (
        tmp_path / "a" / "metadata" / "annotations.yaml"
    ).read_bytes()
    r = cli("pull", img.ref, "-o", str(tmp_path / "c"), "--insecure-registry", host)
    assert r.code == 7, r.stderr


def _age(path: Path, days: float) -> None:
    import os
    import time

    past = time.time() - days * 86400
    os.utime(path, (past, past))


def test_cache_prune_ages_out_extracted_catalogs(
    cli: Callable[..., Run], registry: Any, push_image: Callable[..., PushedImage], tmp_path: Path
) -> None:
    """``<cache>/catalogs/<digest>``: each use makes it recent; unused past --max-age, it goes."""
    pushed = push_image(registry, _catalog("v1"), "cache/catalog-prune", tag="v1")
    cache = tmp_path / "cache"
    args = (
        "catalog",
        "packages",
        pushed.ref,
        "--insecure-registry",
        registry.host,
        "--cache-dir",
        str(cache),
    )
    r = cli(*args)
    assert r.code == 0, r.stderr
    [extracted] = list((cache / "catalogs").iterdir())
    assert (extracted / "configs" / "widget" / "catalog.yaml").is_file()
    _age(extracted, 10)
    assert cli(*args).code == 0  # used again: recent
    r = cli("cache", "prune", "--max-age", "1d", "--cache-dir", str(cache))
    assert r.code == 0, r.stderr
    assert (extracted / "configs" / "widget" / "catalog.yaml").is_file()
    _age(extracted, 10)
    r = cli("cache", "prune", "--max-age", "1d", "--cache-dir", str(cache))
    assert r.code == 0, r.stderr
    assert list((cache / "catalogs").iterdir()) == []
    assert cli(*args).code == 0  # extracted again (layers from the blob cache, if still there)
    r = cli("cache", "prune", "--all", "--cache-dir", str(cache))
    assert r.code == 0, r.stderr
    assert list((cache / "catalogs").iterdir()) == []
