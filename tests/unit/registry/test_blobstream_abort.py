"""A blob stream resumes a dropped body with Range, except once every transfer was aborted
(SIGINT/SIGTERM): then it gives up at once and asks the registry for nothing more."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from imgextract.errors import UnreachableError
from imgextract.registry.blobstream import BlobStream
from imgextract.registry.response import BytesBody, Headers, Request, Response
from imgextract.registry.watchdog import WATCHDOG, abort_all_transfers, transfers_aborted

BLOB = bytes(range(256)) * 64


@pytest.fixture(autouse=True)
def _accept_transfers_again() -> Iterator[None]:
    yield
    WATCHDOG.reset()


def _opener(opened: list[int], cut_at: int) -> object:
    def open_at(offset: int) -> Response:
        opened.append(offset)
        end = cut_at if offset < cut_at else len(BLOB)  # the first answer stops short
        status = 206 if offset else 200
        headers = Headers({"Content-Range": f"bytes {offset}-{len(BLOB) - 1}/{len(BLOB)}"} if offset else {})
        request = Request("GET", "http://registry.test/v2/r/blobs/x", Headers())
        return Response(request, status, "fake", headers, BytesBody(BLOB[offset:end]))

    return open_at


def test_a_short_body_is_resumed_from_where_it_stopped() -> None:
    opened: list[int] = []
    stream = BlobStream(_opener(opened, 1000), size=len(BLOB))  # type: ignore[arg-type]
    assert stream.read() == BLOB
    assert opened == [0, 1000]


def test_after_abort_all_a_broken_body_is_not_resumed() -> None:
    opened: list[int] = []
    stream = BlobStream(_opener(opened, 1000), size=len(BLOB))  # type: ignore[arg-type]
    assert len(stream.read(1000)) == 1000
    abort_all_transfers()
    assert transfers_aborted()
    with pytest.raises(UnreachableError, match="connection lost at byte 1000"):
        stream.read(1000)
    assert opened == [0]  # no request after the abort
