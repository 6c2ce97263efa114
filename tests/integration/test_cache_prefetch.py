"""Prefetcher + content cache against a real CNCF distribution registry (through regfix's fault proxy)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgextract import oci
from imgextract.cache import ContentCache
from imgextract.errors import IntegrityError, NotFoundError
from imgextract.pull.prefetch import Prefetcher
from imgextract.registry import RegistryClient, TransportSettings

pytest.importorskip("regfix.pytest_plugin")
regfix_oci = pytest.importorskip("regfix.oci")

pytestmark = [pytest.mark.registry, pytest.mark.oracle]

FAST = {"retries": 2, "retry_base_delay": 0.0, "retry_max_delay": 0.0, "timeout": 20.0}


def _spec() -> Any:
    layers = [
        regfix_oci.Layer([regfix_oci.File(f"l{i}/blob.bin", os.urandom(size))], compression="none")
        for i, size in enumerate((600_000, 5, 1_500_000, 80_000))
    ]
    return regfix_oci.ImageSpec(layers=layers)


def _client(host: str) -> RegistryClient:
    return RegistryClient(host, TransportSettings(**FAST), None, insecure=True)  # type: ignore[arg-type]


def _layers(client: RegistryClient, repository: str) -> list[oci.Descriptor]:
    manifest = oci.parse_manifest(client.get_manifest(repository, "v1").raw)
    return list(manifest.layers)


def _read_all(pf: Prefetcher, layers: list[oci.Descriptor]) -> list[str]:
    digests = []
    for desc in layers:
        with pf.open(desc) as raw:
            digests.append("sha256:" + hashlib.sha256(raw.read()).hexdigest())
    return digests


def test_prefetch_into_cache_then_serve_from_it(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    push_image(registry, _spec(), "cache/prefetch")
    fp = fault_proxy(registry)
    cache = ContentCache(tmp_path / "cache")
    with _client(fp.host) as client:
        layers = _layers(client, "cache/prefetch")
        with Prefetcher(client, "cache/prefetch", layers, cache=cache, workers=2) as pf:
            assert _read_all(pf, layers) == [d.digest for d in layers]
            assert all(pf.stats(d).fetched_bytes == d.size for d in layers)
        assert all(cache.get_blob_path(d.digest) is not None for d in layers)
        before = len(fp.requests)
        with Prefetcher(client, "cache/prefetch", layers, cache=cache) as pf:
            assert _read_all(pf, layers) == [d.digest for d in layers]
            assert all(pf.stats(d).from_cache for d in layers)
    assert len(fp.requests) == before  # the warm pass asked the registry for nothing


def test_spool_mode_leaves_no_files(registry: Any, push_image: Callable[..., Any], tmp_path: Path) -> None:
    push_image(registry, _spec(), "cache/spool")
    spool = tmp_path / "spool"
    spool.mkdir()
    with _client(registry.host) as client:
        layers = _layers(client, "cache/spool")
        with Prefetcher(client, "cache/spool", layers, cache=None, spool_dir=spool) as pf:
            assert _read_all(pf, layers) == [d.digest for d in layers]
    assert list(spool.iterdir()) == []


def test_interrupted_download_resumes_with_range_in_a_later_pull(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    pushed = push_image(registry, _spec(), "cache/resume")
    fp = fault_proxy(registry)
    cache = ContentCache(tmp_path / "cache")
    with _client(fp.host) as client:
        layers = _layers(client, "cache/resume")
        big = max(layers, key=lambda d: d.size)
        # an earlier pull died after 700 000 bytes: its partial is in the cache
        blob = (pushed.layout.path / "blobs" / "sha256" / big.digest.split(":")[1]).read_bytes()
        with cache.blob_writer(big.digest, big.size) as w:
            w.write(blob[:700_000])
        with Prefetcher(client, "cache/resume", [big], cache=cache) as pf:
            assert _read_all(pf, [big]) == [big.digest]
            assert pf.stats(big).fetched_bytes == big.size - 700_000
    gets = [r for r in fp.requests if r.path.endswith(big.digest)]
    assert [r.headers.get("Range") for r in gets] == ["bytes=700000-"]
    assert cache.get_blob_path(big.digest) is not None


def test_corrupted_blob_fails_and_is_not_cached(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    push_image(registry, _spec(), "cache/corrupt")
    fp = fault_proxy(registry)
    cache = ContentCache(tmp_path / "cache")
    with _client(fp.host) as client:
        layers = _layers(client, "cache/corrupt")
        fp.plan.corrupt_blobs = {layers[2].digest}
        with Prefetcher(client, "cache/corrupt", layers, cache=cache) as pf:
            assert _read_all(pf, layers[:2]) == [d.digest for d in layers[:2]]
            with pytest.raises(IntegrityError):
                _read_all(pf, layers[2:3])
    assert cache.get_blob_path(layers[2].digest) is None
    assert not list((tmp_path / "cache" / "blobs" / "sha256").glob(layers[2].digest.split(":")[1] + "*"))


def test_missing_blob_raised_at_open(registry: Any, push_image: Callable[..., Any], tmp_path: Path) -> None:
    push_image(registry, _spec(), "cache/missing")
    with _client(registry.host) as client:
        layers = _layers(client, "cache/missing")
        ghost = oci.Descriptor(layers[0].media_type, "sha256:" + "0" * 64, 10)
        with Prefetcher(
            client, "cache/missing", [layers[0], ghost], cache=ContentCache(tmp_path / "c")
        ) as pf:
            assert _read_all(pf, [layers[0]]) == [layers[0].digest]
            with pytest.raises(NotFoundError):
                with pf.open(ghost):
                    pass


def _small_and_big() -> Any:
    return regfix_oci.ImageSpec(
        layers=[
            [regfix_oci.File("a/small.txt", b"small layer\n" * 100)],
            regfix_oci.Layer([regfix_oci.File("b/big.bin", os.urandom(1_300_000))], compression="gzip"),
            [regfix_oci.File("c/tiny.txt", b"tiny\n")],
        ]
    )


def test_pull_small_layers_inline_heals_cache_rot_and_big_ones_prefetch(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any], tmp_path: Path
) -> None:
    """Layers up to 1 MiB are read whole on the pulling thread; a rotted cached copy of one is
    evicted and fetched again before anything is applied; the big layer still goes through the
    prefetcher (its spool/partial file); every digest is verified either way."""
    from imgextract import Client

    push_image(registry, _small_and_big(), "cache/inline")
    fp = fault_proxy(registry)
    ref = f"{fp.host}/cache/inline:v1"
    with Client(insecure_registries=[fp.host], cache_dir=tmp_path / "cache") as client:
        first = client.pull(ref, tmp_path / "one", all=True)
    assert [la.fetch for la in first.layers] == ["whole", "whole", "whole"]
    assert (tmp_path / "one" / "b" / "big.bin").stat().st_size == 1_300_000
    small = first.layers[0].digest
    blob = tmp_path / "cache" / "blobs" / "sha256" / small.split(":")[1]
    blob.write_bytes(b"rot" + blob.read_bytes()[3:])
    fp.reset()
    with Client(insecure_registries=[fp.host], cache_dir=tmp_path / "cache") as client:
        second = client.pull(ref, tmp_path / "two", all=True)
    assert [la.fetch for la in second.layers] == ["whole", "cache", "cache"]
    assert [r.path for r in fp.requests if "/blobs/" in r.path] == [f"/v2/cache/inline/blobs/{small}"]
    assert (tmp_path / "two" / "a" / "small.txt").read_bytes() == b"small layer\n" * 100
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == small.split(":")[1]  # healed
    # corrupt bytes from the registry fail the pull and are not cached
    fp.plan.corrupt_blobs = {first.layers[2].digest}
    with Client(insecure_registries=[fp.host], use_cache=False) as client, pytest.raises(IntegrityError):
        client.pull(ref, tmp_path / "three", all=True)
    assert not (tmp_path / "three").exists()
