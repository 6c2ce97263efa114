"""Create small new files on a background thread, so file creation overlaps tar parsing.

Creating a file is the dominant cost of a layer of many small files: the kernel's inode and
directory work (hundreds of microseconds on a journaling filesystem) while the Python side,
parsing the next tar header, waits.  ``FileWriter`` takes jobs "create ``name`` in directory
``dir_fd`` with this content, mode and mtime" and performs them in order on one thread
(``open(O_CREAT|O_EXCL|O_NOFOLLOW)``, ``writev``, ``fchmod`` when asked, ``futimens``,
``close``); those calls release the GIL.

The applier only hands over names it knows are free (see ``Applier._fresh``) and calls
``flush()`` before anything else touches the tree, so the result is the same as doing the
jobs inline.  Memory is bounded: at most ``max_bytes`` of file content waits in the queue.
A job's failure is raised by the next ``submit`` or ``flush``; ``abandon()`` drops what is
queued and waits until the thread is idle (nothing is written after it returns).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Sequence

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_JOB_BYTES = 1024 * 1024  # larger files are written inline
MAX_QUEUED_BYTES = 16 * 1024 * 1024
MAX_QUEUED_JOBS = 4096

# dir_fd, name, content chunks, size, mode, fchmod?, mtime ns, entry name (for errors)
Job = tuple[int, str, Sequence[bytes], int, int, bool, int, str]


class WriteFailed(Exception):
    """A background write failed; ``entry`` is the tar entry, ``__cause__`` the OSError."""

    def __init__(self, entry: str, error: OSError) -> None:
        super().__init__(entry, error)
        self.entry = entry
        self.error = error


class FileWriter:
    def __init__(self, *, max_bytes: int = MAX_QUEUED_BYTES, max_jobs: int = MAX_QUEUED_JOBS) -> None:
        self._max_bytes = max_bytes
        self._max_jobs = max_jobs
        self._cond = threading.Condition()
        self._jobs: deque[Job] = deque()
        self._queued_bytes = 0
        self._busy = False  # the thread holds a job it has not finished
        self._error: WriteFailed | None = None
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- producer (the applier's thread) -----------------------------------------------------

    def submit(self, job: Job) -> None:
        with self._cond:
            self._raise_error()
            while self._jobs and (
                self._queued_bytes + job[3] > self._max_bytes or len(self._jobs) >= self._max_jobs
            ):
                self._cond.wait()
                self._raise_error()
            self._jobs.append(job)
            self._queued_bytes += job[3]
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="layer-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self) -> None:
        """Wait until every submitted job is done; raise the first failure."""
        with self._cond:
            while self._jobs or self._busy:
                self._raise_error()
                self._cond.wait()
            self._raise_error()

    def abandon(self) -> None:
        """Drop queued jobs and wait for the job in progress; errors are forgotten."""
        with self._cond:
            self._jobs.clear()
            self._queued_bytes = 0
            while self._busy:
                self._cond.wait()
            self._error = None

    def close(self) -> None:
        """Abandon what is left and stop the thread."""
        self.abandon()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            self._jobs.clear()
            self._queued_bytes = 0
            raise error

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._jobs and not self._closed:
                    cond.wait()
                if self._closed:
                    return
                job = self._jobs.popleft()
                self._queued_bytes -= job[3]
                self._busy = True
            try:
                if self._error is None:
                    _write(job)
            except OSError as e:
                with cond:
                    if self._error is None:
                        self._error = WriteFailed(job[7], e)
            finally:
                with cond:
                    self._busy = False
                    cond.notify_all()


def _write(job: Job) -> None:
    dir_fd, name, chunks, size, mode, chmod, ns, _ = job
    fd = os.open(name, _NEW_FILE, mode, dir_fd=dir_fd)
    try:
        written = os.writev(fd, chunks) if chunks else 0
        if written < size:  # a short write (rare for regular files): finish it byte-exactly
            rest = memoryview(b"".join(chunks))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
        if chmod:
            os.fchmod(fd, mode)
        os.utime(fd, ns=(ns, ns))
    finally:
        os.close(fd)
