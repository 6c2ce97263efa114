"""The applier's plain-file path (a file of the same directory as the previous one reuses its
directory, checks and selection): every sequence of entries gives the tree, the errors and the
file count that the general entry path gives, whatever happens to that directory in between."""

from __future__ import annotations

import os
import stat
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from imgextract.errors import ImgExtractError
from imgextract.layers.applier import _PARENT_CACHE, Applier
from tests.unit.layers.layerkit import E, apply_tars, d, f, hard, opq, snapshot, sym, wh

VICTIM = "@victim@"  # replaced by the victim tree's absolute path


def _cases() -> dict[str, list[list[E]]]:
    return {
        "spellings-of-one-directory": [
            [
                d("d"),
                f("d/a", "1"),
                f("d//b", "2"),
                f("./d/c", "3"),
                f("d/./e", "4"),
                f("d/f/", "5"),
                f("d/g", "6"),
            ]
        ],
        "dir-becomes-symlink-out": [[f("d/a", "1"), sym("d", VICTIM), f("d/b", "2"), f("d/sub/c", "3")]],
        "dir-becomes-symlink-in": [[d("e"), f("d/a", "1"), sym("d", "e"), f("d/b", "2")]],
        "sibling-symlink-to-parent": [[f("d/a", "1"), sym("d/s", ".."), f("d/b", "2"), f("d/s/c", "3")]],
        "sibling-becomes-symlink": [[f("d/a", "1"), f("d/s", "x"), sym("d/s", VICTIM), f("d/b", "2")]],
        "dir-becomes-file": [[f("d/a", "1"), f("d", "file"), f("d/b", "2")]],
        "dir-becomes-hard-link": [[f("x", "x"), f("d/a", "1"), hard("d", "x"), f("d/b", "2")]],
        "dir-whited-out-same-layer": [[f("d/a", "1"), wh("d"), f("d/b", "2")]],
        "dir-whited-out-next-layer": [[d("d"), f("d/old", "o")], [f("d/a", "1"), wh("d"), f("d/b", "2")]],
        "whiteout-file-then-file": [[f("d/old", "o")], [f("d/a", "1"), wh("d/old"), f("d/b", "2")]],
        "opaque-between-files": [[f("d/old", "o")], [f("d/a", "1"), opq("d"), f("d/b", "2")]],
        "parent-opaque-between-files": [[f("p/d/old", "o")], [f("p/d/a", "1"), opq("p"), f("p/d/b", "2")]],
        "dir-mode-between-files": [
            [f("d/a", "1"), d("d", 0o500), f("d/b", "2"), d("d", 0o711), f("d/c", "3")]
        ],
        "file-over-file-same-dir": [[f("d/a", "1"), f("d/a", "22"), hard("d/h", "d/a"), f("d/h", "333")]],
        "whiteout-named-files": [[f("d/a", "1"), f("d/.wh.a"), f("d/b", "2")]],
        "next-layer-same-spelling": [[f("d/a", "1")], [sym("d", "e"), f("d/b", "2")]],
        "evicted-directory": [
            [d("d"), f("d/a", "1")]
            + [d(f"x{i}/y") for i in range(_PARENT_CACHE + 2)]
            + [f("d/b", "2"), f("d/c", "3")]
        ],
        "evicted-then-replaced": [
            [d("d"), f("d/a", "1")]
            + [d(f"x{i}/y") for i in range(_PARENT_CACHE + 2)]
            + [sym("d", VICTIM), f("d/b", "2")]
        ],
    }


def _general_only(self: Applier, reader: object, m: tarfile.TarInfo, stats: object) -> bool:
    return False  # every entry through Applier._entry


def _layers(victim: Path, layers: list[list[E]]) -> list[list[E]]:
    return [[replace(e, target=str(victim)) if e.target == VICTIM else e for e in layer] for layer in layers]


def _run(root: Path, layers: list[list[E]], paths: list[str] | None) -> tuple[object, object, object]:
    try:
        applier, stats = apply_tars(root, layers, paths=paths)
    except ImgExtractError as e:
        return type(e).__name__, str(e), None
    return (
        snapshot(root, mtimes=True),
        [(s.files, s.bytes_written, sorted(s.top_level)) for s in stats],
        applier,
    )


def _walk(root: Path) -> tuple[int, int]:
    files = size = 0
    for dirpath, _, names in os.walk(root):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode):
                files, size = files + 1, size + st.st_size
    return files, size


@pytest.mark.parametrize("paths", [None, ["d"], ["d/a", "d/b", "d/sub"]], ids=["all", "dir", "some-files"])
@pytest.mark.parametrize("case", sorted(_cases()))
def test_same_directory_files_match_the_general_path(
    out: Path,
    victim: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    paths: list[str] | None,
) -> None:
    layers = _layers(victim, _cases()[case])
    tree, stats, applier = _run(out, layers, paths)
    general = tmp_path_factory.mktemp("general")
    with monkeypatch.context() as m:
        m.setattr(Applier, "_file_entry", _general_only)
        tree_g, stats_g, _ = _run(general, layers, paths)
    assert (tree, stats) == (tree_g, stats_g)
    if isinstance(applier, Applier) and applier.file_count() is not None:
        assert applier.file_count() == _walk(out)
