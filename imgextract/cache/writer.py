"""Tee one blob download into the cache; commit by atomic rename only after the digest verifies.

With the blob's lock held the bytes go to ``<hex>.partial`` (kept after an interruption, so the next
attempt, in this process or another, resumes from ``offset`` with ``Range``).  When another process
holds the lock (it is downloading the same blob) we wait for it while its partial grows, announcing
the wait, and then take over: its committed blob is used as a complete download, or its partial is
resumed.  If the other process's partial stops growing for ``stall`` seconds, or the wait exceeds
``max_wait``, we download into a private temp file instead.  Either way the committed file appears
by ``os.replace`` of a fully verified file, so two writers of the same digest can only ever rename
identical bytes over each other.

A write that fails for lack of space (ENOSPC, EDQUOT, EFBIG) discards the partial (nothing half
written stays in the cache) and raises :class:`~imgextract.errors.LocalFilesystemError`.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from imgextract.cache.layout import FILE_MODE, Layout, split_digest
from imgextract.cache.locks import FileLock
from imgextract.errors import ContentMismatch, IntegrityError, local_filesystem_error
from imgextract.procowner import owner_token

log = logging.getLogger(__name__)

_HASH_CHUNK = 1024 * 1024
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_POLL = 0.2
_FIRST_POLL = (
    0.005  # the first polls are short: the holder is often a thread of this process with a small blob
)
_NO_WAIT_BELOW = 1 << 20  # a blob this small is fetched again (privately) rather than waited for
_QUIET_FOR = 1.0  # nothing is said about a wait shorter than this
_NOTICE_EVERY = 10.0


class WaitSettings:
    """How long to wait for another process downloading the same blob."""

    def __init__(self, max_wait: float = 600.0, stall: float = 30.0) -> None:
        self.max_wait = max_wait
        self.stall = stall


class BlobWriter:
    """``offset`` bytes are already on disk; ``write`` the rest from there, then ``commit``.

    ``verify=False`` skips hashing here: only for a caller that verifies the digest of every byte of
    ``path`` itself (from offset 0, as the layer pipeline does when reading the prefetched file) and
    calls ``commit`` only after that succeeded.  Size is always checked.
    """

    def __init__(
        self,
        layout: Layout,
        digest: str,
        size: int | None,
        *,
        verify: bool = True,
        wait: WaitSettings | None = None,
    ) -> None:
        self.digest = digest
        self.size = size
        self.verify = verify
        self._layout = layout
        algorithm, self._hex = split_digest(digest)
        self._hasher = hashlib.new(algorithm)
        self._lock = FileLock(layout.lock(digest))
        self._fd = -1
        self.shared = self._lock.acquire(blocking=False)
        if (
            not self.shared
            and wait is not None
            and wait.max_wait > 0
            and (size is None or size > _NO_WAIT_BELOW)
        ):
            self.shared = self._wait_for_other(wait)
        self._committed = False
        self.waited = False
        try:
            final = layout.blob(digest)
            if self.shared and final.is_file() and (size is None or final.stat().st_size == size):
                # the process we waited for committed it: a complete "download", verified again
                self.path = final
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                self.offset = self._resume()
                self.waited = True
            elif self.shared:
                self.path = layout.partial(digest)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
                self.offset = self._resume()
            else:
                self.path, self._fd = private_temp(layout, self._hex)
                self.offset = 0
        except OSError as exc:
            self._lock.release()
            if exc.errno in _NO_SPACE or exc.errno in (errno.EROFS, errno.EACCES):
                raise local_filesystem_error(exc) from None
            raise
        except BaseException:
            self._lock.release()
            raise
        self.written = self.offset

    def _wait_for_other(self, wait: WaitSettings) -> bool:
        """Another process holds the lock: wait while its partial grows; True once we hold the lock."""
        partial = self._layout.partial(self.digest)
        start = last_growth = last_notice = time.monotonic()
        seen = -1
        noticed = False
        delay = _FIRST_POLL
        while True:
            now = time.monotonic()
            try:
                have = partial.stat().st_size
            except FileNotFoundError:
                have = 0
            if have != seen:
                seen, last_growth = have, now
            if (not noticed and now - start >= _QUIET_FOR) or (
                noticed and now - last_notice >= _NOTICE_EVERY
            ):
                total = f" of {self.size}" if self.size is not None else ""
                log.warning(
                    "waiting for another process downloading %s into the cache (%d%s bytes so far)",
                    self.digest,
                    max(have, 0),
                    total,
                )
                noticed, last_notice = True, now
            if now - last_growth >= wait.stall or now - start >= wait.max_wait:
                log.warning("%s: no longer waiting for the other process; downloading it here", self.digest)
                return False
            time.sleep(delay)
            delay = min(delay * 2, _POLL)
            if self._lock.acquire(blocking=False):
                return True

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
            raise ContentMismatch(f"blob {self.digest} is larger than the {self.size} bytes announced")
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except OSError as exc:
            if exc.errno not in _NO_SPACE:
                raise
            path = str(self.path)
            self.abort(discard=True)  # never keep a partial after the disk filled up
            raise local_filesystem_error(OSError(exc.errno, exc.strerror, path)) from None
        if self.verify:
            self._hasher.update(data)
        self.written += len(data)

    def commit(self) -> Path:
        """Verify size and digest, then rename into place; on mismatch the bytes are discarded."""
        if self._committed:
            return self._layout.blob(self.digest)
        if self.size is not None and self.written != self.size:
            self.abort(discard=True)
            raise ContentMismatch(f"blob {self.digest}: got {self.written} bytes, expected {self.size}")
        actual = f"{self._hasher.name}:{self._hasher.hexdigest()}" if self.verify else self.digest
        if actual != self.digest:
            self.abort(discard=True)
            raise ContentMismatch(f"blob digest mismatch: expected {self.digest}, got {actual}")
        final = self._layout.blob(self.digest)
        if self.path != final:
            os.replace(self.path, final)
        self._committed = True
        self._close(unlink_lock=self.shared)  # nothing left to guard
        return final

    def abort(self, *, discard: bool = False) -> None:
        """Stop writing.  A shared partial is kept for resuming unless ``discard``; a private one never is."""
        if self._committed or self._fd < 0:
            return
        if (discard or not self.shared) and self.path != self._layout.blob(self.digest):
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


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` with plain ``os.write`` calls (no buffered file
    object around what is usually a single write), finishing a short write."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Names:
    """Temporary names unique in this process: a random prefix, drawn once per process (again in a
    forked child), then a counter, so a name costs no system call (``getrandom``)."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        self.prefix = os.urandom(6).hex()
        self.count = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.count):x}"


_NAMES = _Names()
os.register_at_fork(after_in_child=_NAMES.renew)


def unique_suffix() -> str:
    """Lowercase hex no other call of this process (nor, but by a 48-bit chance, of another) gets:
    the random part of a temporary file's name."""
    return _NAMES.next()


_IOV = 512  # buffers per writev (below IOV_MAX)


def write_parts(fd: int, parts: Sequence[bytes | memoryview]) -> None:
    """Write ``parts`` one after another to ``fd`` with ``writev`` (one call for up to 512 of
    them), never copying them into one buffer first; a short write is finished."""
    for i in range(0, len(parts), _IOV):
        batch = parts[i : i + _IOV]
        done = os.writev(fd, batch)
        if done != sum(len(b) for b in batch):  # a short write (rare): finish it
            write_all(fd, memoryview(b"".join(batch))[done:])


def private_temp(layout: Layout, hexd: str) -> tuple[Path, int]:
    name, fd = private_temp_name(layout, hexd)
    return Path(name), fd


def private_temp_name(layout: Layout, hexd: str) -> tuple[str, int]:
    """``private_temp`` with the path as text."""
    tmp = layout.tmp_name()
    for attempt in range(100):
        path = f"{tmp}/{hexd[:16]}.{owner_token()}.{unique_suffix()}.tmp"
        try:
            return path, os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        except FileExistsError:
            continue
        except FileNotFoundError:
            if attempt:
                raise
            layout.forget()  # the cache's directories were removed under us: create them again
            tmp = layout.tmp_name()
    raise OSError(f"could not create a temp file in {tmp}")


class SmallBlobWriter:
    """Commits many small blobs whose bytes the caller has just hashed and verified (the files of a
    partially fetched layer): the directories and the owner token are looked up once, each blob is
    a private temp file (the ``private_temp`` naming, so a dead writer's debris is swept the same
    way) renamed into place.  Safe to use from several threads."""

    def __init__(self, layout: Layout) -> None:
        self._layout = layout
        self._tmp = layout.tmp_name()
        self._owner = owner_token()

    def _dir(self, digest: str) -> tuple[str, str]:
        algorithm, hexd = split_digest(digest)
        return self._layout.blob_dir_name(algorithm), hexd

    def exists(self, digest: str) -> bool:
        """Whether ``digest`` is committed (one ``stat``; recency is updated when it is read)."""
        directory, hexd = self._dir(digest)
        return os.path.isfile(f"{directory}/{hexd}")

    def listing(self, digest: str, limit: int) -> frozenset[str] | None:
        """The names of the committed blobs beside where ``digest``'s would be (one directory
        read), or None when there are more than ``limit`` entries: then ``exists`` is cheaper."""
        directory, _ = self._dir(digest)
        names = set()
        try:
            with os.scandir(directory) as entries:
                for count, entry in enumerate(entries):
                    if count >= limit:
                        return None
                    if entry.is_file():
                        names.add(entry.name)
        except FileNotFoundError:
            pass
        return frozenset(names)

    def put(self, digest: str, data: bytes) -> None:
        directory, hexd = self._dir(digest)
        tmp = f"{self._tmp}/{hexd[:16]}.{self._owner}.{unique_suffix()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        try:
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
            os.replace(tmp, f"{directory}/{hexd}")
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
