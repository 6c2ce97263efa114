"""Security: a registry that sends more bytes than the descriptor's size must not fill the disk.

Without the content cache the prefetcher spools layers ahead of the applier; the spool must stop
at the descriptor's size (the cache writer already does), else a registry that drips layer 0
slowly can stream an endless layer 1 into OUT's parent directory.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest

from imgextract.errors import IntegrityError
from imgextract.pull.prefetch import Prefetcher

SIZE = 1024
SERVED = 16 * 1024 * 1024


@dataclass(frozen=True)
class Desc:
    digest: str
    size: int


class Oversized(io.RawIOBase):
    """``SERVED`` bytes of zeros, counting what was taken."""

    def __init__(self) -> None:
        super().__init__()
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(b), 64 * 1024, SERVED - self.served)
        b[:n] = b"\0" * n
        self.served += n
        return n


class OversizedClient:
    def __init__(self) -> None:
        self.stream = Oversized()

    @contextmanager
    def open_blob(
        self, repository: str, digest: str, *, size: int | None = None, offset: int = 0
    ) -> Iterator[BinaryIO]:
        yield self.stream  # type: ignore[misc]


def test_spooled_layer_stops_at_descriptor_size(tmp_path: Path) -> None:
    desc = Desc("sha256:" + hashlib.sha256(b"\0" * SIZE).hexdigest(), SIZE)
    client = OversizedClient()
    with Prefetcher(client, "repo", [desc], cache=None, spool_dir=tmp_path, chunk_size=4096) as pf:
        with pytest.raises(IntegrityError), pf.open(desc) as raw:
            raw.read()
    assert client.stream.served < 1024 * 1024
    assert list(tmp_path.iterdir()) == []


def test_corrupt_cached_layer_is_evicted_after_failing_verification(tmp_path: Path) -> None:
    from imgextract.cache import ContentCache
    from imgextract.layers.verify import VerifyingReader

    data = b"layer bytes " * 1000
    desc = Desc("sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    cache = ContentCache(tmp_path / "cache")
    path = cache.put_blob(desc.digest, data)
    path.chmod(0o600)
    path.write_bytes(b"X" + data[1:])  # bit rot (or tampering) after the verified commit
    with Prefetcher(
        OversizedClient(), "repo", [desc], cache=cache, spool_dir=tmp_path, reader_verifies=True
    ) as pf:
        with pytest.raises(IntegrityError), pf.open(desc) as raw:
            VerifyingReader(raw, desc.digest, desc.size).finish()
    assert cache.get_blob_path(desc.digest) is None  # the next pull downloads it again
