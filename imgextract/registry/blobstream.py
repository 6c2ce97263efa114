"""A blob body as a readable stream that resumes with ``Range`` after a dropped connection.

Bytes are passed through undecoded (the caller verifies the digest).  When the connection breaks
mid-body, or ends before the known size, the blob is re-requested from the current position
(``Range: bytes=N-``, expecting 206) up to ``max_resumes`` times, like go-containerregistry's
resumable transport.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Callable

from imgextract.errors import IntegrityError, UnreachableError
from imgextract.registry.exceptions import TransportError, label_of
from imgextract.registry.response import Response
from imgextract.registry.watchdog import deadline_message, transfers_aborted, watch_of

log = logging.getLogger("imgextract.registry")

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+|\*)?/?(\d+|\*)?", re.IGNORECASE)
_SKIP_CHUNK = 1024 * 1024

_BROKEN = (TransportError, ConnectionError, TimeoutError)


def range_start(content_range: str | None) -> int | None:
    if not content_range:
        return None
    match = _CONTENT_RANGE.match(content_range.strip())
    return int(match.group(1)) if match else None


class BlobStream(io.RawIOBase):
    """``open_at(offset)`` returns a response positioned at ``offset`` (206) or at 0 (200)."""

    def __init__(
        self,
        open_at: Callable[[int], Response],
        *,
        offset: int = 0,
        size: int | None = None,
        max_resumes: int = 3,
        what: str = "blob",
        reference: str | None = None,
        endpoint: str | None = None,
        budget: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        last_progress: float | None = None,
        on_give_up: Callable[[float], None] | None = None,
    ) -> None:
        """``budget``: seconds without receiving a byte after which no more resumes are tried,
        counted from ``last_progress`` (default: now; a reopen passes the time of the last byte the
        previous stream got, so reopening does not restart the count).  ``on_give_up(t)`` learns
        that time when the stream gives up."""
        super().__init__()
        self._budget = budget
        self._clock = clock
        self._last_progress = clock() if last_progress is None else last_progress
        self._on_give_up = on_give_up
        self._open_at = open_at
        self._position = offset
        self._size = size
        self._resumes_left = max_resumes
        self._what = what
        self._reference = reference
        self._endpoint = endpoint
        self._response: Response | None = None
        self._response = self._start(offset)

    @property
    def position(self) -> int:
        return self._position

    def _start(self, offset: int) -> Response:
        response = self._open_at(offset)
        if offset and response.status_code == 200:
            # The server ignored Range: discard what we already have.
            self._discard(response, offset)
        elif offset:
            start = range_start(response.headers.get("Content-Range"))
            if start != offset:
                response.close()
                raise IntegrityError(
                    f"{self._what}: asked for bytes from {offset}, server sent a range starting at {start}",
                    reference=self._reference,
                    endpoint=self._endpoint,
                )
        return response

    def _discard(self, response: Response, count: int) -> None:
        while count:
            chunk = response.raw.read(min(count, _SKIP_CHUNK))
            if not chunk:
                raise IntegrityError(
                    f"{self._what}: body ended while skipping to byte offset",
                    reference=self._reference,
                    endpoint=self._endpoint,
                )
            count -= len(chunk)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while True:
            if self._response is None:
                return 0
            try:
                chunk = self._response.raw.read(len(view))
            except _BROKEN as exc:
                self._resume(exc)
                continue
            if not chunk and self._size is not None and self._position < self._size:
                self._resume(None)
                continue
            view[: len(chunk)] = chunk
            self._position += len(chunk)
            if chunk:
                self._last_progress = self._clock()
            return len(chunk)

    def _resume(self, cause: BaseException | None) -> None:
        response, self._response = self._response, None
        cut = deadline_message(response)
        watch = watch_of(response)
        if response is not None:
            response.close()
        reason = cut or (label_of(cause) if cause is not None else "body ended early")
        stalled = self._clock() - self._last_progress
        aborted = (watch is not None and watch.aborted) or transfers_aborted()
        if aborted or self._resumes_left <= 0 or stalled >= self._budget:
            why = f"; nothing received for {stalled:.0f} s" if stalled >= self._budget else ""
            if self._on_give_up is not None:
                self._on_give_up(self._last_progress)
            raise UnreachableError(
                f"{self._what}: connection lost at byte {self._position} ({reason}){why}",
                reference=self._reference,
                endpoint=self._endpoint,
            )
        self._resumes_left -= 1
        log.warning("%s: connection lost at byte %d (%s); resuming", self._what, self._position, reason)
        self._response = self._start(self._position)

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        super().close()
