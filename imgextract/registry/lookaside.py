"""A lookaside signature store (containers-registries.d(5) ``lookaside``): ``signature-1..N`` by URL.

http(s) through the registry transport (TLS trust from ``--ca-file``/certs.d, no credentials,
redirect bodies never read), or file URLs.  Bounded: a signature is at most 4 MiB, at
most 128 are read, bodies are read undecoded, and each read has a deadline, so a server that stalls
or sends an endless body fails with a clear error.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from imgextract.errors import IntegrityError, LimitExceeded, UnreachableError
from imgextract.registry.exceptions import TimedOut, TransportError, label_of
from imgextract.registry.response import Response
from imgextract.registry.transport import Transport, TransportSettings, new_session
from imgextract.registry.watchdog import deadline_message, open_within

MAX_SIGNATURE_BYTES = 4 * 1024 * 1024
MAX_LOOKASIDE_SIGNATURES = 128
MAX_REDIRECTS = 10  # Go's http.Client default, which containers/image reads lookasides with


def lookaside_url(base: str, digest: str, index: int) -> str:
    """``base`` with ``@<algorithm>=<hex>/signature-<index>`` appended to its path (a query stays a query)."""
    algorithm, _, encoded = digest.partition(":")
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"{parts.path}@{algorithm}={encoded}/signature-{index}"))


class LookasideReader:
    """Reads ``signature-1..N`` until one is missing.  ``transport`` gives TLS trust (CA file, certs.d)."""

    def __init__(
        self,
        transport: TransportSettings | None = None,
        *,
        timeout: float = 30.0,
        max_bytes: int = MAX_SIGNATURE_BYTES,
        max_signatures: int = MAX_LOOKASIDE_SIGNATURES,
    ) -> None:
        self.transport = transport or TransportSettings()
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_signatures = max_signatures
        self._sessions: dict[str, Transport] = {}
        self._lock = threading.Lock()  # render and catalog pulls judge images from several threads

    def read(self, base: str, digest: str) -> list[tuple[str, bytes]]:
        """``(url, blob)`` of each stored signature of ``digest`` under ``base``, in order.

        As containers/image: a store that still has ``signature-<max>`` is a server error, and
        ``signature-<max+1>`` is never asked for."""
        out: list[tuple[str, bytes]] = []
        for index in range(1, self.max_signatures + 1):
            url = lookaside_url(base, digest, index)
            blob = self.get(url)
            if blob is None:
                return out
            out.append((url, blob))
        raise IntegrityError(
            f"lookaside {base} serves {self.max_signatures} signatures, "
            "assuming that is unreasonable and a server error"
        )

    def get(self, url: str) -> bytes | None:
        """The signature at ``url``, or None when it does not exist (404, missing file)."""
        parts = urlsplit(url)
        if parts.scheme == "file":
            return self._file(unquote(parts.path), url)
        if parts.scheme in ("http", "https"):
            return self._http(url)
        raise UnreachableError(f"unsupported scheme when reading signature from {url}")

    def _file(self, path: str, url: str) -> bytes | None:
        try:
            with open(path, "rb") as f:
                data = f.read(self.max_bytes + 1)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise UnreachableError(f"cannot read signature {path}: {exc.strerror or exc}") from None
        if len(data) > self.max_bytes:
            raise LimitExceeded(f"signature {url} is larger than {self.max_bytes} bytes")
        return data

    def _session(self, host: str) -> Transport:
        with self._lock:
            if host not in self._sessions:
                insecure = self.transport.is_insecure(host)
                self._sessions[host] = new_session((host,), self.transport, insecure=insecure)
            return self._sessions[host]

    def _http(self, url: str) -> bytes | None:
        deadline = time.monotonic() + self.timeout
        read_timeout = min(10.0, self.timeout)
        for _ in range(MAX_REDIRECTS + 1):
            session = self._session(urlsplit(url).netloc)
            try:
                # status and headers by the deadline: a socket timeout bounds each read only, so a
                # server dripping its header a byte at a time is cut by the watchdog
                response = open_within(
                    lambda url=url, session=session: session.request(  # type: ignore[misc]
                        "GET", url, timeout=(read_timeout, read_timeout)
                    ),
                    max(0.0, deadline - time.monotonic()),
                )
            except TimedOut:
                raise UnreachableError(
                    f"reading signature {url}: no complete answer within {self.timeout:g}s"
                ) from None
            except TransportError as exc:
                raise UnreachableError(f"reading signature {url}: {label_of(exc)}") from None
            with response:
                if response.is_redirect:
                    try:
                        url = urljoin(url, response.headers["Location"])
                    except ValueError:  # an unclosed IPv6 literal
                        raise UnreachableError(
                            f"reading signature {url}: redirected to an invalid URL"
                        ) from None
                    continue
                if response.status_code == 404:
                    return None
                if response.status_code != 200:
                    raise UnreachableError(f"reading signature {url}: status {response.status_code}")
                return self._body(response, url, deadline, read_timeout)
        raise UnreachableError(f"reading signature: more than {MAX_REDIRECTS} redirects")

    def _body(self, response: Response, url: str, deadline: float, read_timeout: float) -> bytes:
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise LimitExceeded(f"signature {url} is {length} bytes, more than {self.max_bytes}")
        data = bytearray()
        try:
            while True:
                chunk = response.raw.read1(64 * 1024)
                if not chunk:
                    break
                data += chunk
                if len(data) > self.max_bytes:
                    raise LimitExceeded(f"signature {url} is larger than {self.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise UnreachableError(f"reading signature {url}: not complete within {self.timeout:g}s")
        except TimedOut as exc:
            raise UnreachableError(
                f"reading signature {url}: stalled ({label_of(exc)}, {read_timeout:g}s)"
            ) from None
        except (TransportError, OSError) as exc:
            if deadline_message(response) is not None:
                raise UnreachableError(
                    f"reading signature {url}: not complete within {self.timeout:g}s"
                ) from None
            raise UnreachableError(f"reading signature {url}: {label_of(exc)}") from None
        return bytes(data)

    def close(self) -> None:
        for s in self._sessions.values():
            s.close()
        self._sessions.clear()
