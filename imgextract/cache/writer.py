"""Tee one blob download into the cache; commit by atomic rename only after the digest verifies.

With the blob's lock held the bytes go to ``<hex>.partial`` (kept after an interruption, so the next
attempt, in this process or another, resumes from ``offset`` with ``Range``).  When another process
holds the lock (it is downloading the same blob) we do not wait for it: we download into a private
temp file instead.  Either way the committed file appears by ``os.replace`` of a fully verified file,
so two writers of the same digest can only ever rename identical bytes over each other.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import TracebackType

from imgextract.cache.layout import FILE_MODE, Layout, split_digest
from imgextract.cache.locks import FileLock
from imgextract.errors import IntegrityError

_HASH_CHUNK = 1024 * 1024


class BlobWriter:
    """``offset`` bytes are already on disk; ``write`` the rest from there, then ``commit``.

    ``verify=False`` skips hashing here: only for a caller that verifies the digest of every byte of
    ``path`` itself (from offset 0, as the layer pipeline does when reading the prefetched file) and
    calls ``commit`` only after that succeeded.  Size is always checked.
    """

    def __init__(self, layout: Layout, digest: str, size: int | None, *, verify: bool = True) -> None:
        self.digest = digest
        self.size = size
        self.verify = verify
        self._layout = layout
        algorithm, self._hex = split_digest(digest)
        self._hasher = hashlib.new(algorithm)
        self._lock = FileLock(layout.lock(digest))
        self.shared = self._lock.acquire(blocking=False)
        self._committed = False
        try:
            if self.shared:
                self.path = layout.partial(digest)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
                self.offset = self._resume()
            else:
                self.path, self._fd = private_temp(layout, self._hex)
                self.offset = 0
        except BaseException:
            self._lock.release()
            raise
        self.written = self.offset

    def _resume(self) -> int:
        """Hash what a previous attempt left, so the final digest covers the whole blob."""
        have = os.fstat(self._fd).st_size
        if self.size is not None and have > self.size:
            os.ftruncate(self._fd, 0)
            return 0
        if not self.verify:
            os.lseek(self._fd, have, os.SEEK_SET)
            return have
        done = 0
        while done < have:
            chunk = os.pread(self._fd, min(_HASH_CHUNK, have - done), done)
            if not chunk:
                break
            self._hasher.update(chunk)
            done += len(chunk)
        if done != have:  # truncated under us: start again
            os.ftruncate(self._fd, 0)
            self._hasher = hashlib.new(self._hasher.name)
            return 0
        os.lseek(self._fd, have, os.SEEK_SET)
        return have

    def write(self, data: bytes | memoryview) -> None:
        if self.size is not None and self.written + len(data) > self.size:
            self.abort(discard=True)
            raise IntegrityError(f"blob {self.digest} is larger than the {self.size} bytes announced")
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        if self.verify:
            self._hasher.update(data)
        self.written += len(data)

    def commit(self) -> Path:
        """Verify size and digest, then rename into place; on mismatch the bytes are discarded."""
        if self._committed:
            return self._layout.blob(self.digest)
        if self.size is not None and self.written != self.size:
            self.abort(discard=True)
            raise IntegrityError(f"blob {self.digest}: got {self.written} bytes, expected {self.size}")
        actual = f"{self._hasher.name}:{self._hasher.hexdigest()}" if self.verify else self.digest
        if actual != self.digest:
            self.abort(discard=True)
            raise IntegrityError(f"blob digest mismatch: expected {self.digest}, got {actual}")
        final = self._layout.blob(self.digest)
        os.replace(self.path, final)
        self._committed = True
        self._close(unlink_lock=self.shared)  # nothing left to guard
        return final

    def abort(self, *, discard: bool = False) -> None:
        """Stop writing.  A shared partial is kept for resuming unless ``discard``; a private one never is."""
        if self._committed or self._fd < 0:
            return
        if discard or not self.shared:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        self._close(unlink_lock=self.shared and discard)

    def _close(self, *, unlink_lock: bool = False) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._lock.release(unlink=unlink_lock)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._committed:
            self.abort(discard=isinstance(exc, IntegrityError))


def private_temp(layout: Layout, hexd: str) -> tuple[Path, int]:
    tmp = layout.tmp()
    for _ in range(100):
        path = tmp / f"{hexd[:16]}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
        try:
            return path, os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        except FileExistsError:
            continue
    raise OSError(f"could not create a temp file in {tmp}")
