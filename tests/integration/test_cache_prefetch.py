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
