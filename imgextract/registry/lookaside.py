"""A lookaside signature store (containers-registries.d(5) ``lookaside``): ``signature-1..N`` by URL.

http(s) through the registry transport's sessions (TLS trust from ``--ca-file``/certs.d, no
credentials, redirect bodies never read), or file URLs.  Bounded: a signature is at most 4 MiB, at
most 128 are read, bodies are read undecoded, and each read has a deadline, so a server that stalls
or sends an endless body fails with a clear error.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests

from imgextract.errors import IntegrityError, LimitExceeded, UnreachableError
from imgextract.registry.transport import TransportSettings, new_session

MAX_SIGNATURE_BYTES = 4 * 1024 * 1024
MAX_LOOKASIDE_SIGNATURES = 128
MAX_REDIRECTS = 5


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
        self._sessions: dict[str, requests.Session] = {}
        self._lock = threading.Lock()  # render and catalog pulls judge images from several threads

    def read(self, base: str, digest: str) -> list[tuple[str, bytes]]:
        """``(url, blob)`` of each stored signature of ``digest`` under ``base``, in order."""
        out: list[tuple[str, bytes]] = []
        for index in range(1, self.max_signatures + 2):
            url = lookaside_url(base, digest, index)
            if index > self.max_signatures:
                if self.get(url) is not None:
                    raise IntegrityError(
                        f"lookaside {base} serves more than {self.max_signatures} signatures"
                    )
                break
            blob = self.get(url)
            if blob is None:
                break
            out.append((url, blob))
        return out

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

    def _session(self, host: str) -> requests.Session:
        with self._lock:
            if host not in self._sessions:
                insecure = self.transport.is_insecure(host)
                self._sessions[host] = new_session((host,), self.transport, insecure=insecure)
            return self._sessions[host]

    def _http(self, url: str) -> bytes | None:
        deadline = time.monotonic() + self.timeout
        read_timeout = min(10.0, self.timeout)
        for _ in range(MAX_REDIRECTS + 1):
            host = urlsplit(url).netloc
            try:
                response = self._get_within(host, url, deadline, read_timeout)
            except requests.Timeout:
                raise UnreachableError(
                    f"reading signature {url}: no answer within {read_timeout:g}s"
                ) from None
            except requests.RequestException as exc:
                raise UnreachableError(f"reading signature {url}: {exc.__class__.__name__}") from None
            with response:
                if response.is_redirect and "Location" in response.headers:
                    url = requests.compat.urljoin(url, response.headers["Location"])
                    continue
                if response.status_code == 404:
                    return None
                if response.status_code != 200:
                    raise UnreachableError(f"reading signature {url}: status {response.status_code}")
                return self._body(response, url, deadline, read_timeout)
        raise UnreachableError(f"reading signature: more than {MAX_REDIRECTS} redirects")

    def _get_within(self, host: str, url: str, deadline: float, read_timeout: float) -> requests.Response:
        """The response (status and headers) by ``deadline``: requests' timeout bounds each socket
        read only, so a server dripping its header a byte at a time would hold the read forever.
        The request runs in a daemon thread; past the deadline it is abandoned, with its session
        (never reused: its connection may still be stuck)."""
        session = self._session(host)
        box: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                box["response"] = session.get(
                    url,
                    stream=True,
                    allow_redirects=False,
                    timeout=(read_timeout, read_timeout),
                    headers={"Accept-Encoding": "identity"},  # no decompression: bounded means bounded
                )
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=run, name="lookaside-get", daemon=True).start()
        if not done.wait(max(0.0, deadline - time.monotonic())):
            if self._sessions.get(host) is session:
                del self._sessions[host]
            raise UnreachableError(f"reading signature {url}: no complete answer within {self.timeout:g}s")
        if "error" in box:
            raise box["error"]
        response: requests.Response = box["response"]
        return response

    def _body(self, response: requests.Response, url: str, deadline: float, read_timeout: float) -> bytes:
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise LimitExceeded(f"signature {url} is {length} bytes, more than {self.max_bytes}")
        data = bytearray()
        try:
            while True:
                chunk = response.raw.read1(64 * 1024, decode_content=False)
                if not chunk:
                    break
                data += chunk
                if len(data) > self.max_bytes:
                    raise LimitExceeded(f"signature {url} is larger than {self.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise UnreachableError(f"reading signature {url}: not complete within {self.timeout:g}s")
        except (requests.RequestException, OSError) as exc:
            raise UnreachableError(f"reading signature {url}: {exc.__class__.__name__}") from None
        except Exception as exc:  # urllib3's ReadTimeoutError / ProtocolError
            if exc.__class__.__module__.startswith("urllib3"):
                raise UnreachableError(
                    f"reading signature {url}: stalled ({exc.__class__.__name__}, {read_timeout:g}s)"
                ) from None
            raise
        return bytes(data)

    def close(self) -> None:
        for s in self._sessions.values():
            s.close()
        self._sessions.clear()
