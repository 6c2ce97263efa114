"""Overall deadlines for HTTP answers, and a way to abort every transfer at once.

A socket timeout bounds each read, not a whole answer: a server that sends one byte
every few seconds keeps a read alive forever.  Every response the registry layer opens is watched
here with a deadline; one daemon thread shuts the socket down when the deadline passes, so the
blocked read returns at once and the caller reports a timeout.  :func:`abort_all` does the same
for every open transfer (used when the process is told to stop: a worker blocked in a socket read
must not hold the process).

The status line and headers are under the same deadline: :func:`open_within` runs the request in
the caller's thread with a *header watch* the connection (:mod:`connections`' classes) attaches
itself to when it connects and sends, so the watchdog can shut its socket down too; no thread is
started per request.
"""

from __future__ import annotations

import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from imgextract.cpupin import free_thread
from imgextract.registry.exceptions import ReadTimedOut, TransportError
from imgextract.registry.response import Response

_TICK = 0.2


class Watch:
    """One watched response; ``expired`` tells the reader why its socket went away.

    (A plain class: one is made per request, and a dataclass costs start-up to create.)"""

    __slots__ = ("_done", "aborted", "connection", "deadline", "expired", "headers", "response", "seconds")

    def __init__(
        self, response: Response | None, deadline: float, seconds: float, *, headers: bool = False
    ) -> None:
        self.response = response
        self.deadline = deadline
        self.seconds = seconds
        self.expired = False
        self.aborted = False
        self._done = False
        # a header watch: the connection sending the request (None until it attaches itself)
        self.headers = headers
        self.connection: Any = None

    def __repr__(self) -> str:
        return (
            f"Watch(deadline={self.deadline!r}, seconds={self.seconds!r}, expired={self.expired!r}, "
            f"aborted={self.aborted!r}, headers={self.headers!r})"
        )

    def cancel(self) -> None:
        self._done = True
        self.response = None
        self.connection = None

    def attach(self, connection: Any) -> None:
        """The connection that carries the request (called by it before it sends)."""
        self.connection = connection
        if self.expired or self.aborted:  # the deadline passed while connecting
            _shutdown_connection(connection)
            raise TimeoutError("no response headers within the request deadline")


def _socket_of(response: Response) -> socket.socket | None:
    sock = getattr(response.raw, "sock", None)  # the wire's body keeps its socket (None for others)
    return sock if isinstance(sock, socket.socket) else None


def _finished(response: Response) -> bool:
    return bool(getattr(response.raw, "closed", True))


def _shutdown_socket(sock: Any) -> None:
    if not isinstance(sock, socket.socket):
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _shutdown(response: Response) -> None:
    _shutdown_socket(_socket_of(response))


def _shutdown_connection(connection: Any) -> None:
    _shutdown_socket(getattr(connection, "sock", None))


def _cut(item: Watch) -> None:
    if item.response is not None:
        _shutdown(item.response)
    elif item.connection is not None:
        _shutdown_connection(item.connection)


class Watchdog:
    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._watches: list[Watch] = []
        self._thread: threading.Thread | None = None
        self._aborted = False
        self._stop = threading.Event()  # set with _aborted: a retry's wait ends at once

    def watch(self, response: Response | None, seconds: float) -> Watch:
        """Shut ``response``'s connection down if it is still being read ``seconds`` from now; with
        ``response`` None, a header watch (see :meth:`Watch.attach`)."""
        item = Watch(response, self._clock() + seconds, seconds, headers=response is None)
        with self._lock:
            if self._aborted:
                item.aborted = True
                _cut(item)
                return item
            self._watches.append(item)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="imgextract-deadlines", daemon=True)
                self._thread.start()
                free_thread(self._thread.native_id)  # started by a worker kept on one CPU, maybe
        return item

    def abort_all(self) -> None:
        """Shut down every watched connection now, and every one opened from now on."""
        with self._lock:
            self._aborted = True
            self._stop.set()
            watches, self._watches = self._watches, []
        for item in watches:
            if not item._done:
                item.aborted = True
                _cut(item)

    @property
    def aborted(self) -> bool:
        """:meth:`abort_all` was called (and not :meth:`reset` since): no transfer may start."""
        return self._aborted

    def reset(self) -> None:
        """Accept new transfers again after :meth:`abort_all` (for tests and long-lived clients)."""
        with self._lock:
            self._aborted = False
            self._stop.clear()

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less: :meth:`abort_all` ends the wait at once."""
        self._stop.wait(seconds)

    def _run(self) -> None:
        while True:
            time.sleep(_TICK)
            now = self._clock()
            expired: list[Watch] = []
            with self._lock:
                keep = []
                for item in self._watches:
                    if item._done:
                        continue
                    if not item.headers and (item.response is None or _finished(item.response)):
                        continue
                    if now >= item.deadline:
                        expired.append(item)
                    else:
                        keep.append(item)
                self._watches = keep
                if not keep and not expired:
                    self._thread = None
                    return
            for item in expired:
                item.expired = True
                _cut(item)


WATCHDOG = Watchdog()
_WATCHES: weakref.WeakKeyDictionary[Response, Watch] = weakref.WeakKeyDictionary()


def watch_response(response: Response, seconds: float) -> Watch:
    item = WATCHDOG.watch(response, seconds)
    _WATCHES[response] = item
    return item


def watch_of(response: Response | None) -> Watch | None:
    """The watch of a response opened by the registry layer (None for others)."""
    return _WATCHES.get(response) if response is not None else None


def deadline_message(response: Response | None) -> str | None:
    """Why the response's connection was cut by us, or None when it was not."""
    item = watch_of(response)
    if item is None:
        return None
    if item.aborted:
        return "transfer aborted"
    if item.expired:
        return f"no complete answer within {item.seconds:.0f} s (the request deadline)"
    return None


def abort_all_transfers() -> None:
    """Interrupt every registry transfer of this process (blocked reads return at once)."""
    WATCHDOG.abort_all()


def transfers_aborted() -> bool:
    """:func:`abort_all_transfers` was called: a broken transfer must not be resumed, nor a
    failed request retried."""
    return WATCHDOG.aborted


def pause_unless_aborted(seconds: float) -> None:
    """A retry's wait: ``seconds``, ended at once by :func:`abort_all_transfers` (Ctrl-C must not
    wait out a backoff of a worker thread)."""
    WATCHDOG.pause(seconds)


_HEADER_WATCH = threading.local()


def header_watch() -> Watch | None:
    """The header watch of the request this thread is sending (for the connection classes)."""
    item: Watch | None = getattr(_HEADER_WATCH, "item", None)
    return item


def open_within(send: Callable[[], Response], seconds: float) -> Response:
    """``send()`` (a streamed request), its status and headers due within ``seconds``, then the
    whole answer watched by the same deadline.

    The request runs in the caller's thread under a header watch: the connection attaches itself
    to it when it sends, and at the deadline the watchdog shuts its socket down, so a server
    dripping its header a byte at a time is cut (``ReadTimedOut``, retried and reported
    like any timeout).  A connection that is not ours (no attach) is bounded by the read timeout."""
    start = time.monotonic()
    item = WATCHDOG.watch(None, seconds)
    previous = getattr(_HEADER_WATCH, "item", None)
    _HEADER_WATCH.item = item
    try:
        response = send()
    except TransportError:
        if item.expired or time.monotonic() >= item.deadline - _TICK:
            raise ReadTimedOut(f"no response headers within {seconds:.0f} s (the request deadline)") from None
        raise
    finally:
        _HEADER_WATCH.item = previous
        item.cancel()
    if item.expired:  # cut just as the headers arrived: the body is gone with the socket
        response.close()
        raise ReadTimedOut(f"no response headers within {seconds:.0f} s (the request deadline)")
    watch_response(response, max(0.0, seconds - (time.monotonic() - start)))
    return response
