"""What the applier reads of a layer entry: the ``Member`` protocol and the tar type flags.

A whole layer's members are ``tarfile.TarInfo`` objects (tarstream.py); a zstd:chunked layer's
are built from its TOC (chunked/assemble.py) without importing ``tarfile``, which pulls in
bz2, lzma, shutil, pwd and grp: a few milliseconds of start-up that a partial pull does not need.
The flags are the bytes of POSIX ustar's typeflag field, equal to ``tarfile``'s constants.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

REGTYPE = b"0"  # regular file
AREGTYPE = b"\0"  # regular file (pre-POSIX)
LNKTYPE = b"1"  # hard link
SYMTYPE = b"2"  # symbolic link
CHRTYPE = b"3"  # character device
BLKTYPE = b"4"  # block device
DIRTYPE = b"5"  # directory
FIFOTYPE = b"6"  # FIFO
CONTTYPE = b"7"  # contiguous file (refused by the applier, as by umoci and containerd)
# every type the applier applies; any other is refused (whiteouts count by name, whatever their type)
KNOWN_TYPES = frozenset({REGTYPE, AREGTYPE, LNKTYPE, SYMTYPE, DIRTYPE, CHRTYPE, BLKTYPE, FIFOTYPE})


class ExactTime(float):
    """A time in seconds that carries its exact nanoseconds (``ns``) beside the float's nearest
    value: a PAX or TOC time with a fraction of a second, which a float cannot hold exactly (the
    applier sets ``ns``; whoever reads the time as a number gets the float)."""

    __slots__ = ("ns",)

    ns: int

    @classmethod
    def from_ns(cls, ns: int) -> ExactTime:
        t = cls(ns / 1_000_000_000)
        t.ns = ns
        return t


class Member(Protocol):
    """A layer entry as the applier reads it (``tarfile.TarInfo`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> bytes: ...

    @property
    def mode(self) -> int: ...

    @property
    def mtime(self) -> float: ...

    @property
    def linkname(self) -> str: ...

    @property
    def size(self) -> int: ...

    def isdir(self) -> bool: ...

    def issym(self) -> bool: ...

    def islnk(self) -> bool: ...


class MemberData(Protocol):
    """Where a member's file data comes from (``TarReader``, or a zstd:chunked assembler).  A
    piece may be a list of buffers (a file's chunks): written with one ``writev``."""

    def read_data(self, member: Member) -> Iterable[bytes | memoryview | list[bytes | memoryview]]: ...
