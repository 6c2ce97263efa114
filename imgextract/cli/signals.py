"""SIGINT/SIGTERM: unwind like an exception so staging directories are removed, exit 128+N."""

from __future__ import annotations

import signal
import threading
from typing import Any


class Terminated(BaseException):
    """SIGTERM (kill, timeout, Kubernetes): unwind like Ctrl-C so staging directories are removed."""


signalled: list[int] = []  # SIGINT/SIGTERM received (the exception may have been swallowed, see reraise)


def _on_signal(signum: int, frame: object) -> None:
    signalled.append(signum)
    reraise()


def reraise() -> None:
    """Raise for a signal received earlier: CPython clears an exception raised while an IO object's
    finalizer runs (urllib3 responses), so a Ctrl-C landing there would be lost and the pull completed."""
    if signalled:
        raise KeyboardInterrupt() if signalled[0] == signal.SIGINT else Terminated()


def install() -> dict[int, Any]:
    """Route SIGINT/SIGTERM through :func:`reraise` (main thread only); returns the previous handlers."""
    signalled.clear()
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}


def restore(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`install` replaced."""
    for sig, handler in previous.items():
        if handler is not None:
            signal.signal(sig, handler)


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
