"""Overall deadlines for HTTP answers, and a way to abort every transfer at once.

requests' ``timeout`` bounds each socket read, not a whole answer: a server that sends one byte
every few seconds keeps a read alive forever.  Every response the registry layer opens is watched
here with a deadline; one daemon thread shuts the socket down when the deadline passes, so the
blocked read returns at once and the caller reports a timeout.  :func:`abort_all` does the same
for every open transfer (used when the process is told to stop: a worker blocked in a socket read
must not hold the process).
"""

from __future__ import annotations

import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

_TICK = 0.2


@dataclass(eq=False)
class Watch:
    """One watched response; ``expired`` tells the reader why its socket went away."""

    response: requests.Response | None
    deadline: float
    seconds: float
    expired: bool = False
    aborted: bool = False
    _done: bool = field(default=False, repr=False)

    def cancel(self) -> None:
        self._done = True
        self.response = None


def _socket_of(response: requests.Response) -> socket.socket | None:
    raw: Any = getattr(response, "raw", None)
    connection = getattr(raw, "_connection", None)  # urllib3 2: None once released to the pool
    sock = getattr(connection, "sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _finished(response: requests.Response) -> bool:
    raw: Any = getattr(response, "raw", None)
    if raw is None or getattr(raw, "_connection", None) is None:
        return True
    return bool(getattr(raw, "closed", False))


def _shutdown(response: requests.Response) -> None:
    sock = _socket_of(response)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Watchdog:
    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._watches: list[Watch] = []
        self._thread: threading.Thread | None = None
        self._aborted = False

    def watch(self, response: requests.Response, seconds: float) -> Watch:
        """Shut ``response``'s connection down if it is still being read ``seconds`` from now."""
        item = Watch(response, self._clock() + seconds, seconds)
        with self._lock:
            if self._aborted:
                item.aborted = True
                _shutdown(response)
                return item
            self._watches.append(item)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="imgextract-deadlines", daemon=True)
                self._thread.start()
        return item

    def abort_all(self) -> None:
        """Shut down every watched connection now, and every one opened from now on."""
        with self._lock:
            self._aborted = True
            watches, self._watches = self._watches, []
        for item in watches:
            if item.response is not None:
                item.aborted = True
                _shutdown(item.response)

    def reset(self) -> None:
        """Accept new transfers again after :meth:`abort_all` (for tests and long-lived clients)."""
        with self._lock:
            self._aborted = False

    def _run(self) -> None:
        while True:
            time.sleep(_TICK)
            now = self._clock()
            expired: list[Watch] = []
            with self._lock:
                keep = []
                for item in self._watches:
                    if item._done or item.response is None or _finished(item.response):
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
                if item.response is not None:
                    _shutdown(item.response)


WATCHDOG = Watchdog()
_WATCHES: weakref.WeakKeyDictionary[requests.Response, Watch] = weakref.WeakKeyDictionary()


def watch_response(response: requests.Response, seconds: float) -> Watch:
    item = WATCHDOG.watch(response, seconds)
    _WATCHES[response] = item
    return item


def watch_of(response: requests.Response | None) -> Watch | None:
    """The watch of a response opened by the registry layer (None for others)."""
    return _WATCHES.get(response) if response is not None else None


def deadline_message(response: requests.Response | None) -> str | None:
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


def open_within(send: Callable[[], requests.Response], seconds: float) -> requests.Response:
    """``send()`` (a streamed request), its status and headers due within ``seconds``, then the
    whole answer watched by the same deadline.

    The socket is not known before the headers are, so a server dripping its header a byte at a
    time cannot be cut by the watchdog: the request runs in a daemon thread and is abandoned at
    the deadline (``requests.ReadTimeout``, retried and reported like any timeout).  A response
    that arrives afterwards is closed unread."""
    start = time.monotonic()
    box: dict[str, Any] = {}
    done = threading.Event()
    lock = threading.Lock()

    def run() -> None:
        try:
            response = send()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc
        else:
            with lock:
                if box.get("abandoned"):
                    response.close()
                    return
                box["response"] = response
        finally:
            done.set()

    threading.Thread(target=run, name="registry-request", daemon=True).start()
    if not done.wait(seconds):
        with lock:
            if "response" not in box and "error" not in box:
                box["abandoned"] = True
                raise requests.exceptions.ReadTimeout(
                    f"no response headers within {seconds:.0f} s (the request deadline)"
                )
        done.wait()
    if "error" in box:
        raise box["error"]
    response: requests.Response = box["response"]
    watch_response(response, max(0.0, seconds - (time.monotonic() - start)))
    return response
