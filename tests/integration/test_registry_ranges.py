"""BlobRanges against a real registry (docker-registry answers single and multi-range requests),
and through the fault proxy for what a real registry does not do (ignore Range)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from imgextract.errors import UnreachableError
from imgextract.registry import RegistryClient, TransportSettings
from imgextract.registry.ranges import BlobRanges, RangeIgnored, coalesce

regfix_oci = pytest.importorskip("regfix.oci")

pytestmark = [pytest.mark.registry, pytest.mark.oracle]

DATA = os.urandom(400_000)
IMAGE = regfix_oci.ImageSpec(
    layers=[regfix_oci.Layer(tar=DATA, compression="none", media_type="application/octet-stream")]
)
RANGES = [(10, 20), (1000, 5000), (200_000, 200_001), (399_990, 400_000)]


def _client(host: str) -> RegistryClient:
    return RegistryClient(host, TransportSettings(retries=0, timeout=20.0), None, insecure=True)


@pytest.fixture
def pushed(registry: Any, push_image: Callable[..., Any]) -> tuple[Any, str]:
    img = push_image(registry, IMAGE, "ranges/blob")
    return img, img.layout.image.layers[0].digest


def _read_all(br: BlobRanges, ranges: list[tuple[int, int]]) -> list[bytes]:
    return [br.open_range(s, e).read() for s, e in ranges]


def test_coalesce_merges_near_ranges() -> None:
    assert coalesce([(100, 200), (0, 50), (250, 300), (10_000, 10_001)], 64) == [(0, 300), (10_000, 10_001)]


def test_multi_range_request_serves_every_range(
    pushed: tuple[Any, str], fault_proxy: Callable[..., Any]
) -> None:
    img, digest = pushed
    proxy = fault_proxy(img.registry)
    with _client(proxy.host) as client:
        br = BlobRanges(client, "ranges/blob", digest, len(DATA), gap=0)
        br.prepare(RANGES)
        assert _read_all(br, RANGES) == [DATA[s:e] for s, e in RANGES]
        br.close()
    assert br.requests == 1  # one multipart/byteranges answer
    wanted = sum(e - s for s, e in RANGES)
    assert wanted <= br.bytes_fetched <= wanted + 2048  # plus part headers
    assert proxy.blob_bytes_sent == br.bytes_fetched


def test_unplanned_and_batched_ranges(pushed: tuple[Any, str], registry: Any) -> None:
    _, digest = pushed
    with _client(registry.host) as client:
        br = BlobRanges(client, "ranges/blob", digest, len(DATA), gap=0, max_parts=2)
        br.prepare(RANGES)
        got = _read_all(br, RANGES[:2]) + [br.open_range(50_000, 50_100).read()] + _read_all(br, RANGES[2:])
        br.close()
    assert got == [DATA[s:e] for s, e in RANGES[:2]] + [DATA[50_000:50_100]] + [
        DATA[s:e] for s, e in RANGES[2:]
    ]
    assert br.requests == 3


def test_head_read_and_a_registry_that_ignores_range(
    pushed: tuple[Any, str], fault_proxy: Callable[..., Any]
) -> None:
    img, digest = pushed
    proxy = fault_proxy(img.registry)
    with _client(proxy.host) as client:
        br = BlobRanges(client, "ranges/blob", digest, len(DATA))
        assert br.read_head(399_000, 400_000) == DATA[399_000:]
        proxy.plan.ignore_range = True
        with pytest.raises(RangeIgnored) as caught:
            br.read_head(399_000, 400_000)
        with caught.value.body as body:
            assert body.read() == DATA
        br.prepare(RANGES)
        assert _read_all(br, RANGES) == [DATA[s:e] for s, e in RANGES]  # forward through one 200 body
        br.close()
    assert br.whole_answers == 2


def test_ranges_through_token_auth(token_registry: Any, push_image: Callable[..., Any]) -> None:
    """Range requests take the same bearer-token path as whole blobs (anonymous pull of public/*)."""
    img = push_image(token_registry, IMAGE, "public/ranges", creds=("alice", "alice-secret"))
    digest = img.layout.image.layers[0].digest
    token_registry.token_server.reset()
    with _client(token_registry.host) as client:
        br = BlobRanges(client, "public/ranges", digest, len(DATA))
        assert br.read_head(399_000, 400_000) == DATA[399_000:]
        br.prepare(RANGES)
        assert _read_all(br, RANGES) == [DATA[s:e] for s, e in RANGES]
        br.close()
    assert token_registry.token_server.count == 1


def test_dropped_connections_are_resumed(pushed: tuple[Any, str], fault_proxy: Callable[..., Any]) -> None:
    img, digest = pushed
    proxy = fault_proxy(img.registry)
    proxy.plan.drop_blob_after, proxy.plan.drop_times = 700, 2  # the multi-range answer, then its resume
    with _client(proxy.host) as client:
        br = BlobRanges(client, "ranges/blob", digest, len(DATA), gap=0)
        br.prepare(RANGES)
        assert _read_all(br, RANGES) == [DATA[s:e] for s, e in RANGES]
        br.close()
    assert br.requests >= 3
    proxy.plan.drop_blob_after, proxy.plan.drop_times = 10, None  # every answer breaks
    with _client(proxy.host) as client, pytest.raises(UnreachableError):
        br = BlobRanges(client, "ranges/blob", digest, len(DATA))
        br.read_head(1000, 5000)


def test_an_unplanned_file_is_one_request_read_in_pieces(pushed: tuple[Any, str], registry: Any) -> None:
    """A file the plan missed: its whole span is asked for once, then read chunk by chunk."""
    _, digest = pushed
    with _client(registry.host) as client:
        br = BlobRanges(client, "ranges/blob", digest, len(DATA))
        br.prepare([(10, 20)])
        assert br.open_range(10, 20).read() == DATA[10:20]
        reader = br.open_range(100_000, 160_000)
        got = []
        while piece := reader.read(20_000):  # what has arrived, up to 20,000 bytes
            assert len(piece) <= 20_000
            got.append(piece)
        br.close()
    assert b"".join(got) == DATA[100_000:160_000]
    assert br.requests == 2


@pytest.mark.parametrize("block", [7, 4096])
def test_small_read_blocks_split_part_headers_and_ranges(
    pushed: tuple[Any, str], registry: Any, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """The body is read in blocks of what has arrived; part headers and ranges that straddle
    blocks (tiny ones here) come out whole."""
    from imgextract.registry import ranges

    monkeypatch.setattr(ranges, "BLOCK", block)
    _, digest = pushed
    with _client(registry.host) as client:
        br = BlobRanges(client, "ranges/blob", digest, len(DATA), gap=0)
        br.prepare(RANGES)
        assert _read_all(br, RANGES) == [DATA[s:e] for s, e in RANGES]
        assert br.read_head(399_000, 400_000) == DATA[399_000:]
        br.close()
    assert br.requests == 2


@pytest.mark.parametrize("gap", [64 * 1024, 0])  # one span asked for, or a multipart answer
def test_spans_are_read_straight_into_a_buffer(
    pushed: tuple[Any, str], fault_proxy: Callable[..., Any], gap: int
) -> None:
    """``read_span`` (the fetch thread's way to read nearby files at once) fills the caller's
    buffer from the socket, skips what lies between spans, and resumes a broken connection."""
    img, digest = pushed
    spans = [(1000, 150_000), (150_100, 150_200), (200_000, 399_000)]
    for drop in (None, 90_000):
        proxy = fault_proxy(img.registry)
        proxy.plan.drop_blob_after, proxy.plan.drop_times = drop, 1
        with _client(proxy.host) as client:
            br = BlobRanges(client, "ranges/blob", digest, len(DATA), gap=gap)
            br.prepare(spans)
            buffer = bytearray(b"\xee" * 400_000)
            view = memoryview(buffer)
            for start, end in spans:
                br.read_span(start, end, view[start:end])
            br.close()
        for start, end in spans:
            assert buffer[start:end] == DATA[start:end]
        assert buffer[150_000:150_100] == b"\xee" * 100  # between two spans: not written
        if drop is None:
            assert br.requests == 1
            assert proxy.blob_bytes_sent == br.bytes_fetched  # every byte counted once
        else:
            assert br.requests > 1  # the rest asked for again
