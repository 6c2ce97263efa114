"""``TarReader.plain_run`` (the next plain files of a directory, read one step each) against
``members``: a reader that takes every member it can through ``plain_run`` reads every archive
as ``members`` alone does, member for member, or refuses it with the same error; and it takes the
common members that way (else the comparison would compare ``members`` with itself).  A run is
taken whole (its later files through the run's own loop) or, with ``first``, one file at a time
(``next_plain``: each run's first file only)."""

from __future__ import annotations

import tarfile
from functools import partial

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.tarstream import TarReader
from tests.unit.layers import onestep
from tests.unit.layers.layerkit import END, ext_member, pad, pax_record, raw_header
from tests.unit.layers.onestep import ALPHABET, CHECKSUM_DELTAS, CHECKSUM_FORMS, FUZZ, HEADER_POSITIONS
from tests.unit.layers.test_tarstream import Trickle, archive, rechecksum


def outcome(data: bytes, *, fast: bool, step: int = 1 << 30, first: bool = False) -> tuple[object, int]:
    """Every member (name, type, mode, mtime, size, data) or the error, and how many members
    ``plain_run`` gave.  With ``fast``, after each member whose data was read, the next ones
    of its directory (as its name spells it) are taken through ``plain_run`` while it gives them
    (with ``first``: through ``next_plain``, a new run for each)."""
    reader = TarReader(Trickle(data, step), max_header_bytes=1 << 16)  # type: ignore[arg-type]
    out: list[tuple[object, ...]] = []
    taken = 0
    try:
        for m in reader.members():
            body = b"".join(bytes(c) for c in reader.read_data(m))
            out.append((m.name, m.type, m.mode, m.mtime, m.size, body))
            prefix = m.name[: m.name.rfind("/") + 1]
            if not fast or not prefix:
                continue
            spelled = prefix.encode("utf-8", "surrogateescape")
            run = iter(partial(reader.next_plain, spelled), None) if first else reader.plain_run(spelled)
            for base, mode, mtime, view in run:
                name = prefix + base.decode("utf-8", "surrogateescape")
                out.append((name, tarfile.REGTYPE, mode, mtime, len(view), bytes(view)))
                taken += 1
    except (IntegrityError, LimitExceeded) as e:
        return (out, type(e).__name__, str(e)), taken
    return out, taken


def same_both_ways(data: bytes, step: int = 1 << 30) -> int:
    """Asserts the three readings agree (runs, one file per run, ``members`` alone); how many
    members ``plain_run`` took."""
    taken = onestep.same_both_ways(outcome, data, step)
    one_by_one, taken_first = outcome(data, fast=True, step=step, first=True)
    assert one_by_one == outcome(data, fast=False, step=step)[0] and taken_first == taken
    return taken


run = onestep.files


DIR = run([("d/a", 5), ("d/b", 0), ("d/c", 511), ("d/e", 512), ("d/f", 513), ("d/g", 3)])
BASE = raw_header("d", type_=tarfile.DIRTYPE, mode=0o755) + DIR + END


def test_a_directory_of_files_is_taken_by_next_plain() -> None:
    assert same_both_ways(BASE) == 6  # (after the directory "d/", every file of it)


@pytest.mark.parametrize("step", [1, 100, 512, 700, 1024, 4096])
def test_buffer_boundaries_anywhere(step: int) -> None:
    """Data or a header across the end of the reader's buffer: next_plain leaves it to members."""
    same_both_ways(BASE, step=step)


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_generated_archives(fmt: int) -> None:
    assert same_both_ways(archive(fmt)) > 0


@pytest.mark.parametrize(
    "name",
    [
        "d/.wh.x",
        "d/.wh..wh..opq",
        "d/.",
        "d/..",
        "d/",
        "d/x/",
        "d/x/y",
        "d//x",
        "d/./x",
        "e/x",
        "dd/x",
        "d",
        "d/\udcff",
        "d/" + "n" * 98,
    ],
)
def test_names_that_are_not_a_plain_file_of_the_directory(name: str) -> None:
    ti = tarfile.TarInfo(name)
    ti.size = 3
    header = ti.tobuf(format=tarfile.USTAR_FORMAT, encoding="utf-8", errors="surrogateescape")
    same_both_ways(run([("d/a", 1)]) + header + pad(b"xyz") + run([("d/z", 2)]) + END)


@pytest.mark.parametrize(
    "type_",
    [tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, b"S", b"g", b"Z"],
)
def test_other_types(type_: bytes) -> None:
    block = bytearray(raw_header("d/x", size=3))
    block[156] = type_[0]
    same_both_ways(run([("d/a", 1)]) + rechecksum(bytes(block)) + pad(b"xyz") + run([("d/z", 2)]) + END)


def test_extension_headers_before_a_file_of_the_directory() -> None:
    """A PAX path, mtime or size and a GNU long name name or shape the member after them: the
    extension header is no plain file, so members reads it and the member it belongs to."""
    pax = ext_member(tarfile.XHDTYPE, pax_record("path", "elsewhere") + pax_record("mtime", "5.5"))
    size = ext_member(tarfile.XHDTYPE, pax_record("size", "2"))
    gnu = ext_member(tarfile.GNUTYPE_LONGNAME, b"gnu-name\0", "././@LongLink")
    for ext in (pax, size, gnu):
        same_both_ways(run([("d/a", 1)]) + ext + raw_header("d/b", size=3) + pad(b"xyz") + END)


def test_a_ustar_prefix_is_left_to_members() -> None:
    block = bytearray(raw_header("a", size=1))
    block[345:346] = b"d"
    same_both_ways(run([("d/a", 1)]) + rechecksum(bytes(block)) + pad(b"p") + END)


def test_bad_checksum_and_truncation_are_refused_alike() -> None:
    block = bytearray(raw_header("d/b", size=3))
    block[0] ^= 1  # the stored checksum no longer matches
    result, _ = outcome(run([("d/a", 1)]) + bytes(block) + pad(b"xyz") + END, fast=True)
    assert isinstance(result, tuple) and result[1] == "IntegrityError"
    same_both_ways(run([("d/a", 1)]) + bytes(block) + pad(b"xyz") + END)
    same_both_ways(run([("d/a", 1), ("d/b", 1000)])[:-600])  # the stream ends inside d/b's data
    same_both_ways(run([("d/a", 1), ("d/b", 10)])[:-300])  # inside d/b's header


def _starts() -> list[int]:
    """Where the file headers of BASE are."""
    out, pos = [], 512
    for _ in range(6):
        out.append(pos)
        size = int(BASE[pos + 124 : pos + 135], 8)
        pos += 512 + size + (-size % 512)
    return out


STARTS = _starts()
HEADER = STARTS[1]  # d/b's: the first one next_plain takes


def test_the_headers_are_where_the_mutations_go() -> None:
    assert [BASE[s : s + 3] for s in STARTS] == [b"d/a", b"d/b", b"d/c", b"d/e", b"d/f", b"d/g"]


def test_every_single_byte_change_of_a_plain_header_reads_the_same_both_ways() -> None:
    """Exhaustive over one byte of the header next_plain would take (every field but the text
    fields' middles), to each byte of the alphabet, checksum made valid."""
    for data in onestep.single_byte_changes(BASE, HEADER, HEADER_POSITIONS):
        same_both_ways(data)


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 511), st.sampled_from(ALPHABET)),
        min_size=1,
        max_size=6,
    ),
    fix_checksum=st.booleans(),
    which=st.integers(1, 5),
)
def test_mutated_plain_headers_read_the_same_both_ways(
    edits: list[tuple[int, int]], fix_checksum: bool, which: int
) -> None:
    same_both_ways(onestep.mutated(BASE, STARTS[which], edits, fix_checksum))


def test_modes_and_mtimes_changing_from_file_to_file() -> None:
    """next_plain keeps the last mode and mtime it read: every change (and a blank field, 0) is
    read as members reads it."""
    blocks = []
    for i, (mode, mtime) in enumerate(
        [(0o644, 1), (0o755, 1), (0o755, 2), (None, 2), (0o600, None), (0o600, 7)]
    ):
        blocks.append(onestep.with_mode_and_mtime(raw_header(f"d/f{i}", size=1), mode, mtime) + pad(b"x"))
    data = b"".join(blocks) + END
    assert same_both_ways(data) == 5
    got, _ = outcome(data, fast=True)
    assert isinstance(got, list)
    assert [(m[2], m[3]) for m in got] == [(0o644, 1), (0o755, 1), (0o755, 2), (0, 2), (0o600, 0), (0o600, 7)]


TEMPLATED = STARTS[2]  # d/c's: read by comparing it with d/b's header (next_plain's short path)
# (HEADER, d/b's, is compared with d/a's: the single-byte changes above go through that path too)


def test_headers_like_the_last_one_take_the_short_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a header matched in full, the next ones that differ from it only in name, size and
    checksum are read without the full match (else the tests here would not reach that path)."""
    full = onestep.full_matches(monkeypatch, "_plain_matched")
    assert same_both_ways(BASE) == 6
    assert full[0] == STARTS[0] and not set(full) & set(STARTS[1:])


@pytest.mark.parametrize("form", CHECKSUM_FORMS)
@pytest.mark.parametrize("delta", CHECKSUM_DELTAS)
def test_checksum_forms_and_values_after_a_plain_header(form: bytes, delta: int) -> None:
    header = onestep.with_checksum(BASE[TEMPLATED : TEMPLATED + 512], form, delta)
    same_both_ways(onestep.replaced(BASE, TEMPLATED, header))


def test_a_signed_checksum_after_a_plain_header() -> None:
    """A name byte above 0x7f: the signed sum (as old tars wrote it) differs from the unsigned one,
    and is accepted as members accepts it."""
    for header in onestep.signed_checksums(BASE[TEMPLATED : TEMPLATED + 512]):
        same_both_ways(onestep.replaced(BASE, TEMPLATED, header))


@pytest.mark.parametrize(
    "size_field",
    [
        b"00000000003\0",
        b"00000000003 ",
        b"0000000003\0\0",
        b" 0000000003\0",
        b"0000000000+3",
        b"0o000000003\0",
        b"000000000_3\0",
        b"00000000008\0",
        b"\0" * 12,
        b"00000000003\x01",
        b"\x80" + b"\0" * 10 + b"\3",
    ],
)
def test_size_forms_after_a_plain_header(size_field: bytes) -> None:
    block = bytearray(BASE[TEMPLATED : TEMPLATED + 512])
    block[124:136] = size_field
    tail = pad(b"abc") + run([("d/z", 2)]) + END
    same_both_ways(BASE[:TEMPLATED] + rechecksum(bytes(block)) + tail)


def test_repeated_sizes_and_fields_read_the_same_both_ways() -> None:
    """next_plain keeps what it read of sizes and checksums: headers that repeat them, between
    headers that change the mode, the mtime or a size field's form, read as members reads them."""
    blocks = []
    for i in range(40):
        size = (0, 3, 700, 3)[i % 4]
        block = bytearray(raw_header(f"d/f{i % 7}{i}", size=size, mode=(0o644, 0o600)[i // 13 % 2]))
        if i % 11 == 5:
            block[136:148] = b"%011o " % (i * 1000)
        if i % 9 == 4:
            block[124:136] = b"%011o " % size
        blocks.append(rechecksum(bytes(block)) + pad(b"y" * size))
    assert same_both_ways(b"".join(blocks) + END) == 39


def test_a_run_resumed_after_the_reader_moved_on_ends() -> None:
    """A run keeps its place and buffer between files: resumed after ``members`` read on (what the
    applier never does), it ends instead of reading from where it was."""
    reader = TarReader(Trickle(BASE, 1 << 30), max_header_bytes=1 << 16)  # type: ignore[arg-type]
    members = reader.members()
    assert next(members).name == "d/"
    run = reader.plain_run(b"d/")
    assert next(run)[0] == b"a"
    assert next(members).name == "d/b"  # (the reader moves on without the run)
    assert list(run) == []
    rest = reader.plain_run(b"d/")  # a new run goes on from where the reader is
    assert [got[0] for got in rest] == [b"c", b"e", b"f", b"g"]
