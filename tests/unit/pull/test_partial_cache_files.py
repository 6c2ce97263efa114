"""What a partial pull's plan asks the content cache: which files it holds already."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from imgextract.cache import ContentCache
from imgextract.pull import partial


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_files_kept_as_blobs_or_packs_are_found(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    files = partial.CacheFiles(cache)
    blob, packed, missing = b"one file", b"another file", b"not kept"
    files.put(_digest(blob), blob)
    files.put_many([(_digest(packed), packed)])
    files = partial.CacheFiles(cache)  # a later layer's plan
    assert files.has(_digest(blob)) and files.has(_digest(packed))
    assert not files.has(_digest(missing))
    assert files.get(_digest(blob), len(blob)) == blob


def test_a_large_blob_directory_is_asked_file_by_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond ``LISTING_LIMIT`` entries the directory is not listed: each file is one ``stat``
    (so a file committed meanwhile is found too)."""
    monkeypatch.setattr(partial, "LISTING_LIMIT", 2)
    cache = ContentCache(tmp_path)
    writer = cache.small_blob_writer()
    kept = [f"file {i}".encode() for i in range(3)]
    for data in kept:
        writer.put(_digest(data), data)
    assert writer.listing(_digest(kept[0]), 2) is None
    assert writer.listing(_digest(kept[0]), 3) == {_digest(d).split(":")[1] for d in kept}
    files = partial.CacheFiles(cache)
    assert all(files.has(_digest(d)) for d in kept)
    late = b"committed after the first lookup"
    writer.put(_digest(late), late)
    assert files.has(_digest(late))


def test_a_directory_named_like_a_blob_is_not_a_blob(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    files = partial.CacheFiles(cache)
    data = b"a file"
    files.put(_digest(b"something"), b"something")  # the blob directory exists
    blob_dir = next((tmp_path / "blobs").iterdir())
    (blob_dir / _digest(data).split(":")[1]).mkdir()
    assert not partial.CacheFiles(cache).has(_digest(data))
