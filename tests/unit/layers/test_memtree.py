"""Selected files of small layers read into memory: the applier's result, or a refusal.

For every layer stack below, :class:`MemTree` either raises ``NotPlain`` (the caller then applies
the layers to disk) or holds exactly the regular files and directories the applier leaves under
the selection; the plain stacks must be read, the others must be refused.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from regfix.oci import Dir, Entry, File, Hardlink, Opaque, Symlink, Whiteout, build_tar

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers import memtree
from imgextract.layers.applier import Applier, Limits
from imgextract.layers.memtree import MemTree, NotPlain
from imgextract.layers.selection import PathSelection

PATHS = ["manifests", "metadata"]

PLAIN: dict[str, list[list[Entry]]] = {
    "one layer": [
        [
            Dir("manifests"),
            File("manifests/csv.yaml", "kind: ClusterServiceVersion\n"),
            File("metadata/annotations.yaml", "annotations: {}\n"),
            File("usr/share/doc/readme", "not selected\n"),
        ]
    ],
    "later layers win, directories merge": [
        [File("manifests/a.yaml", "a1"), File("manifests/b.yaml", "b1")],
        [File("manifests/a.yaml", "a2"), Dir("manifests/sub"), File("metadata/x.yaml", "x")],
    ],
    "a name twice in one layer": [[File("manifests/a.yaml", "first"), File("manifests/a.yaml", "second")]],
    "names spelled with ./ and //": [[File("./manifests//a.yaml", "a"), Dir("./metadata/"), Dir("./")]],
    "hard links outside the selection": [
        [
            File("manifests/a.yaml", "a"),
            Hardlink("usr/lib/copy", "manifests/a.yaml"),
            Hardlink("usr/lib/gone", "usr/lib/missing"),
            File("metadata/annotations.yaml", "b"),
        ]
    ],
    "a nested directory": [[File("manifests/deep/er/c.yaml", "c"), File("manifests/d.yaml", "d")]],
    "no metadata": [[File("manifests/a.yaml", "a")]],
    "the longest name the disk takes": [[File("manifests/" + "a" * 255, "x")]],
}

NOT_PLAIN: dict[str, list[list[Entry]]] = {
    "a symlink in the selection": [[File("manifests/a.yaml", "a"), Symlink("manifests/b.yaml", "a.yaml")]],
    "a symlink as a selected directory": [[Symlink("manifests", "real"), File("real/a.yaml", "a")]],
    "a hard link in the selection": [
        [File("manifests/a.yaml", "a"), Hardlink("manifests/b.yaml", "manifests/a.yaml")]
    ],
    "a whiteout": [[File("manifests/a.yaml", "a")], [Whiteout("manifests/a.yaml")]],
    "an opaque directory": [
        [File("manifests/a.yaml", "a")],
        [Opaque("manifests"), File("manifests/b.yaml", "b")],
    ],
    "a symlink outside the selection": [
        [File("manifests/a.yaml", "a"), Symlink("usr/bin/tool", "/bin/true")]
    ],
    "a whiteout outside the selection": [[File("manifests/a.yaml", "a"), Whiteout("usr/old")]],
    "a file where a directory was": [
        [File("manifests/sub/a.yaml", "a")],
        [File("manifests/sub", "now a file")],
    ],
    "a directory where a file was": [[File("manifests/a.yaml", "a")], [Dir("manifests/a.yaml")]],
    "a file at a selected path": [[File("manifests", "not a directory")]],
}


@pytest.mark.parametrize("typeflag", [b"7", b"X", b"Q"])
@pytest.mark.parametrize("where", ["manifests/odd", "usr/odd"])
def test_an_entry_type_the_applier_refuses_is_left_to_it_anywhere(
    typeflag: bytes, where: str, tmp_path: Path
) -> None:
    """A contiguous file (``7``) or an unknown type makes the applier refuse the whole layer, as
    umoci and containers/storage do, whether or not it is selected: the in-memory tree must not
    accept a layer the disk path refuses."""
    entries = [File("manifests/a.yaml", "a"), File(where, "x")]
    raw = bytearray(_layer(entries))
    header = 512 + 512  # the second entry's header follows the first's header and one data block
    assert raw[header : header + len(where)] == where.encode()
    raw[header + 156 : header + 157] = typeflag
    checksum = sum(raw[header : header + 148]) + 8 * 32 + sum(raw[header + 156 : header + 512])
    raw[header + 148 : header + 156] = b"%06o\0 " % checksum
    tree = MemTree(PathSelection(PATHS), Limits())
    with pytest.raises(NotPlain):
        tree.add_layer(io.BytesIO(bytes(raw)))
    applier = Applier(tmp_path, PathSelection(PATHS), Limits())
    with pytest.raises(IntegrityError, match="unknown type"):
        applier.apply(io.BytesIO(bytes(raw)))


def _layer(entries: list[Entry]) -> bytes:
    return build_tar(entries)


def _applied(layers: list[list[Entry]], root: Path) -> tuple[dict[str, bytes], set[str]]:
    applier = Applier(root, PathSelection(PATHS), Limits())
    for entries in layers:
        applier.apply(io.BytesIO(_layer(entries)))
    applier.finalize()
    files: dict[str, bytes] = {}
    dirs = {""}
    for top in PATHS:
        if not (root / top).is_dir():
            continue
        dirs.add(top)
        for base, dnames, fnames in os.walk(root / top):
            rel = Path(base).relative_to(root).as_posix()
            dirs.update(f"{rel}/{d}" for d in dnames)
            for f in fnames:
                files[f"{rel}/{f}"] = (Path(base) / f).read_bytes()
    return files, dirs


def _tree(layers: list[list[Entry]]) -> MemTree:
    tree = MemTree(PathSelection(PATHS), Limits())
    for entries in layers:
        tree.add_layer(io.BytesIO(_layer(entries)))
    return tree


@pytest.mark.parametrize("name", list(PLAIN))
def test_plain_layers_are_read_as_the_applier_leaves_them(name: str, tmp_path: Path) -> None:
    layers = PLAIN[name]
    tree = _tree(layers)
    files, dirs = _applied(layers, tmp_path)
    assert tree.files == files
    assert tree.dirs == dirs


@pytest.mark.parametrize("name", list(NOT_PLAIN))
def test_what_only_the_applier_resolves_is_refused(name: str) -> None:
    with pytest.raises(NotPlain):
        _tree(NOT_PLAIN[name])


@pytest.mark.parametrize(
    "layers",
    [
        [[Dir("manifests"), Symlink("x", "manifests"), File("x/extra.yaml", "E")]],
        [[Dir("manifests"), Symlink("x", "/manifests")], [File("x/extra.yaml", "E")]],
        [[Symlink("usr", "manifests"), File("usr/b.yaml", "B")]],
    ],
    ids=["relative, same layer", "absolute, later layer", "making the selected directory"],
)
def test_an_unselected_symlink_into_the_selection_is_left_to_the_applier(
    layers: list[list[Entry]], tmp_path: Path
) -> None:
    """Selection rule (applier.py): an entry is judged on its name *and* on where it resolves, so
    a symlink outside the selection that points into it makes the applier write the entries
    named through it into the selection.  The in-memory tree, which judges by name alone, must
    not hold a tree without them: any symlink leaves the layers to the applier."""
    files, _dirs = _applied(layers, tmp_path)
    assert any(name.endswith(".yaml") for name in files), files  # the applier wrote through the link
    with pytest.raises(NotPlain):
        _tree(layers)


def test_a_name_with_dotdot_is_left_to_the_applier_which_refuses_it() -> None:
    with pytest.raises(NotPlain):
        _tree([[File("manifests/../../etc/passwd", "x")]])


def test_a_name_too_long_for_the_disk_is_left_to_the_applier() -> None:
    _tree([[File("manifests/" + "a" * 255, "x")]])
    with pytest.raises(NotPlain):
        _tree([[File("manifests/" + "a" * 256, "x")]])
    with pytest.raises(NotPlain):
        _tree([[File("manifests/" + "\u00e9" * 128, "x")]])  # 256 bytes in UTF-8


def test_more_than_the_memory_budget_is_left_to_the_applier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memtree, "MEMORY_BUDGET", 10)
    _tree([[File("manifests/a.yaml", "0123456789")]])
    with pytest.raises(NotPlain):
        _tree([[File("manifests/a.yaml", "0123456789"), File("manifests/b.yaml", "x")]])


def test_live_trees_share_one_process_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A render reads up to ``jobs`` trees at once: together they hold at most PROCESS_BUDGET
    (past it a tree goes to the applier), and a dropped tree gives its share back."""
    import gc

    monkeypatch.setattr(memtree, "PROCESS_BUDGET", 15)
    first = _tree([[File("manifests/a.yaml", "0123456789")]])
    with pytest.raises(NotPlain):
        _tree([[File("manifests/a.yaml", "0123456789")]])
    second = _tree([[File("manifests/a.yaml", "01234")]])  # what is left fits
    del first
    gc.collect()
    third = _tree([[File("manifests/a.yaml", "0123456789")]])
    assert second.files and third.files
    del second, third
    gc.collect()
    assert memtree._pool_held[0] == 0


def test_the_entry_limit_holds() -> None:
    tree = MemTree(PathSelection(PATHS), Limits(max_entries=2))
    with pytest.raises(LimitExceeded):
        tree.add_layer(
            io.BytesIO(_layer([File("manifests/a", "a"), File("manifests/b", "b"), File("c", "c")]))
        )


class _Zeros(io.RawIOBase):
    """A layer of one regular file of ``size`` zero bytes, made as it is read (never held),
    counting what was handed out."""

    def __init__(self, name: str, size: int) -> None:
        import tarfile

        info = tarfile.TarInfo(name)
        info.size = size
        self._head = info.tobuf(format=tarfile.USTAR_FORMAT)
        self._total = len(self._head) + size + (-size % 512) + 1024
        self.given = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        n = min(1 << 20 if size < 0 else size, self._total - self.given)
        at = self.given
        head = self._head[at : at + n]
        self.given += n
        return head + bytes(n - len(head))


def test_a_file_past_the_budget_is_refused_before_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The header says how large a file is: one past the memory budget (a small compressed layer
    may inflate to gigabytes of zeros) is left to the applier, which streams it, without reading
    it into memory first."""
    monkeypatch.setattr(memtree, "MEMORY_BUDGET", 1 << 20)
    layer = _Zeros("manifests/big.yaml", 64 << 20)
    tree = MemTree(PathSelection(PATHS), Limits())
    with pytest.raises(NotPlain):
        tree.add_layer(layer)  # type: ignore[arg-type]
    assert layer.given <= 4 << 20, f"{layer.given} bytes read before the refusal"
    small = _Zeros("manifests/fits.yaml", 1 << 20)
    tree = MemTree(PathSelection(PATHS), Limits())
    tree.add_layer(small)  # type: ignore[arg-type]
    assert tree.files == {"manifests/fits.yaml": bytes(1 << 20)}
