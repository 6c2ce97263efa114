"""Security: reading .imgpkg files out of a remote image parses layers under the same hostile-input
rules as extraction (bounded extension headers, no PAX global headers), not with bare ``tarfile``."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import pytest

from imgextract import oci
from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.imgpkg.files import read_image_files

WANTED = ".imgpkg/images.yml"


def _layer(pax: dict[str, str], *, global_pax: bool = False) -> bytes:
    buf = io.BytesIO()
    fmt_pax = pax if global_pax else {}
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, pax_headers=fmt_pax) as tar:
        info = tarfile.TarInfo(WANTED)
        data = b"kind: ImagesLock\n"
        info.size = len(data)
        if not global_pax:
            info.pax_headers = pax
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Client:
    def __init__(self, blob: bytes) -> None:
        self.blob = blob

    @contextmanager
    def open_blob(
        self, repository: str, digest: str, *, size: int | None = None, offset: int = 0
    ) -> Iterator[BinaryIO]:
        yield io.BytesIO(self.blob)


def _read(blob: bytes) -> dict[str, bytes]:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    desc = oci.Descriptor(media_type="application/vnd.oci.image.layer.v1.tar", digest=digest, size=len(blob))
    config = oci.Descriptor(media_type="application/vnd.oci.image.config.v1+json", digest=digest, size=1)
    manifest = oci.Manifest(
        media_type="application/vnd.oci.image.manifest.v1+json", config=config, layers=(desc,)
    )
    return read_image_files(Client(blob), "repo", manifest, [WANTED])  # type: ignore[arg-type]


def test_plain_layer_is_read() -> None:
    assert _read(_layer({})) == {WANTED: b"kind: ImagesLock\n"}


def test_huge_pax_header_is_refused() -> None:
    with pytest.raises(LimitExceeded):
        _read(_layer({"comment": "x" * (8 * 1024 * 1024)}))


def test_pax_global_header_is_refused() -> None:
    with pytest.raises(IntegrityError):
        _read(_layer({"path": "something/else"}, global_pax=True))
