"""Verify and decompress a layer blob on a second thread while the caller applies the tar.

SHA-256 and inflate are most of a big layer's CPU and both release the GIL on large buffers, so
they can run on another core while the applier parses tar headers and writes files::

    caller thread:  raw.read ──> [compressed queue] ──┐                ┌──> uncompressed reads
                                                      v                │
    inflate thread:            VerifyingReader(digest, size) -> decoder ┴─> [uncompressed queue]

With a ``SharedDigest`` the decoded stream's digest is computed by whichever thread would
otherwise wait: the inflate thread when the caller is behind (a layer of many small files), the
caller when the inflate thread is (big compressed files), in order, one chunk at a time.

The caller's thread does all the I/O on ``raw`` (so a Ctrl-C or a stalled download is met
where it was before, and progress callbacks stay on that thread); the inflate thread only
computes, and only waits on the two queues, so ``close()`` stops it at once.  Both queues hold
at most ``depth`` chunks.  An exception on the inflate thread (a digest mismatch, a corrupt
stream, a bomb cap) is raised, as the same object, by the caller's next ``read``.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any, BinaryIO

from imgextract.layers.verify import SharedDigest

CHUNK = 1024 * 1024
DEPTH = 4


class _Stopped(Exception):
    """The caller closed the pipeline; the inflate thread unwinds quietly."""


class InflateThread:
    """``read(n)`` gives the decoded stream of ``raw``.

    ``start(build)``: ``build()`` runs on the inflate thread and returns the stream to decode,
    built over ``source()`` (the raw bytes, read on the caller's thread); whatever it wraps
    (digest verification, decompression) runs there."""

    def __init__(
        self, raw: BinaryIO, *, chunk: int = CHUNK, depth: int = DEPTH, digest: SharedDigest | None = None
    ) -> None:
        self._raw = raw
        self._digest = digest
        self._chunk = chunk
        self._depth = depth
        self._cond = threading.Condition()
        self._in: deque[bytes] = deque()  # raw chunks for the thread; b"" = end of raw
        self._in_eof = False
        self._out: deque[bytes] = deque()  # decoded chunks for the caller
        self._out_eof = False
        self._error: BaseException | None = None
        self._stop = False
        self._pending = memoryview(b"")
        self._thread: threading.Thread | None = None
        self._read_raw = getattr(raw, "read1", raw.read)  # pieces as they come: no joining copies

    # -- caller's thread ---------------------------------------------------------------------

    def source(self) -> _Source:
        """The raw bytes as the inflate thread reads them (wrap it, then ``start``)."""
        return _Source(self._source_read)

    def start(self, build: Callable[[], Any]) -> None:
        """Run ``build()``'s stream on the thread: ``build`` wraps ``source()`` (verify, decode)."""
        self._thread = threading.Thread(target=self._run, args=(build,), name="layer-inflate", daemon=True)
        self._thread.start()

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0:
            parts = []
            while chunk := self.read(CHUNK):
                parts.append(chunk)
            return b"".join(parts)
        if self._pending:
            part, self._pending = self._pending[:n], self._pending[n:]
            return bytes(part)
        digest = self._digest
        helped = True
        while True:
            with self._cond:
                feed = not self._in_eof and len(self._in) < self._depth
                if self._out:
                    chunk = self._out.popleft()
                    self._cond.notify_all()
                    break
                if self._error is not None:
                    raise self._error
                if self._out_eof:
                    return b""
                if not feed:
                    if not helped or digest is None or not digest.backlog():
                        self._cond.wait()
                        helped = True
                        continue
            if not feed:  # nothing to read yet: hash a decoded chunk meanwhile
                helped = digest.help()  # type: ignore[union-attr]
                continue
            self._feed()
        if feed:  # keep the inflate thread's queue topped up, not only when we ran dry
            self._feed()
        if len(chunk) <= n:
            return chunk
        view = memoryview(chunk)
        self._pending = view[n:]
        return bytes(view[:n])

    def _feed(self) -> None:
        raw = self._read_raw(self._chunk)  # outside the lock: may wait for the download
        with self._cond:
            self._in.append(raw)
            self._in_eof = not raw
            self._cond.notify_all()

    def close(self) -> None:
        """Stop the thread (if it is still running) and wait for it."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    # -- inflate thread ----------------------------------------------------------------------

    def _source_read(self, n: int = -1, /) -> bytes:
        with self._cond:
            while not self._in:
                if self._stop:
                    raise _Stopped
                self._cond.wait()
            data = self._in.popleft()
            self._cond.notify_all()
            if not data:
                self._in.appendleft(data)  # end of raw: every later read sees it too
            elif 0 <= n < len(data):
                self._in.appendleft(data[n:])
                data = data[:n]
            return data

    def _run(self, build: Callable[[], Any]) -> None:
        try:
            stream = build()
            read = getattr(stream, "read1", stream.read)  # pieces as they come: no joining copies
            digest = self._digest
            while True:
                data = read(self._chunk)
                if data and digest is not None:
                    digest.add(data)
                    while digest.backlog() > 2 * self._depth and digest.help():
                        pass  # (the consumer is behind with hashing too: bound what waits)
                helped = True
                while True:
                    with self._cond:
                        if self._stop:
                            return
                        if len(self._out) < self._depth:
                            if data:
                                self._out.append(data)
                            else:
                                self._out_eof = True
                            self._cond.notify_all()
                            break
                        if not helped or digest is None or not digest.backlog():
                            self._cond.wait()
                            helped = True
                            continue
                    helped = digest.help()  # the consumer is behind: hash a chunk meanwhile
                if not data:
                    return
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised on its thread
            with self._cond:
                self._error = exc
                self._cond.notify_all()


class _Source:
    """The raw bytes as the inflate thread sees them: chunks the caller read; ``read(n)`` may be
    shorter than n (VerifyingReader and the decoders read until b"")."""

    def __init__(self, read: Callable[..., bytes]) -> None:
        self.read = read

    def readable(self) -> bool:
        return True
