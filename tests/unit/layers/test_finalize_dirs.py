"""``finalize`` gives every directory mode 0755 and its entry's time (rule 15/16) the same way
whether it takes the quick path (nothing removed, umask kept 0755 whole: only the times of
explicit directories are set, by name from their open parent) or walks the whole tree."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.layers.layerkit import E, apply_tars, d, f, hard, sym, wh

LAYERS: list[list[E]] = [
    [
        d(".", mode=0o700, mtime=50),
        d("a", mode=0o700, mtime=100),
        d("a/b", mode=0o000, mtime=200),
        f("a/b/x", "x", mtime=300),
        f("implicit/deep/y", "y"),
        d("a-c", mtime=400),  # sorts between "a" and "a/b" as a string
        d("a-c/d", mode=0o555, mtime=500),
        sym("link", "a/b"),
        d("link/e", mtime=600),  # through the symlink: it is a/b/e
    ],
    [d("a/b", mode=0o750, mtime=700), f("a/b/z", "z"), hard("a/h", "a/b/x"), d("late", mtime=800)],
]


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _dirs(root: Path) -> dict[str, tuple[int, int]]:
    out = {".": (stat.S_IMODE(root.stat().st_mode), root.stat().st_mtime_ns)}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if stat.S_ISDIR(st.st_mode):
            out[path.relative_to(root).as_posix()] = (stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


def _expected() -> dict[str, tuple[int, int]]:
    s = 1_000_000_000
    return {
        ".": (0o755, 50 * s),
        "a": (0o755, 100 * s),
        "a/b": (0o755, 700 * s),
        "a/b/e": (0o755, 600 * s),
        "a-c": (0o755, 400 * s),
        "a-c/d": (0o755, 500 * s),
        "late": (0o755, 800 * s),
        "implicit": (0o755, -1),
        "implicit/deep": (0o755, -1),
    }


def _check(root: Path) -> None:
    got = _dirs(root)
    want = _expected()
    assert sorted(got) == sorted(want)
    for path, (mode, mtime) in want.items():
        assert got[path][0] == mode, path
        if mtime >= 0:
            assert got[path][1] == mtime, path


def _count_walks(monkeypatch: pytest.MonkeyPatch) -> list[int]:

    scans: list[int] = []
    real = os.scandir

    def counting(arg: object) -> object:
        scans.append(1)
        return real(arg)  # type: ignore[call-overload]

    monkeypatch.setattr("imgextract.layers.fsroot.os.scandir", counting)
    return scans


def test_quick_path_sets_times_without_a_walk(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scans = _count_walks(monkeypatch)
    applier, _ = apply_tars(out, LAYERS)
    assert applier.file_count() is not None  # (nothing was removed: the quick path applies)
    assert scans == []
    _check(out)


def test_after_a_removal_the_tree_is_walked(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scans = _count_walks(monkeypatch)
    apply_tars(out, [*LAYERS, [f("gone/x"), d("gone", mtime=9)], [wh("gone")]])
    assert scans
    _check(out)


def test_a_umask_that_takes_bits_is_undone_by_the_walk(
    out: Path, umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    scans = _count_walks(monkeypatch)
    apply_tars(out, LAYERS)
    assert scans
    _check(out)
