"""Fuzz the tar/whiteout parser and the decoders: hostile bytes may only ever produce our own
IntegrityError / LimitExceeded (or succeed), never another exception, and never touch
anything outside the root."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imgextract.errors import IntegrityError
from imgextract.layers.applier import Applier, Limits
from imgextract.layers.decompress import open_decompressed
from tests.unit.layers.layerkit import END, GZIP_MT, ext_member, gz, pax_record, tree_digest, zst

FUZZ = settings(
    max_examples=int(os.environ.get("LAYERS_FUZZ_EXAMPLES", "150")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

COMPONENTS = [
    "a",
    "b",
    "..",
    ".",
    "",
    ".wh.a",
    ".wh..wh..opq",
    ".wh.",
    ".wh..",
    ".wh..wh.x",
    "é",
    "x" * 300,
    "/",
    "c\\d",
    "~",
]
name_st = st.lists(st.sampled_from(COMPONENTS), min_size=0, max_size=5).map("/".join)
link_st = st.one_of(name_st, st.sampled_from(["/", "/etc/passwd", "../../..", "a", "/a/b", ""]))
TYPES = [
    tarfile.REGTYPE,
    tarfile.AREGTYPE,
    tarfile.LNKTYPE,
    tarfile.SYMTYPE,
    tarfile.CHRTYPE,
    tarfile.BLKTYPE,
    tarfile.DIRTYPE,
    tarfile.FIFOTYPE,
    tarfile.CONTTYPE,
    b"Z",
    b"V",
    b"D",
]
PAX_KEYS = [
    "path",
    "linkpath",
    "size",
    "mtime",
    "uid",
    "SCHILY.xattr.trusted.overlay.opaque",
    "hdrcharset",
    "GNU.sparse.map",
    "comment",
]

member_st = st.fixed_dictionaries(
    {
        "name": name_st,
        "type": st.sampled_from(TYPES),
        "linkname": link_st,
        "mode": st.integers(0, 0o7777),
        "mtime": st.integers(-(2**33), 2**40),
        "data": st.binary(max_size=600),
        "pax": st.dictionaries(st.sampled_from(PAX_KEYS), st.text(max_size=20), max_size=3),
        "ext": st.sampled_from([None, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.XHDTYPE]),
    }
)


def build(members: list[dict], mutations: list[tuple[int, int]], cut: int | None) -> bytes:
    out = io.BytesIO()
    for m in members:
        if m["ext"] is tarfile.XHDTYPE:
            out.write(ext_member(tarfile.XHDTYPE, b"".join(pax_record(k, v) for k, v in m["pax"].items())))
        elif m["ext"] is not None:
            out.write(ext_member(m["ext"], (m["name"] * 3).encode("utf-8", "surrogateescape")))
        ti = tarfile.TarInfo(m["name"])
        ti.type, ti.linkname, ti.mode, ti.mtime = m["type"], m["linkname"], m["mode"], max(m["mtime"], 0)
        ti.size = len(m["data"]) if m["type"] in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE) else 0
        try:
            out.write(ti.tobuf(format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape"))
        except ValueError:
            continue
        if ti.size:
            data = m["data"]
            out.write(data + b"\0" * (-len(data) % 512))
    blob = bytearray(out.getvalue() + END)
    for pos, val in mutations:
        if blob:
            blob[pos % len(blob)] = val
    return bytes(blob[:cut] if cut is not None else blob)


def run(tmp: Path, tars: list[bytes], limits: Limits) -> None:
    root = Path(tempfile.mkdtemp(dir=tmp))
    victim = tmp / "victim"
    if not victim.exists():
        victim.mkdir()
        (victim / "file").write_text("precious")
    before = tree_digest(tmp / "victim")
    applier = Applier(root, None, limits)
    try:
        for tar in tars:
            applier.apply(io.BytesIO(tar))
        applier.finalize()
    except IntegrityError:
        applier.close()
    assert tree_digest(tmp / "victim") == before
    assert sorted(p.name for p in tmp.iterdir() if not p.name.startswith("tmp")) == ["victim"]


@FUZZ
@given(
    st.lists(st.lists(member_st, max_size=6), min_size=1, max_size=3),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3),
    st.one_of(st.none(), st.integers(0, 5000)),
)
def test_structured_fuzz_only_our_errors(
    tmp_path: Path,
    layers: list[list[dict]],
    mutations: list[tuple[int, int]],
    cut: int | None,
) -> None:
    tars = [build(members, mutations, cut) for members in layers]
    run(tmp_path, tars, Limits(max_entries=40, max_header_bytes=2048))


@FUZZ
@given(st.binary(max_size=3000))
def test_random_bytes_only_our_errors(tmp_path: Path, data: bytes) -> None:
    run(tmp_path, [data], Limits(max_entries=40, max_header_bytes=2048))


@FUZZ
@given(
    st.sampled_from([b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\x50\x2a\x4d\x18", b""]),
    st.binary(max_size=400),
    st.lists(st.tuples(st.integers(0, 10**4), st.integers(0, 255)), max_size=4),
    st.booleans(),
)
def test_decoders_only_our_errors(
    magic: bytes, body: bytes, mutations: list[tuple[int, int]], valid: bool
) -> None:
    blob = bytearray((gz(body) if magic == b"\x1f\x8b" else zst(body)) if valid else magic + body)
    for pos, val in mutations:
        if blob:
            blob[pos % len(blob)] = val
    try:
        open_decompressed(io.BytesIO(bytes(blob)), GZIP_MT, limit=4096).read()
    except IntegrityError:
        pass
