"""Never hang: overall request deadlines, bounded retry time, Retry-After beyond the bound, 429 named
as rate limiting, notices while waiting, and a token refreshed after a 401 mid-pull.

A real registry sits behind the regfix fault relay, which produces what a registry will not on
demand (stalls, a body dripping a byte at a time, 429 on every request, a request arriving
without its token).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from imgextract import oci as m
from imgextract.auth.credentials import Credentials
from imgextract.errors import RegistryError, UnreachableError
from imgextract.registry import RegistryClient, TransportSettings

regfix_oci = pytest.importorskip("regfix.oci")

pytestmark = [pytest.mark.registry]

IMAGE = regfix_oci.ImageSpec(
    layers=[regfix_oci.Layer([regfix_oci.File("a/big.bin", os.urandom(100_000))], compression="none")]
)


class _Creds:
    def __init__(self, user: str, password: str) -> None:
        self.creds = Credentials(username=user, password=password)

    def lookup(self, registry: str, repository: str) -> Credentials | None:
        return self.creds


def _client(host: str, creds: Any = None, *, sleeps: list[float] | None = None, **kw: Any) -> RegistryClient:
    settings = TransportSettings(**{"retries": 3, "retry_base_delay": 0.0, "timeout": 10.0, **kw})
    sleep = sleeps.append if sleeps is not None else (lambda s: None)
    return RegistryClient(host, settings, creds, insecure=True, sleep=sleep)


def _manifest(client: RegistryClient, repository: str) -> m.Manifest:
    got = client.get_manifest(repository, "v1")
    return m.parse_manifest(got.raw, got.media_type)


def _sha(client: RegistryClient, repository: str, desc: m.Descriptor) -> str:
    h = hashlib.sha256()
    with client.open_blob(repository, desc.digest, size=desc.size) as stream:
        while chunk := stream.read(65536):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def test_dripping_manifest_hits_the_overall_deadline(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    push_image(registry, IMAGE, "deadline/drip")
    fp = fault_proxy(registry)
    fp.plan.drip_manifests = 0.3  # every read returns well within the read timeout
    start = time.monotonic()
    with _client(fp.host, deadline=2.0) as client, pytest.raises(UnreachableError, match="deadline"):
        client.get_manifest("deadline/drip", "v1")
    assert time.monotonic() - start < 6


def test_stalled_blob_gives_up_after_the_retry_time_with_notices(
    registry: Any,
    push_image: Callable[..., Any],
    fault_proxy: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    push_image(registry, IMAGE, "deadline/stall")
    fp = fault_proxy(registry)
    with _client(fp.host, timeout=0.7, retry_time=2.0) as client:
        layer = _manifest(client, "deadline/stall").layers[0]
        fp.plan.stall_blobs = True
        start = time.monotonic()
        with caplog.at_level(logging.WARNING), pytest.raises(UnreachableError, match="nothing received for"):
            _sha(client, "deadline/stall", layer)
        elapsed = time.monotonic() - start
        assert elapsed < 6, elapsed
        notices = [r.getMessage() for r in caplog.records if "resuming" in r.getMessage()]
        assert notices and layer.digest in notices[0]
        # a reopen right after (as the prefetcher does) continues the count: no new wait, no request
        asked = len(fp.requests)
        with pytest.raises(UnreachableError, match="nothing received for"):
            _sha(client, "deadline/stall", layer)
        assert len(fp.requests) == asked


def test_retry_after_beyond_the_bound_fails_fast_naming_it(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    push_image(registry, IMAGE, "deadline/retry-after")
    fp = fault_proxy(registry)
    fp.plan.rate_limit_times = 100
    fp.plan.rate_limit_path = r"/manifests/"
    fp.plan.retry_after = "86400"
    sleeps: list[float] = []
    with _client(fp.host, sleeps=sleeps) as client, pytest.raises(RegistryError) as caught:
        client.get_manifest("deadline/retry-after", "v1")
    assert sleeps == []
    assert "rate limited" in str(caught.value) and "86400" in str(caught.value)
    assert len([r for r in fp.requests if "/manifests/" in r.path]) == 1


def test_total_retry_time_is_bounded(
    registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    push_image(registry, IMAGE, "deadline/budget")
    fp = fault_proxy(registry)
    fp.plan.rate_limit_times = 100
    fp.plan.rate_limit_path = r"/manifests/"
    fp.plan.retry_after = "3"
    sleeps: list[float] = []
    with (
        _client(fp.host, sleeps=sleeps, retries=10, retry_time=7.0) as client,
        pytest.raises(RegistryError, match="rate limited"),
    ):
        client.get_manifest("deadline/budget", "v1")
    assert sum(sleeps) <= 7.0 and sleeps == [3.0, 3.0]


def test_429_everywhere_is_reported_as_rate_limiting(registry: Any, fault_proxy: Callable[..., Any]) -> None:
    fp = fault_proxy(registry)
    fp.plan.rate_limit_times = 100
    fp.plan.retry_after = None
    with _client(fp.host) as client, pytest.raises(RegistryError) as caught:
        client.get_manifest("deadline/anything", "v1")
    assert "rate limited" in str(caught.value)
    assert "not a registry" not in str(caught.value)


def test_long_waits_are_announced(
    registry: Any,
    push_image: Callable[..., Any],
    fault_proxy: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    pushed = push_image(registry, IMAGE, "deadline/notice")
    fp = fault_proxy(registry)
    fp.plan.rate_limit_times = 1
    fp.plan.rate_limit_path = r"/manifests/"
    fp.plan.retry_after = "5"
    with caplog.at_level(logging.WARNING), _client(fp.host, sleeps=[]) as client:
        assert client.get_manifest("deadline/notice", "v1").digest == pushed.digest
    notices = [r.getMessage() for r in caplog.records]
    assert any("rate limited" in n and "retrying in 5 s" in n for n in notices), notices


def test_token_rejected_mid_pull_is_refreshed_and_the_request_retried_once(
    token_registry: Any, push_image: Callable[..., Any], fault_proxy: Callable[..., Any]
) -> None:
    push_image(token_registry, IMAGE, "deadline/token", creds=("alice", "alice-secret"))
    fp = fault_proxy(token_registry)
    ts = token_registry.token_server
    with _client(fp.host, _Creds("alice", "alice-secret")) as client:
        layer = _manifest(client, "deadline/token").layers[0]
        fetched = ts.count
        fp.plan.strip_auth_times = 1  # the registry sees the blob GET without a valid token: a real 401
        assert _sha(client, "deadline/token", layer) == layer.digest
    assert ts.count == fetched + 1
    statuses = [r.status for r in fp.requests if r.path.endswith(layer.digest)]
    assert statuses == [401, 200]
