"""SIGINT/SIGTERM: unwind like an exception so staging directories are removed, exit 128+N.

The first signal also cuts every registry transfer (a worker thread blocked in a socket read
returns at once) and arms a last-resort timer: if the process has not exited
:data:`GRACE` seconds later (a worker stuck where no exception reaches it), the staging
directories still registered are removed and the process exits 128+N on the spot.  Kubernetes
gives 30 s between SIGTERM and SIGKILL; we take 2 at most.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any, NoReturn

GRACE = 1.5
_armed: list[threading.Timer] = []


class Terminated(BaseException):
    """SIGTERM (kill, timeout, Kubernetes): unwind like Ctrl-C so staging directories are removed."""


signalled: list[int] = []  # SIGINT/SIGTERM received (the exception may have been swallowed, see reraise)


def _last_resort(signum: int) -> None:
    cleanup_staging()
    try:
        os.write(2, b"bundle-extract: " + (b"aborted" if signum == signal.SIGINT else b"terminated") + b"\n")
    finally:
        os._exit(128 + signum)


def cleanup_staging() -> None:
    """Remove the staging directories of this process (only if the output module was ever loaded)."""
    directory = sys.modules.get("imgextract.outputs.directory")
    if directory is not None:
        directory.remove_active_staging()


def _stop_transfers() -> None:
    watchdog = sys.modules.get("imgextract.registry.watchdog")
    if watchdog is not None:  # no registry module loaded: no transfer to stop
        watchdog.abort_all_transfers()


def _on_signal(signum: int, frame: object) -> None:
    first = not signalled
    signalled.append(signum)
    if first:
        directory = sys.modules.get("imgextract.outputs.directory")
        if directory is not None:  # an interrupt swallowed later (in a finalizer) must not end in a commit
            directory.COMMIT_CHECKPOINTS.append(reraise)
        timer = threading.Timer(GRACE, _last_resort, (signum,))
        timer.daemon = True
        timer.start()
        _armed.append(timer)
        _stop_transfers()
    reraise()


def reraise() -> None:
    """Raise for a signal received earlier: CPython clears an exception raised while an IO object's
    finalizer runs (HTTP responses), so a Ctrl-C landing there would be lost and the pull completed."""
    if signalled:
        raise KeyboardInterrupt() if signalled[0] == signal.SIGINT else Terminated()


def install() -> dict[int, Any]:
    """Route SIGINT/SIGTERM through :func:`reraise` (main thread only); returns the previous handlers.

    Installed already (the entry point does it before the command line's modules load): nothing
    changes, and a signal received since is kept for the next checkpoint."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    if signal.getsignal(signal.SIGINT) is _on_signal:
        return {}
    signalled.clear()
    return {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def _forget_unhandled_interrupt() -> None:
    """CPython marks a KeyboardInterrupt that leaves an ``exec()`` of a string (dataclasses build
    their methods so, while a module loads) as unhandled, and at exit kills the process with
    SIGINT instead of exiting with our status; an ``exec()`` of a string that completes clears
    the mark."""
    exec("None", {})


def exit_interrupted() -> NoReturn:
    """End the process for the signal received (before the command ran, or one its unwinding
    turned into another exception): staging removed, one line, 128+N."""
    first = signalled[0] if signalled else signal.SIGINT
    _forget_unhandled_interrupt()
    cleanup_staging()
    try:
        os.write(2, b"bundle-extract: " + (b"aborted" if first == signal.SIGINT else b"terminated") + b"\n")
    except OSError:
        pass
    sys.exit(128 + first)


def restore(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`install` replaced."""
    if signalled:  # the command ends for it: with its status (see _forget_unhandled_interrupt)
        _forget_unhandled_interrupt()
    while _armed:
        _armed.pop().cancel()
    directory = sys.modules.get("imgextract.outputs.directory")
    if directory is not None and reraise in directory.COMMIT_CHECKPOINTS:
        directory.COMMIT_CHECKPOINTS.remove(reraise)
    for sig, handler in previous.items():
        if handler is not None:
            signal.signal(sig, handler)


class InterruptibleOutput:
    """Standard output for a command that writes once its work is done (``render``): writing is
    an interrupt checkpoint, so an interrupt swallowed on the way (see :func:`reraise`) never
    ends in a complete output and exit 0, nor in part of one."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def writelines(self, chunks: Any) -> None:
        reraise()
        self.inner.writelines(chunks)

    def flush(self) -> None:
        self.inner.flush()


class InterruptibleProgress:
    """Progress callbacks (every chunk read by the applier) double as interrupt checkpoints."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def begin(self, total: int) -> None:
        reraise()
        self.inner.begin(total)

    def layer_started(self, digest: str, size: int | None) -> None:
        reraise()
        self.inner.layer_started(digest, size)

    def advance(self, digest: str, nbytes: int) -> None:
        reraise()
        self.inner.advance(digest, nbytes)

    def layer_done(self, digest: str, *, fetched: bool) -> None:
        reraise()
        self.inner.layer_done(digest, fetched=fetched)

    def close(self) -> None:
        self.inner.close()
