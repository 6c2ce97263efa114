"""Verify a stream's digest and size while it is read.

``VerifyingReader`` hashes every byte that passes through it.  It fails as soon as more bytes
arrive than the expected size, and on end of stream when the size or the digest differs.
``finish()`` drains whatever the consumer left unread and performs the same check, so a
consumer that stops early (a tar reader at its end-of-archive marker) still verifies the
whole blob.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import BinaryIO

from imgextract.errors import ContentMismatch, IntegrityError
from imgextract.oci.digest import Digest

CHUNK = 1024 * 1024


def parse_digest(digest: str) -> tuple[str, str]:
    """Split ``algo:hex`` of a supported digest (see :mod:`imgextract.oci.digest`)."""
    parsed = Digest.parse(digest)
    return parsed.algorithm, parsed.hex


class VerifyingReader:
    """A read-only stream over ``raw`` that checks ``digest`` and ``size`` (None = unknown).

    ``hashed=False`` only for a ``raw`` that verifies the digest itself before its end of stream
    (and raises otherwise): the size is still checked here, the digest is not hashed twice.
    """

    def __init__(self, raw: BinaryIO, digest: str, size: int | None, *, hashed: bool = True) -> None:
        algo, self._expected = parse_digest(digest)
        if size is not None and size < 0:
            raise IntegrityError(f"negative size {size} for {digest}")
        self._raw = raw
        self.digest = digest
        self.size = size
        self._hash = Digest.parse(digest).hasher()
        self._hashed = hashed
        self.count = 0
        self._verified = False

    def readable(self) -> bool:
        return True

    def _read_once(self, n: int) -> bytes:
        if self._verified:
            return b""
        data = self._raw.read(n)
        if not data:
            self._verify()
            return b""
        self.count += len(data)
        if self.size is not None and self.count > self.size:
            raise ContentMismatch(f"{self.digest}: more than the expected {self.size} bytes")
        if self._hashed:
            self._hash.update(data)
        return bytes(data)

    def read1(self, n: int = CHUNK) -> bytes:
        """Up to ``n`` bytes from one read of the underlying stream (b"" only at its end)."""
        return self._read_once(n)

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes (all when n < 0); short only at end of stream."""
        if n is None or n < 0:
            parts = []
            while chunk := self._read_once(CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        first = self._read_once(n)
        if len(first) >= n or not first:
            return first
        parts = [first]
        got = len(first)
        while got < n:
            chunk = self._read_once(n - got)
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        return b"".join(parts)

    def _verify(self) -> None:
        if self._verified:
            return
        if self.size is not None and self.count != self.size:
            raise ContentMismatch(f"{self.digest}: got {self.count} bytes, expected {self.size}")
        actual = self._hash.hexdigest() if self._hashed else self._expected
        if actual != self._expected:
            raise ContentMismatch(
                f"digest mismatch: expected {self.digest}, got {self.digest.split(':')[0]}:{actual}"
            )
        self._verified = True

    def finish(self) -> None:
        """Drain the rest of the stream and verify; idempotent."""
        while self._read_once(CHUNK):
            pass
        self._verify()

    @property
    def verified(self) -> bool:
        return self._verified


class SharedDigest:
    """The digest of a stream handed over as chunks, in order, and hashed by whichever thread has
    nothing else to do at the moment (``help()``, called by a producer or consumer about to wait):
    one chunk at a time, in order, by one thread at a time.  ``finish()`` hashes what is left and
    raises ``ContentMismatch`` unless the digest matches."""

    def __init__(self, digest: str) -> None:
        _, self._expected = parse_digest(digest)
        self.digest = digest
        self._hash = Digest.parse(digest).hasher()
        self._pending: deque[bytes] = deque()
        self._lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        """The next chunk of the stream (not copied: the caller never changes it)."""
        self._pending.append(chunk)

    def backlog(self) -> int:
        return len(self._pending)

    def help(self) -> bool:
        """Hash the next pending chunk unless none is pending or another thread is hashing one;
        True if this call hashed one."""
        if not self._pending or not self._lock.acquire(blocking=False):
            return False
        try:
            if not self._pending:
                return False
            self._hash.update(self._pending.popleft())
            return True
        finally:
            self._lock.release()

    def finish(self) -> None:
        with self._lock:
            while self._pending:
                self._hash.update(self._pending.popleft())
            actual = self._hash.hexdigest()
        if actual != self._expected:
            raise ContentMismatch(
                f"digest mismatch: expected {self.digest}, got {self.digest.split(':')[0]}:{actual}"
            )
