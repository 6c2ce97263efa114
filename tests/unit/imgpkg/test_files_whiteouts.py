"""Reading ``.imgpkg`` files out of a layered image follows the OCI whiteout rules exactly.

Whiteouts and opaque markers remove lower-layer entries only: a whited-out ``.imgpkg`` directory
hides the ``images.yml`` below it, and an opaque marker never drops a file of its own layer.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from imgextract import oci
from imgextract.imgpkg.files import read_image_files

WANTED = ".imgpkg/images.yml"
LAYER = "application/vnd.oci.image.layer.v1.tar"


def _tar(*entries: tuple[str, bytes | None]) -> bytes:
    """A tar of (name, data) entries; data None makes a directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


class _Blobs:
    def __init__(self, blobs: list[bytes]) -> None:
        self.by_digest = {_digest(b): b for b in blobs}

    @contextmanager
    def open_blob(
        self, repository: str, digest: str, *, size: int | None = None, offset: int = 0
    ) -> Iterator[BinaryIO]:
        yield io.BytesIO(self.by_digest[digest])


def _read(*layers: bytes) -> dict[str, bytes]:
    descs = tuple(oci.Descriptor(media_type=LAYER, digest=_digest(b), size=len(b)) for b in layers)
    config = oci.Descriptor(media_type=oci.OCI_CONFIG, digest=_digest(b"{}"), size=2)
    manifest = oci.Manifest(media_type=oci.OCI_MANIFEST, config=config, layers=descs)
    return read_image_files(_Blobs(list(layers)), "repo", manifest, [WANTED])  # type: ignore[arg-type]


def test_upper_layer_file_replaces_lower() -> None:
    assert _read(_tar((WANTED, b"old\n")), _tar((WANTED, b"new\n"))) == {WANTED: b"new\n"}


def test_whiteout_of_the_directory_removes_the_file_below_it() -> None:
    lower = _tar((".imgpkg", None), (WANTED, b"lock\n"))
    upper = _tar((".wh..imgpkg", b""))
    assert _read(lower, upper) == {}


def test_whiteout_of_the_file_removes_it() -> None:
    assert _read(_tar((WANTED, b"lock\n")), _tar((".imgpkg/.wh.images.yml", b""))) == {}


def test_opaque_marker_keeps_the_file_of_its_own_layer() -> None:
    lower = _tar((WANTED, b"old\n"))
    upper = _tar((".imgpkg", None), (WANTED, b"new\n"), (".imgpkg/.wh..wh..opq", b""))
    assert _read(lower, upper) == {WANTED: b"new\n"}


def test_opaque_marker_before_the_file_keeps_it_too() -> None:
    upper = _tar((".imgpkg", None), (".imgpkg/.wh..wh..opq", b""), (WANTED, b"new\n"))
    assert _read(_tar((WANTED, b"old\n")), upper) == {WANTED: b"new\n"}


def test_opaque_marker_removes_lower_files() -> None:
    assert _read(_tar((WANTED, b"old\n")), _tar((".imgpkg", None), (".imgpkg/.wh..wh..opq", b""))) == {}


def test_root_opaque_marker_removes_lower_files() -> None:
    assert _read(_tar((WANTED, b"old\n")), _tar((".wh..wh..opq", b""))) == {}


def test_whiteout_in_the_same_layer_does_not_remove_the_file() -> None:
    assert _read(_tar((".imgpkg/.wh.images.yml", b""), (WANTED, b"x\n"))) == {WANTED: b"x\n"}


def test_whiteout_of_a_sibling_keeps_the_file() -> None:
    lower = _tar((WANTED, b"lock\n"))
    assert _read(lower, _tar((".wh..imgpkg-other", b""), (".imgpkg/.wh.images.yaml", b""))) == {
        WANTED: b"lock\n"
    }


def test_lower_file_survives_a_plain_directory_entry_above() -> None:
    assert _read(_tar((WANTED, b"lock\n")), _tar((".imgpkg", None))) == {WANTED: b"lock\n"}
