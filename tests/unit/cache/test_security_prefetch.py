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
from imgextract.prefetch import Prefetcher

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
    def open_blob(self, repository: str, digest: str, *, size: int | None = None,
                  offset: int = 0) -> Iterator[BinaryIO]:
        yield self.stream  # type: ignore[misc]


def test_spooled_layer_stops_at_descriptor_size(tmp_path: Path) -> None:
    desc = Desc("sha256:" + hashlib.sha256(b"\0" * SIZE).hexdigest(), SIZE)
    client = OversizedClient()
    with Prefetcher(client, "repo", [desc], cache=None, spool_dir=tmp_path, chunk_size=4096) as pf:
        with pytest.raises(IntegrityError), pf.open(desc) as raw:
            raw.read()
    assert client.stream.served < 1024 * 1024
    assert list(tmp_path.iterdir()) == []
