"""27 malicious / tricky layer cases, numbered; the applier's rules they exercise are cited by number.

Every test runs with the ``out`` fixture: a 'victim' tree beside OUT and host files
(/etc/passwd, /etc/hostname) are checksummed before and after (content, modes, link counts,
mtimes), and nothing new may appear beside OUT.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
from pathlib import Path

import pytest
import zstandard

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.applier import Applier, Limits
from imgextract.layers.pipeline import apply_blob
from tests.unit.layers.layerkit import (
    END,
    GZIP_MT,
    ZSTD_MT,
    E,
    apply_tars,
    d,
    ext_member,
    f,
    gz,
    hard,
    opq,
    pad,
    pax_record,
    raw_header,
    sha256,
    sym,
    tar_bytes,
    wh,
)
from tests.unit.layers.test_decompress import GzipBomb


def read(p: Path) -> str:
    return p.read_text()


# 1
@pytest.mark.parametrize("name", ["../../x", "a/../../x", "../x", "a/b/../../../x"])
def test_01_dotdot_names_rejected(out: Path, name: str) -> None:
    with pytest.raises(IntegrityError, match=r"\.\."):
        apply_tars(out, [[f(name, "evil")]])
    assert not (out.parent / "x").exists() and not (out.parent.parent / "x").exists()


# 2
def test_02_absolute_name_lands_inside(out: Path) -> None:
    apply_tars(out, [[f("/etc/passwd", "root:x:0:0")]])
    assert read(out / "etc/passwd") == "root:x:0:0"


# 3
def test_03_symlink_to_absolute_dir_then_file_through_it(out: Path, victim: Path) -> None:
    apply_tars(
        out,
        [
            [sym("localetc", "/etc"), f("localetc/f", "inside")],
            [sym("v", str(victim)), f("v/file", "overwrite?"), f("v/new", "n")],
        ],
    )
    assert read(out / "etc/f") == "inside"
    assert not Path("/etc/f").exists()
    assert read(out / victim.relative_to("/") / "file") == "overwrite?"  # re-rooted copy, victim untouched
    assert read(out / victim.relative_to("/") / "new") == "n"


# 4
def test_04_relative_symlink_climbing_out(out: Path) -> None:
    apply_tars(out, [[sym("l", "../../../../etc"), f("l/f", "stays")]])
    assert read(out / "etc/f") == "stays"
    assert os.readlink(out / "l") == "../../../../etc"


# 5
def test_05_symlink_in_lower_layer_then_file_through_it(out: Path) -> None:
    apply_tars(out, [[sym("x", "../../..")], [f("x/.ssh/authorized_keys", "ssh-ed25519 AAAA")]])
    assert read(out / ".ssh/authorized_keys") == "ssh-ed25519 AAAA"
    assert os.path.islink(out / "x")


# 6
@pytest.mark.parametrize("links", [[sym("a", "a")], [sym("a", "b"), sym("b", "a")], [sym("a", "./a/")]])
def test_06_symlink_loop_is_an_error_not_a_hang(out: Path, links: list[E]) -> None:
    with pytest.raises(IntegrityError, match="symbolic links"):
        apply_tars(out, [[*links, f("a/f", "x")]])


# 7
@pytest.mark.parametrize("target", ["/etc/passwd", "etc/passwd", "../../etc/passwd", "../victim/file"])
def test_07_hardlink_to_host_file(out: Path, target: str) -> None:
    with pytest.raises(IntegrityError):
        apply_tars(out, [[hard("pw", target)]])
    assert not (out / "pw").exists()


def test_07_hardlink_to_absolute_name_links_the_image_file(out: Path) -> None:
    apply_tars(out, [[f("etc/passwd", "image passwd")], [hard("pw", "/etc/passwd")]])
    assert read(out / "pw") == "image passwd"
    assert os.stat(out / "pw").st_ino == os.stat(out / "etc/passwd").st_ino
    assert os.stat(out / "pw").st_nlink == 2


# 8
def test_08_hardlink_via_symlinked_parent_stays_inside(out: Path, victim: Path) -> None:
    with pytest.raises(IntegrityError, match="does not exist"):
        apply_tars(out, [[sym("p", str(victim)), hard("h", "p/file")]])
    out2 = out / "second"
    out2.mkdir()
    apply_tars(out2, [[f(f"{victim}/file", "image copy"), sym("p", str(victim)), hard("h", "p/file")]])
    assert read(out2 / "h") == "image copy"
    assert os.stat(victim / "file").st_nlink == 1


# 9
def test_09_symlink_outside_plus_hardlink_to_it_never_chmods_the_host(out: Path, victim: Path) -> None:
    apply_tars(
        out,
        [
            [sym("s", str(victim / "file")), hard("h", "s")],
            [E("h", "file", b"replaced", mode=0o777), E("s", "dir", mode=0o777)],
        ],
    )
    assert stat.S_IMODE(os.stat(victim / "file").st_mode) == 0o600
    assert read(out / "h") == "replaced" and (out / "s").is_dir()


def test_09_hardlink_of_a_symlink_is_a_symlink(out: Path, victim: Path) -> None:
    apply_tars(out, [[sym("s", str(victim / "file")), hard("h", "s")]])
    assert os.readlink(out / "h") == str(victim / "file")
    assert os.lstat(out / "h").st_ino == os.lstat(out / "s").st_ino


# 10
@pytest.mark.parametrize("name", [".", "./", "/"])
def test_10_root_entry_must_be_a_directory(out: Path, name: str) -> None:
    with pytest.raises(IntegrityError, match="root entry"):
        apply_tars(out, [[sym(name, "/")]])
    with pytest.raises(IntegrityError, match="root entry"):
        apply_tars(out, [[f(name, "x")]])
    assert not os.path.islink(out)


def test_10_empty_name_rejected(out: Path) -> None:
    tar = raw_header("", type_=tarfile.REGTYPE) + END
    with pytest.raises(IntegrityError, match="empty name"):
        apply_tars(out, [tar])


def test_10_root_dir_entry_sets_root_metadata(out: Path) -> None:
    apply_tars(out, [[d(".", mode=0o700, mtime=1234567890)]])
    assert out.is_dir() and stat.S_IMODE(out.stat().st_mode) == 0o755 and out.stat().st_mtime == 1234567890


# 11
def test_11_dir_replaced_by_symlink_to_root(out: Path, victim: Path) -> None:
    apply_tars(
        out,
        [[d("foo"), f("foo/old", "o")], [sym("foo", "/"), f(f"foo{victim}/file", "x"), f("foo/tmp/x", "x")]],
    )
    assert read(out / "tmp/x") == "x" and read(out / victim.relative_to("/") / "file") == "x"
    assert os.readlink(out / "foo") == "/"


# 12
def test_12_dir_entry_replaces_lower_symlink(out: Path) -> None:
    apply_tars(out, [[sym("le", "/etc")], [d("le"), f("le/passwd", "mine")]])
    assert (out / "le").is_dir() and not (out / "le").is_symlink()
    assert read(out / "le/passwd") == "mine"
    assert not (out / "etc").exists()


# 13
@pytest.mark.parametrize("name", [".wh.", ".wh..", ".wh...", "a/.wh.", "a/.wh.."])
def test_13_invalid_whiteouts_rejected(out: Path, name: str) -> None:
    with pytest.raises(IntegrityError, match="invalid whiteout"):
        apply_tars(out, [[d("a"), f("a/x", "1")], [f(name)]])
    assert read(out / "a/x") == "1"


# 14
def test_14_whiteout_through_symlinked_parent(out: Path) -> None:
    base = [d("etc"), f("etc/passwd", "p"), f("etc/group", "g"), sym("le", "/etc")]
    apply_tars(out, [base, [f("le/.wh.passwd")]])
    assert not (out / "etc/passwd").exists() and read(out / "etc/group") == "g"
    other = out / "o2"
    other.mkdir()
    apply_tars(other, [base, [wh("le")]])
    assert not os.path.lexists(other / "le")
    assert read(other / "etc/passwd") == "p" and read(other / "etc/group") == "g"


# 15
def test_15_same_layer_file_survives_whiteout_in_either_order(out: Path) -> None:
    apply_tars(
        out,
        [
            [f("fileA", "lowA"), f("fileB", "lowB")],
            [f("fileB", "upB"), wh("fileB"), wh("fileA"), f("fileA", "upA")],
        ],
    )
    assert read(out / "fileA") == "upA" and read(out / "fileB") == "upB"


# 16
def test_16_opaque_marker_after_siblings(out: Path) -> None:
    apply_tars(
        out,
        [
            [d("D"), f("D/low1", "1"), d("D/sub"), f("D/sub/low2", "2"), f("keep", "k")],
            [d("D"), f("D/new", "n"), f("D/sub/new2", "n2"), opq("D")],
        ],
    )
    assert sorted(p.relative_to(out).as_posix() for p in (out / "D").rglob("*")) == [
        "D/new",
        "D/sub",
        "D/sub/new2",
    ]
    assert read(out / "keep") == "k"


# 17
def test_17_dir_file_dir_across_three_layers(out: Path) -> None:
    apply_tars(out, [[d("x"), f("x/a", "a")], [f("x", "now a file")], [d("x"), f("x/b", "b")]])
    assert (out / "x").is_dir() and sorted(os.listdir(out / "x")) == ["b"]


# 18
def test_18_rewriting_one_hardlink_name_leaves_the_others(out: Path) -> None:
    apply_tars(out, [[f("t2", "old"), hard("t1", "t2"), hard("t3", "t2")], [f("t1", "new")]])
    assert read(out / "t1") == "new" and read(out / "t2") == "old" and read(out / "t3") == "old"
    assert os.stat(out / "t3").st_ino == os.stat(out / "t2").st_ino
    assert os.stat(out / "t1").st_ino != os.stat(out / "t2").st_ino


# 19
def test_19_hardlink_before_its_target(out: Path) -> None:
    with pytest.raises(IntegrityError, match="does not exist"):
        apply_tars(out, [[hard("l", "t"), f("t", "x")]])


# 20
def test_20_specials_setuid_owner_mode000(out: Path) -> None:
    apply_tars(
        out,
        [
            [
                f("dev", "lower"),
                E("fifo", "fifo"),
                f("suid", "s", mode=0o6755, uid=1234, gid=5678),
                d("locked", mode=0o000),
                f("locked/inner", "i", mode=0o000),
                E("chr", "chr"),
                E("blk", "blk"),
            ],
            [E("dev", "chr"), d("locked/more", mode=0o000), f("locked/more/deep", "d")],
        ],
    )
    assert sorted(os.listdir(out)) == ["locked", "suid"]
    st = os.stat(out / "suid")
    assert stat.S_IMODE(st.st_mode) == 0o755 and (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
    assert stat.S_IMODE(os.stat(out / "locked").st_mode) == 0o755
    assert read(out / "locked/inner") == "i" and read(out / "locked/more/deep") == "d"
    assert stat.S_IMODE(os.stat(out / "locked/inner").st_mode) == 0o644


def test_20_hard_links_to_devices_and_fifos_are_not_created_either(out: Path) -> None:
    """umoci's ``UnpackEntry`` (rootless) stands in an empty file for a device and creates a
    FIFO, so a hard link to either (in its layer or a later one) links to that and succeeds.  We
    create neither, and no link to them: the link names are left empty like the specials' own
    (and hide what lower layers had there), not refused as links to nothing.  Other files,
    a later file at a special's name, and a link to that file are untouched."""
    apply_tars(
        out,
        [
            [f("h2", "lower h2"), E("chr", "chr"), E("fifo", "fifo"), hard("h1", "fifo"), f("keep", "k")],
            [hard("h2", "chr"), hard("h3", "h1"), E("blk", "blk"), f("blk", "file now"), hard("h4", "blk")],
        ],
    )
    assert sorted(os.listdir(out)) == ["blk", "h4", "keep"]
    assert read(out / "h4") == "file now" and os.stat(out / "h4").st_ino == os.stat(out / "blk").st_ino


def test_20_a_hard_link_to_a_whited_out_device_is_refused(out: Path) -> None:
    """Whited out, umoci's stand-in is gone: a later link to it fails there, and here."""
    with pytest.raises(IntegrityError, match="does not exist"):
        apply_tars(out, [[E("chr", "chr")], [wh("chr"), hard("h", "chr")]])


# 21
def test_21_xattrs_ignored_and_not_an_opaque_marker(out: Path) -> None:
    xattrs = {
        "SCHILY.xattr.security.capability": "\x01\x00\x00\x02",
        "SCHILY.xattr.security.selinux": "x_t",
        "SCHILY.xattr.trusted.overlay.opaque": "y",
        "SCHILY.xattr.user.note": "hi",
    }
    apply_tars(
        out, [[d("D"), f("D/lower", "l")], [E("D", "dir", pax=xattrs), E("D/f", "file", b"f", pax=xattrs)]]
    )
    assert read(out / "D/lower") == "l"
    assert os.listxattr(out / "D/f") == [] and os.listxattr(out / "D") == []


# 22
class Endless:
    """A header claiming a huge extension payload, then zeros forever; counts what was read."""

    def __init__(self, header: bytes) -> None:
        self.header = header
        self.served = 0

    def read(self, n: int = -1) -> bytes:
        n = 1 << 20 if n < 0 else n
        data = (self.header + b"\0" * n)[:n] if self.served == 0 else b"\0" * n
        self.served += len(data)
        return data


@pytest.mark.parametrize("type_", [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK])
def test_22_gigantic_extension_header_fails_fast(out: Path, type_: bytes) -> None:
    stream = Endless(raw_header("././@LongLink", type_=type_, size=1 << 30))
    applier = Applier(out)
    with pytest.raises(LimitExceeded):
        applier.apply(stream)  # type: ignore[arg-type]
    applier.close()
    assert stream.served <= 2 << 20


def test_22_many_chained_headers_each_small_fail(out: Path) -> None:
    chain = b"".join(ext_member(tarfile.XHDTYPE, pax_record("comment", "x" * 200_000)) for _ in range(8))
    with pytest.raises(LimitExceeded):
        apply_tars(out, [chain + raw_header("a") + END])


def test_22_long_names_within_the_cap_work(out: Path) -> None:
    name = "/".join(["d" * 200] * 10) + "/file"
    apply_tars(out, [[f(name, "deep")]])
    assert read(out / name) == "deep"


# 23
@pytest.mark.parametrize(
    "records",
    [pax_record("path", "etc/shadow"), pax_record("size", "100"), pax_record("comment", "harmless")],
)
def test_23_pax_global_header_rejected(out: Path, records: bytes) -> None:
    tar = ext_member(tarfile.XGLTYPE, records, "pax_global_header") + raw_header("a", size=0) + END
    with pytest.raises(IntegrityError, match="global"):
        apply_tars(out, [tar])
    assert os.listdir(out) == []


# 24
def test_24_pax_size_overrides_header_size(out: Path) -> None:
    body = b"12345"
    tar = (
        ext_member(tarfile.XHDTYPE, pax_record("size", "5"))
        + raw_header("f", size=0)
        + pad(body)
        + raw_header("g", size=1)
        + pad(b"G")
        + END
    )
    apply_tars(out, [tar])
    assert read(out / "f") == "12345" and read(out / "g") == "G"


@pytest.mark.parametrize("value", ["-1", "abc", "1e3"])  # ("" keeps the header size: test_tarstream)
def test_24_malformed_pax_size_rejected(out: Path, value: str) -> None:
    tar = ext_member(tarfile.XHDTYPE, pax_record("size", value)) + raw_header("f", size=0) + END
    with pytest.raises(IntegrityError):
        apply_tars(out, [tar])


# 25
def test_25_gzip_bomb_hits_the_cap(out: Path) -> None:
    applier = Applier(out, None, Limits(max_uncompressed_bytes=50 << 20))
    with pytest.raises(LimitExceeded):
        apply_blob(
            GzipBomb(),  # type: ignore[arg-type]  # a stream that only has read()
            digest="sha256:" + "1" * 64,
            size=None,
            media_type=GZIP_MT,
            diff_id="sha256:" + "2" * 64,
            applier=applier,
        )
    applier.close()


# 26
def test_26_multi_member_gzip_and_zstd_frames_give_the_full_layer(out: Path) -> None:
    tar = tar_bytes([f("first", "1"), f("big", os.urandom(300_000)), f("last", "z")])
    cut = 1536
    blob = gz(tar[:cut]) + gz(tar[cut:200_000]) + gz(tar[200_000:])
    applier = Applier(out)
    apply_blob(
        io.BytesIO(blob),
        digest=sha256(blob),
        size=len(blob),
        media_type=GZIP_MT,
        diff_id=sha256(tar),
        applier=applier,
    )
    c = zstandard.ZstdCompressor()
    skip = struct.pack("<II", 0x184D2A5E, 3) + b"abc"
    tar2 = tar_bytes([f("zfirst", "1"), f("zlast", "2")])
    zblob = skip + c.compress(tar2[:700]) + skip + c.compress(tar2[700:]) + skip
    apply_blob(
        io.BytesIO(zblob),
        digest=sha256(zblob),
        size=len(zblob),
        media_type=ZSTD_MT,
        diff_id=sha256(tar2),
        applier=applier,
    )
    applier.finalize()
    assert (
        read(out / "last") == "z" and read(out / "zlast") == "2" and (out / "big").stat().st_size == 300_000
    )


@pytest.mark.parametrize("fault", ["junk", "digest", "size", "diff_id", "truncated"])
def test_26_junk_or_mismatch_is_an_integrity_error(out: Path, fault: str) -> None:
    tar = tar_bytes([f("a", "x")])
    blob = gz(tar) + (b"junk" if fault == "junk" else b"")
    blob = blob[:-5] if fault == "truncated" else blob
    digest = sha256(blob) if fault != "digest" else sha256(b"other")
    size = len(blob) + (1 if fault == "size" else 0)
    diff_id = sha256(tar) if fault != "diff_id" else sha256(tar + b"\0")
    applier = Applier(out)
    with pytest.raises(IntegrityError):
        apply_blob(
            io.BytesIO(blob), digest=digest, size=size, media_type=GZIP_MT, diff_id=diff_id, applier=applier
        )
    applier.close()


# 27
@pytest.mark.parametrize("target", ["/", "../../..", "/../..", "."])
def test_27_selected_path_whose_parent_is_a_symlink_to_root(out: Path, target: str) -> None:
    layers = [[sym("manifests", target), f("etc/passwd", "image")], [f("manifests/a.yaml", "kind: X")]]
    if target == ".":  # inside the root for the kernel too: allowed; "manifests" is the whole image then
        apply_tars(out, layers, paths=["manifests/"])
        assert read(out / "a.yaml") == "kind: X" and read(out / "etc/passwd") == "image"
        return
    with pytest.raises(IntegrityError, match="outside"):
        apply_tars(out, layers, paths=["manifests/"])
    assert read(out / "a.yaml") == "kind: X"  # written re-rooted, inside OUT; the caller discards OUT


def test_27_selected_path_symlinked_inside_is_followed(out: Path) -> None:
    apply_tars(
        out,
        [[sym("manifests", "real/manifests"), f("real/manifests/csv.yaml", "csv"), f("other", "o")]],
        paths=["manifests"],
    )
    assert read(out / "manifests/csv.yaml") == "csv" and not (out / "other").exists()
