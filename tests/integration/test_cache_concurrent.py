"""Two processes prefetching the same image into one cache at once, from a real registry."""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imgextract import oci
from imgextract.cache import ContentCache
from imgextract.pull.prefetch import Prefetcher
from imgextract.registry import RegistryClient, TransportSettings

pytest.importorskip("regfix.pytest_plugin")
regfix_oci = pytest.importorskip("regfix.oci")

pytestmark = [pytest.mark.registry, pytest.mark.oracle]


def _pull(host: str, repository: str, cache_root: str, start: Any, out: Any) -> None:
    settings = TransportSettings(retries=2, retry_base_delay=0.0, retry_max_delay=0.0, timeout=20.0)
    with RegistryClient(host, settings, None, insecure=True) as client:
        layers = list(oci.parse_manifest(client.get_manifest(repository, "v1").raw).layers)
        start.wait()
        got = []
        with Prefetcher(client, repository, layers, cache=ContentCache(Path(cache_root))) as pf:
            for desc in layers:
                with pf.open(desc) as raw:
                    got.append("sha256:" + hashlib.sha256(raw.read()).hexdigest())
    out.put((got, [d.digest for d in layers]))


def test_two_processes_pull_the_same_image_into_one_cache(
    registry: Any, push_image: Callable[..., Any], tmp_path: Path
) -> None:
    spec = regfix_oci.ImageSpec(
        layers=[
            regfix_oci.Layer([regfix_oci.File(f"l{i}/data.bin", os.urandom(2_000_000))], compression="none")
            for i in range(3)
        ]
    )
    push_image(registry, spec, "cache/concurrent")
    root = tmp_path / "cache"
    ctx = mp.get_context("spawn")
    start, out = ctx.Barrier(2), ctx.Queue()
    procs = [
        ctx.Process(target=_pull, args=(registry.host, "cache/concurrent", str(root), start, out))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for got, expected in results:
        assert got == expected
    cache = ContentCache(root)
    for digest in results[0][1]:
        path = cache.get_blob_path(digest)
        assert path is not None
        assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert not list(root.glob("blobs/sha256/*.partial"))
    assert not list(root.glob("tmp/*"))
