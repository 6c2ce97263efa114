"""Our applier against ``umoci unpack --rootless`` (umoci 0.4.7) on a corpus of multi-layer images.

Compared: paths, types, file contents, symlink targets, hard-link groups, file mtimes and modes
under our output policy.  umoci differences we normalise (documented in applier.py and below):

* modes: we make output readable by everyone (files ``|0644``, dirs ``|0755``) and drop
  setuid/setgid/sticky; umoci keeps the tar modes (incl. setuid and mode-000 dirs);
* devices: umoci --rootless writes an empty regular file; FIFOs: umoci creates them; we create
  neither (the entry still hides the lower layers' file of that name, as in umoci);
* dir mtimes are not compared (umoci's change when a later layer adds children);
* same-layer whiteouts: umoci's result depends on entry order when a whiteout follows a same-layer
  entry below the whited-out path, and when an opaque marker follows same-layer children created
  without their own dir entry; we keep the same-layer entries in every order (the OCI spec's rule);
  unit tests cover that, the corpus avoids it;
* ``..`` in names: umoci cleans it lexically (``../../x`` -> ``x``), we refuse the layer.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from imgextract.errors import IntegrityError
from tests.unit.layers.layerkit import (
    UMOCI,
    E,
    apply_tars,
    d,
    f,
    hard,
    normalize_umoci,
    opq,
    snapshot,
    sym,
    tar_bytes,
    wh,
)

pytestmark = pytest.mark.oracle


@pytest.fixture(autouse=True)
def _need_umoci() -> None:
    if UMOCI is None:
        if os.environ.get("CI") == "true":
            pytest.fail("umoci is required in CI (apt-get install umoci)")
        pytest.skip("umoci not installed")


def compare(tmp_path: Path, layers: list[list[E]], *, specials: frozenset[str] = frozenset()) -> None:
    tars = [tar_bytes(layer) for layer in layers]
    ours = tmp_path / "ours"
    ours.mkdir()
    apply_tars(ours, tars)
    theirs = _umoci(tmp_path, tars)
    expected = normalize_umoci(snapshot(theirs, mtimes=True), set(specials))
    actual = snapshot(ours, mtimes=True)
    diff = [
        f"{k}: umoci={expected.get(k)} ours={actual.get(k)}"
        for k in sorted(expected.keys() | actual.keys())
        if expected.get(k) != actual.get(k)
    ]
    assert not diff, "\n".join(diff)


def _umoci(tmp_path: Path, tars: list[bytes]) -> Path:
    from tests.unit.layers.layerkit import umoci_unpack

    return umoci_unpack(tmp_path / "umoci", tars)


CORPUS: dict[str, tuple[list[list[E]], frozenset[str]]] = {
    "basic-overwrite": (
        [
            [
                d("etc"),
                f("etc/os-release", "ID=test"),
                d("usr/bin"),
                f("usr/bin/tool", "#!/bin/sh", mode=0o755),
                sym("bin", "usr/bin"),
            ],
            [f("etc/os-release", "ID=test2"), f("usr/bin/other", "o", mode=0o700)],
        ],
        frozenset(),
    ),
    "whiteouts-files-and-dirs": (
        [
            [d("a"), f("a/1", "1"), f("a/2", "2"), d("a/sub"), f("a/sub/x", "x"), f("top", "t")],
            [wh("a/1"), wh("a/sub"), f("a/3", "3")],
            [wh("top"), d("a/sub"), f("a/sub/y", "y")],
        ],
        frozenset(),
    ),
    "opaque-dirs": (
        [
            [d("app"), f("app/old", "o"), d("app/lib"), f("app/lib/l", "l"), d("keep"), f("keep/k", "k")],
            [d("app"), opq("app"), f("app/new", "n"), d("app/lib"), f("app/lib/m", "m")],
            [d("keep"), opq("keep")],
        ],
        frozenset(),
    ),
    "hardlinks": (
        [
            [f("t2", "two", mode=0o640), hard("t1", "t2"), hard("t3", "t2"), d("d"), hard("d/t4", "t2")],
            [f("t1", "rewritten")],
            [hard("t5", "t3"), wh("t2")],
        ],
        frozenset(),
    ),
    "symlink-chains": (
        [
            [
                d("real/deep"),
                sym("l1", "l2"),
                sym("l2", "/l3"),
                sym("l3", "real"),
                sym("up", "real/deep/../.."),
            ],
            [f("l1/deep/file", "through chain"), f("up/real/viaup", "u"), sym("abs", "/real/deep")],
            [f("abs/x", "abs"), sym("dangling", "/nowhere/at/all")],
        ],
        frozenset(),
    ),
    "dir-file-swaps": (
        [
            [d("x"), f("x/in", "i"), f("y", "file y"), sym("z", "x")],
            [f("x", "x is a file"), d("y"), f("y/in", "y in"), d("z"), f("z/own", "z")],
            [d("x"), f("x/again", "a"), sym("y", "x"), f("z", "z file")],
        ],
        frozenset(),
    ),
    "symlink-replaced-by-dir-and-whiteout-through-link": (
        [
            [d("etc"), f("etc/passwd", "p"), f("etc/group", "g"), sym("le", "/etc"), sym("le2", "/etc")],
            [d("le"), f("le/own", "own"), f("le2/.wh.passwd")],
            [wh("le2")],
        ],
        frozenset(),
    ),
    "modes-and-owners": (
        [
            [
                d("m", mode=0o700),
                E("m/suid", "file", b"s", mode=0o4755, uid=1000, gid=1000),
                f("m/secret", "s", mode=0o600),
                f("m/exec", "e", mode=0o711),
                d("m/shared", mode=0o2775),
                d("tmpdir", mode=0o1777),
            ],
            [f("m/secret", "again", mode=0o400)],
        ],
        frozenset(),
    ),
    "long-and-unicode-names": (
        [
            [
                f("/".join(["l" * 120] * 3) + "/file", "deep"),
                f("ünïcødé/файл", "u"),
                sym("s" * 150, "ünïcødé"),
            ],
            [f(("s" * 150) + "/via-long-link", "v")],
        ],
        frozenset(),
    ),
    "whiteout-then-recreate-same-layer": (
        [
            [f("a", "lower"), d("dir"), f("dir/x", "x")],
            [wh("a"), f("a", "upper"), wh("dir"), d("dir"), f("dir/y", "y")],
        ],
        frozenset(),
    ),
    "devices-and-fifos": (
        [
            [f("dev", "lower dev"), f("fifo", "lower fifo"), f("plain", "p")],
            [E("dev", "chr"), E("fifo", "fifo"), E("newdev", "blk")],
        ],
        frozenset({"dev", "fifo", "newdev"}),
    ),
    "hardlinks-to-devices-and-fifos": (
        [
            [f("plain", "p"), E("dev", "chr"), E("fifo", "fifo"), hard("hd", "dev"), hard("hf", "fifo")],
            [hard("plain", "hd"), hard("later", "hf"), E("blk", "blk"), f("blk", "a file now")],
        ],
        frozenset({"dev", "fifo", "hd", "hf", "plain", "later"}),
    ),
    "hardlink-to-symlink-and-through-symlinked-parent": (
        [
            [d("data"), f("data/f", "F"), sym("s", "data/f"), sym("dl", "/data")],
            [hard("hs", "s"), hard("hf", "dl/f")],
        ],
        frozenset(),
    ),
    "absolute-and-escaping-symlinks-as-parents": (
        [
            [sym("root", "/"), sym("esc", "../../../../.."), d("foo"), f("foo/old", "o")],
            [f("root/via-root", "r"), f("esc/via-esc", "e"), sym("foo", "/"), f("foo/tmp/x", "x")],
        ],
        frozenset(),
    ),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_matches_umoci(tmp_path: Path, name: str) -> None:
    layers, specials = CORPUS[name]
    compare(tmp_path, layers, specials=specials)


@pytest.mark.parametrize(
    "layers",
    [
        [[hard("l", "missing")]],
        [[sym("a", "b"), sym("b", "a"), f("a/x", "x")]],
        [[d("dir"), hard("l", "dir")]],
    ],
    ids=["hardlink-missing-target", "symlink-loop", "hardlink-to-dir"],
)
def test_both_refuse(tmp_path: Path, layers: list[list[E]]) -> None:
    tars = [tar_bytes(layer) for layer in layers]
    with pytest.raises(IntegrityError):
        (tmp_path / "ours").mkdir()
        apply_tars(tmp_path / "ours", tars)
    with pytest.raises(subprocess.CalledProcessError):
        _umoci(tmp_path, tars)


def _raw(records: bytes, name: str = "f", *, type_: bytes = b"x", header: bytes | None = None) -> bytes:
    from tests.unit.layers.layerkit import END, ext_member, pad, raw_header

    member = header if header is not None else raw_header(name, size=1)
    return ext_member(type_, records) + member + pad(b"F") + END


def _pax(**records: str) -> bytes:
    from tests.unit.layers.layerkit import pax_record

    return b"".join(pax_record(k, v) for k, v in records.items())


RAW_CORPUS = {  # tar headers Go's archive/tar reads in ways Python's tarfile does not
    "pax-empty-values-keep-the-header": _raw(_pax(path="", size="", mtime="", linkpath="")),
    "pax-mtime-nanoseconds": _raw(_pax(mtime="1700000000.123456789")),
    "pax-mtime-more-than-nine-digits": _raw(_pax(mtime="1700000000.9999999999")),
    "pax-size-with-a-plus": _raw(_pax(size="+1")),
    "gnu-empty-long-name": _raw(b"\0", type_=b"L"),
}
RAW_REFUSED = {
    "pax-mtime-exponent": _raw(_pax(mtime="1.7e9")),
    "pax-mtime-word": _raw(_pax(mtime="yesterday")),
    "pax-uid-not-a-number": _raw(_pax(uid="root")),
    "pax-atime-not-a-time": _raw(_pax(atime="1.2.3")),
}


@pytest.mark.parametrize("name", sorted(RAW_CORPUS))
def test_raw_tar_headers_read_as_umoci_reads_them(tmp_path: Path, name: str) -> None:
    """Names, contents and file times to the nanosecond, as umoci's Go archive/tar reads them."""
    tar = RAW_CORPUS[name]
    ours = tmp_path / "ours"
    ours.mkdir()
    apply_tars(ours, [tar])
    theirs = _umoci(tmp_path, [tar])
    assert snapshot(ours) == normalize_umoci(snapshot(theirs))
    assert snapshot(ours)  # not vacuous
    for rel in snapshot(ours):
        assert os.lstat(ours / rel).st_mtime_ns == os.lstat(theirs / rel).st_mtime_ns, rel


@pytest.mark.parametrize("name", sorted(RAW_REFUSED))
def test_raw_tar_headers_both_refuse(tmp_path: Path, name: str) -> None:
    tar = RAW_REFUSED[name]
    (tmp_path / "ours").mkdir()
    with pytest.raises(IntegrityError):
        apply_tars(tmp_path / "ours", [tar])
    with pytest.raises(subprocess.CalledProcessError):
        _umoci(tmp_path, [tar])
