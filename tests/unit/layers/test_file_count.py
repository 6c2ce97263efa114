"""``Applier.file_count``: the regular files the layers left and their bytes, counted while
writing, must be what a walk of the root finds; after anything was removed or replaced it is
None (the caller walks)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.unit.layers.layerkit import E, apply_tars, d, f, hard, opq, sym, wh


def walk(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode):
                files += 1
                size += st.st_size
    return files, size


COUNTED = [
    pytest.param([[d("a"), f("a/x", "12345"), f("a/y", ""), f("top", "t" * 700)]], id="files"),
    pytest.param([[f("deep/er/x", "1")], [f("other", "22")]], id="implicit-dirs-two-layers"),
    pytest.param([[f("t", "abc"), hard("h1", "t"), hard("h2", "h1")]], id="hard-links"),
    pytest.param([[sym("s", "t"), f("t", "x"), hard("hs", "s")]], id="hard-link-to-a-symlink"),
    pytest.param([[f("x", "1")], [hard("y", "x")]], id="hard-link-to-a-lower-file"),
    pytest.param([[f("x", "1"), wh("never-there")]], id="whiteout-of-nothing"),
]


@pytest.mark.parametrize("layers", COUNTED)
def test_the_count_is_what_a_walk_finds(out: Path, layers: list[list[E]]) -> None:
    applier, _ = apply_tars(out, layers)
    assert applier.file_count() is not None
    assert applier.file_count() == walk(out)


@pytest.mark.parametrize(
    "layers",
    [
        pytest.param([[f("x", "1")], [f("x", "longer")]], id="file-over-file"),
        pytest.param([[f("x", "1"), f("keep", "k")], [wh("x")]], id="whiteout"),
        pytest.param([[d("D"), f("D/x", "1")], [opq("D"), f("D/y", "2")]], id="opaque"),
        pytest.param([[d("D"), f("D/x", "1")], [f("D", "now a file")]], id="file-over-dir"),
        pytest.param([[f("x", "1")], [d("x")]], id="dir-over-file"),
        pytest.param([[f("x", "1")], [sym("x", "y")]], id="symlink-over-file"),
        pytest.param([[f("x", "1"), f("y", "22")], [hard("x", "y")]], id="hard-link-over-file"),
        pytest.param([[f("x", "1")], [E("x", "fifo")]], id="fifo-over-file"),
    ],
)
def test_after_a_removal_there_is_no_count(out: Path, layers: list[list[E]]) -> None:
    applier, _ = apply_tars(out, layers)
    assert applier.file_count() is None


def test_a_selection_counts_only_what_it_wrote(out: Path) -> None:
    applier, _ = apply_tars(out, [[f("a/x", "1"), f("b/y", "22"), f("a/z", "333")]], paths=["a"])
    assert applier.file_count() == walk(out) == (2, 4)
