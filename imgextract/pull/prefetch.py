"""Download layers ahead of the applier, a few at a time, into files the applier reads as they grow.

Every layer is downloaded by a small pool of worker threads (in layer order, at most ``ahead`` layers
started and not yet consumed) into a file: the content cache's ``<hex>.partial`` when caching is on
(committed by atomic rename once the digest verifies), or an already-unlinked spool file otherwise.
``open(desc)`` hands the applier a reader on that file which follows the download: it returns bytes as
soon as they are on disk, waits for more, and reports end-of-file only once the whole blob is there
(and, with the cache, verified).  So layer 0 is applied while it streams in, and layers 1..N download
meanwhile.  Memory stays bounded (one chunk per worker plus read buffers); disk ahead of the applier is
at most ``ahead`` layers when not caching.

A worker's failure is raised by ``open`` (or by the reader, if it happens mid-layer); ``close`` stops
the workers, keeps cache partials for a later Range resume, and joins the threads.

Without the cache, a layer's chunks first wait in memory for the reader (at most ``memory_ahead``
bytes per layer; the download pauses while they are full, and TCP holds the registry back), so a
layer that is applied while it downloads never touches the disk: writing it to a spool file and
reading it back cost as much CPU as inflating it.  A layer the reader has not reached after
``spill_after`` seconds of such a pause goes on downloading into an unlinked spool file, as before:
on a slow network the layers after the current one still download in parallel.

``reader_verifies=True`` is for a reader that checks the digest of every byte it reads, from the
start, and raises otherwise (``layers.pipeline.apply_blob`` does): the workers then do not hash, and
a layer is committed to the cache when its ``open`` block exits cleanly after reading to EOF.  That
saves one SHA-256 pass per layer, which matters on a machine whose cores are all busy applying.
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Protocol

from imgextract.errors import ContentMismatch, ImgExtractError, IntegrityError, UnreachableError
from imgextract.oci.digest import Digest
from imgextract.outputs.directory import SPOOL_PREFIX
from imgextract.procowner import owner_token

if TYPE_CHECKING:
    from imgextract.cache import BlobWriter as _CacheWriter
    from imgextract.cache import ContentCache

CHUNK = 1024 * 1024
READ_BUFFER = 256 * 1024
MEMORY_AHEAD = 4 * CHUNK  # per layer, without the cache: downloaded bytes waiting for the reader
SPILL_AFTER = 2.0  # seconds a download waits on a full memory_ahead before it goes on into a spool file


class BlobSource(Protocol):
    """What we need of ``RegistryClient``: a raw (unverified) blob stream from an offset."""

    def open_blob(
        self, repository: str, digest: str, *, size: int | None = None, offset: int = 0
    ) -> AbstractContextManager[BinaryIO]: ...


class LayerDescriptor(Protocol):
    @property
    def digest(self) -> str: ...
    @property
    def size(self) -> int: ...


class PrefetchCancelled(ImgExtractError):
    """The prefetcher was closed while a layer was still wanted."""


@dataclass
class LayerFetch:
    """How a layer was obtained: from the cache, or ``fetched_bytes`` over the network."""

    from_cache: bool = False
    fetched_bytes: int = 0


class _Slot:
    def __init__(self, index: int, desc: LayerDescriptor) -> None:
        self.index = index
        self.desc = desc
        self.read_fd: int | None = None  # owned here until a reader claims it
        self.ready = False  # read_fd was set (and maybe already claimed)
        self.written = 0  # bytes on disk, readable through read_fd
        self.done = False  # all bytes there (and verified, when caching)
        self.error: BaseException | None = None
        self.opened = False
        self.stats = LayerFetch()
        self.pending: _CacheWriter | None = None  # downloaded, to commit once the reader verified it
        # streaming (no cache): bytes [start of memory, spill_at or written) are in ``memory``, bytes
        # from ``spill_at`` on (once the download went on into a spool file) in that file
        self.streaming = False
        self.memory: deque[bytes] = deque()
        self.memory_bytes = 0
        self.memory_off = 0  # bytes of memory[0] already read
        self.spill_at: int | None = None
        self.spill_fd: int | None = None
        self.spill_base = 0  # file offset = stream position - spill_base (a spool file starts at spill_at)
        self.abandoned = False  # the reader was closed: a streaming download stops


class _SpoolWriter:
    """Not caching: a private file in ``spool_dir``, unlinked once both ends are open."""

    shared = False
    offset = 0

    def __init__(self, spool_dir: Path) -> None:
        fd, name = tempfile.mkstemp(prefix=f"{SPOOL_PREFIX}{owner_token()}-", dir=spool_dir)
        self.path = Path(name)
        self._fd = fd
        self.written = 0

    def write(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
        except OSError as e:  # the local disk (full, over a size limit): name the spool file
            raise OSError(e.errno, e.strerror, str(self.path)) from None
        self.written += len(data)

    def commit(self) -> Path:
        self.abort()
        return self.path

    def abort(self, *, discard: bool = True) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> _SpoolWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


class _TailReader(io.RawIOBase):
    """Reads a slot's file as the worker writes it; EOF only when the worker says the blob is complete."""

    def __init__(self, owner: Prefetcher, slot: _Slot, fd: int) -> None:
        super().__init__()
        self._owner = owner
        self._slot = slot
        self._fd = fd
        self._pos = 0
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if not len(view):
            return 0
        cond, slot = self._owner._cond, self._slot
        with cond:
            while True:
                if slot.error is not None:
                    raise slot.error
                avail = slot.written - self._pos
                if avail > 0:
                    break
                if slot.done:
                    self.eof = True
                    return 0
                if self._owner._cancelled:
                    raise PrefetchCancelled(f"layer {slot.desc.digest}: download cancelled")
                cond.wait()
        n = os.preadv(self._fd, [view[: min(len(view), avail)]], self._pos)
        if n <= 0:  # the file shrank under us: not something a download does
            raise OSError(f"layer {slot.desc.digest}: spool file truncated at {self._pos}")
        self._pos += n
        return n

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        super().close()


class _StreamReader:
    """Reads a streaming slot: chunks from memory as the worker hands them over (no copy when a whole
    chunk is asked for), then from the spool file if the download went on into one.

    The worker hashes what it downloads and reports end-of-file only once digest and size matched
    (otherwise the reader raises ``ContentMismatch``): ``source_verifies`` tells the consumer it need
    not hash the blob again.
    """

    source_verifies = True

    def __init__(self, owner: Prefetcher, slot: _Slot) -> None:
        self._owner = owner
        self._slot = slot
        self._pos = 0
        self.eof = False
        self.closed = False

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        """Up to ``n`` bytes (all when n < 0); short only at the end."""
        if n is None or n < 0:
            parts = []
            while piece := self._piece(CHUNK):
                parts.append(piece)
            return b"".join(parts)
        first = self._piece(n)
        if len(first) >= n or not first:
            return first
        parts, got = [first], len(first)
        while got < n and (piece := self._piece(n - got)):
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _piece(self, n: int) -> bytes:
        if n <= 0 or self.eof:
            return b""
        owner, slot = self._owner, self._slot
        with owner._cond:
            while True:
                if slot.error is not None:
                    raise slot.error
                if slot.written > self._pos:
                    break
                if slot.done:
                    self.eof = True
                    return b""
                if owner._cancelled:
                    raise PrefetchCancelled(f"layer {slot.desc.digest}: download cancelled")
                owner._cond.wait()
            if slot.spill_at is None or self._pos < slot.spill_at:
                chunk, off = slot.memory[0], slot.memory_off
                if off == 0 and len(chunk) <= n:
                    piece = chunk  # the common case: a whole chunk, not copied
                    slot.memory.popleft()
                else:
                    piece = chunk[off : off + n]
                    off += len(piece)
                    if off >= len(chunk):
                        slot.memory.popleft()
                        off = 0
                    slot.memory_off = off
                slot.memory_bytes -= len(piece)
                self._pos += len(piece)
                owner._cond.notify_all()
                return piece
            fd, offset, avail = slot.spill_fd, self._pos - slot.spill_base, slot.written - self._pos
        assert fd is not None
        data = os.pread(fd, min(n, avail), offset)
        if not data:  # the file shrank under us: not something a download does
            raise OSError(f"layer {slot.desc.digest}: spool file truncated at {offset}")
        self._pos += len(data)
        return data

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with self._owner._cond:
            slot = self._slot
            slot.abandoned = True
            slot.memory.clear()
            slot.memory_bytes = slot.memory_off = 0
            if slot.spill_fd is not None:
                os.close(slot.spill_fd)
                slot.spill_fd = None
            self._owner._cond.notify_all()


class _StreamSink:
    """The worker's side of a streaming slot (see the module docstring).

    With ``tee`` (the cache's writer, from offset 0) every chunk is written to the cache file first;
    ``tee_fd`` reads that file, so a reader left behind reads the rest from it instead of a spool.
    """

    offset = 0

    def __init__(
        self, owner: Prefetcher, slot: _Slot, tee: _CacheWriter | None = None, tee_fd: int | None = None
    ) -> None:
        self._owner = owner
        self._slot = slot
        self._spool: _SpoolWriter | None = None
        self._tee = tee
        self._tee_fd = tee_fd  # owned here until handed to the slot as its spill file
        self._spilled = False
        self._hasher = Digest.parse(slot.desc.digest).hasher()
        self.written = 0

    def verify(self) -> None:
        """After the download: every byte the reader was given matches the descriptor."""
        desc = self._slot.desc
        if self.written != desc.size:
            raise ContentMismatch(f"layer {desc.digest}: got {self.written} bytes, expected {desc.size}")
        actual = f"{desc.digest.split(':', 1)[0]}:{self._hasher.hexdigest()}"
        if actual != desc.digest:
            raise ContentMismatch(f"blob digest mismatch: expected {desc.digest}, got {actual}")

    def write(self, chunk: bytes) -> None:
        owner, slot = self._owner, self._slot
        self._hasher.update(chunk)  # on this thread, off the applier's (hashlib releases the GIL)
        if self._tee is not None:
            if slot.abandoned:
                raise PrefetchCancelled(f"layer {slot.desc.digest}: the reader stopped")
            self._tee.write(chunk)
            if self._spilled:
                self.written += len(chunk)
                return
        if self._spool is None and not self._spilled:
            with owner._cond:
                deadline = None
                while slot.memory_bytes >= owner._memory_ahead and not slot.abandoned:
                    if owner._cancelled:
                        raise PrefetchCancelled(f"layer {slot.desc.digest}: download cancelled")
                    now = time.monotonic()
                    deadline = deadline if deadline is not None else now + owner._spill_after
                    if now >= deadline:
                        break
                    owner._cond.wait(deadline - now)
                if slot.abandoned:
                    raise PrefetchCancelled(f"layer {slot.desc.digest}: the reader stopped")
                if slot.memory_bytes < owner._memory_ahead:
                    slot.memory.append(bytes(chunk))
                    slot.memory_bytes += len(chunk)
                    self.written += len(chunk)
                    return
            self._spill()
            if self._tee is not None:
                self.written += len(chunk)
                return
        assert self._spool is not None
        if slot.abandoned:
            raise PrefetchCancelled(f"layer {slot.desc.digest}: the reader stopped")
        self._spool.write(chunk)
        self.written += len(chunk)

    def _spill(self) -> None:
        """The reader is not coming soon: go on into an unlinked spool file (or the cache file)."""
        if self._tee is not None:
            with self._owner._cond:
                slot = self._slot
                slot.spill_at, slot.spill_fd, slot.spill_base = self.written, self._tee_fd, 0
                self._tee_fd = None
                self._spilled = True
            return
        spool = _SpoolWriter(self._owner._spool_dir)
        try:
            fd = os.open(spool.path, os.O_RDONLY | os.O_CLOEXEC)
            os.unlink(spool.path)
        except BaseException:
            spool.abort()
            raise
        with self._owner._cond:
            self._slot.spill_at, self._slot.spill_fd = self.written, fd
            self._slot.spill_base = self.written
        self._spool = spool

    def close(self) -> None:
        if self._tee_fd is not None:
            os.close(self._tee_fd)
            self._tee_fd = None
        if self._spool is not None:
            self._spool.abort()
            self._spool = None


class Prefetcher:
    """``with Prefetcher(client, repo, layers, cache=...) as pf: with pf.open(desc) as raw: ...``

    ``layers`` are the descriptors that will be opened, in apply order (skipped layers left out).
    """

    def __init__(
        self,
        client: BlobSource,
        repository: str,
        layers: Sequence[LayerDescriptor],
        *,
        cache: ContentCache | None = None,
        spool_dir: Path | None = None,
        workers: int = 3,
        ahead: int | None = None,
        chunk_size: int = CHUNK,
        reopen_attempts: int = 2,
        reader_verifies: bool = False,
        memory_ahead: int = MEMORY_AHEAD,
        spill_after: float = SPILL_AFTER,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._client = client
        self._repository = repository
        self._slots = [_Slot(i, d) for i, d in enumerate(layers)]
        self._cache = cache
        self._spool_dir = Path(spool_dir) if spool_dir is not None else Path(tempfile.gettempdir())
        self._workers = min(workers, max(1, len(self._slots)))
        self._ahead = max(ahead if ahead is not None else workers + 1, 1)
        self._chunk = chunk_size
        self._reopen_attempts = reopen_attempts
        self._reader_verifies = reader_verifies
        self._memory_ahead = memory_ahead  # 0: no streaming, always spool (without the cache)
        self._spill_after = spill_after
        self._cond = threading.Condition()
        self._next = 0  # next slot a worker will start
        self._consumed = 0  # slots whose reader was closed
        self._cancelled = False
        self._threads: list[threading.Thread] = []

    # lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._threads or not self._slots:  # nothing to fetch: no thread
            return
        for i in range(self._workers):
            t = threading.Thread(target=self._work, name=f"prefetch-{i}", daemon=True)
            self._threads.append(t)
            t.start()

    def close(self) -> None:
        """Stop downloading (partials stay in the cache for a later resume), join workers, free files."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()
        for t in self._threads:
            t.join()
        with self._cond:
            for slot in self._slots:
                if slot.read_fd is not None:
                    os.close(slot.read_fd)
                    slot.read_fd = None
                if slot.pending is not None:
                    slot.pending.abort()  # complete but unverified: kept, a later pull verifies it
                    slot.pending = None
                if slot.spill_fd is not None:
                    os.close(slot.spill_fd)
                    slot.spill_fd = None
                slot.memory.clear()

    def __enter__(self) -> Prefetcher:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # consumer side -------------------------------------------------------------------------------
    @contextmanager
    def open(self, desc: LayerDescriptor) -> Iterator[BinaryIO]:
        """A reader on the next not-yet-opened layer with ``desc.digest``; raises the worker's error."""
        self.start()
        with self._cond:
            slot = next((s for s in self._slots if not s.opened and s.desc.digest == desc.digest), None)
            if slot is None:
                raise KeyError(f"layer {desc.digest} was not given to the prefetcher (or already opened)")
            slot.opened = True
            try:
                while True:
                    if slot.error is not None:
                        raise slot.error
                    if self._cancelled:
                        raise PrefetchCancelled(f"layer {desc.digest}: download cancelled")
                    if slot.ready:
                        break
                    self._cond.wait()
                fd, slot.read_fd = slot.read_fd, None
                if fd is None and not slot.streaming:
                    raise RuntimeError(f"layer {desc.digest}: reader already handed out")
            except BaseException:
                self._consume(slot)
                raise
        tail: _TailReader | _StreamReader
        reader: io.BufferedReader | _StreamReader
        if fd is None:
            tail = reader = _StreamReader(self, slot)
        else:
            tail = _TailReader(self, slot, fd)
            reader = io.BufferedReader(tail, buffer_size=READ_BUFFER)
        try:
            yield reader  # type: ignore[misc]
        except BaseException as exc:
            self._settle(slot, verified=False, error=exc)
            raise
        else:
            self._settle(slot, verified=tail.eof)
        finally:
            reader.close()
            with self._cond:
                self._consume(slot)

    def _settle(self, slot: _Slot, *, verified: bool, error: BaseException | None = None) -> None:
        """With ``reader_verifies``: commit the layer to the cache once its reader got through it."""
        with self._cond:
            writer, slot.pending = slot.pending, None
        if writer is None:
            if slot.stats.from_cache and isinstance(error, IntegrityError) and self._cache is not None:
                try:  # rotted or tampered: do not fail every later pull
                    self._cache.evict_blob(slot.desc.digest)
                except OSError:
                    pass  # read-only cache: the IntegrityError is what the caller sees
            return
        if verified:
            writer.commit()
        else:
            writer.abort(discard=isinstance(error, IntegrityError))

    def _consume(self, slot: _Slot) -> None:
        self._consumed += 1
        self._cond.notify_all()

    def stats(self, desc: LayerDescriptor) -> LayerFetch:
        """How the first layer with ``desc.digest`` was obtained (valid once its reader hit EOF)."""
        for slot in self._slots:
            if slot.desc.digest == desc.digest:
                return slot.stats
        raise KeyError(desc.digest)

    # worker side ---------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._cond:
                while (
                    not self._cancelled
                    and self._next < len(self._slots)
                    and self._next >= self._consumed + self._ahead
                ):
                    self._cond.wait()
                if self._cancelled or self._next >= len(self._slots):
                    return
                slot = self._slots[self._next]
                self._next += 1
            try:
                self._fetch(slot)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised in its thread
                with self._cond:
                    slot.error = exc
                    self._cond.notify_all()

    def _publish(self, slot: _Slot, fd: int | None, written: int, *, done: bool = False) -> None:
        with self._cond:
            if slot.read_fd is not None or slot.ready:
                if fd is not None:
                    os.close(fd)
                raise RuntimeError("slot published twice")
            slot.read_fd, slot.ready, slot.written, slot.done = fd, True, written, done
            self._cond.notify_all()

    def _fetch(self, slot: _Slot) -> None:
        desc = slot.desc
        if self._cache is not None:
            fd = self._cache.open_blob_fd(desc.digest)
            if fd is not None:
                slot.stats.from_cache = True
                self._publish(slot, fd, os.fstat(fd).st_size, done=True)
                return
            writer: _SpoolWriter | _CacheWriter = self._cache.blob_writer(
                desc.digest, desc.size, verify=not self._reader_verifies
            )
        elif self._memory_ahead > 0:
            self._stream(slot)
            return
        else:
            writer = _SpoolWriter(self._spool_dir)
        if (
            self._memory_ahead > 0
            and not isinstance(writer, _SpoolWriter)
            and writer.offset == 0
            and desc.size > 0
        ):
            self._stream_to_cache(slot, writer)
            return
        try:
            # open the reading end before the file can be renamed (cache) or is unlinked (spool); hand it
            # to the reader only once the registry has answered, so an error there is raised by ``open``
            fd = os.open(writer.path, os.O_RDONLY | os.O_CLOEXEC)
            if isinstance(writer, _SpoolWriter):
                os.unlink(writer.path)
            try:
                if writer.offset >= desc.size > 0:
                    self._publish(slot, fd, writer.offset)  # an earlier pull got every byte already
                else:
                    self._download(slot, writer, lambda: self._publish(slot, fd, writer.offset))
            finally:
                if not slot.ready:
                    os.close(fd)
        except BaseException as exc:
            writer.abort(discard=isinstance(exc, IntegrityError))
            raise
        with self._cond:
            if self._reader_verifies and not isinstance(writer, _SpoolWriter):
                slot.pending = writer  # committed by _settle once the reader verified every byte
            else:
                writer.commit()  # verifies digest+size when caching; raises IntegrityError otherwise
            slot.done = True
            self._cond.notify_all()

    def _stream(self, slot: _Slot) -> None:
        """No cache: the download goes to the reader through memory (and a spool file if it must)."""
        slot.streaming = True
        sink = _StreamSink(self, slot)
        try:
            self._download(slot, sink, lambda: self._publish(slot, None, 0))
            sink.verify()
        finally:
            sink.close()  # the spool's writing end; the reading end is the slot's (spill_fd)
        with self._cond:
            slot.done = True
            self._cond.notify_all()

    def _stream_to_cache(self, slot: _Slot, writer: _CacheWriter) -> None:
        """Caching, nothing on disk yet: the reader gets the chunks from memory as in ``_stream`` while
        they are written to the cache file on the side, instead of reading that file back."""
        try:
            fd = os.open(writer.path, os.O_RDONLY | os.O_CLOEXEC)
        except BaseException:
            writer.abort()
            raise
        slot.streaming = True
        writer.verify = False  # nothing written yet: the sink hashes every byte instead
        sink = _StreamSink(self, slot, tee=writer, tee_fd=fd)
        try:
            self._download(slot, sink, lambda: self._publish(slot, None, 0))
            sink.verify()
        except BaseException as exc:
            writer.abort(discard=isinstance(exc, IntegrityError))
            raise
        finally:
            sink.close()
        with self._cond:
            if self._reader_verifies:
                slot.pending = writer  # verified; committed by _settle once the reader got through it
            else:
                writer.commit()  # verified above: published under its digest only now
            slot.done = True
            self._cond.notify_all()

    def _download(
        self, slot: _Slot, writer: _SpoolWriter | _CacheWriter | _StreamSink, answered: Callable[[], None]
    ) -> None:
        desc = slot.desc
        attempts = 0
        while True:
            try:
                with self._client.open_blob(
                    self._repository, desc.digest, size=desc.size, offset=writer.written
                ) as raw:
                    if not slot.ready:
                        answered()
                    while True:
                        if self._cancelled:
                            raise PrefetchCancelled(f"layer {desc.digest}: download cancelled")
                        chunk = raw.read(self._chunk)
                        if not chunk:
                            return
                        if writer.written + len(chunk) > desc.size:  # the spool has no bound of its own
                            raise ContentMismatch(
                                f"layer {desc.digest}: registry sent more than the "
                                f"{desc.size} bytes the manifest gives"
                            )
                        writer.write(chunk)
                        with self._cond:
                            slot.written += len(chunk)
                            slot.stats.fetched_bytes += len(chunk)
                            self._cond.notify_all()
            except UnreachableError:
                # the client already resumed in-stream a few times; reopen from where we are
                attempts += 1
                if attempts > self._reopen_attempts or self._cancelled:
                    raise
