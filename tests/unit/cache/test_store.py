"""ContentCache: commit only verified bytes, resume partials, manifests, prune."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imgextract.cache import ContentCache, parse_max_age
from imgextract.errors import IntegrityError
from imgextract.procowner import FOREIGN_MAX_AGE, host_mark


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


BLOB = os.urandom(300_000)
DIGEST = digest_of(BLOB)


def test_blob_committed_only_after_digest_verifies(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    assert cache.get_blob_path(DIGEST) is None
    with cache.blob_writer(DIGEST, len(BLOB)) as w:
        assert w.offset == 0 and w.shared
        w.write(BLOB[:1000])
        assert cache.get_blob_path(DIGEST) is None  # nothing visible while writing
        w.write(BLOB[1000:])
        path = w.commit()
    assert cache.get_blob_path(DIGEST) == path
    assert path.read_bytes() == BLOB
    assert not list((tmp_path / "blobs" / "sha256").glob("*.partial"))


def test_corrupted_download_is_never_committed_and_partial_discarded(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    bad = bytearray(BLOB)
    bad[5000] ^= 1
    with cache.blob_writer(DIGEST, len(BLOB)) as w:
        w.write(bytes(bad))
        with pytest.raises(IntegrityError, match="digest mismatch"):
            w.commit()
    assert cache.get_blob_path(DIGEST) is None
    assert list((tmp_path / "blobs" / "sha256").iterdir()) == []


def test_oversized_download_rejected(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    with pytest.raises(IntegrityError, match="larger"):
        with cache.blob_writer(DIGEST, len(BLOB)) as w:
            w.write(BLOB + b"x")
    assert cache.get_blob_path(DIGEST) is None
    assert list((tmp_path / "blobs" / "sha256").iterdir()) == []


def test_short_download_rejected(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    with cache.blob_writer(DIGEST, len(BLOB)) as w:
        w.write(BLOB[:-1])
        with pytest.raises(IntegrityError, match="bytes, expected"):
            w.commit()
    assert cache.get_blob_path(DIGEST) is None


def test_interrupted_download_resumes_from_partial(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    with pytest.raises(ConnectionError):
        with cache.blob_writer(DIGEST, len(BLOB)) as w:
            w.write(BLOB[:123_456])
            raise ConnectionError("dropped")
    partial = tmp_path / "blobs" / "sha256" / (DIGEST.split(":")[1] + ".partial")
    assert partial.stat().st_size == 123_456
    # a new process/attempt picks up where it stopped and the digest covers the whole blob
    with ContentCache(tmp_path).blob_writer(DIGEST, len(BLOB)) as w:
        assert w.offset == 123_456
        w.write(BLOB[w.offset :])
        path = w.commit()
    assert path.read_bytes() == BLOB
    assert not partial.exists()


def test_corrupt_partial_prefix_is_caught_at_commit(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    with cache.blob_writer(DIGEST, len(BLOB)) as w:
        w.write(b"\0" * 1000)  # wrong bytes; left behind as if interrupted
    with cache.blob_writer(DIGEST, len(BLOB)) as w:
        assert w.offset == 1000
        w.write(BLOB[1000:])
        with pytest.raises(IntegrityError):
            w.commit()
    assert cache.get_blob_path(DIGEST) is None
    with cache.blob_writer(DIGEST, len(BLOB)) as w:  # and the next attempt starts from scratch
        assert w.offset == 0


def test_partial_longer_than_blob_restarts(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    with cache.blob_writer(DIGEST, None) as w:
        w.write(BLOB + b"junk")
    with cache.blob_writer(DIGEST, len(BLOB)) as w:
        assert w.offset == 0


def test_second_writer_while_locked_uses_private_temp(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path, wait=None)
    with cache.blob_writer(DIGEST, len(BLOB)) as first:
        first.write(BLOB[:10])
        with cache.blob_writer(DIGEST, len(BLOB)) as second:
            assert not second.shared and second.offset == 0
            second.write(BLOB)
            second.commit()
        assert cache.get_blob_path(DIGEST) is not None
        first.write(BLOB[10:])
        assert first.commit().read_bytes() == BLOB
    assert sorted(p.name for p in (tmp_path / "blobs" / "sha256").iterdir()) == [DIGEST.split(":")[1]]
    assert list((tmp_path / "tmp").iterdir()) == []


def test_put_blob_and_open_blob(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    cache.put_blob(DIGEST, BLOB)
    f = cache.open_blob(DIGEST)
    assert f is not None
    with f:
        assert f.read() == BLOB
    cache.evict_blob(DIGEST)
    assert cache.open_blob(DIGEST) is None


@pytest.mark.parametrize(
    "bad", ["sha256:../../etc/passwd", "sha256:" + "A" * 64, "md5:" + "0" * 32, "sha256"]
)
def test_digest_is_validated_before_becoming_a_path(tmp_path: Path, bad: str) -> None:
    with pytest.raises(IntegrityError):
        ContentCache(tmp_path).get_blob_path(bad)


def test_manifest_round_trip_and_tamper_detection(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    raw = b'{"schemaVersion":2}'
    d = digest_of(raw)
    with pytest.raises(IntegrityError):
        cache.put_manifest(digest_of(b"other"), raw, "application/vnd.oci.image.manifest.v1+json")
    cache.put_manifest(d, raw, "application/vnd.oci.image.manifest.v1+json")
    assert cache.get_manifest(d) == (raw, "application/vnd.oci.image.manifest.v1+json")
    stored = tmp_path / "manifests" / "sha256" / d.split(":")[1]
    stored.write_bytes(stored.read_bytes() + b" ")
    assert cache.get_manifest(d) is None  # re-verified on read; the bad file is dropped
    assert not stored.exists()


def test_prune_by_age_keeps_recent_entries(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    old, new = os.urandom(1000), os.urandom(2000)
    cache.put_blob(digest_of(old), old)
    cache.put_blob(digest_of(new), new)
    past = time.time() - 10 * 86400
    os.utime(tmp_path / "blobs" / "sha256" / digest_of(old).split(":")[1], (past, past))
    report = cache.prune(max_age=86400)
    assert report.files == 1 and report.bytes == 1000
    assert cache.get_blob_path(digest_of(old)) is None
    assert cache.get_blob_path(digest_of(new)) is not None


def test_prune_everything_but_a_partial_in_use(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    cache.put_blob(DIGEST, BLOB)
    raw = b"{}"
    cache.put_manifest(digest_of(raw), raw, "m")
    other = os.urandom(5000)
    with cache.blob_writer(digest_of(other), len(other)) as w:
        w.write(other[:100])
        report = cache.prune(everything=True)
        assert report.busy == 1
        assert w.path.exists()  # the in-flight download is left alone
        w.write(other[100:])
        w.commit()
    assert report.files == 2
    assert cache.get_blob_path(DIGEST) is None and cache.get_manifest(digest_of(raw)) is None
    assert cache.get_blob_path(digest_of(other)) is not None


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_temp_files_of_another_host_are_removed_by_age_only(tmp_path: Path) -> None:
    """A cache on a shared volume: another host's pid says nothing here (it may be running there)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    pid = _dead_pid()
    other = "0123456789ab" if host_mark() != "0123456789ab" else "ba9876543210"
    local_dead = tmp / f"{'a' * 16}.{host_mark()}.{pid}.1.{'0' * 12}.tmp"
    foreign_dead = tmp / f"{'b' * 16}.{other}.{pid}.1.{'1' * 12}.tmp"
    foreign_old = tmp / f"{'c' * 16}.{other}.{pid}.1.{'2' * 12}.tmp"
    for path in (local_dead, foreign_dead, foreign_old):
        path.write_bytes(b"x")
    past = time.time() - FOREIGN_MAX_AGE - 60
    os.utime(foreign_old, (past, past))
    cache = ContentCache(tmp_path)  # opening sweeps this host's dead owners and day-old entries
    assert sorted(p.name[0] for p in tmp.iterdir()) == ["b"]
    assert cache.prune(max_age=3600).files == 0  # younger than a day: its owner may be downloading
    os.utime(foreign_dead, (past, past))
    assert cache.prune(max_age=3600).files == 1
    assert list(tmp.iterdir()) == []


def _set_age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_prune_ages_out_renderings(tmp_path: Path) -> None:
    render = tmp_path / "render"
    render.mkdir()
    old, new, writing = render / f"{'a' * 64}.json", render / f"{'b' * 64}.json", render / ".tmp-x1y2z3"
    old.write_text('{"name": "old"}')
    new.write_text('{"name": "new"}')
    writing.write_text("{")
    _set_age(old, 10 * 86400)
    cache = ContentCache(tmp_path)
    report = cache.prune(max_age=86400)
    assert report.files == 1 and report.bytes == len('{"name": "old"}')
    assert sorted(p.name for p in render.iterdir()) == sorted([new.name, writing.name])
    assert cache.prune(everything=True).files == 2
    assert list(render.iterdir()) == []


def test_prune_ages_out_extracted_catalogs_and_dead_staging(tmp_path: Path) -> None:
    base = tmp_path / "catalogs"
    old, new = base / "sha256-old", base / "sha256-new"
    for d in (old, new):
        (d / "configs" / "pkg").mkdir(parents=True)
        (d / "configs" / "pkg" / "catalog.json").write_text("{}" * 50)
    (old / "configs" / "locked").mkdir()
    (old / "configs" / "locked" / "f").write_text("x")
    os.chmod(old / "configs" / "locked", 0o500)  # extracted images may hold such directories
    _set_age(old, 10 * 86400)
    pid = _dead_pid()
    other = "0123456789ab" if host_mark() != "0123456789ab" else "ba9876543210"
    dead = base / f".staging-{host_mark()}.{pid}.1-{'0' * 12}"
    foreign = base / f".staging-{other}.{pid}.1-{'1' * 12}"  # another host's fetch, maybe running
    unmarked = base / f".staging-{'2' * 12}"
    for d in (dead, foreign, unmarked):
        (d / "configs").mkdir(parents=True)
    cache = ContentCache(tmp_path)
    report = cache.prune(max_age=86400)
    assert report.files == 2 and report.bytes == 100 + 1
    assert sorted(p.name for p in base.iterdir()) == sorted([new.name, foreign.name, unmarked.name])
    cache.prune(everything=True)  # the recent staging directories are fetches in progress: kept
    assert sorted(p.name for p in base.iterdir()) == sorted([foreign.name, unmarked.name])


def test_prune_requires_a_policy(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        ContentCache(tmp_path).prune()


def test_cache_files_are_private(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path / "c")
    path = cache.put_blob(DIGEST, BLOB)
    assert path.stat().st_mode & 0o077 == 0
    assert path.parent.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("3600", 3600), ("2w", 14 * 86400), ("0", 0)],
)
def test_parse_max_age(text: str, seconds: float) -> None:
    assert parse_max_age(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "x", "-1d", "nan", "inf", "3y"])
def test_parse_max_age_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_max_age(text)


def test_lock_files_do_not_accumulate(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    cache.put_blob(DIGEST, BLOB)
    with cache.blob_writer(digest_of(b"x"), 1) as w:
        w.write(b"y")
        with pytest.raises(IntegrityError):
            w.commit()
    assert not list((tmp_path / "locks").rglob("*.lock"))


def test_read_only_cache_still_serves_and_index_writes_are_best_effort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from imgextract.cache import LayerIndexEntry

    cache = ContentCache(tmp_path)
    cache.put_blob(DIGEST, BLOB)
    manifest = b'{"schemaVersion":2}'
    manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    cache.put_manifest(manifest_digest, manifest, "application/vnd.oci.image.manifest.v1+json")

    def read_only(*_a: object, **_k: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "utime", read_only)
    monkeypatch.setattr(os, "replace", read_only)
    cache.put_layer_index("sha256:" + "cd" * 32, LayerIndexEntry(frozenset({"usr"})))
    assert cache.get_layer_index("sha256:" + "cd" * 32) is None
    assert cache.get_blob_path(DIGEST) is not None
    # a pull by digest reads its manifest from a cache it cannot touch (its age stays as it was)
    assert cache.get_manifest(manifest_digest) == (manifest, "application/vnd.oci.image.manifest.v1+json")
    assert not list((tmp_path / "tmp").iterdir())  # the failed write left no temp file


def test_small_blob_being_written_elsewhere_is_fetched_again_not_waited_for(tmp_path: Path) -> None:
    # waiting for a small blob costs more than fetching it (render: many bundles share a tiny layer)
    from imgextract.cache.writer import WaitSettings

    cache = ContentCache(tmp_path, wait=WaitSettings(max_wait=30.0, stall=30.0))
    with cache.blob_writer(DIGEST, len(BLOB)) as first:
        first.write(BLOB[:10])
        start = time.monotonic()
        with cache.blob_writer(DIGEST, len(BLOB)) as second:
            assert not second.shared and time.monotonic() - start < 5.0
            second.write(BLOB)
            second.commit()
        first.write(BLOB[10:])
        assert first.commit().read_bytes() == BLOB
    # a large blob is still waited for (here until the stall limit, as nothing grows)
    big = 2 << 20
    cache = ContentCache(tmp_path / "big", wait=WaitSettings(max_wait=0.3, stall=0.3))
    with cache.blob_writer(DIGEST, big):
        start = time.monotonic()
        with cache.blob_writer(DIGEST, big) as second:
            assert not second.shared and time.monotonic() - start >= 0.3
            second.abort()


def test_manifest_stored_again_is_only_touched_unless_it_differs(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    raw = b'{"schemaVersion":2}'
    d = digest_of(raw)
    mt = "application/vnd.oci.image.manifest.v1+json"
    cache.put_manifest(d, raw, mt)
    stored = tmp_path / "manifests" / "sha256" / d.split(":")[1]
    os.utime(stored, (1_000_000, 1_000_000))
    inode = stored.stat().st_ino
    cache.put_manifest(d, raw, mt)  # a tag re-checked: same bytes, same file, younger
    assert stored.stat().st_ino == inode and stored.stat().st_mtime > 1_000_000
    stored.write_bytes(stored.read_bytes() + b" ")  # damaged: written again
    cache.put_manifest(d, raw, mt)
    assert cache.get_manifest(d) == (raw, mt)
    cache.put_manifest(d, raw, "application/vnd.docker.distribution.manifest.v2+json")  # other type
    assert cache.get_manifest(d) == (raw, "application/vnd.docker.distribution.manifest.v2+json")


def test_small_blob_writer_commits_by_rename_and_refuses_path_tricks(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    writer = cache.small_blob_writer()
    files = [os.urandom(n) for n in (1, 5000, 200_000)]
    for data in files:
        writer.put(digest_of(data), data)
    writer.put(digest_of(files[0]), files[0])  # again: the same bytes renamed over themselves
    for data in files:
        path = cache.get_blob_path(digest_of(data))
        assert path is not None and path.read_bytes() == data
    assert os.listdir(tmp_path / "tmp") == []  # no temp file left behind
    with pytest.raises(IntegrityError):
        writer.put("sha256:../../escape", b"x")


def test_layer_index_written_again_only_when_it_changes(tmp_path: Path) -> None:
    """A layer applied again from the cache indexes to the same bytes: the file is kept (no new
    file, no rename) and only its age is refreshed; a different index replaces it."""
    from imgextract.cache import LayerIndexEntry

    cache = ContentCache(tmp_path)
    digest = "sha256:" + "cd" * 32
    cache.put_layer_index(digest, LayerIndexEntry(frozenset({"usr"})))
    path = tmp_path / "index" / "sha256" / f"{'cd' * 32}.json"
    assert path.is_file()
    old = time.time() - 3 * 86400
    os.utime(path, (old, old))
    inode = path.stat().st_ino
    cache.put_layer_index(digest, LayerIndexEntry(frozenset({"usr"})))
    assert path.stat().st_ino == inode and path.stat().st_mtime > old + 86400
    cache.put_layer_index(digest, LayerIndexEntry(frozenset({"etc", "usr"})))
    assert path.stat().st_ino != inode
    entry = cache.get_layer_index(digest)
    assert entry is not None and entry == LayerIndexEntry(frozenset({"etc", "usr"}))
