"""Security: something planted in the cache in place of a blob, manifest or layer index.

Only regular files are read.  A FIFO would block the reader until a writer comes; a symlink could
make a pull read a device or another user's file; a directory would raise.  Each reads as missing
(so the content is fetched again), and what was planted is removed, unless it is a directory (only
a link goes, never what it points at).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, NamedTuple

import pytest

from imgextract.cache import ContentCache
from imgextract.cache.store import MAX_LAYER_INDEX_BYTES
from imgextract.layers.verify import VerifyingReader
from imgextract.pull.prefetch import Prefetcher
from tests.unit.cache.hangs import Fifos

DATA = b"layer bytes " * 1000
DIGEST = "sha256:" + hashlib.sha256(DATA).hexdigest()
MANIFEST = b'{"schemaVersion":2}'
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()


class Desc(NamedTuple):
    digest: str
    size: int


def _blob_replaced(tmp_path: Path, plant: str, fifos: Fifos) -> tuple[ContentCache, Path]:
    cache = ContentCache(tmp_path / "cache")
    path = cache.put_blob(DIGEST, DATA)
    path.chmod(0o600)
    path.unlink()
    if plant == "fifo":
        fifos.plant(path)
    elif plant == "dir":
        path.mkdir()
    else:  # a link to the very bytes, elsewhere: still not followed
        (tmp_path / "elsewhere").write_bytes(DATA)
        path.symlink_to(tmp_path / "elsewhere")
    return cache, path


@pytest.mark.parametrize("plant", ["fifo", "symlink", "dir"])
def test_a_planted_blob_reads_as_missing(tmp_path: Path, fifos: Fifos, plant: str) -> None:
    cache, path = _blob_replaced(tmp_path, plant, fifos)
    assert cache.get_blob_path(DIGEST) is None
    assert fifos.within(5, lambda: cache.open_blob_fd(DIGEST)) is None
    assert fifos.within(5, lambda: cache.open_blob(DIGEST)) is None
    assert fifos.within(5, lambda: cache.read_small_blob(DIGEST, len(DATA) + 1)) is None
    if plant == "dir":
        assert path.is_dir()  # left alone
    else:
        assert not os.path.lexists(path)
    if plant == "symlink":
        assert (tmp_path / "elsewhere").read_bytes() == DATA


def test_a_planted_blob_is_fetched_again_and_committed(tmp_path: Path, fifos: Fifos) -> None:
    cache, path = _blob_replaced(tmp_path, "fifo", fifos)

    class Serving:
        fetched = 0

        @contextmanager
        def open_blob(
            self, repository: str, digest: str, *, size: int | None = None, offset: int = 0
        ) -> Iterator[BinaryIO]:
            Serving.fetched += 1
            yield io.BytesIO(DATA[offset:])

    desc = Desc(DIGEST, len(DATA))

    def pull() -> bytes:
        with (
            Prefetcher(
                Serving(), "repo", [desc], cache=cache, spool_dir=tmp_path, reader_verifies=True
            ) as pf,
            pf.open(desc) as raw,
        ):
            reader = VerifyingReader(raw, desc.digest, desc.size)
            data = reader.read()
            reader.finish()
            return data

    assert fifos.within(10, pull) == DATA
    assert Serving.fetched == 1
    assert path.is_file() and not path.is_symlink() and path.read_bytes() == DATA


def test_a_planted_manifest_reads_as_missing_and_is_stored_again(tmp_path: Path, fifos: Fifos) -> None:
    cache = ContentCache(tmp_path)
    cache.put_manifest(MANIFEST_DIGEST, MANIFEST, "application/vnd.oci.image.manifest.v1+json")
    [path] = [p for p in (tmp_path / "manifests").rglob("*") if p.is_file()]
    path.unlink()
    fifos.plant(path)
    assert fifos.within(5, lambda: cache.get_manifest(MANIFEST_DIGEST)) is None
    cache.put_manifest(MANIFEST_DIGEST, MANIFEST, "application/vnd.oci.image.manifest.v1+json")
    assert cache.get_manifest(MANIFEST_DIGEST) == (
        MANIFEST,
        "application/vnd.oci.image.manifest.v1+json",
    )


def test_a_planted_or_oversized_layer_index_is_not_read(tmp_path: Path, fifos: Fifos) -> None:
    from imgextract.cache.layerindex import IndexBuilder

    cache = ContentCache(tmp_path)
    cache.put_layer_index(DIGEST, IndexBuilder().entry())
    [path] = [p for p in (tmp_path / "index").rglob("*") if p.is_file()]
    assert cache.get_layer_index(DIGEST) is not None
    path.unlink()
    fifos.plant(path)
    assert fifos.within(5, lambda: cache.get_layer_index(DIGEST)) is None
    assert not os.path.lexists(path)
    with open(path, "wb") as f:  # sparse: no disk used
        f.truncate(MAX_LAYER_INDEX_BYTES + 1)
    assert cache.get_layer_index(DIGEST) is None
