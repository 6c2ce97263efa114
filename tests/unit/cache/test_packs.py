"""Packs: verified small files kept together in one cache file, found by digest, verified on read."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from imgextract.cache import ContentCache
from imgextract.cache.packs import MAGIC
from imgextract.errors import IntegrityError
from tests.unit.cache.hangs import Fifos


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


FILES = [os.urandom(n) for n in (0, 1, 5000, 200_000)]


def packs_of(root: Path) -> list[Path]:
    return sorted((root / "packs").glob("*.pack"))


def test_files_of_a_pack_are_found_by_a_later_process(tmp_path: Path) -> None:
    ContentCache(tmp_path).packs().put([(digest_of(d), d) for d in FILES])
    assert len(packs_of(tmp_path)) == 1 and os.listdir(tmp_path / "tmp") == []  # renamed, no debris
    later = ContentCache(tmp_path).packs()  # another process: reads the packs' indexes
    for data in FILES:
        assert later.has(digest_of(data))
        assert later.get(digest_of(data), len(data)) == data
    assert not later.has(digest_of(b"other")) and later.get(digest_of(b"other"), 5) is None
    assert later.get(digest_of(FILES[2]), 4999) is None  # another size: not this file


def test_a_pack_written_in_this_process_is_found_at_once(tmp_path: Path) -> None:
    packs = ContentCache(tmp_path).packs()
    assert not packs.has(digest_of(FILES[1]))  # the (empty) index is loaded first
    packs.put([(digest_of(d), d) for d in FILES[1:]])
    assert packs.get(digest_of(FILES[1]), 1) == FILES[1]


def test_the_same_files_make_the_same_pack(tmp_path: Path) -> None:
    """Two writers of the same files rename identical bytes over each other."""
    files = [(digest_of(d), d) for d in FILES]
    ContentCache(tmp_path).packs().put(files)
    first = packs_of(tmp_path)
    ContentCache(tmp_path).packs().put(files + files[:1])  # a duplicate is kept once
    assert packs_of(tmp_path) == first


def test_rotten_bytes_are_never_served_and_the_pack_is_removed(tmp_path: Path) -> None:
    ContentCache(tmp_path).packs().put([(digest_of(d), d) for d in FILES])
    [pack] = packs_of(tmp_path)
    raw = bytearray(pack.read_bytes())
    raw[raw.find(FILES[3]) + 100] ^= 1
    pack.write_bytes(bytes(raw))
    packs = ContentCache(tmp_path).packs()
    assert packs.get(digest_of(FILES[3]), len(FILES[3])) is None
    assert packs_of(tmp_path) == [] and not packs.has(digest_of(FILES[2]))  # its other files too


def _pack(root: Path, index: object, data: bytes = b"", *, magic: bytes = MAGIC) -> Path:
    raw = json.dumps(index).encode()
    (root / "packs").mkdir(parents=True, exist_ok=True)
    path = root / "packs" / f"{hashlib.sha256(raw).hexdigest()}.pack"
    path.write_bytes(data + raw + len(raw).to_bytes(8, "big") + magic)
    return path


@pytest.mark.parametrize(
    "index",
    [
        [["sha256:../../escape", 0, 4]],  # a path trick for a digest
        [[digest_of(b"abcd"), 0, 40]],  # beyond the data
        [[digest_of(b"abcd"), -1, 4]],
        [[digest_of(b"abcd"), 0, "4"]],
        [[digest_of(b"abcd"), 0]],
        {"not": "a list"},
    ],
)
def test_malformed_packs_are_removed_not_trusted(tmp_path: Path, index: object) -> None:
    bad = _pack(tmp_path, index, b"abcd")
    good = _pack(tmp_path, [[digest_of(b"wxyz"), 0, 4]], b"wxyz")
    packs = ContentCache(tmp_path).packs()
    assert not packs.has(digest_of(b"abcd"))
    assert packs.get(digest_of(b"wxyz"), 4) == b"wxyz"  # the others are still used
    assert not bad.exists() and good.exists()


@pytest.mark.parametrize("junk", [b"", b"short", b"x" * 100])
def test_files_that_are_not_packs_are_removed(tmp_path: Path, junk: bytes) -> None:
    (tmp_path / "packs").mkdir()
    (tmp_path / "packs" / "junk.pack").write_bytes(junk)
    huge = _pack(tmp_path, [], magic=MAGIC)
    raw = bytearray(huge.read_bytes())
    raw[-16:-8] = (1 << 40).to_bytes(8, "big")  # an index length beyond the file
    huge.write_bytes(bytes(raw))
    assert not ContentCache(tmp_path).packs().has(digest_of(b"x"))
    assert packs_of(tmp_path) == []


def test_refuses_a_digest_that_is_a_path_trick(tmp_path: Path) -> None:
    with pytest.raises(IntegrityError):
        ContentCache(tmp_path).packs().put([("sha256:../../escape", b"x")])
    assert packs_of(tmp_path) == []


def test_prune_removes_packs_unused_for_max_age(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    cache.packs().put([(digest_of(FILES[1]), FILES[1])])
    [old] = packs_of(tmp_path)
    past = time.time() - 3600
    os.utime(old, (past, past))
    cache.packs().put([(digest_of(FILES[2]), FILES[2])])
    report = cache.prune(max_age=60)
    assert report.files == 1 and packs_of(tmp_path) != [] and not old.exists()


def test_reading_a_file_marks_its_pack_used(tmp_path: Path) -> None:
    ContentCache(tmp_path).packs().put([(digest_of(FILES[1]), FILES[1])])
    [pack] = packs_of(tmp_path)
    past = time.time() - 3600
    os.utime(pack, (past, past))
    assert ContentCache(tmp_path).packs().get(digest_of(FILES[1]), 1) == FILES[1]
    assert ContentCache(tmp_path).prune(max_age=60).files == 0 and pack.exists()


def test_a_fifo_named_like_a_pack_is_not_read(tmp_path: Path, fifos: Fifos) -> None:
    """Something that is not a regular file in packs/ (a FIFO would block a reader forever) is
    not a pack: the other packs are still found, nothing hangs."""
    ContentCache(tmp_path).packs().put([(digest_of(FILES[2]), FILES[2])])
    fifos.plant(tmp_path / "packs" / ("0" * 64 + ".pack"))
    packs = ContentCache(tmp_path).packs()
    assert fifos.within(5, lambda: packs.get(digest_of(FILES[2]), len(FILES[2]))) == FILES[2]


def test_a_pack_replaced_by_a_fifo_after_loading_is_not_read(tmp_path: Path, fifos: Fifos) -> None:
    ContentCache(tmp_path).packs().put([(digest_of(FILES[2]), FILES[2])])
    packs = ContentCache(tmp_path).packs()
    assert packs.has(digest_of(FILES[2]))  # the index is loaded
    (path,) = packs_of(tmp_path)
    path.unlink()
    fifos.plant(path)
    assert fifos.within(5, lambda: packs.get(digest_of(FILES[2]), len(FILES[2]))) is None
    assert not packs.has(digest_of(FILES[2]))


def test_a_symlink_in_packs_is_not_followed(tmp_path: Path) -> None:
    """A pack name that is a symlink (to a well-formed pack elsewhere) is not read, and only the
    link goes, never what it points at."""
    elsewhere = tmp_path / "elsewhere"
    ContentCache(elsewhere).packs().put([(digest_of(FILES[2]), FILES[2])])
    (target,) = packs_of(elsewhere)
    cache = tmp_path / "cache"
    ContentCache(cache).packs().put([(digest_of(FILES[1]), FILES[1])])
    link = cache / "packs" / target.name
    link.symlink_to(target)
    packs = ContentCache(cache).packs()
    assert packs.get(digest_of(FILES[1]), 1) == FILES[1]
    assert not packs.has(digest_of(FILES[2]))
    assert not os.path.lexists(link) and target.is_file()


def test_a_deeply_nested_index_is_a_malformed_pack(tmp_path: Path) -> None:
    """JSON nested past the parser's recursion limit is not a crash of every later pull: the pack
    is malformed and removed like any other."""
    (tmp_path / "packs").mkdir()
    raw = b"[" * 200_000 + b"]" * 200_000
    bad = tmp_path / "packs" / (hashlib.sha256(raw).hexdigest() + ".pack")
    bad.write_bytes(raw + len(raw).to_bytes(8, "big") + MAGIC)
    good = _pack(tmp_path, [[digest_of(b"wxyz"), 0, 4]], b"wxyz")
    packs = ContentCache(tmp_path).packs()
    assert packs.get(digest_of(b"wxyz"), 4) == b"wxyz"
    assert not bad.exists() and good.exists()


def test_a_batch_whose_index_would_be_too_large_is_kept_as_several_packs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refuses (and removes) a pack whose index is larger than MAX_INDEX; a batch of
    more files than one index holds is written as several packs, not as one it would drop."""
    from imgextract.cache import packs as packs_module

    monkeypatch.setattr(packs_module, "MAX_INDEX", 4096)  # (the same rule at a small scale)
    files = [os.urandom(8) for _ in range(300)]  # ~26 KB of index
    ContentCache(tmp_path).packs().put([(digest_of(d), d) for d in files])
    later = ContentCache(tmp_path).packs()
    assert all(later.get(digest_of(d), 8) == d for d in files)
    assert len(packs_of(tmp_path)) > 1
