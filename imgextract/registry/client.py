"""RegistryClient: the distribution API operations bundle-extract needs, over one :class:`Requester`."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, Final

from imgextract import oci
from imgextract.errors import ContentMismatch, IntegrityError, LimitExceeded, RegistryError, UnreachableError
from imgextract.oci.digest import compute_digest, is_digest
from imgextract.records import FrozenRecord
from imgextract.registry.authorizer import CredentialLookup
from imgextract.registry.blobstream import BlobStream
from imgextract.registry.errors import endpoint_of
from imgextract.registry.exceptions import TransportError, label_of
from imgextract.registry.requester import Requester
from imgextract.registry.response import Response
from imgextract.registry.scopes import pull_scope, push_scope
from imgextract.registry.transport import TransportSettings
from imgextract.registry.watchdog import deadline_message, pause_unless_aborted

MANIFEST_LIMIT = 4 * 1024 * 1024
BLOB_BUFFER = 1024 * 1024


class ManifestResponse(FrozenRecord):
    """A manifest as the registry sent it: bytes, media type and digest."""

    __slots__ = ("raw", "media_type", "digest")

    def __init__(self, raw: bytes, media_type: str, digest: str) -> None:
        self.raw: Final = raw
        self.media_type: Final = media_type
        self.digest: Final = digest

    @property
    def descriptor(self) -> oci.Descriptor:
        return oci.Descriptor(media_type=self.media_type, digest=self.digest, size=len(self.raw))


class RegistryClient:
    """One registry endpoint (``registry`` as written in references, e.g. ``docker.io``, ``localhost:5000``)."""

    def __init__(
        self,
        registry: str,
        settings: TransportSettings,
        credentials: CredentialLookup | None,
        *,
        insecure: bool = False,
        sleep: Callable[[float], None] = pause_unless_aborted,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.http = Requester(registry, settings, credentials, insecure=insecure, sleep=sleep, clock=clock)
        self._stalls: dict[str, float] = {}  # digest -> last byte of a blob stream that gave up

    @property
    def insecure(self) -> bool:
        return self.http.insecure

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ref(self, repository: str, identifier: str | None = None) -> str:
        base = f"{self.registry}/{repository}"
        if identifier is None:
            return base
        return f"{base}@{identifier}" if ":" in identifier else f"{base}:{identifier}"

    def ping(self) -> str:
        """Contact ``/v2/``; returns the base URL that answered (``https://host`` or ``http://host``)."""
        return self.http.base_url(reference=self.registry)

    # --- manifests ------------------------------------------------------------------------------

    def get_manifest(
        self, repository: str, identifier: str, accept: tuple[str, ...] = oci.MANIFEST_ACCEPT
    ) -> ManifestResponse:
        reference = self._ref(repository, identifier)
        if ":" in identifier and not is_digest(identifier):  # an index entry of another algorithm
            raise IntegrityError(f"unsupported digest algorithm in {identifier[:80]!r}", reference=reference)
        response = self.http.request(
            "GET",
            f"/v2/{repository}/manifests/{identifier}",
            repository=repository,
            scopes=(pull_scope(repository),),
            what="manifest",
            reference=reference,
            headers={"Accept": ", ".join(accept)},
            follow_redirects=True,
        )
        if response.status_code != 200:
            raise self.http.fail(response, what="manifest", reference=reference)
        endpoint = endpoint_of(response.url)
        with response:
            raw = _read_capped(
                response, MANIFEST_LIMIT, what="manifest", reference=reference, endpoint=endpoint
            )
            content_type = response.headers.get("Content-Type")
        try:
            media_type = oci.sniff_media_type(raw, content_type)
        except IntegrityError as exc:
            raise IntegrityError(exc.template, reference=reference, endpoint=endpoint) from None
        if ":" in identifier:
            actual = compute_digest(raw, algorithm=identifier.split(":", 1)[0])
            if actual != identifier:
                raise ContentMismatch(
                    f"manifest digest mismatch: got {actual}", reference=reference, endpoint=endpoint
                )
            digest = identifier
        else:
            digest = compute_digest(raw)
        return ManifestResponse(raw=raw, media_type=media_type, digest=digest)

    def head_manifest(
        self, repository: str, identifier: str, accept: tuple[str, ...] = oci.MANIFEST_ACCEPT
    ) -> oci.Descriptor | None:
        """The manifest's descriptor from a HEAD, or None when it does not exist."""
        reference = self._ref(repository, identifier)
        response = self.http.request(
            "HEAD",
            f"/v2/{repository}/manifests/{identifier}",
            repository=repository,
            scopes=(pull_scope(repository),),
            what="manifest",
            reference=reference,
            headers={"Accept": ", ".join(accept)},
            follow_redirects=True,
        )
        if response.status_code == 404:
            response.close()
            return None
        if response.status_code != 200:
            raise self.http.fail(response, what="manifest", reference=reference)
        response.close()
        digest = response.headers.get("Docker-Content-Digest", "")
        media_type = oci.base_media_type(response.headers.get("Content-Type"))
        size = response.headers.get("Content-Length", "")
        if media_type in oci.SCHEMA1_TYPES:
            raise IntegrityError(oci.SCHEMA1_MESSAGE, reference=reference)
        if (
            not is_digest(digest)
            or not size.isdigit()
            or media_type not in oci.MANIFEST_TYPES | oci.INDEX_TYPES
        ):
            return self.get_manifest(repository, identifier, accept).descriptor
        if ":" in identifier and digest != identifier:
            raise IntegrityError(
                f"registry reports digest {digest} for a manifest requested by digest", reference=reference
            )
        return oci.Descriptor(media_type=media_type, digest=digest, size=int(size))

    def put_manifest(self, repository: str, tag_or_digest: str, raw: bytes, media_type: str) -> str:
        """PUT a manifest by tag or digest; returns its digest (checked against Docker-Content-Digest)."""
        reference = self._ref(repository, tag_or_digest)
        by_digest = ":" in tag_or_digest
        digest = compute_digest(raw, algorithm=tag_or_digest.split(":", 1)[0] if by_digest else "sha256")
        if by_digest and digest != tag_or_digest:
            raise IntegrityError(
                f"manifest content has digest {digest}, not the one it is pushed as", reference=reference
            )
        response = self.http.request(
            "PUT",
            f"/v2/{repository}/manifests/{tag_or_digest}",
            repository=repository,
            scopes=(push_scope(repository),),
            what="manifest upload",
            reference=reference,
            headers={"Content-Type": media_type},
            data=raw,
        )
        if response.status_code not in (200, 201):
            raise self.http.fail(response, what="manifest upload", reference=reference)
        response.close()
        reported = response.headers.get("Docker-Content-Digest")
        if reported and reported.split(":", 1)[0] == digest.split(":", 1)[0] and reported != digest:
            raise IntegrityError(
                f"registry stored the manifest as {reported}, expected {digest}",
                reference=reference,
                endpoint=endpoint_of(response.url),
            )
        return digest

    # --- blobs ------------------------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        reference = self._ref(repository, digest)
        response = self.http.request(
            "HEAD",
            f"/v2/{repository}/blobs/{digest}",
            repository=repository,
            scopes=(pull_scope(repository),),
            what="blob",
            reference=reference,
            follow_redirects=True,
        )
        response.close()
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self.http.fail(response, what="blob", reference=reference)

    @contextmanager
    def open_blob(
        self, repository: str, digest: str, *, size: int | None = None, offset: int = 0
    ) -> Iterator[BinaryIO]:
        """Stream a blob (raw bytes, not yet verified), from ``offset`` when given.

        Redirects are followed without ``Authorization`` on other origins; a dropped connection is
        resumed with ``Range``.
        """
        reference = self._ref(repository, digest)
        endpoint = endpoint_of(self.http.url(f"/v2/{repository}/blobs/{digest}", reference=reference))
        deadline = self.settings.deadline + (size or 0) / max(1.0, self.settings.min_speed)
        last_progress = self._stalled_since(digest, reference=reference, endpoint=endpoint)

        def open_at(position: int) -> Response:
            headers = {"Accept-Encoding": "identity"}
            if position:
                headers["Range"] = f"bytes={position}-"
            response = self.http.request(
                "GET",
                f"/v2/{repository}/blobs/{digest}",
                repository=repository,
                scopes=(pull_scope(repository),),
                what="blob",
                reference=reference,
                headers=headers,
                follow_redirects=True,
                deadline=deadline,
            )
            expected = 206 if position else 200
            if response.status_code not in (expected, 200):
                raise self.http.fail(response, what="blob", reference=reference)
            return response

        stream = BlobStream(
            open_at,
            offset=offset,
            size=size,
            what=f"blob {digest}",
            reference=reference,
            endpoint=endpoint,
            budget=self.settings.retry_time,
            clock=self.http.policy.clock,
            last_progress=last_progress,
            on_give_up=lambda t: self._stalls.__setitem__(digest, t),
        )
        reader = io.BufferedReader(stream, buffer_size=BLOB_BUFFER)
        try:
            yield reader
        finally:
            reader.close()

    def _stalled_since(self, digest: str, *, reference: str, endpoint: str) -> float | None:
        """When a stream of ``digest`` that gave up recently last received a byte: a reopen continues
        that count rather than starting ``retry_time`` again (None: start afresh)."""
        since = self._stalls.get(digest)
        if since is None:
            return None
        stalled = self.http.policy.clock() - since
        budget = self.settings.retry_time
        if stalled >= 2 * budget + self.settings.timeout:  # long ago: a new attempt, a new budget
            self._stalls.pop(digest, None)
            return None
        if stalled >= budget:
            raise UnreachableError(
                f"blob {digest}: nothing received for {stalled:.0f} s", reference=reference, endpoint=endpoint
            )
        return since

    def read_blob(self, repository: str, digest: str, *, limit: int) -> bytes:
        """A small blob (a config) read whole and verified; more than ``limit`` bytes -> LimitExceeded."""
        reference = self._ref(repository, digest)
        with self.open_blob(repository, digest) as stream:
            data = _read_upto(stream, limit + 1)
        if len(data) > limit:
            raise LimitExceeded(f"blob larger than {limit} bytes", reference=reference)
        actual = compute_digest(data, algorithm=digest.split(":", 1)[0])
        if actual != digest:
            raise ContentMismatch(f"blob digest mismatch: got {actual}", reference=reference)
        return data

    # --- uploads ----------------------------------------------------------------------------------

    def upload_blob(
        self, repository: str, stream: BinaryIO, digest: str, size: int, *, chunk_size: int | None = None
    ) -> None:
        """Push a blob unless it exists: monolithic up to ``chunk_size`` bytes, chunked (PATCH) beyond."""
        if self.blob_exists(repository, digest):
            return
        chunk = chunk_size if chunk_size is not None else self.settings.chunk_size
        from imgextract.registry import upload  # push only: not loaded for pulls

        upload.upload_blob(
            self.http,
            repository,
            stream,
            digest,
            size,
            chunk_size=chunk,
            reference=self._ref(repository, digest),
        )

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Cross-repository mount; False when the registry (or our credentials) will not mount."""
        from imgextract.registry import upload

        return upload.mount_blob(
            self.http, repository, digest, from_repository, reference=self._ref(repository, digest)
        )


_READ_PIECE = 64 * 1024


def _read_upto(stream: BinaryIO, count: int) -> bytes:
    """At most ``count`` bytes, in pieces: ``read(count)`` would first allocate all of ``count``
    (8 MiB for a config of a kilobyte: a fresh mapping of the process's memory, and two more
    system calls to shrink and free it)."""
    chunks = []
    size = 0
    while size < count:
        want = min(count - size, _READ_PIECE)
        chunk = stream.read(want)
        chunks.append(chunk)
        size += len(chunk)
        if len(chunk) < want:  # the end
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _read_capped(response: Response, limit: int, *, what: str, reference: str, endpoint: str) -> bytes:
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise LimitExceeded(
            f"{what} is {length} bytes, more than the {limit}-byte limit",
            reference=reference,
            endpoint=endpoint,
        )
    data = bytearray()
    try:
        for chunk in response.iter_content(64 * 1024):
            data += chunk
            if len(data) > limit:
                raise LimitExceeded(
                    f"{what} exceeds the {limit}-byte limit", reference=reference, endpoint=endpoint
                )
    except TransportError as exc:
        cut = deadline_message(response)
        if cut is not None:
            raise UnreachableError(f"{what}: {cut}", reference=reference, endpoint=endpoint) from None
        raise RegistryError(
            f"{what}: connection lost while reading ({label_of(exc)})",
            reference=reference,
            endpoint=endpoint,
        ) from None
    return bytes(data)
