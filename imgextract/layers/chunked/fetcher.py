"""The fetch-ahead thread of a zstd:chunked layer: ``Fetcher`` reads the compressed bytes of the
predicted files in blob order, decompresses and verifies them (``Decoder``; small files a run at
a time) and queues them, at most ``AHEAD`` bytes ahead, for the applier's thread, which takes
them file by file (``take``).  How the two threads share the work is told in ``assemble``."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence

from imgextract.errors import ContentMismatch, IntegrityError
from imgextract.layers.chunked.checks import check_file
from imgextract.layers.chunked.decoder import WHOLE_FILE, Decoder, _Unchecked, batchable
from imgextract.layers.chunked.interfaces import FileData, Handed, Piece, RangeSource
from imgextract.layers.chunked.toc import TocEntry

MiB = 1024 * 1024
AHEAD = 8 * MiB  # decompressed bytes the fetcher may queue ahead of the applier
FIRST_BATCH = 256 * 1024  # compressed bytes of the small files decompressed first, together
BATCH_READ = MiB  # compressed bytes of the small files decompressed together after the first
BATCH_OUT = 4 * MiB  # and their decompressed bytes (a batch of one file may have WHOLE_FILE)
CHECK_AHEAD = 2 * MiB  # queued bytes from which the fetch thread checks small files' digests itself


_END = object()  # a file's last piece was queued and the file verified


class Fetcher:
    """Fetches, decompresses and verifies ``files`` (in this order) on its own thread.

    ``take(entry)`` hands a file's pieces to the applier's thread; files queued before it that
    were not taken are dropped.  At most ``ahead`` bytes wait in the queue (a file larger than
    ``WHOLE_FILE`` is queued piece by piece, so the bound holds for any file)."""

    def __init__(
        self,
        files: Sequence[TocEntry],
        source: RangeSource,
        *,
        ahead: int | None = None,
        on_verified: Callable[[TocEntry, FileData], None] | None = None,
    ) -> None:
        self.files = list(files)
        self.source = source
        self.ahead = AHEAD if ahead is None else ahead  # (read now: tests shrink AHEAD)
        self.on_verified = on_verified
        # Work for whichever thread waits for the other (``idle()`` -> whether it did some): the
        # applier's for the next file, this one for room in the queue.  The cache writes of the
        # files verified so far, which would otherwise wait for the end of the layer.
        self.idle: Callable[[], bool] | None = None
        self._order = {id(e): i for i, e in enumerate(self.files)}
        self._cond = threading.Condition()
        self._queue: deque[tuple[int, object]] = deque()  # (file index, bytes | _END | exception)
        self._queued = 0  # bytes in the queue
        self._done = False  # the thread ended (all queued, failed, or cancelled)
        self._cancelled = False
        self._changes = 0  # counts ``_changed`` (see ``_wait``)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.files:
            self.source.prepare([(e.chunks[0].start, e.chunks[-1].end) for e in self.files])
        self._thread = threading.Thread(target=self._run, name="imgextract-chunked", daemon=True)
        self._thread.start()

    def run_here(self) -> None:
        """Run the fetch loop on the calling thread (it already is a worker)."""
        if self.files:
            self.source.prepare([(e.chunks[0].start, e.chunks[-1].end) for e in self.files])
        self._run()

    def planned(self, entry: TocEntry) -> bool:
        return id(entry) in self._order

    def _put(self, index: int, item: object, size: int, *, last: bool = False) -> bool:
        """Queue ``item`` (``size`` bytes) of file ``index``, and with ``last`` its end too (one
        wake-up of a waiting applier per small file, not two)."""
        with self._cond:
            while self._queued and self._queued + size > self.ahead and not self._cancelled:
                self._wait()  # the applier is behind
            if self._cancelled:
                return False
            self._queue.append((index, item))
            if last:
                self._queue.append((index, _END))
            self._queued += size
            self._changed()
            return True

    def _run(self) -> None:
        decoder = Decoder()
        files = self.files
        index = -1
        try:
            i = 0
            budget = FIRST_BATCH
            while i < len(files):
                entry = files[i]
                if not batchable(entry):
                    index = i
                    i += 1
                    if entry.size <= WHOLE_FILE:
                        data = b"".join(decoder.pieces(entry, self.source))
                        if not self._put(index, data, len(data), last=True):
                            return
                        if self.on_verified is not None:
                            self.on_verified(entry, data)
                        continue
                    for piece in decoder.pieces(entry, self.source):
                        if not self._put(index, piece, len(piece)):
                            return
                    if not self._put(index, _END, 0):
                        return
                    continue
                # a run of small files, decompressed together (``Decoder.batch``: bounded
                # memory, one release of the GIL for the run); the first run is short, so that
                # the applier's thread starts writing soon
                j, compressed, decompressed = i, 0, 0
                while j < len(files) and batchable(files[j]):
                    chunks = files[j].chunks
                    compressed += chunks[-1].end - chunks[0].start
                    decompressed += files[j].size
                    if j > i and (compressed > budget or decompressed > BATCH_OUT):
                        break
                    j += 1
                budget = BATCH_READ
                index = i  # (a failure is the file's the batch was at)
                for item in decoder.batch(files[i:j], self.source):
                    verified: FileData | None = item if isinstance(item, bytes) else None
                    if isinstance(item, _Unchecked) and self._queued >= CHECK_AHEAD:
                        # the applier's thread is behind: its checks of this file are done here
                        check_file(files[index], item.parts, chunks=True)
                        item.checked = True
                        verified = item.parts
                    size = item.size if isinstance(item, _Unchecked) else len(item)
                    if not self._put(index, item, size, last=True):
                        return
                    if self.on_verified is not None and verified is not None:
                        self.on_verified(files[index], verified)
                    index += 1
                i = j
                if self.idle is not None and self._queued >= CHECK_AHEAD:
                    self.idle()  # ahead of the applier: its cache writes now, not all at the end
        except BaseException as exc:  # handed to the applier's thread if it wants this file
            with self._cond:
                self._queue.append((index, exc))
                self._changed()
        finally:
            with self._cond:
                self._done = True
                self._changed()

    def take(self, entry: TocEntry) -> Iterator[Handed] | None:
        """The pieces of ``entry`` (verified once exhausted), or None if they will not come."""
        index = self._order.get(id(entry))
        if index is None:
            return None
        dropped: list[tuple[int, _Unchecked]] = []
        try:
            with self._cond:
                while True:
                    while self._queue and self._queue[0][0] < index:  # files the applier did not want
                        i, item = self._queue.popleft()
                        if isinstance(item, bytes):
                            self._queued -= len(item)
                        elif isinstance(item, _Unchecked):
                            self._queued -= item.size
                            dropped.append((i, item))
                        self._changed()
                    if self._queue:
                        if self._queue[0][0] > index:
                            return None
                        break
                    if self._done:
                        return None
                    self._wait()
        finally:
            for i, item in dropped:  # not applied, but kept (``on_verified``) once verified
                try:
                    self._checked(i, item)
                except ContentMismatch:
                    pass  # not kept; the applier never asked for it
        return self._pieces(index)

    def _checked(self, index: int, item: _Unchecked) -> list[Piece]:
        """The parts of a file queued before its file digest was checked, now checked (and given
        to ``on_verified``); ``ContentMismatch`` if they do not hash to it."""
        if item.checked:
            return item.parts
        entry = self.files[index]
        check_file(entry, item.parts, chunks=True)
        if self.on_verified is not None:
            self.on_verified(entry, item.parts)
        return item.parts

    def _changed(self) -> None:
        """Wake the other thread (``_cond`` held): the queue, or the state it waits on, changed."""
        self._changes += 1
        self._cond.notify_all()

    def _wait(self) -> None:
        """Wait for the other thread (``_cond`` held), doing ``idle`` work meanwhile if there is any.

        ``_cond`` is released for the idle work: a change the other thread made meanwhile woke
        nobody, so it is looked at before waiting (else the last one, the fetch's end, say, would
        never be seen: each thread would wait for the other)."""
        idle = self.idle
        if idle is not None:
            seen = self._changes
            self._cond.release()
            try:
                if idle():
                    return  # the caller looks at the queue again
            finally:
                self._cond.acquire()
            if self._changes != seen:
                return  # changed while this thread was busy: the caller looks again
        self._cond.wait()

    def _pieces(self, index: int) -> Iterator[Handed]:
        while True:
            with self._cond:
                while not self._queue:
                    if self._done:
                        raise IntegrityError("zstd:chunked: the fetcher stopped in the middle of a file")
                    self._wait()
                i, item = self._queue.popleft()
                if isinstance(item, bytes):
                    self._queued -= len(item)
                elif isinstance(item, _Unchecked):
                    self._queued -= item.size
                self._changed()
            assert i == index
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, _Unchecked):  # checked before any of it is handed over
                yield self._checked(index, item)  # (a list: the applier writes it with one writev)
                continue
            assert isinstance(item, bytes)
            yield item

    def close(self) -> None:
        """Stop the thread (it finishes the read it is in) and wait for it."""
        with self._cond:
            self._cancelled = True
            self._queue.clear()
            self._queued = 0
            self._changed()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
