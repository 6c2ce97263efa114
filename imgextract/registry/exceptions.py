"""The transport's own exceptions: what a request can fail with below the HTTP status.

:mod:`~imgextract.registry.errors` maps them to the product's errors; they never leave the registry
package.  ``label`` is the name messages show (kept from the names users saw before: "ReadTimeout",
"SSLError", ...), so a message reads the same whichever client library raised it.
"""

from __future__ import annotations


class TransportError(Exception):
    """Any failure to send a request or to read its answer."""

    label = "RequestException"


class ConnectFailed(TransportError):
    """The request could not be sent: refused, reset, unresolvable, a broken or garbled answer head."""

    label = "ConnectionError"


class MalformedAnswer(ConnectFailed):
    """The status line, header block or body framing broke HTTP/1.1 or the head's limits (100 fields,
    64 KiB a line)."""

    label = "InvalidResponse"


class ProxyFailed(ConnectFailed):
    label = "ProxyError"


class ProxyRefused(ProxyFailed):
    """The proxy answered ``CONNECT`` with an error status (``status``: 407, 502, ...)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class TLSFailed(ConnectFailed):
    label = "SSLError"


class TimedOut(TransportError):
    label = "Timeout"


class ConnectTimedOut(ConnectFailed, TimedOut):
    label = "ConnectTimeout"


class ReadTimedOut(TimedOut):
    label = "ReadTimeout"


class BodyBroken(TransportError):
    """The body ended before its length, its chunked framing broke, or the connection dropped mid-body."""

    label = "ChunkedEncodingError"


class InvalidHeader(TransportError, ValueError):
    """A header name or value that would split the request (CR, LF, NUL)."""

    label = "InvalidHeader"


def label_of(exc: BaseException) -> str:
    """The name a message shows for ``exc``."""
    return getattr(exc, "label", None) or exc.__class__.__name__
