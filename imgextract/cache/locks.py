"""Advisory ``fcntl.flock`` locks on files that may be deleted by ``cache prune``.

A lock file can be unlinked while another process waits on it; the waiter would then hold a lock on
an orphan inode while a third process locks a fresh file of the same name.  So after locking we check
that the path still names the inode we locked, and start again if not (the classic flock+unlink dance).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from imgextract.cache.layout import FILE_MODE


class FileLock:
    """Exclusive lock on ``path``; ``acquire(blocking=False)`` returns False when someone else holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, *, blocking: bool = True) -> bool:
        if self._fd is not None:
            raise RuntimeError(f"lock {self.path} already held")
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            except BaseException:
                os.close(fd)
                raise
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
                return True
            os.close(fd)  # lost a race with an unlink: lock the new file instead

    def release(self, *, unlink: bool = False) -> None:
        """Release; with ``unlink`` remove the lock file first (only safe while holding it)."""
        if self._fd is None:
            return
        if unlink:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        fd, self._fd = self._fd, None
        os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
