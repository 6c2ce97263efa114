"""``TarReader.next_dir`` (the next directory next to the last one, read in one step) against
``members``: a reader that takes every directory it can through ``next_dir`` (and the files after
it through ``plain_run``, as the applier's loop does) reads every archive as ``members`` alone
does, member for member, or refuses it with the same error; and it takes the common directories
that way (else the comparison would compare ``members`` with itself)."""

from __future__ import annotations

import tarfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.tarstream import TarReader
from tests.unit.layers import onestep
from tests.unit.layers.layerkit import END, ext_member, pax_record, raw_header
from tests.unit.layers.onestep import ALPHABET, CHECKSUM_DELTAS, CHECKSUM_FORMS, FUZZ, HEADER_POSITIONS, files
from tests.unit.layers.test_tarstream import Trickle, archive, rechecksum


def _parent(name: str) -> str:
    """The spelling of a directory's parent as a prefix ("p/" for "p/d/" and "p/d")."""
    stem = name.rstrip("/")
    return stem[: stem.rfind("/") + 1]


def outcome(data: bytes, *, fast: bool, step: int = 1 << 30) -> tuple[object, int]:
    """Every member (name, type, mode, mtime, size but a directory's, data) or the error, and how
    many members ``next_dir`` gave.  With ``fast``, after a directory member, the plain files
    of that directory (``plain_run``), then its siblings (``next_dir`` with the parent's
    spelling), each followed by its own plain files, while the reader gives them."""
    reader = TarReader(Trickle(data, step), max_header_bytes=1 << 16)  # type: ignore[arg-type]
    out: list[tuple[object, ...]] = []
    taken = 0
    try:
        for m in reader.members():
            body = b"".join(bytes(c) for c in reader.read_data(m))
            size = None if m.type == tarfile.DIRTYPE else m.size
            out.append((m.name, m.type, m.mode, m.mtime, size, body))
            if not fast or m.type != tarfile.DIRTYPE:
                continue
            sibling = _parent(m.name)
            current = m.name if m.name.endswith("/") else m.name + "/"
            while True:
                for base, mode, mtime, view in reader.plain_run(current.encode("utf-8", "surrogateescape")):
                    name = current + base.decode("utf-8", "surrogateescape")
                    out.append((name, tarfile.REGTYPE, mode, mtime, len(view), bytes(view)))
                if not sibling:
                    break
                got_dir = reader.next_dir(sibling.encode("utf-8", "surrogateescape"))
                if got_dir is None:
                    break
                rest, mode, mtime = got_dir
                name = sibling + rest.decode("utf-8", "surrogateescape")
                out.append((name, tarfile.DIRTYPE, mode, mtime, None, b""))
                taken += 1
                current = name if name.endswith("/") else name + "/"
    except (IntegrityError, LimitExceeded) as e:
        return (out, type(e).__name__, str(e)), taken
    return out, taken


def same_both_ways(data: bytes, step: int = 1 << 30) -> int:
    """Asserts both readings agree; how many directories ``next_dir`` took."""
    return onestep.same_both_ways(outcome, data, step)


def directory(name: str, *, mode: int = 0o755) -> bytes:
    """A directory header with exactly this name (tarfile would add a "/")."""
    block = bytearray(raw_header("x/", type_=tarfile.DIRTYPE, mode=mode))
    block[:100] = name.encode("utf-8", "surrogateescape").ljust(100, b"\0")
    return rechecksum(bytes(block))


BASE = (
    directory("p/")
    + directory("p/a/")
    + files([("p/a/x", 3), ("p/a/y", 700)])
    + directory("p/b/")
    + files([("p/b/x", 1)])
    + directory("p/c/")  # (no files)
    + directory("p/e/")
    + files([("p/e/x", 0), ("p/e/y", 2)])
    + directory("p/f")  # (no trailing "/")
    + files([("p/f/x", 5)])
    + END
)


def _starts() -> dict[str, int]:
    """Where the headers of BASE are, by name."""
    out, pos = {}, 0
    while BASE[pos]:
        out[BASE[pos : pos + 100].split(b"\0", 1)[0].decode()] = pos
        size = 0 if BASE[pos + 156] == 0x35 else int(BASE[pos + 124 : pos + 135], 8)
        pos += 512 + size + (-size % 512)
    return out


STARTS = _starts()
FIRST = STARTS["p/b/"]  # the first directory next_dir takes (matched in full)
TEMPLATED = STARTS["p/c/"]  # compared with p/b/'s header (next_dir's short path)


def test_the_siblings_of_a_directory_are_taken_by_next_dir() -> None:
    assert same_both_ways(BASE) == 4  # (after "p/a/", the members read: p/b/, p/c/, p/e/, p/f)


def test_headers_like_the_last_one_take_the_short_path(monkeypatch: pytest.MonkeyPatch) -> None:
    full = onestep.full_matches(monkeypatch, "_dir_matched")
    assert same_both_ways(BASE) == 4
    assert full == [FIRST]


@pytest.mark.parametrize("step", [1, 100, 512, 700, 1024, 4096])
def test_buffer_boundaries_anywhere(step: int) -> None:
    same_both_ways(BASE, step=step)


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_generated_archives(fmt: int) -> None:
    same_both_ways(archive(fmt))


@pytest.mark.parametrize(
    "name",
    [
        "p/.wh.x/",
        "p/.wh..wh..opq/",
        "p/./",
        "p/../",
        "p/.",
        "p/..",
        "p//",
        "p/x//",
        "p/x/y/",
        "p//x/",
        "p/./x/",
        "q/x/",
        "pp/x/",
        "p",
        "p/",
        "p/\udcff/",
        "p/" + "n" * 97 + "/",
        "p/" + "n" * 98,
        "p/x\0y/",
        "p/ok/\0",
    ],
)
def test_names_that_are_or_are_not_a_sibling(name: str) -> None:
    header = directory(name)
    data = directory("p/a/") + files([("p/a/x", 1)]) + header + files([(name.rstrip("/") + "/z", 2)])
    same_both_ways(data + directory("p/k/") + END)


@pytest.mark.parametrize(
    "type_",
    [tarfile.AREGTYPE, tarfile.REGTYPE, tarfile.CONTTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, b"S", b"g", b"Z"],
)
def test_other_types(type_: bytes) -> None:
    block = bytearray(directory("p/x/"))
    block[156] = type_[0]
    same_both_ways(directory("p/a/") + directory("p/b/") + rechecksum(bytes(block)) + directory("p/z/") + END)


def test_extension_headers_before_a_sibling() -> None:
    pax = ext_member(tarfile.XHDTYPE, pax_record("path", "elsewhere/") + pax_record("mtime", "5.5"))
    gnu = ext_member(tarfile.GNUTYPE_LONGNAME, b"gnu-name/\0", "././@LongLink")
    for ext in (pax, gnu):
        same_both_ways(
            directory("p/a/") + directory("p/b/") + ext + directory("p/c/") + directory("p/d/") + END
        )


def test_a_ustar_prefix_is_left_to_members() -> None:
    block = bytearray(directory("x/"))
    block[345:346] = b"p"
    same_both_ways(directory("p/a/") + directory("p/b/") + rechecksum(bytes(block)) + END)


def test_bad_checksum_and_truncation_are_refused_alike() -> None:
    block = bytearray(directory("p/c/"))
    block[0] ^= 1
    result, _ = outcome(directory("p/a/") + directory("p/b/") + bytes(block) + END, fast=True)
    assert isinstance(result, tuple) and result[1] == "IntegrityError"
    same_both_ways(directory("p/a/") + directory("p/b/") + bytes(block) + END)
    same_both_ways(directory("p/a/") + directory("p/b/") + directory("p/c/")[:300])


def test_every_single_byte_change_of_a_directory_header_reads_the_same_both_ways() -> None:
    """Exhaustive over one byte of the header next_dir takes by its short path (every field but
    the text fields' middles), to each byte of the alphabet, checksum made valid; and of the
    one it matches in full."""
    for start in (FIRST, TEMPLATED):
        for data in onestep.single_byte_changes(BASE, start, HEADER_POSITIONS | {4}):
            same_both_ways(data)


@FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 511), st.sampled_from(ALPHABET)), min_size=1, max_size=6),
    fix_checksum=st.booleans(),
    which=st.sampled_from(["p/b/", "p/c/", "p/e/", "p/f", "p/e/x"]),
)
def test_mutated_directory_headers_read_the_same_both_ways(
    edits: list[tuple[int, int]], fix_checksum: bool, which: str
) -> None:
    same_both_ways(onestep.mutated(BASE, STARTS[which], edits, fix_checksum))


@pytest.mark.parametrize("form", CHECKSUM_FORMS)
@pytest.mark.parametrize("delta", CHECKSUM_DELTAS)
def test_checksum_forms_and_values_after_a_directory_header(form: bytes, delta: int) -> None:
    header = onestep.with_checksum(BASE[TEMPLATED : TEMPLATED + 512], form, delta)
    same_both_ways(onestep.replaced(BASE, TEMPLATED, header))


def test_a_signed_checksum_after_a_directory_header() -> None:
    for header in onestep.signed_checksums(BASE[TEMPLATED : TEMPLATED + 512]):
        same_both_ways(onestep.replaced(BASE, TEMPLATED, header))


def test_modes_mtimes_and_sizes_changing_from_directory_to_directory() -> None:
    """next_dir keeps the last mode and mtime it read: every change (a blank field: 0; a size,
    which a directory does not use but members checks) is read as members reads it."""
    blocks = [directory("p/")]
    for i, (mode, mtime, size) in enumerate(
        [(0o755, 1, 0), (0o700, 1, 0), (0o700, 2, 0), (None, 2, 0), (0o750, None, 0), (0o750, 7, 3)]
    ):
        block = bytearray(directory(f"p/d{i}/"))
        block[124:136] = b"%011o\0" % size
        blocks.append(onestep.with_mode_and_mtime(bytes(block), mode, mtime))
    data = b"".join(blocks) + END
    assert same_both_ways(data) == 5
    got, _ = outcome(data, fast=True)
    assert isinstance(got, list)
    assert [(m[2], m[3]) for m in got[1:]] == [
        (0o755, 1),
        (0o700, 1),
        (0o700, 2),
        (0, 2),
        (0o750, 0),
        (0o750, 7),
    ]
