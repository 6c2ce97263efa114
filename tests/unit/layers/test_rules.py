"""Applier rules (layers.md 1-17) beyond the malicious cases; stats; selection; parser edge cases."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.applier import Applier, Limits
from imgextract.layers.files import dir_mode, file_mode
from tests.unit.layers.layerkit import (
    END,
    MTIME,
    E,
    apply_tars,
    d,
    ext_member,
    f,
    hard,
    opq,
    pad,
    pax_record,
    raw_header,
    snapshot,
    sym,
    tar_bytes,
    wh,
)


def names(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_rule1_layers_apply_in_order(out: Path) -> None:
    apply_tars(out, [[f("a", "1")], [f("a", "2")], [f("a", "3")]])
    assert (out / "a").read_text() == "3"


@pytest.mark.parametrize("compress", ["gzip", "zstd", "none"])
def test_every_compression_applies(out: Path, compress: str) -> None:
    apply_tars(out, [[d("x"), f("x/y", "data")]], compress=compress)
    assert (out / "x/y").read_text() == "data"


def test_rule2_names_cleaned(out: Path) -> None:
    apply_tars(out, [[f("./a//b/./c", "x"), f("/abs", "y")]])
    assert names(out) == ["a", "a/b", "a/b/c", "abs"]


def test_rule3_dir_merge_keeps_children_and_takes_new_metadata(out: Path) -> None:
    apply_tars(
        out, [[d("m", mode=0o700, mtime=100), f("m/a", "a")], [d("m", mode=0o775, mtime=200), f("m/b", "b")]]
    )
    assert names(out) == ["m", "m/a", "m/b"]
    st = os.stat(out / "m")
    assert stat.S_IMODE(st.st_mode) == 0o755 and st.st_mtime == 200  # dirs are always 0755 (policy)


@pytest.mark.parametrize(
    ("lower", "upper", "kind"),
    [
        ([d("x"), f("x/in", "i")], [f("x", "file")], "file"),
        ([d("x"), f("x/in", "i")], [sym("x", "/elsewhere")], "sym"),
        ([f("t", "t"), d("x"), f("x/in", "i")], [hard("x", "t")], "file"),
        ([f("x", "file")], [d("x")], "dir"),
        ([sym("x", "/etc")], [f("x", "file")], "file"),
        ([sym("x", "target"), f("target", "T")], [f("x", "new")], "file"),
    ],
)
def test_rule3_replacement(out: Path, lower: list[E], upper: list[E], kind: str) -> None:
    apply_tars(out, [lower, upper])
    assert snapshot(out)["x"][0] == kind
    if (out / "target").exists():
        assert (out / "target").read_text() == "T"  # the old symlink was replaced, never followed


def test_rule5_whiteout_of_dir_with_same_layer_children_keeps_them(out: Path) -> None:
    apply_tars(out, [[d("D"), f("D/lower", "l"), d("D/s"), f("D/s/l2", "l")], [f("D/s/upper", "u"), wh("D")]])
    assert names(out) == ["D", "D/s", "D/s/upper"]


def test_rule5_a_file_written_first_does_not_shield_its_directory(out: Path) -> None:
    """The directory of a same-layer file only holds upper paths: a later whiteout of it still
    removes its lower content (the file's directory is not itself written by the layer)."""
    apply_tars(out, [[d("D"), f("D/lower", "l")], [f("D/upper", "u"), wh("D")]])
    assert names(out) == ["D", "D/upper"]


def test_rule5_whiteout_only_hides_lower_layers(out: Path) -> None:
    apply_tars(
        out, [[f("gone", "g"), d("dir"), f("dir/x", "x")], [wh("gone"), wh("dir"), wh("never-existed")]]
    )
    assert names(out) == []


def test_rule6_opaque_marker_first_or_last_and_nested(out: Path) -> None:
    lower = [d("a"), f("a/l", "l"), d("a/b"), f("a/b/l", "l"), f("top", "t")]
    apply_tars(out, [lower, [opq("a"), f("a/u", "u"), d("a/b"), f("a/b/u", "u")]])
    first = names(out)
    other = out / "o"
    other.mkdir()
    apply_tars(other, [lower, [f("a/u", "u"), d("a/b"), f("a/b/u", "u"), opq("a")]])
    assert first == names(other) == ["a", "a/b", "a/b/u", "a/u", "top"]


def test_rule6_opaque_root_and_missing_dir(out: Path) -> None:
    apply_tars(out, [[f("x", "1"), d("y")], [f("keep", "k"), opq(""), opq("new/dir")]])
    assert names(out) == ["keep"]


def test_rule7_other_wh_wh_names_ignored(out: Path) -> None:
    _, stats = apply_tars(out, [[f("a", "1")], [f(".wh..wh.plnk"), f(".wh..wh..foo"), f("d/.wh..wh.x")]])
    assert names(out) == ["a"] and stats[1].ignored == 3


def test_rule9_hardlink_rules(out: Path) -> None:
    with pytest.raises(IntegrityError, match="directory"):
        apply_tars(out, [[d("dir"), hard("l", "dir")]])


def test_rule9_hardlink_replacing_its_targets_directory_fails(out: Path) -> None:
    with pytest.raises(IntegrityError, match="does not exist"):
        apply_tars(out, [[f("c/a", "1")], [hard("c", "c/a")]])


def test_rule9_relink_same_inode_leaves_no_temp(out: Path) -> None:
    apply_tars(out, [[f("t", "x"), hard("l", "t"), hard("l", "t"), hard("t", "l")]])
    assert names(out) == ["l", "t"] and os.stat(out / "l").st_nlink == 2


@pytest.mark.parametrize("link", [hard("t", "t"), hard("t", "/./t"), hard("d/t", "l/t")])
def test_rule9_hardlink_to_itself_fails(out: Path, link: E) -> None:
    with pytest.raises(IntegrityError, match="itself"):
        apply_tars(out, [[f("t", "x"), f("d/t", "y"), sym("l", "d")], [link]])


def test_rule9_hardlink_entry_metadata_not_applied(out: Path) -> None:
    apply_tars(out, [[f("t", "x", mode=0o600), E("l", "link", target="t", mode=0o777, mtime=5)]])
    assert stat.S_IMODE(os.stat(out / "l").st_mode) == 0o644 and os.stat(out / "l").st_mtime == MTIME


def test_rule10_symlink_times_set_without_following(out: Path, victim: Path) -> None:
    before = os.stat(victim / "file").st_mtime_ns
    apply_tars(out, [[E("s", "sym", target=str(victim / "file"), mtime=42)]])
    assert os.lstat(out / "s").st_mtime == 42 and os.stat(victim / "file").st_mtime_ns == before


def test_rule11_missing_parents_0755(out: Path) -> None:
    apply_tars(out, [[f("a/b/c/file", "x")]])
    assert all(stat.S_IMODE(os.stat(out / p).st_mode) == 0o755 for p in ("a", "a/b", "a/b/c"))


def test_rule16_mtimes_and_clamping(out: Path) -> None:
    apply_tars(
        out,
        [
            [
                E("old", "file", b"o", mtime=0),
                E("new", "file", b"n", mtime=2**40),
                d("dd", mtime=777),
                f("dd/x", "x"),
            ]
        ],
    )
    assert os.stat(out / "old").st_mtime == 0
    assert 2**32 < os.stat(out / "new").st_mtime <= 253402300799  # clamped (and by the filesystem)
    assert os.stat(out / "dd").st_mtime == 777


def test_rule16_file_times_exact_to_the_nanosecond(out: Path) -> None:
    """Whole seconds (most headers) and a PAX fractional mtime: atime = mtime, both exact."""
    apply_tars(
        out,
        [[f("whole", "w", mtime=1_700_000_123), f("frac", "f", pax={"mtime": "1600000000.25"})]],
    )
    for name, ns in (("whole", 1_700_000_123 * 10**9), ("frac", 1_600_000_000_250_000_000)):
        st = os.stat(out / name)
        assert (st.st_mtime_ns, st.st_atime_ns) == (ns, ns), name


@pytest.mark.parametrize(
    ("given", "fmode", "dmode"),
    [
        (0o000, 0o644, 0o755),
        (0o4755, 0o755, 0o755),
        (0o1777, 0o755, 0o755),
        (0o2750, 0o754, 0o755),
        (0o666, 0o644, 0o755),
        (0o600, 0o644, 0o755),
    ],
)
def test_output_permission_policy(out: Path, given: int, fmode: int, dmode: int) -> None:
    assert file_mode(given) == fmode and dir_mode(given) == dmode
    apply_tars(out, [[E("dir", "dir", mode=given), E("dir/file", "file", b"x", mode=given)]])
    assert stat.S_IMODE(os.stat(out / "dir").st_mode) == dmode
    assert stat.S_IMODE(os.stat(out / "dir/file").st_mode) == fmode


def test_stats_and_top_level_paths(out: Path) -> None:
    _, stats = apply_tars(
        out,
        [
            [d("etc"), f("etc/a", "aaa"), sym("l", "etc"), hard("h", "etc/a"), E("p", "fifo")],
            [f("l/b", "b"), wh("x/gone"), opq("var/lib"), f(".wh..wh.plnk")],
        ],
    )
    s0, s1 = stats
    assert (s0.entries, s0.files, s0.dirs, s0.symlinks, s0.hardlinks, s0.ignored) == (5, 1, 1, 1, 1, 1)
    assert s0.top_level == {"etc", "l", "h", "p"} and s0.bytes_written == 3
    assert s1.top_level == {"l", "etc", "x", "var"} and s1.whiteouts == 2
    assert s0.digest and s0.diff_id and s0.uncompressed_size >= 10240


def test_stats_links_and_root_opaque(out: Path) -> None:
    _, stats = apply_tars(
        out,
        [
            [
                d("etc"),
                f("etc/a", "a"),
                sym("etc/l", "../usr/lib"),
                sym("bin", "/usr/bin"),
                sym("r", "../../.."),
                hard("h", "/etc/a"),
                sym("s", "sub/x"),
            ],
            [opq(""), f("keep", "k")],
            [opq("etc")],
        ],
        paths=None,
    )
    assert stats[0].links == {("etc", "usr"), ("bin", "usr"), ("r", ""), ("h", "etc"), ("s", "sub")}
    assert not stats[0].root_opaque and stats[1].root_opaque and not stats[2].root_opaque


def test_entry_cap(out: Path) -> None:
    with pytest.raises(LimitExceeded, match="entries"):
        apply_tars(out, [[f(f"f{i}") for i in range(6)]], limits=Limits(max_entries=5))


def test_entry_cap_counts_all_layers(out: Path) -> None:
    with pytest.raises(LimitExceeded):
        apply_tars(out, [[f("a"), f("b")], [f("c"), f("d")]], limits=Limits(max_entries=3))


@pytest.mark.parametrize("tar", [b"", END, b"\0" * 512, END + b"trailing data is covered by the diff_id"])
def test_empty_layers(out: Path, tar: bytes) -> None:
    apply_tars(out, [tar])
    assert names(out) == []


def test_invalid_header_after_first_member_is_an_error(out: Path) -> None:
    good = tar_bytes([f("a", "1")])[:1024]
    bad = bytearray(raw_header("b"))
    bad[148:156] = b"0000000\0"  # wrong checksum
    with pytest.raises(IntegrityError, match="invalid tar header"):
        apply_tars(out, [good + bytes(bad) + END])


def test_truncated_member_data_is_an_error(out: Path) -> None:
    tar = raw_header("big", size=10_000) + b"x" * 600
    with pytest.raises(IntegrityError):
        apply_tars(out, [tar])


def test_gnu_sparse_refused(out: Path) -> None:
    with pytest.raises(IntegrityError, match="sparse"):
        apply_tars(out, [raw_header("s", type_=tarfile.GNUTYPE_SPARSE) + END])


def test_gnu_format_long_names_and_links(out: Path) -> None:
    long = "x" * 150
    apply_tars(
        out, [tar_bytes([f(long, "L"), sym("s" * 120, long), hard("h" * 130, long)], fmt=tarfile.GNU_FORMAT)]
    )
    assert (out / ("h" * 130)).read_text() == "L" and os.readlink(out / ("s" * 120)) == long


def test_no_temporary_files_left_on_error(out: Path) -> None:
    with pytest.raises(IntegrityError):
        apply_tars(out, [[f("ok", "1"), hard("x", "missing")]])
    assert names(out) == ["ok"]


def test_non_utf8_names(out: Path) -> None:
    tar = raw_header("placeholder") + END
    tar = tar.replace(b"placeholder", b"caf\xe9\xff.txt\0\0")  # (the same length)
    hdr = bytearray(tar[:512])
    hdr[148:156] = b" " * 8
    hdr[148:156] = b"%06o\0 " % (sum(hdr) & 0o7777777)
    apply_tars(out, [bytes(hdr) + tar[512:]])
    assert os.listdir(os.fsencode(out)) == [b"caf\xe9\xff.txt"]


def test_apply_after_finalize_refused(out: Path) -> None:
    applier, _ = apply_tars(out, [[f("a")]])
    with pytest.raises(RuntimeError):
        applier.apply(io.BytesIO(tar_bytes([f("b")])))


# -- selection ---------------------------------------------------------------------------


def test_selection_extracts_only_selected_paths(out: Path) -> None:
    apply_tars(
        out,
        [
            [
                d("manifests", mode=0o700),
                f("manifests/a.yaml", "a"),
                d("metadata"),
                f("metadata/annotations.yaml", "m"),
                f("bin/tool", "t"),
                d("deep/x/y"),
                f("deep/x/y/z", "z"),
                f("deep/other", "o"),
            ],
            [wh("bin/tool"), f("manifests/b.yaml", "b"), wh("manifests/a.yaml")],
        ],
        paths=["manifests/", "/metadata", "deep/x"],
    )
    assert names(out) == [
        "deep",
        "deep/x",
        "deep/x/y",
        "deep/x/y/z",
        "manifests",
        "manifests/b.yaml",
        "metadata",
        "metadata/annotations.yaml",
    ]


def test_selection_of_one_file_does_not_take_its_siblings(out: Path) -> None:
    """Files of one directory come one after another: the first one selected by its own name
    says nothing about the next (only a selected directory covers all of them)."""
    layer = [d("d"), f("d/a", "a"), f("d/b", "b"), f("d/c", "c"), f("e/x", "x"), f("e/y", "y")]
    apply_tars(out, [layer], paths=["d/b", "e"])
    assert names(out) == ["d", "d/b", "e", "e/x", "e/y"]


def test_a_symlink_between_files_of_one_directory_redirects_the_next(out: Path) -> None:
    """The next file of the same directory name after the directory became a symlink lands where
    the symlink leads (inside the root), as it does for a first file."""
    apply_tars(out, [[d("t"), f("d/a", "a"), sym("d", "t"), f("d/b", "b")]])
    assert names(out) == ["d", "t", "t/b"]


def test_selection_whiteout_of_an_ancestor_applies(out: Path) -> None:
    apply_tars(
        out,
        [[f("manifests/a.yaml", "a")], [wh("manifests"), f("manifests/b.yaml", "b")]],
        paths=["manifests"],
    )
    assert names(out) == ["manifests", "manifests/b.yaml"]


def test_selection_through_a_symlink_created_first(out: Path) -> None:
    apply_tars(
        out,
        [
            [sym("manifests", "opt/bundle/manifests")],
            [f("opt/bundle/manifests/c.yaml", "c"), f("opt/bundle/other", "o")],
        ],
        paths=["manifests"],
    )
    assert names(out) == [
        "manifests",
        "opt",
        "opt/bundle",
        "opt/bundle/manifests",
        "opt/bundle/manifests/c.yaml",
    ]


def test_selection_entry_name_through_symlink_lands_in_selection(out: Path) -> None:
    apply_tars(
        out,
        [[d("manifests"), sym("alias", "manifests")], [f("alias/x.yaml", "x"), f("unrelated", "u")]],
        paths=["manifests"],
    )
    assert names(out) == ["manifests", "manifests/x.yaml"]


def test_selection_absolute_symlink_on_a_selected_path_is_refused(out: Path) -> None:
    # the kernel would resolve OUT/manifests -> /opt/... on the host: refused (see applier.py)
    with pytest.raises(IntegrityError, match="outside"):
        apply_tars(out, [[sym("manifests", "/opt/m"), f("opt/m/c.yaml", "c")]], paths=["manifests"])


@pytest.mark.parametrize("target", ["../x", "../out/m", "l2", "./../../etc"])
def test_selection_relative_symlink_climbing_out_is_refused(out: Path, target: str) -> None:
    with pytest.raises(IntegrityError, match="outside"):
        apply_tars(
            out,
            [[d("sub"), sym("l2", "/"), d("m"), sym("manifests", target), f("x/a.yaml", "a")]],
            paths=["manifests"],
        )


def test_selection_symlink_chain_outside_selection_is_kept_when_needed(out: Path) -> None:
    apply_tars(
        out,
        [
            [
                sym("manifests", "x/m"),
                sym("x", "y"),
                f("y/m/a.yaml", "a"),
                sym("unrelated", "y"),
                f("y/other", "o"),
            ]
        ],
        paths=["manifests"],
    )
    assert names(out) == ["manifests", "x", "y", "y/m", "y/m/a.yaml"]
    assert (out / "manifests/a.yaml").read_text() == "a"


def test_selection_unselected_symlink_replaced_later(out: Path) -> None:
    apply_tars(
        out,
        [
            [d("real1"), d("real2"), sym("manifests", "link"), sym("link", "real1")],
            [f("link", "now a file"), f("real1/a.yaml", "1"), f("real2/b.yaml", "2")],
        ],
        paths=["manifests"],
    )
    assert names(out) == ["link", "manifests"]  # manifests -> link, now a file: nothing under manifests


def test_selection_hardlink_to_unselected_target_is_a_clear_error(out: Path) -> None:
    with pytest.raises(IntegrityError, match="outside the selected paths"):
        apply_tars(out, [[f("store/blob", "b"), hard("manifests/x.yaml", "store/blob")]], paths=["manifests"])


def test_selection_skipped_count(out: Path) -> None:
    _, stats = apply_tars(out, [[f("a/x"), f("b/y"), f("b/z")]], paths=["a"])
    assert stats[0].skipped == 2 and stats[0].top_level == {"a", "b"}


def test_applier_works_on_an_existing_root_only(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Applier(tmp_path / "missing")


def test_rule3_directory_over_a_symlink_to_a_directory_replaces_the_symlink(out: Path) -> None:
    """mkdir on a name held by a symlink fails (EEXIST, not followed): the symlink is replaced."""
    apply_tars(out, [[d("real"), sym("x", "real")], [d("x"), f("x/in", "i")]])
    assert snapshot(out)["x"][0] == "dir"
    assert names(out) == ["real", "x", "x/in"]  # nothing was written through the old symlink


def test_new_directories_are_made_without_looking_first(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A directory entry whose name is free costs one mkdir, not an lstat and a mkdir; an occupied
    name is looked at (merge or replace)."""
    from imgextract.layers import files as files_module
    from imgextract.layers.fsroot import lstat_at as real

    looked: list[str] = []

    def counting(dir_fd: int, name: str) -> os.stat_result | None:
        looked.append(name)
        return real(dir_fd, name)

    monkeypatch.setattr(files_module, "lstat_at", counting)
    apply_tars(out, [[d(f"dir{i}") for i in range(20)]])
    assert not [n for n in looked if n.startswith("dir")]
    apply_tars(out, [[d("dir3", mode=0o700)]], finalize=False)  # merge: looked at once
    assert [n for n in looked if n.startswith("dir")] == ["dir3"]


@pytest.mark.parametrize(
    ("value", "ns"),
    [
        ("1700000000.123456789", 1_700_000_000_123_456_789),
        ("1700000000.1234567891999", 1_700_000_000_123_456_789),  # truncated to nanoseconds
        ("1700000000.5", 1_700_000_000_500_000_000),
        ("1700000000.", 1_700_000_000 * 10**9),
        ("+1700000000", 1_700_000_000 * 10**9),
        ("0001700000000.000000001", 1_700_000_000 * 10**9 + 1),
        ("-0.5", 0),  # before 1970: clamped
    ],
)
def test_rule16_pax_times_to_the_nanosecond_as_go_reads_them(out: Path, value: str, ns: int) -> None:
    """Go's archive/tar ``parsePAXTime`` (what umoci and containerd read): seconds, then up to
    nine digits of nanoseconds (more are cut off), exactly; not a float's nearest value."""
    apply_tars(out, [[f("t", "t", pax={"mtime": value})]])
    st = os.stat(out / "t")
    assert (st.st_mtime_ns, st.st_atime_ns) == (ns, ns)


@pytest.mark.parametrize("key", ["mtime", "atime", "ctime"])
@pytest.mark.parametrize("value", ["abc", "1.5e9", ".5", "1.2.3", "1.-5", "1.+5", "nan", "0x10", " 1", "1 "])
def test_pax_times_go_refuses_are_refused(out: Path, key: str, value: str) -> None:
    """Go's ``mergePAX``: a PAX time ``parsePAXTime`` cannot read makes the header invalid
    (umoci: "archive/tar: invalid tar header"), whichever of the three times it is."""
    with pytest.raises(IntegrityError):
        apply_tars(out, [[f("t", "t", pax={key: value})]])


@pytest.mark.parametrize(
    "type_",
    [b"7", b"V", b"D", b"Z", b"M"],
    ids=["contiguous", "gnu-volume-label", "gnu-dumpdir", "vendor", "gnu-multivolume"],
)
@pytest.mark.parametrize("paths", [None, ["other"]])
def test_entries_of_unknown_types_are_refused(out: Path, type_: bytes, paths: list[str] | None) -> None:
    """umoci's ``UnpackEntry`` ("unknown typeflag"), containerd's and containers/storage's
    ``createTarFile`` ("unhandled tar header type") refuse an entry whose type Go's archive/tar
    hands over as it is: not one of file, link, symlink, device, directory or FIFO (a contiguous
    file "7" included).  Whether or not the entry is selected: the layer is invalid."""
    tar = raw_header("a", type_=type_, size=1) + pad(b"A") + END
    with pytest.raises(IntegrityError, match="type"):
        apply_tars(out, [tar], paths=paths)


def test_a_solaris_extended_header_is_an_entry_of_unknown_type(out: Path) -> None:
    """Go's archive/tar reads PAX records only from "x" headers; Solaris' "X" is an entry of an
    unknown type there (umoci: "unknown typeflag"), not a PAX header renaming the next one."""
    tar = ext_member(b"X", pax_record("path", "renamed")) + raw_header("a", size=1) + pad(b"A") + END
    with pytest.raises(IntegrityError, match="type"):
        apply_tars(out, [tar])


def test_a_whiteout_of_any_type_is_a_whiteout(out: Path) -> None:
    """umoci, containerd and containers/storage look at a whiteout's name before its type."""
    apply_tars(out, [[f("a", "lower"), f("b", "kept")], raw_header(".wh.a", type_=b"Z") + END])
    assert sorted(os.listdir(out)) == ["b"]
