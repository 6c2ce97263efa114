"""Prefetcher thread logic against an in-process fake registry client (no network, no timing asserts)."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest

from imgextract.cache import ContentCache
from imgextract.errors import IntegrityError, NotFoundError, UnreachableError
from imgextract.pull.prefetch import Prefetcher

WAIT = 30.0


@dataclass(frozen=True)
class Desc:
    digest: str
    size: int


def make_layer(n: int) -> tuple[Desc, bytes]:
    data = os.urandom(n)
    return Desc("sha256:" + hashlib.sha256(data).hexdigest(), n), data


class GatedStream(io.RawIOBase):
    """Serves ``data[offset:]`` in small pieces; can pause after ``pause_at`` bytes or break at ``break_at``."""

    def __init__(
        self, data: bytes, offset: int, gate: threading.Event | None, pause_at: int, break_at: int | None
    ) -> None:
        super().__init__()
        self._data, self._pos = data, offset
        self._gate, self._pause_at, self._break_at = gate, pause_at, break_at

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._gate is not None and self._pos >= self._pause_at:
            assert self._gate.wait(WAIT)
        if self._break_at is not None and self._pos >= self._break_at:
            raise UnreachableError("connection reset")
        chunk = self._data[self._pos : self._pos + min(len(b), 4096)]
        b[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


class FakeClient:
    def __init__(self, blobs: dict[str, bytes]) -> None:
        self.blobs = blobs
        self.calls: list[tuple[str, int]] = []
        self.gates: dict[str, tuple[threading.Event, int]] = {}
        self.breaks: dict[str, list[int]] = {}  # digest -> break offsets, one per attempt
        self.errors: dict[str, Exception] = {}
        self.lock = threading.Lock()

    @contextmanager
    def open_blob(
        self, repository: str, digest: str, *, size: int | None = None, offset: int = 0
    ) -> Iterator[BinaryIO]:
        assert repository == "repo"
        with self.lock:
            self.calls.append((digest, offset))
            breaks = self.breaks.get(digest)
            break_at = breaks.pop(0) if breaks else None
        if digest in self.errors:
            raise self.errors[digest]
        gate, pause_at = self.gates.get(digest, (None, 0))
        yield GatedStream(self.blobs[digest], offset, gate, pause_at, break_at)  # type: ignore[misc]


# without the cache: "stream" (chunks wait in memory for the reader), "spill" (memory full at once:
# on into a spool file), "spool" (memory_ahead=0: a spool file from the start)
MODES: dict[str, dict[str, object]] = {
    "cache": {},
    "stream": {},
    "spill": {"memory_ahead": 8192, "spill_after": 0.0},
    "spool": {"memory_ahead": 0},
}


@pytest.fixture(params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def prefetcher(client: FakeClient, layers: list[Desc], tmp_path: Path, mode: str, **kw: object) -> Prefetcher:
    cache = ContentCache(tmp_path / "cache") if mode == "cache" else None
    spool = tmp_path / "spool"
    spool.mkdir(exist_ok=True)
    kw = {**MODES[mode], **kw}
    return Prefetcher(client, "repo", layers, cache=cache, spool_dir=spool, chunk_size=8192, **kw)  # type: ignore[arg-type]


def wait_for(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_without_cache_a_layer_not_read_yet_waits_in_memory_up_to_the_bound(tmp_path: Path) -> None:
    (d0, b0), (d1, b1) = make_layer(50_000), make_layer(300_000)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    with prefetcher(client, [d0, d1], tmp_path, "stream", memory_ahead=32768, spill_after=1000.0) as pf:
        wait_for(lambda: pf.stats(d1).fetched_bytes >= 32768)
        time.sleep(0.2)  # the download is paused, not merely slow
        assert pf.stats(d1).fetched_bytes < 32768 + 8192
        for d, data in ((d0, b0), (d1, b1)):
            with pf.open(d) as raw:
                assert raw.read() == data
    assert list((tmp_path / "spool").iterdir()) == []


def test_without_cache_a_layer_not_read_in_time_goes_on_into_a_spool_file(tmp_path: Path) -> None:
    (d0, b0), (d1, b1) = make_layer(50_000), make_layer(300_000)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    with prefetcher(client, [d0, d1], tmp_path, "stream", memory_ahead=32768, spill_after=0.05) as pf:
        # nobody reads them: both spilled, whole
        wait_for(lambda: pf.stats(d0).fetched_bytes == len(b0) and pf.stats(d1).fetched_bytes == len(b1))
        assert list((tmp_path / "spool").iterdir()) == []  # unlinked from the start
        for d, data in ((d0, b0), (d1, b1)):
            with pf.open(d) as raw:
                assert raw.read(1000) == data[:1000]  # memory first, then the file
                assert raw.read() == data[1000:]


def test_without_cache_closing_a_reader_early_stops_its_download(tmp_path: Path) -> None:
    (d0, b0), (d1, b1) = make_layer(400_000), make_layer(10_000)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    with prefetcher(client, [d0, d1], tmp_path, "stream", memory_ahead=16384, spill_after=1000.0) as pf:
        with pf.open(d0) as raw:
            assert raw.read(10) == b0[:10]
        with pf.open(d1) as raw:
            assert raw.read() == b1
        time.sleep(0.1)
        assert pf.stats(d0).fetched_bytes < len(b0)


def test_layers_read_back_in_order_and_whole(tmp_path: Path, mode: str) -> None:
    layers = [make_layer(n) for n in (100_000, 1, 250_000, 0, 70_000)]
    client = FakeClient({d.digest: b for d, b in layers})
    with prefetcher(client, [d for d, _ in layers], tmp_path, mode) as pf:
        for d, data in layers:
            with pf.open(d) as raw:
                assert raw.read() == data
            assert pf.stats(d).fetched_bytes == len(data) and not pf.stats(d).from_cache
    assert list((tmp_path / "spool").iterdir()) == []  # spool files never outlive the pull
    if mode == "cache":
        cache = ContentCache(tmp_path / "cache")
        assert all(cache.get_blob_path(d.digest) is not None for d, _ in layers)


def test_first_layer_is_readable_while_it_is_still_downloading(tmp_path: Path, mode: str) -> None:
    (d0, b0), (d1, b1) = make_layer(200_000), make_layer(50_000)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    gate = threading.Event()
    client.gates[d0.digest] = (gate, 100_000)  # the server stalls half-way through layer 0
    with prefetcher(client, [d0, d1], tmp_path, mode) as pf:
        with pf.open(d0) as raw:
            assert raw.read(100_000) == b0[:100_000]  # served before the blob is complete
            gate.set()
            assert raw.read() == b0[100_000:]
        with pf.open(d1) as raw:
            assert raw.read() == b1


def test_later_layers_download_while_the_first_is_applied(tmp_path: Path, mode: str) -> None:
    (d0, b0), (d1, b1), (d2, b2) = make_layer(50_000), make_layer(60_000), make_layer(70_000)
    client = FakeClient({d0.digest: b0, d1.digest: b1, d2.digest: b2})
    gate = threading.Event()
    client.gates[d0.digest] = (gate, 10_000)
    with prefetcher(client, [d0, d1, d2], tmp_path, mode, workers=3) as pf:
        # layers 1 and 2 complete although layer 0 is stalled and nothing has been read
        for slot in pf._slots[1:]:
            with pf._cond:
                assert pf._cond.wait_for(lambda s=slot: s.done, WAIT)  # type: ignore[misc]
        gate.set()
        for d, data in ((d0, b0), (d1, b1), (d2, b2)):
            with pf.open(d) as raw:
                assert raw.read() == data


def test_disk_ahead_is_bounded(tmp_path: Path, mode: str) -> None:
    layers = [make_layer(10_000) for _ in range(6)]
    client = FakeClient({d.digest: b for d, b in layers})
    with prefetcher(client, [d for d, _ in layers], tmp_path, mode, workers=3, ahead=2) as pf:
        with pf._cond:
            assert pf._cond.wait_for(lambda: all(s.done for s in pf._slots[:2]), WAIT)
        assert {d for d, _off in client.calls} == {layers[0][0].digest, layers[1][0].digest}
        for d, data in layers:
            with pf.open(d) as raw:
                assert raw.read() == data
    assert len(client.calls) == 6


def test_worker_error_surfaces_at_open(tmp_path: Path, mode: str) -> None:
    (d0, b0), (d1, b1) = make_layer(1000), make_layer(1000)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    client.errors[d1.digest] = NotFoundError("blob unknown")
    with prefetcher(client, [d0, d1], tmp_path, mode) as pf:
        with pf.open(d0) as raw:
            assert raw.read() == b0
        with pytest.raises(NotFoundError, match="blob unknown"):
            with pf.open(d1):
                pass


def test_digest_mismatch_fails_the_reader_and_is_not_cached(tmp_path: Path) -> None:
    d0, b0 = make_layer(30_000)
    client = FakeClient({d0.digest: b0[:-1] + bytes([b0[-1] ^ 1])})
    with prefetcher(client, [d0], tmp_path, "cache") as pf:
        with pytest.raises(IntegrityError, match="digest mismatch"):
            with pf.open(d0) as raw:
                raw.read()
    cache = ContentCache(tmp_path / "cache")
    assert cache.get_blob_path(d0.digest) is None
    assert [p.name for p in (tmp_path / "cache" / "blobs" / "sha256").iterdir()] == []


def test_dropped_connection_is_reopened_from_the_offset(tmp_path: Path, mode: str) -> None:
    d0, b0 = make_layer(100_000)
    client = FakeClient({d0.digest: b0})
    client.breaks[d0.digest] = [40_960, 81_920]
    with prefetcher(client, [d0], tmp_path, mode) as pf:
        with pf.open(d0) as raw:
            assert raw.read() == b0
    assert client.calls == [(d0.digest, 0), (d0.digest, 40_960), (d0.digest, 81_920)]


def test_gives_up_after_reopen_attempts(tmp_path: Path, mode: str) -> None:
    d0, b0 = make_layer(100_000)
    client = FakeClient({d0.digest: b0})
    client.breaks[d0.digest] = [8192, 16384, 24576]
    with prefetcher(client, [d0], tmp_path, mode, reopen_attempts=2) as pf:
        with pytest.raises(UnreachableError):
            with pf.open(d0) as raw:
                raw.read()


def test_interrupted_cache_download_resumes_in_the_next_pull(tmp_path: Path) -> None:
    d0, b0 = make_layer(100_000)
    client = FakeClient({d0.digest: b0})
    client.breaks[d0.digest] = [32_768] * 3
    with prefetcher(client, [d0], tmp_path, "cache", reopen_attempts=2) as pf:
        with pytest.raises(UnreachableError):
            with pf.open(d0) as raw:
                raw.read()
    client.calls.clear()
    with prefetcher(client, [d0], tmp_path, "cache") as pf:
        with pf.open(d0) as raw:
            assert raw.read() == b0
        assert pf.stats(d0).fetched_bytes == 100_000 - 32_768
    assert client.calls == [(d0.digest, 32_768)]


def test_cached_layers_are_not_fetched(tmp_path: Path) -> None:
    (d0, b0), (d1, b1) = make_layer(5000), make_layer(6000)
    ContentCache(tmp_path / "cache").put_blob(d0.digest, b0)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    with prefetcher(client, [d0, d1], tmp_path, "cache") as pf:
        for d, data in ((d0, b0), (d1, b1)):
            with pf.open(d) as raw:
                assert raw.read() == data
        assert pf.stats(d0).from_cache and pf.stats(d0).fetched_bytes == 0
    assert client.calls == [(d1.digest, 0)]


def test_same_layer_twice_in_one_image(tmp_path: Path, mode: str) -> None:
    d0, b0 = make_layer(5000)
    client = FakeClient({d0.digest: b0})
    with prefetcher(client, [d0, d0], tmp_path, mode) as pf:
        for _ in range(2):
            with pf.open(d0) as raw:
                assert raw.read() == b0
        with pytest.raises(KeyError):
            with pf.open(d0):
                pass


def test_applier_failure_mid_layer_closes_cleanly(tmp_path: Path, mode: str) -> None:
    layers = [make_layer(200_000) for _ in range(4)]
    client = FakeClient({d.digest: b for d, b in layers})
    pf = prefetcher(client, [d for d, _ in layers], tmp_path, mode)
    with pytest.raises(RuntimeError, match="applier failed"):
        with pf:
            with pf.open(layers[0][0]) as raw:
                raw.read(1000)
                raise RuntimeError("applier failed")
    assert not any(t.is_alive() for t in pf._threads)
    assert all(s.read_fd is None for s in pf._slots)
    assert list((tmp_path / "spool").iterdir()) == []
    if mode == "cache":
        assert not list((tmp_path / "cache").glob("tmp/*"))
    with pytest.raises(Exception, match="cancelled"):  # a closed prefetcher serves nothing more
        with pf.open(layers[1][0]):
            pass


def test_cancel_unblocks_stalled_workers(tmp_path: Path) -> None:
    (d0, b0) = make_layer(100_000)
    client = FakeClient({d0.digest: b0})
    gate = threading.Event()
    client.gates[d0.digest] = (gate, 50_000)
    pf = prefetcher(client, [d0], tmp_path, "cache")
    pf.start()
    with pf._cond:
        assert pf._cond.wait_for(lambda: pf._slots[0].written >= 50_000, WAIT)
    closer = threading.Thread(target=pf.close)
    closer.start()
    gate.set()  # the fake server answers again; the worker sees the cancel between chunks
    closer.join(WAIT)
    assert not closer.is_alive()
    assert not any(t.is_alive() for t in pf._threads)
    partial = tmp_path / "cache" / "blobs" / "sha256" / (d0.digest.split(":")[1] + ".partial")
    assert partial.stat().st_size >= 50_000  # kept for a Range resume
    assert ContentCache(tmp_path / "cache").get_blob_path(d0.digest) is None


def _blob_path(tmp_path: Path, d: Desc, suffix: str = "") -> Path:
    return tmp_path / "cache" / "blobs" / "sha256" / (d.digest.split(":")[1] + suffix)


def test_reader_verifies_commits_only_after_a_clean_read_to_eof(tmp_path: Path) -> None:
    (d0, b0), (d1, b1) = make_layer(50_000), make_layer(50_000)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    with prefetcher(client, [d0, d1], tmp_path, "cache", reader_verifies=True) as pf:
        with pf.open(d0) as raw:
            assert raw.read() == b0
            assert not _blob_path(tmp_path, d0).exists()  # not before the reader is done
        assert _blob_path(tmp_path, d0).exists()
        with pf.open(d1) as raw:
            raw.read(10)  # stopped early: nothing vouches for the rest
    assert not _blob_path(tmp_path, d1).exists()


def test_reader_verifies_integrity_failure_discards(tmp_path: Path) -> None:
    d0, b0 = make_layer(50_000)
    client = FakeClient({d0.digest: b0})
    with prefetcher(client, [d0], tmp_path, "cache", reader_verifies=True) as pf:
        with pytest.raises(IntegrityError):
            with pf.open(d0) as raw:
                raw.read()
                raise IntegrityError("digest mismatch (found by the reader)")
    assert not _blob_path(tmp_path, d0).exists()
    assert not _blob_path(tmp_path, d0, ".partial").exists()


def test_reader_verifies_other_failure_keeps_the_complete_partial(tmp_path: Path) -> None:
    d0, b0 = make_layer(50_000)
    client = FakeClient({d0.digest: b0})
    with prefetcher(client, [d0], tmp_path, "cache", reader_verifies=True) as pf:
        with pytest.raises(OSError):
            with pf.open(d0) as raw:
                raw.read()
                raise OSError("disk full while applying")
    assert _blob_path(tmp_path, d0, ".partial").stat().st_size == 50_000
    client.calls.clear()
    with prefetcher(client, [d0], tmp_path, "cache", reader_verifies=True) as pf:
        with pf.open(d0) as raw:
            assert raw.read() == b0
        assert pf.stats(d0).fetched_bytes == 0
    assert client.calls == []  # every byte was there: no request at all
    assert _blob_path(tmp_path, d0).read_bytes() == b0


def test_complete_partial_is_verified_without_a_request(tmp_path: Path) -> None:
    d0, b0 = make_layer(20_000)
    with ContentCache(tmp_path / "cache").blob_writer(d0.digest, d0.size) as w:
        w.write(b0)  # never committed, e.g. the process died right here
    client = FakeClient({d0.digest: b0})
    with prefetcher(client, [d0], tmp_path, "cache") as pf:
        with pf.open(d0) as raw:
            assert raw.read() == b0
    assert client.calls == []
    assert _blob_path(tmp_path, d0).exists()


def test_unopened_pending_layers_are_kept_on_close(tmp_path: Path) -> None:
    (d0, b0), (d1, b1) = make_layer(5000), make_layer(5000)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    pf = prefetcher(client, [d0, d1], tmp_path, "cache", reader_verifies=True)
    with pf:
        with pf._cond:
            assert pf._cond.wait_for(lambda: all(s.done for s in pf._slots), WAIT)
    assert not _blob_path(tmp_path, d1).exists()
    assert _blob_path(tmp_path, d1, ".partial").stat().st_size == 5000


def test_with_cache_a_fresh_download_reaches_the_reader_verified_by_the_worker(tmp_path: Path) -> None:
    (d0, b0), (d1, b1) = make_layer(60_000), make_layer(40_000)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    with prefetcher(client, [d0, d1], tmp_path, "cache", reader_verifies=True) as pf:
        for d, data in ((d0, b0), (d1, b1)):
            with pf.open(d) as raw:
                assert getattr(raw, "source_verifies", False)  # the consumer need not hash it again
                assert raw.read() == data
            assert _blob_path(tmp_path, d).read_bytes() == data
    assert list((tmp_path / "spool").iterdir()) == []
    assert not _blob_path(tmp_path, d0, ".partial").exists()


def test_with_cache_a_reader_left_behind_reads_the_rest_from_the_cache_file(tmp_path: Path) -> None:
    (d0, b0), (d1, b1) = make_layer(50_000), make_layer(300_000)
    client = FakeClient({d0.digest: b0, d1.digest: b1})
    with prefetcher(
        client, [d0, d1], tmp_path, "cache", reader_verifies=True, memory_ahead=16384, spill_after=0.05
    ) as pf:
        wait_for(lambda: pf.stats(d0).fetched_bytes == len(b0) and pf.stats(d1).fetched_bytes == len(b1))
        assert list((tmp_path / "spool").iterdir()) == []  # no spool: the cache file holds every byte
        for d, data in ((d0, b0), (d1, b1)):
            with pf.open(d) as raw:
                assert raw.read(1000) == data[:1000]  # memory first, then the cache file
                assert raw.read() == data[1000:]
            assert _blob_path(tmp_path, d).read_bytes() == data


@pytest.mark.parametrize("mode", ["stream", "spill"])
def test_without_cache_a_corrupt_download_fails_the_reader_before_its_end(tmp_path: Path, mode: str) -> None:
    d0, b0 = make_layer(30_000)
    client = FakeClient({d0.digest: b0[:-1] + bytes([b0[-1] ^ 1])})
    with prefetcher(client, [d0], tmp_path, mode) as pf:
        with pytest.raises(IntegrityError, match="digest mismatch"):
            with pf.open(d0) as raw:
                assert getattr(raw, "source_verifies", False)
                raw.read()  # never an end-of-file the consumer could take for a verified blob


def test_with_cache_a_short_download_is_refused_and_not_cached(tmp_path: Path) -> None:
    d0, b0 = make_layer(30_000)
    client = FakeClient({d0.digest: b0[:-100]})
    with prefetcher(client, [d0], tmp_path, "cache", reader_verifies=True) as pf:
        with pytest.raises(IntegrityError, match="expected 30000"):
            with pf.open(d0) as raw:
                raw.read()
    assert not _blob_path(tmp_path, d0).exists()
    assert not _blob_path(tmp_path, d0, ".partial").exists()
