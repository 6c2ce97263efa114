"""The background file writer: same result as writing inline, failures reach their entry."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from imgextract.errors import IntegrityError
from imgextract.layers.writer import FileWriter, WriteFailed
from tests.unit.layers.layerkit import apply_tars, d, f, hard, snapshot, sym, wh


def _job(dir_fd: int, name: str, data: bytes, mode: int = 0o644, ns: int = 10**18) -> tuple:
    return (dir_fd, name, [data[:3], data[3:]], len(data), mode, True, ns, name)


def test_jobs_write_content_mode_and_mtime(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    w = FileWriter()
    try:
        for i in range(50):
            w.submit(_job(fd, f"f{i}", b"hello %d" % i, 0o755 if i % 2 else 0o644, 10**18 + i))
        w.flush()
    finally:
        w.close()
        os.close(fd)
    for i in range(50):
        st = os.stat(tmp_path / f"f{i}")
        assert (tmp_path / f"f{i}").read_bytes() == b"hello %d" % i
        assert st.st_mode & 0o777 == (0o755 if i % 2 else 0o644)
        assert st.st_mtime_ns == 10**18 + i


def test_failure_is_raised_by_flush_and_later_jobs_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "taken").write_bytes(b"old")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    w = FileWriter()
    try:
        w.submit(_job(fd, "taken", b"new content"))  # O_EXCL: never opens an existing file
        with pytest.raises(WriteFailed) as info:  # by the next submit or by flush
            w.submit(_job(fd, "after", b"x"))
            w.flush()
        assert info.value.entry == "taken"
        assert isinstance(info.value.error, FileExistsError)
        w.flush()  # the failure is reported once
    finally:
        w.close()
        os.close(fd)
    assert (tmp_path / "taken").read_bytes() == b"old"
    assert not (tmp_path / "after").exists()


def test_nothing_is_written_after_abandon(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    w = FileWriter()
    try:
        for i in range(2000):
            w.submit(_job(fd, f"f{i}", b"x" * 100))
        w.abandon()
        listing = sorted(os.listdir(tmp_path))
        time.sleep(0.2)
        assert sorted(os.listdir(tmp_path)) == listing
    finally:
        w.close()
        os.close(fd)


def test_queued_bytes_are_bounded(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    w = FileWriter(max_bytes=1000, max_jobs=3)
    try:
        for i in range(40):
            w.submit(_job(fd, f"f{i}", b"y" * 400))
            assert w._queued_bytes <= 1000 and len(w._jobs) <= 3
        w.flush()
    finally:
        w.close()
        os.close(fd)
    assert len(os.listdir(tmp_path)) == 40


def test_same_layer_order_is_kept_around_background_writes(out: Path) -> None:
    files = [f(f"pkg/f{i}", f"content {i}") for i in range(40)]
    layer = [
        d("pkg"),
        *files,
        f("a", "file first"),
        d("a"),  # dir replaces the file written just before (still queued)
        f("a/x", "inside"),
        f("b", "one"),
        f("b", "two"),  # rewrite of a queued name: temp + rename, last one wins
        f("c", "linked"),
        hard("c2", "c"),  # the target must exist when the link is made
        f("e", "kept"),
        wh("e"),  # same-layer whiteout: e survives
        f("dir/f1", "gone with dir"),
        sym("dir", "pkg"),  # symlink replaces the directory and what was queued in it
    ]
    apply_tars(out, [layer])
    assert all((out / "pkg" / f"f{i}").read_text() == f"content {i}" for i in range(40))
    assert (out / "a").is_dir() and (out / "a" / "x").read_text() == "inside"
    assert (out / "b").read_text() == "two"
    assert os.stat(out / "c").st_ino == os.stat(out / "c2").st_ino
    assert (out / "e").read_text() == "kept"
    assert os.readlink(out / "dir") == "pkg"
    assert not any(n.startswith(".imgextract-tmp") for n in os.listdir(out))


def test_second_layer_files_in_existing_dirs_are_written_inline(out: Path) -> None:
    apply_tars(
        out, [[f("etc/x", "lower"), hard("etc/y", "etc/x")], [f("etc/x", "upper"), d("new"), f("new/z", "z")]]
    )
    assert (out / "etc" / "x").read_text() == "upper"
    assert (out / "etc" / "y").read_text() == "lower"  # the link pair is split, not written through
    assert (out / "new" / "z").read_text() == "z"


def test_background_write_failure_fails_its_entry(out: Path) -> None:
    long_name = "pkg/" + "n" * 300  # ENAMETOOLONG, raised on the writer thread
    with pytest.raises(IntegrityError, match="cannot apply layer entry 'pkg/nnn"):
        apply_tars(out, [[d("pkg"), f("pkg/ok", "ok"), f(long_name, "x"), f("pkg/later", "y")]])


def test_result_matches_an_occupied_root(out: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A root that is not empty takes the inline path throughout: same tree either way."""
    layer = [
        d("pkg"),
        *(f(f"pkg/f{i}", f"{i}", mode=0o600 + i % 2 * 0o100) for i in range(30)),
        sym("l", "pkg/f1"),
    ]
    apply_tars(out, [layer])
    other = tmp_path_factory.mktemp("other")
    (other / "occupied").write_text("x")
    apply_tars(other, [layer])
    (other / "occupied").unlink()
    assert snapshot(out, mtimes=True) == snapshot(other, mtimes=True)
