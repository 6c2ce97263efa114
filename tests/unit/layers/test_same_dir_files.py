"""The applier's plain-file path (a file of the same directory as the previous one reuses its
directory, checks and selection): every sequence of entries gives the tree, the errors and the
file count that the general entry path gives, whatever happens to that directory in between."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgextract.errors import ImgExtractError
from imgextract.layers.applier import Applier, Limits
from imgextract.layers.entries import ApplierEntries
from imgextract.layers.layerstats import LayerStats
from imgextract.layers.member import Member, MemberData
from imgextract.layers.paths import _PARENT_CACHE
from imgextract.layers.tarruns import PlainRuns
from imgextract.layers.tarstream import TarReader
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
        # a directory entry, then its files (taken after it, in the reader's runs)
        "dir-over-lower-symlink-then-files": [
            [sym("d", VICTIM)],
            [f("x", "1"), d("d"), f("d/a", "1"), f("d/b", "2")],
        ],
        "dir-spellings-then-files": [
            [
                f("x", "1"),
                d("./d//"),
                f("d/a", "1"),
                d("e/./"),
                f("e/./b", "2"),
                f("e/c", "3"),
                d("/g"),
                f("g/h", "4"),
            ]
        ],
        "dir-then-whiteout-of-it": [
            [f("d/old", "o")],
            [f("x", "1"), d("d"), f("d/a", "1"), wh("d"), f("d/b", "2")],
        ],
        "nested-dirs-then-files": [
            [f("x", "1"), d("d"), d("d/sub"), f("d/sub/a", "1"), f("d/b", "2"), f("d/sub/c", "3"), d("d/sub")]
            + [f("d/sub/e", "5"), sym("d/sub", VICTIM), d("d/sub"), f("d/sub/z", "6")]
        ],
        "whiteouts-after-a-run": [  # files written in a run survive this layer's whiteouts
            [f("d/y", "lower"), f("d/old", "o"), f("e/k", "k")],
            [d("d"), f("d/x", "1"), f("d/y", "2"), f("d/z", "3"), wh("d/y"), wh("d/old"), opq("d")]
            + [f("e/a", "1"), f("e/b", "2"), opq("e"), wh("e/a"), f("e/c", "3"), wh("e/c")],
        ],
        "file-exists-in-a-run": [  # a name a lower layer has, in the middle of a run
            [f("d/b", "lower"), sym("d/c", "b"), d("d/e")],
            [f("d/a", "1"), f("d/b", "22"), f("d/c", "333"), f("d/e", "4"), f("d/f", "5")],
        ],
        # directories next to the last one (taken after a run, through the reader's next_dir)
        "sibling-dirs-with-files": [
            [
                d("p"),
                d("p/a"),
                f("p/a/x", "1"),
                d("p/b"),
                f("p/b/x", "2"),
                f("p/b/y", "3"),
                d("p/c"),
                d("p/e"),
                f("p/e/x", "4"),
                d("p/a", 0o500),
                f("p/a/z", "5"),
            ]
        ],
        "sibling-dir-over-lower-entries": [
            [f("p/b", "file"), sym("p/c", VICTIM), d("p/e"), f("p/e/old", "o"), sym("p/g", "e")],
            [d("p/a"), f("p/a/x", "1"), d("p/b"), f("p/b/x", "2"), d("p/c"), f("p/c/x", "3")]
            + [d("p/e", 0o700), f("p/e/x", "4"), d("p/g"), f("p/g/x", "5")],
        ],
        "sibling-dir-spellings": [
            [d("./p//a/"), f("p/a/x", "1"), d("./p//b"), f("./p//b/x", "2"), d("./p//c/"), d("p/e/")]
            + [f("p/e/x", "3"), d("./p//.wh.a/"), d("./p//f/./"), f("p/f/y", "4")]
        ],
        "sibling-dir-after-whiteout-or-symlink": [
            [f("p/old/x", "o")],
            [d("p/a"), f("p/a/x", "1"), wh("p/old"), d("p/b"), f("p/b/x", "2"), sym("p/s", VICTIM)]
            + [d("p/c"), f("p/c/x", "3"), opq("p"), d("p/e"), f("p/e/x", "4")],
        ],
        "sibling-dir-under-a-symlinked-parent": [
            [d("real"), sym("p", "real")],
            [d("p/a"), f("p/a/x", "1"), d("p/b"), f("p/b/x", "2"), d("p/c")],
        ],
        "sibling-dirs-evicted-parent": [
            [d("p/a"), f("p/a/x", "1")]
            + [d(f"x{i}/y") for i in range(_PARENT_CACHE + 2)]
            + [f("p/a/y", "2"), d("p/b"), f("p/b/x", "3")]
        ],
        "more-siblings-than-the-fd-cache": [
            [d("p"), d("p/d00"), f("p/d00/x", "0")]
            + [e for i in range(1, _PARENT_CACHE + 6) for e in (d(f"p/d{i:02d}"), f(f"p/d{i:02d}/x", str(i)))]
        ],
        "sibling-dirs-of-a-top-level-dir": [
            [d("a"), f("a/x", "1"), d("b"), f("b/x", "2"), d("c/"), f("c/x", "3")]
        ],
        "evicted-then-replaced": [
            [d("d"), f("d/a", "1")]
            + [d(f"x{i}/y") for i in range(_PARENT_CACHE + 2)]
            + [sym("d", VICTIM), f("d/b", "2")]
        ],
    }


def _no_dir(self: PlainRuns, prefix: bytes) -> None:
    return None  # no directories next to the last one in one step


def _general_only(self: ApplierEntries, reader: MemberData, m: Member, stats: LayerStats) -> bool:
    return False  # every entry through Applier._entry


def _no_run(self: PlainRuns, prefix: bytes) -> Iterator[tuple[bytes, int, int, memoryview]]:
    return iter(())  # no runs of plain files (after a file or a directory)


def _general_path(m: pytest.MonkeyPatch) -> None:
    """Every entry through ``Applier._entry``: no same-directory step, no run, no sibling step."""
    m.setattr(Applier, "_file_entry", _general_only)
    m.setattr(TarReader, "plain_run", _no_run)
    m.setattr(TarReader, "next_dir", _no_dir)


def _layers(victim: Path, layers: list[list[E]]) -> list[list[E]]:
    return [[replace(e, target=str(victim)) if e.target == VICTIM else e for e in layer] for layer in layers]


def _run(root: Path, layers: list[list[E]], paths: list[str] | None) -> tuple[object, object, object]:
    try:
        applier, stats = apply_tars(root, layers, paths=paths)
    except ImgExtractError as e:
        return type(e).__name__, str(e), None
    return (
        snapshot(root, mtimes=True),
        [(s.files, s.bytes_written, sorted(s.top_level), s.dirs, s.entries, s.skipped) for s in stats],
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


@pytest.mark.parametrize(
    "paths",
    [None, ["d"], ["d/a", "d/b", "d/sub"], ["p"], ["p/b", "p/e/x"]],
    ids=["all", "dir", "some-files", "p", "p-some"],
)
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
        _general_path(m)
        tree_g, stats_g, _ = _run(general, layers, paths)
    assert (tree, stats) == (tree_g, stats_g)
    if isinstance(applier, Applier) and applier.file_count() is not None:
        assert applier.file_count() == _walk(out)


_COMPONENTS = ["d", "e", "x"]
_SPELLINGS = ["{}", "./{}", "{}/"]  # ("a//b" and "a/./b" come from the joins below)


@st.composite
def _name(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(_COMPONENTS), min_size=1, max_size=3))
    sep = draw(st.sampled_from(["/", "//", "/./"]))
    return draw(st.sampled_from(_SPELLINGS)).format(sep.join(parts))


@st.composite
def _entry(draw: st.DrawFn) -> E:
    name = draw(_name())
    kind = draw(st.sampled_from(["file", "file", "file", "file", "dir", "sym", "hard", "wh", "opq"]))
    if kind == "file":
        return f(name, draw(st.sampled_from(["", "1", "22"])))
    if kind == "dir":
        return d(name, draw(st.sampled_from([0o755, 0o500])))
    if kind == "sym":
        return sym(name, draw(st.sampled_from([".", "..", "d", "e/x", "/x", VICTIM])))
    if kind == "hard":
        return hard(name, draw(_name()).rstrip("/"))
    clean = "/".join(p for p in name.split("/") if p not in ("", "."))
    return wh(clean) if kind == "wh" else opq(clean)


@settings(
    max_examples=int(os.environ.get("LAYERS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    layers=st.lists(st.lists(_entry(), min_size=1, max_size=12), min_size=1, max_size=3),
    paths=st.sampled_from([None, ["d"], ["d/x", "e"]]),
)
def test_random_layers_match_the_general_path(layers: list[list[E]], paths: list[str] | None) -> None:
    base = Path(tempfile.mkdtemp(prefix="same-dir-"))
    try:
        victim = base / "victim"
        (victim / "sub").mkdir(parents=True)
        (victim / "file").write_text("precious")
        before = snapshot(victim)
        concrete = _layers(victim, layers)
        (base / "fast").mkdir()
        (base / "general").mkdir()
        tree, stats, applier = _run(base / "fast", concrete, paths)
        original, original_plain, original_dir = Applier._file_entry, TarReader.plain_run, TarReader.next_dir
        Applier._file_entry = _general_only  # type: ignore[method-assign]
        TarReader.plain_run = _no_run  # type: ignore[method-assign]
        TarReader.next_dir = _no_dir  # type: ignore[method-assign]
        try:
            tree_g, stats_g, _ = _run(base / "general", concrete, paths)
        finally:
            Applier._file_entry = original  # type: ignore[method-assign]
            TarReader.plain_run = original_plain  # type: ignore[method-assign]
            TarReader.next_dir = original_dir  # type: ignore[method-assign]
        assert (tree, stats) == (tree_g, stats_g)
        if isinstance(applier, Applier) and applier.file_count() is not None:
            assert applier.file_count() == _walk(base / "fast")
        assert snapshot(victim) == before
    finally:
        shutil.rmtree(base)


# -- the reader's runs of plain files (TarReader.plain_run) -----------------------------------


def test_the_files_after_a_file_or_a_directory_come_in_one_step(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else the comparisons above would not cover them: a whole tar's plain files after a file of
    their directory, or after the directory's own entry, are read and written by the applier's
    loop through ``plain_run``."""
    taken: list[str] = []
    original = TarReader.plain_run

    def counting(self: TarReader, prefix: bytes) -> Iterator[tuple[bytes, int, int, memoryview]]:
        for got in original(self, prefix):
            taken.append(prefix.decode() + got[0].decode())
            yield got

    monkeypatch.setattr(TarReader, "plain_run", counting)
    layer = [d("d"), f("d/a", "1"), f("d/b", "22"), f("d/c", ""), f("e/x", "3"), f("e/y", "4")]
    _, [stats] = apply_tars(out, [layer], compress="none")  # (in one piece: gzip's first is short)
    assert taken == ["d/a", "d/b", "d/c", "e/y"]
    assert (stats.files, stats.bytes_written, stats.entries) == (5, 5, 6)
    assert (out / "d" / "b").read_text() == "22" and (out / "d" / "c").stat().st_size == 0
    assert (out / "d" / "a").read_text() == "1" and (out / "e" / "y").read_text() == "4"


def test_the_directories_next_to_the_last_one_come_in_one_step(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Else the comparisons above would not cover them: after a run, a directory next to the one
    the general path made last is read and made by the applier's loop through ``next_dir``,
    and its files through ``plain_run``."""
    taken: list[str] = []
    original = TarReader.next_dir

    def counting(self: TarReader, prefix: bytes) -> object:
        got = original(self, prefix)
        if got is not None:
            taken.append(prefix.decode() + got[0].decode())
        return got

    monkeypatch.setattr(TarReader, "next_dir", counting)
    layer = [
        d("p"),
        d("p/a"),
        f("p/a/x", "1"),
        d("p/b"),
        f("p/b/x", "22"),
        d("p/c"),
        d("p/e"),
        f("p/e/y", ""),
    ]
    _, [stats] = apply_tars(out, [layer], compress="none")
    assert taken == ["p/b/", "p/c/", "p/e/"]
    assert (stats.files, stats.dirs, stats.entries) == (3, 5, 8)
    assert (out / "p" / "b" / "x").read_text() == "22" and (out / "p" / "c").is_dir()
    assert (out / "p" / "e" / "y").stat().st_size == 0


_FSIZE_RUN = """
import resource, sys
from pathlib import Path
from imgextract.layers.applier import Applier
from imgextract.layers.tarruns import PlainRuns
from imgextract.layers.tarstream import TarReader
from tests.unit.layers.layerkit import apply_tars, d, f
if sys.argv[2] == "general":
    Applier._file_entry = lambda *a: False
    TarReader.plain_run = lambda *a: iter(())
    TarReader.next_dir = lambda *a: None
elif sys.argv[2] == "no-run":
    TarReader.plain_run = lambda *a: iter(())
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
root = Path(sys.argv[1])
try:
    apply_tars(root, [[d("d"), f("d/a", "1"), f("d/b", "2"), f("d/c", "x" * 9000), f("d/e", "4")]])
except OSError as e:
    print(type(e).__name__, e.errno, e.filename, sorted(p.name for p in (root / "d").iterdir()))
"""


def test_a_failed_write_in_a_run_is_reported_as_the_general_path_reports_it(tmp_path: Path) -> None:
    """A file larger than RLIMIT_FSIZE allows (EFBIG: the local system, not the layer): the same
    error, naming the same entry, the half-written file removed, whichever path wrote it."""
    import signal
    import subprocess
    import sys

    results = []
    for how in ("run", "no-run", "general"):
        root = tmp_path / how
        root.mkdir()
        proc = subprocess.run(
            [sys.executable, "-c", _FSIZE_RUN, str(root), how],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[3],
            preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN),  # (EFBIG, not a signal)
        )
        results.append(proc.stdout)
    assert results[0] == f"OSError {errno.EFBIG} d/c ['a', 'b']\n"
    assert results == [results[0]] * 3


@pytest.mark.parametrize("cap", [2, 3, 4])
def test_the_entry_cap_stops_a_run_where_it_stops_the_general_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    layer = [d("d"), f("d/a", "1"), f("d/b", "2"), f("d/c", "3"), f("d/e", "4")]
    got = []
    for how in ("run", "general"):
        root = tmp_path / how
        root.mkdir()
        with monkeypatch.context() as m:
            if how == "general":
                _general_path(m)
            with pytest.raises(ImgExtractError) as e:
                apply_tars(root, [layer], limits=Limits(max_entries=cap))
        got.append((type(e.value).__name__, str(e.value), sorted(p.name for p in (root / "d").iterdir())))
    assert got[0] == got[1]
    assert got[0][2] == ["a", "b", "c"][: cap - 1]


@pytest.mark.parametrize("cap", [3, 4, 5, 6])
def test_the_entry_cap_stops_at_a_sibling_directory_where_it_stops_the_general_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    layer = [d("p"), d("p/a"), f("p/a/x", "1"), d("p/b"), d("p/c"), f("p/c/x", "2"), d("p/e")]
    got = []
    for how in ("run", "general"):
        root = tmp_path / how
        root.mkdir()
        with monkeypatch.context() as m:
            if how == "general":
                _general_path(m)
            with pytest.raises(ImgExtractError) as e:
                apply_tars(root, [layer], limits=Limits(max_entries=cap))
        got.append((type(e.value).__name__, str(e.value), snapshot(root)))
    assert got[0] == got[1]


def test_file_modes_of_a_run_under_a_umask_match_the_general_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A umask that takes bits from the files' modes (each file is fchmodded then): every file of
    a run gets its entry's mode as the general path gives it, whether the mode repeats from file
    to file or changes (the run keeps the last one it worked out)."""
    modes = [0o644, 0o644, 0o755, 0o755, 0o600, 0o4755, 0o644, 0o640]
    layer = [d("d"), *[f(f"d/{i}", "x", mode=m) for i, m in enumerate(modes)]]
    taken: list[bytes] = []
    original = TarReader.plain_run

    def counting(self: TarReader, prefix: bytes) -> Iterator[tuple[bytes, int, int, memoryview]]:
        for got in original(self, prefix):
            taken.append(got[0])
            yield got

    got = []
    old = os.umask(0o077)
    try:
        for how in ("run", "general"):
            root = tmp_path / how
            root.mkdir()
            with monkeypatch.context() as m:
                if how == "general":
                    _general_path(m)
                else:
                    m.setattr(TarReader, "plain_run", counting)
                apply_tars(root, [layer], compress="none")
            got.append(snapshot(root, mtimes=True))
    finally:
        os.umask(old)
    assert got[0] == got[1]
    assert len(taken) == len(modes)
    assert [stat.S_IMODE((tmp_path / "run" / "d" / str(i)).stat().st_mode) for i in range(len(modes))] == [
        0o644,
        0o644,
        0o755,
        0o755,
        0o644,
        0o755,
        0o644,
        0o644,
    ]
