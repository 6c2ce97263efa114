"""Blob uploads (distribution spec "push"): monolithic, chunked with resume, cross-repository mount.

- start: ``POST /v2/NAME/blobs/uploads/`` -> 202 + ``Location``
- monolithic: ``PUT <location>?digest=D`` with the whole body -> 201
- chunked: ``PATCH <location>`` with ``Content-Range: start-end`` -> 202 + new ``Location`` and
  ``Range: 0-end``; after a failed PATCH the session's progress is asked for (``GET <location>`` ->
  204 + ``Range``) and the upload resumes there when the stream can seek; then ``PUT ?digest=D``.
- mount: ``POST /v2/NAME/blobs/uploads/?mount=D&from=OTHER`` -> 201 mounted, 202 not mounted.
"""

from __future__ import annotations

import re
from typing import BinaryIO
from urllib.parse import urlencode, urlsplit, urlunsplit

from imgextract.errors import AuthError, ImgExtractError, IntegrityError, RegistryError
from imgextract.registry.requester import Requester
from imgextract.registry.response import Response
from imgextract.registry.scopes import mount_scopes, push_scope

OCTET_STREAM = "application/octet-stream"
MAX_CHUNK_RESUMES = 3
_RANGE = re.compile(r"^(?:bytes=)?(\d+)-(\d+)$")


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class SizedReader:
    """A stream with a known length: the transport sends it with ``Content-Length`` (not chunked),
    reading at most ``size`` bytes from the source."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._remaining = size
        self._size = size

    def __len__(self) -> int:
        return self._size

    def read(self, n: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        want = self._remaining if n is None or n < 0 else min(n, self._remaining)
        data = self._stream.read(want)
        self._remaining -= len(data)
        return data


def _location(http: Requester, response: Response, *, what: str, reference: str) -> str:
    location = response.headers.get("Location")
    response.close()
    if not location:
        raise RegistryError(
            f"{what}: registry answered {response.status_code} without a Location", reference=reference
        )
    return http.url(location)


def _committed(range_header: str | None) -> int:
    """Bytes the registry holds, from a ``Range: 0-N`` header (N inclusive); 0 when absent."""
    match = _RANGE.match((range_header or "").strip())
    return int(match.group(2)) + 1 if match else 0


def start_upload(http: Requester, repository: str, *, reference: str) -> str:
    response = http.request(
        "POST",
        f"/v2/{repository}/blobs/uploads/",
        repository=repository,
        scopes=(push_scope(repository),),
        what="blob upload",
        reference=reference,
        data=b"",
    )
    if response.status_code != 202:
        raise http.fail(response, what="blob upload", reference=reference)
    return _location(http, response, what="blob upload", reference=reference)


def finish_upload(
    http: Requester,
    repository: str,
    location: str,
    digest: str,
    *,
    reference: str,
    body: BinaryIO | bytes | None = None,
    size: int = 0,
) -> None:
    headers = {"Content-Type": OCTET_STREAM}
    data: bytes | SizedReader
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    else:
        data = SizedReader(body, size)
    response = http.request(
        "PUT",
        _with_query(location, digest=digest),
        repository=repository,
        scopes=(push_scope(repository),),
        what="blob upload",
        reference=reference,
        headers=headers,
        data=data,
        replayable=isinstance(data, bytes),
    )
    if response.status_code not in (201, 204):
        raise http.fail(response, what="blob upload", reference=reference)
    response.close()
    reported = response.headers.get("Docker-Content-Digest")
    if reported and reported != digest:
        raise IntegrityError(f"registry stored the blob as {reported}", reference=reference)


def upload_blob(
    http: Requester,
    repository: str,
    stream: BinaryIO,
    digest: str,
    size: int,
    *,
    chunk_size: int,
    reference: str,
) -> None:
    location = start_upload(http, repository, reference=reference)
    if size <= chunk_size:
        finish_upload(http, repository, location, digest, reference=reference, body=stream, size=size)
        return
    location = upload_chunks(
        http, repository, location, stream, size, chunk_size=chunk_size, reference=reference
    )
    finish_upload(http, repository, location, digest, reference=reference)


def upload_chunks(
    http: Requester,
    repository: str,
    location: str,
    stream: BinaryIO,
    size: int,
    *,
    chunk_size: int,
    reference: str,
) -> str:
    """PATCH ``size`` bytes of ``stream`` in chunks; returns the location to finish the upload at."""
    position = 0
    resumes = MAX_CHUNK_RESUMES
    while position < size:
        chunk = stream.read(min(chunk_size, size - position))
        if not chunk:
            raise IntegrityError(f"blob stream ended at byte {position} of {size}", reference=reference)
        end = position + len(chunk) - 1
        headers = {"Content-Type": OCTET_STREAM, "Content-Range": f"{position}-{end}"}
        failure: ImgExtractError | None = None
        try:
            response = http.request(
                "PATCH",
                location,
                repository=repository,
                scopes=(push_scope(repository),),
                what="blob upload chunk",
                reference=reference,
                headers=headers,
                data=chunk,
                replayable=False,
            )
        except ImgExtractError as exc:  # network failure mid-chunk
            failure, response = exc, None
        if response is not None and response.status_code == 202:
            location = _location(http, response, what="blob upload chunk", reference=reference)
            committed = _committed(response.headers.get("Range"))
            position = committed if committed else end + 1
            if committed and committed != end + 1:
                position = _rewind(stream, committed, end + 1, reference=reference)
            continue
        if response is not None and response.status_code != 416:
            raise http.fail(response, what="blob upload chunk", reference=reference)
        if response is not None:
            response.close()
        if resumes <= 0 or not stream.seekable():
            if failure is not None:
                raise failure
            raise RegistryError("blob upload chunk: registry refused the range (416)", reference=reference)
        resumes -= 1
        location, committed = upload_status(http, repository, location, reference=reference)
        position = _rewind(stream, committed, end + 1, reference=reference)
    return location


def _rewind(stream: BinaryIO, committed: int, read_to: int, *, reference: str) -> int:
    """Put ``stream`` at ``committed`` (we have read up to ``read_to``)."""
    if committed == read_to:
        return committed
    if not stream.seekable():
        raise RegistryError(
            f"blob upload: registry holds {committed} bytes, stream cannot seek back", reference=reference
        )
    stream.seek(stream.tell() - (read_to - committed))
    return committed


def upload_status(http: Requester, repository: str, location: str, *, reference: str) -> tuple[str, int]:
    """``GET <location>``: the upload session's location and how many bytes it holds."""
    response = http.request(
        "GET",
        location,
        repository=repository,
        scopes=(push_scope(repository),),
        what="blob upload status",
        reference=reference,
    )
    if response.status_code != 204:
        raise http.fail(response, what="blob upload status", reference=reference)
    committed = _committed(response.headers.get("Range"))
    new_location = (
        _location(http, response, what="blob upload status", reference=reference)
        if response.headers.get("Location")
        else location
    )
    response.close()
    return new_location, committed


def cancel_upload(http: Requester, repository: str, location: str, *, reference: str) -> None:
    """Best effort: an abandoned upload session is garbage-collected by the registry anyway."""
    try:
        response = http.request(
            "DELETE",
            location,
            repository=repository,
            scopes=(push_scope(repository),),
            what="blob upload cancel",
            reference=reference,
        )
        response.close()
    except ImgExtractError:
        pass


def mount_blob(
    http: Requester, repository: str, digest: str, from_repository: str, *, reference: str
) -> bool:
    """True when mounted (201).  202 (not mountable here) and a refused mount (401/403, imgpkg #495)
    return False, so the caller streams the blob instead."""
    try:
        response = http.request(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            repository=repository,
            scopes=mount_scopes(repository, from_repository),
            what="blob mount",
            reference=reference,
            params={"mount": digest, "from": from_repository},
            data=b"",
        )
    except AuthError:
        return False
    if response.status_code == 201:
        response.close()
        return True
    if response.status_code == 202:
        location = response.headers.get("Location")
        response.close()
        if location:
            cancel_upload(http, repository, http.url(location), reference=reference)
        return False
    if response.status_code in (401, 403):
        response.close()
        return False
    raise http.fail(response, what="blob mount", reference=reference)
