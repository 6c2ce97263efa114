"""The applier's open directory fds: a directory below a cached one is opened one step from the
cached fd (rule 8 unchanged).  Every case gives the tree that resolving from the root gives, and
nothing lands outside the root, whatever later entries do to the cached directories."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from imgextract.errors import IntegrityError
from imgextract.layers.fsroot import Parent, RootFS
from tests.unit.layers.layerkit import E, apply_tars, d, f, opq, snapshot, sym, wh

VICTIM = "@victim@"  # replaced by the victim tree's absolute path


def _cases() -> dict[str, list[list[E]]]:
    return {
        # a cached directory replaced by a symlink (out of the root) by a later entry of its layer
        "dir-becomes-symlink-same-layer": [
            [d("a"), d("a/b"), f("a/b/f1", "1"), f("a/x"), sym("a/b", VICTIM), f("a/b/f2", "2")]
        ],
        # ... or of a later layer
        "dir-becomes-symlink-later-layer": [
            [d("a"), d("a/b"), f("a/b/f1", "1")],
            [f("a/x"), f("a/b/f3", "3"), sym("a/b", VICTIM), f("a/b/f2", "2"), f("a/b/sub/f4", "4")],
        ],
        # a symlink (from a lower layer) met one step below a cached directory
        "child-is-lower-symlink": [
            [d("a"), sym("a/b", VICTIM), sym("a/r", "../../..")],
            [f("a/x"), f("a/b/f", "via"), f("a/r/g", "rel"), f("a/b/sub/h", "deep")],
        ],
        # removed by a whiteout, then written again: a new, empty directory
        "dir-whited-out": [
            [d("a"), d("a/b"), f("a/b/old", "o")],
            [f("a/x"), f("a/b/keep", "k"), wh("a/b"), f("a/b/new", "n")],
        ],
        # removed (its lower children) by an opaque marker of its parent
        "parent-opaque": [
            [d("a"), d("a/b"), f("a/b/old", "o")],
            [f("a/x"), opq("a"), f("a/b/new", "n")],
        ],
        # replaced by a file, by a hard link's rename, then by a symlink to a sibling
        "dir-becomes-file-then-symlink": [
            [d("a"), d("a/b"), f("a/b/1", "1"), d("a/t"), f("a/t/0", "0")],
            [f("a/x"), f("a/b", "file"), sym("a/b", "t"), f("a/b/2", "2")],
        ],
        # a cached directory itself becomes a symlink: its children resolve through the link
        "cached-parent-becomes-symlink": [
            [d("a"), d("a/b"), f("a/b/1", "1"), d("c")],
            [f("a/b/2", "2"), sym("a", "c"), f("a/b/3", "3"), f("a/z", "z")],
        ],
        # a removed directory's fd must not be used to create what follows
        "removed-then-recreated-deeper": [
            [d("a"), d("a/b"), d("a/b/c"), f("a/b/c/1", "1")],
            [f("a/b/x"), wh("a/b"), f("a/b/c/2", "2"), f("a/b/c/d/3", "3")],
        ],
    }


def _layers(victim: Path, layers: list[list[E]]) -> list[list[E]]:
    return [[replace(e, target=str(victim)) if e.target == VICTIM else e for e in layer] for layer in layers]


def _walk_always(self: RootFS, parent: Parent, name: str, *, create: bool) -> Parent | None:
    return self.open_dir([*parent.parts, name], create=create)


@pytest.mark.parametrize("case", sorted(_cases()))
def test_one_step_opens_give_the_tree_of_walks_from_the_root(
    out: Path,
    victim: Path,
    tmp_path_factory: pytest.TempPathFactory,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layers = _layers(victim, _cases()[case])
    apply_tars(out, layers)
    walked = tmp_path_factory.mktemp("walked")
    with monkeypatch.context() as m:
        m.setattr(RootFS, "open_child", _walk_always)
        apply_tars(walked, layers)
    assert snapshot(out, mtimes=True) == snapshot(walked, mtimes=True)


def test_children_of_a_replaced_directory_land_where_the_symlink_leads(out: Path, victim: Path) -> None:
    apply_tars(out, _layers(victim, _cases()["dir-becomes-symlink-later-layer"]))
    inside = out / victim.relative_to("/")
    assert (inside / "f2").read_text() == "2" and (inside / "sub" / "f4").read_text() == "4"
    assert os.readlink(out / "a" / "b") == str(victim) and not (out / "a" / "b" / "f3").exists()


def test_whited_out_directory_keeps_only_what_its_layer_wrote(out: Path) -> None:
    apply_tars(out, _cases()["removed-then-recreated-deeper"])
    assert sorted(p.relative_to(out).as_posix() for p in (out / "a").rglob("*")) == [
        "a/b",
        "a/b/c",
        "a/b/c/2",
        "a/b/c/d",
        "a/b/c/d/3",
        "a/b/x",  # written by the whiteout's layer (rule 5); the lower a/b/c/1 is gone
    ]


def test_a_file_one_step_below_is_not_a_directory(out: Path) -> None:
    with pytest.raises(IntegrityError, match="not a directory"):
        apply_tars(out, [[d("a"), f("a/x"), f("a/b", "file"), f("a/b/c", "no")]])


def test_a_layer_of_directories_opens_each_directory_once(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A directory entry, then its files: the directory is opened one step from its parent's fd
    (not walked from the root again)."""
    opens: list[str] = []
    real = os.open

    def counting(path: str, flags: int, *args: object, **kw: object) -> int:
        if flags & os.O_PATH:
            opens.append(path)
        return real(path, flags, *args, **kw)  # type: ignore[arg-type]

    entries: Sequence[E] = [d("configs")]
    for i in range(40):
        entries = [*entries, d(f"configs/p{i}"), f(f"configs/p{i}/catalog.json", str(i))]
    monkeypatch.setattr(os, "open", counting)  # (the os module fsroot calls)
    applier, _ = apply_tars(out, [list(entries)], finalize=False)
    assert opens.count("configs") == 1
    assert sorted(opens) == sorted(["configs", *(f"p{i}" for i in range(40))])
    opens.clear()
    applier.finalize()  # the times of 41 directories: their one common parent is opened once
    assert opens == ["configs"]
    assert (out / "configs" / "p39" / "catalog.json").read_text() == "39"
