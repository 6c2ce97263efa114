"""Apply layer tar streams, in order, to a staging root: the image filesystem, safely.

Rules (numbered; the tests cite them by number):

2  Names are cleaned: leading ``/`` and ``./`` and empty/``.`` components dropped.  A name with a
   ``..`` component, a NUL byte, or an empty raw name is refused (``IntegrityError``).  A root
   entry (``.``, ``./``, ``/``) must be a directory; it sets the root's metadata.
3  dir over dir merges (the new entry's metadata wins); anything else replaces what was there:
   a directory is removed recursively, a file/symlink is replaced by ``rename`` over it, never
   followed.
4  ``.wh.X`` removes X; ``.wh.`` / ``.wh..`` / ``.wh...`` are refused.
5  Whiteouts hide lower layers only: paths written by the current layer (``upper``) survive a
   whiteout in either order.  A whiteout of a directory that has same-layer descendants removes
   only its lower content.
6  ``D/.wh..wh..opq`` removes D's lower children (recursively), keeps D and this layer's
   entries, wherever it appears in the layer; no-op when D does not exist.
7  other ``.wh..wh.*`` names are ignored.
8  Parents resolve inside the root (fsroot.py): absolute symlinks re-rooted, ``..`` stops at
   the root, 40 hops max; the final component is never followed.
9  Hard links: target resolved inside the root like a name (final component not followed), must
   exist (this or a lower layer) and not be a directory.  Link entries carry no metadata.
   Every write creates a new inode, never opens an existing file for writing: a free name is
   created with ``O_CREAT|O_EXCL|O_NOFOLLOW``, an occupied one through a temp name + rename, so
   rewriting one name of a link pair later leaves the other with the old content.
10 Symlinks are created as given and never followed for writes, chmod or utime.
11 Missing parents are created (final mode 0755).
12/13 Ownership is not applied; xattrs (``SCHILY.xattr.*``, incl. security.capability, SELinux,
   trusted.overlay.opaque) are ignored: not applied, not interpreted.
14 PAX global headers are refused (tarstream.py).
15 Devices and FIFOs are not created; an entry of another type (a contiguous file "7"
   included) is refused, as umoci, containerd and containers/storage refuse it.  A device/FIFO
   entry still removes what was at its name in lower layers (it occupies the name in the
   image): while layers are applied an empty file stands in for it (umoci's rootless stand-in
   for a device), so that a hard link to it works as there; ``finalize`` removes the stand-ins
   and the links to them.  setuid/setgid/sticky are dropped.  Works unprivileged: directories
   are made 0755 (their final mode, always owner-writable) and never chmodded while layers are
   applied, so a mode-000 directory with later children is fine; ``finalize()`` sets their
   times (and modes, when the umask took bits away).
16 mtimes are applied (files and symlinks at once, directories in ``finalize``), clamped to
   [0, year 9999]; atimes are set equal to mtimes.

Output permission policy (every user can read the result): regular files get
``(mode & 0o755) | 0o644``, directories ``0o755`` (execute bits are kept; group and other
never get write permission, so nobody else can change an extracted bundle; special bits dropped).

Selection (selection.py): entries that are neither a selected path, below one, nor on the way
to one are skipped, judged on both the name and where it resolves to (aliases: where the
selected paths resolve now, and every symlink passed on the way).  Exceptions, so that
resolution is the same as in a full extraction: every symlink entry, whiteout and opaque marker
is applied; a skipped entry still removes a symlink/directory at its name; ``finalize`` prunes
the symlinks (and the directories left empty) that are not selected.  A hard link whose target
was skipped is an error (select the target's path too).  Limitations: content reached only
through a symlink that a *later* entry creates has already been skipped; a selected symlink
whose target climbs (``..``) through directories that were not selected may be left dangling
(never escaping).  ``finalize`` refuses
a selected path that the kernel would resolve outside the root (an absolute symlink, or ``..``
climbing out, on the way to it): the output is read by tools that follow symlinks.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Final, Protocol

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.fsroot import DIR_MODE, STEPS_PER_ENTRY, Parent, RootFS, lstat_at
from imgextract.layers.member import (
    AREGTYPE,
    BLKTYPE,
    CHRTYPE,
    DIRTYPE,
    FIFOTYPE,
    KNOWN_TYPES,
    REGTYPE,
    ExactTime,
    Member,
)
from imgextract.layers.selection import PathSelection
from imgextract.oci import whiteout
from imgextract.records import FrozenRecord, Record

WHITEOUT_PREFIX = whiteout.PREFIX
OPAQUE = whiteout.OPAQUE
_MAX_MTIME = 253402300799  # 9999-12-31T23:59:59Z
_REGULAR = (REGTYPE, AREGTYPE)
_SPECIAL = (CHRTYPE, BLKTYPE, FIFOTYPE)
_ENVIRONMENTAL = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EFBIG,
    errno.EIO,
    errno.EROFS,
    errno.EMFILE,
    errno.ENFILE,
    errno.ENOMEM,
}
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_NO_RUN: Iterator[tuple[bytes, int, int, memoryview]] = iter(())  # (before a run is taken)
_PARENT_CACHE = 64  # open directory fds kept for the next entries (most layers list a dir's files together)


def _process_umask() -> int | None:
    """The umask, read without changing it (``os.umask`` would race other threads); None if unknown."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


class MemberData(Protocol):
    """Where a member's file data comes from (``TarReader``, or a zstd:chunked assembler).  A
    piece may be a list of buffers (a file's chunks): written with one ``writev``."""

    def read_data(self, member: Member) -> Iterable[bytes | memoryview | list[bytes | memoryview]]: ...


_IOV = 512  # buffers per writev (below IOV_MAX)


def _write_buffers(fd: int, buffers: list[bytes | memoryview]) -> None:
    """Write ``buffers`` in order, a few hundred per system call."""
    for i in range(0, len(buffers), _IOV):
        batch = buffers[i : i + _IOV]
        done = os.writev(fd, batch)
        want = sum(len(b) for b in batch)
        if done < want:  # a short write (rare): the rest byte-wise
            rest = memoryview(b"".join(batch))[done:]
            while rest:
                rest = rest[os.write(fd, rest) :]


def _write_rest(fd: int, data: memoryview, done: int) -> None:
    """The rest of ``data`` after a short write of ``done`` bytes."""
    while done < len(data):
        data = data[done:]
        done = os.write(fd, data)


def _utime_args(mtime: float | int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """What ``os.utime`` gets for a file's mtime (and atime), as ``_write`` sets them: whole
    seconds (most), else nanoseconds (``ns=``)."""
    if type(mtime) is int and 0 <= mtime <= _MAX_MTIME:
        return (mtime, mtime), None
    ns = _ns(mtime)
    return None, (ns, ns)


class Limits(FrozenRecord):
    """Caps for one extraction (all layers together)."""

    __slots__ = ("max_uncompressed_bytes", "max_entries", "max_header_bytes")

    def __init__(
        self,
        max_uncompressed_bytes: int = 16 * 1024**3,
        max_entries: int = 1_000_000,
        max_header_bytes: int = 1024 * 1024,
    ) -> None:
        self.max_uncompressed_bytes: Final = max_uncompressed_bytes
        self.max_entries: Final = max_entries
        self.max_header_bytes: Final = max_header_bytes


class LayerStats(Record):
    """What one layer did.  ``top_level``: first path components it touched (names as written
    and as resolved; whiteouts and opaque markers included, ``.`` = the root itself).
    ``links``: for every symlink and hard link entry (selected or not), the first component of its
    name and of its target, lexically (``..`` stops at the root, relative targets from the link's
    directory), ``""`` when the target is the root: what a layer-skipping planner must close over."""

    __slots__ = (
        "entries",
        "files",
        "dirs",
        "symlinks",
        "hardlinks",
        "whiteouts",
        "skipped",
        "ignored",
        "bytes_written",
        "top_level",
        "root_opaque",
        "links",
        "digest",
        "diff_id",
        "compressed_size",
        "uncompressed_size",
    )

    def __init__(self) -> None:
        self.entries = 0
        self.files = 0
        self.dirs = 0
        self.symlinks = 0
        self.hardlinks = 0
        self.whiteouts = 0
        self.skipped = 0  # not selected
        self.ignored = 0  # devices, FIFOs, other .wh..wh.* names
        self.bytes_written = 0
        self.top_level: set[str] = set()
        self.root_opaque = False  # an opaque marker for the root directory itself
        self.links: set[tuple[str, str]] = set()  # (top of link name, top of target; "" = root)
        self.digest: str | None = None
        self.diff_id: str | None = None
        self.compressed_size = 0
        self.uncompressed_size = 0


def file_mode(mode: int) -> int:
    return (mode & 0o755) | 0o644


def dir_mode(mode: int) -> int:
    return (mode & 0o755) | 0o755


def _ns(mtime: float | int) -> int:
    if type(mtime) is int and 0 <= mtime <= _MAX_MTIME:  # (most: whole seconds from a header)
        return mtime * 1_000_000_000
    if type(mtime) is ExactTime:
        return min(max(mtime.ns, 0), _MAX_MTIME * 1_000_000_000)
    try:
        seconds = float(mtime)
    except (TypeError, ValueError):
        return 0
    if seconds != seconds or seconds < 0:
        return 0
    seconds = min(seconds, float(_MAX_MTIME))
    return int(seconds) * 1_000_000_000 + int(round((seconds - int(seconds)) * 1e9)) % 1_000_000_000


def _link_top(dir_parts: list[str], target: str, *, hard: bool) -> str:
    """First component of a link target, lexically; "" for the root."""
    stack: list[str] = [] if hard or target.startswith("/") else list(dir_parts)
    for c in target.split("/"):
        if c == "..":
            if stack:
                stack.pop()
        elif c not in ("", "."):
            stack.append(c)
    return stack[0] if stack else ""


def _entry_error(e: OSError, name: str) -> Exception:
    """What an entry's failed system call is reported as: the local disk's errors as they are
    (with the entry's path), anything else as the layer's fault."""
    if e.errno in _ENVIRONMENTAL:
        return OSError(e.errno, e.strerror, e.filename or name)
    return IntegrityError(f"cannot apply layer entry {name!r}: {e.strerror or e}")


def split_name(name: str, *, what: str) -> list[str]:
    """Clean a member name or link target into components (rule 2)."""
    if "\0" in name:
        raise IntegrityError(f"tar {what} {name!r} contains a NUL byte")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise IntegrityError(f"tar {what} {name!r} contains '..'")
    return parts


class Applier:
    """Applies layers to ``root`` (an existing, empty directory the caller owns)."""

    def __init__(
        self, root: Path, selection: PathSelection | None = None, limits: Limits | None = None
    ) -> None:
        self.root = Path(root)
        self.selection = selection if selection is not None else PathSelection(None)
        self.limits = limits if limits is not None else Limits()
        self.fs = RootFS(self.root)
        self.fs.on_mkdir = self._implicit_dir
        self.uncompressed_total = 0
        self.entries_total = 0
        self.layers: list[LayerStats] = []
        self._dirs: dict[str, tuple[int, int]] = {}  # canonical dir path -> (mode, mtime ns)
        self._upper: set[str] = set()  # paths written by the current layer
        # and those of its runs of plain files, not yet in _upper: (directory path as a prefix,
        # base names), added when a whiteout asks (_flush_upper)
        self._upper_runs: list[tuple[str, list[bytes]]] = []
        self._upper_anc: set[str] = set()  # and their ancestors
        self._tmp_counter = 0
        # nothing was removed or replaced yet: the regular files in the root are those the layers'
        # stats count (files, bytes_written) plus the hard links to regular files (counted here)
        self._pristine = True
        self._linked: tuple[int, int] = (0, 0)
        self._alias_gen = -1
        self._gen = 0  # bumps when symlinks/dirs change
        # Parent directories of recent entries, by name as written -> open fd.  Valid while nothing
        # was removed and no symlink changed (``_tree_gen``): a directory inode never moves (only
        # files, symlinks and hard links are renamed), so it stays where it was resolved until removed.
        self._parents: dict[tuple[str, ...], Parent] = {}
        self._covered_dirs: dict[tuple[str, ...], bool] = {}  # directory names below a selected path
        # The directory of the last plain file, as its name spelled it ("a/b/"), its Parent, the
        # _tree_gen it was valid in, the spelling as bytes and its path as a prefix for _upper
        # ("a/b/", "" for the root): the next files of a layer are mostly in the same directory.
        self._last_dir: tuple[str, Parent, int, bytes, str] | None = None
        # A directory entry just applied whose files may follow (apply_members takes them through
        # the reader's runs): its spelling as a prefix ("a/b/"), its components, that as bytes,
        # and the _tree_gen it was made in.
        self._opened_dir: tuple[str, tuple[str, ...], bytes, int] | None = None
        # The parent of the last directory entry the general path made (see _sibling_base).
        self._siblings: tuple[str, Parent, int, tuple[str, ...], bytes] | None = None
        self._tree_gen = 0
        self._parents_gen = 0
        umask = _process_umask()
        self._umask = 0o777 if umask is None else umask  # bits os.open's mode may lose: fchmod then
        self._finalized = False
        self._prune = False  # unselected symlinks were applied
        self._stand_ins: set[tuple[int, int]] = set()  # (dev, inode) of devices' and FIFOs' stand-ins
        self._stand_in_names: list[str] = []  # where they and links to them were made

    # -- public -----------------------------------------------------------------------------

    def remaining_bytes(self) -> int:
        return max(0, self.limits.max_uncompressed_bytes - self.uncompressed_total)

    def apply(self, tar_stream: BinaryIO) -> LayerStats:
        """Apply one uncompressed layer tar.  Reads up to the end-of-archive marker only."""
        from imgextract.layers.tarstream import TarReader  # whole layers only (not zstd:chunked ranges)

        reader = TarReader(tar_stream, max_header_bytes=self.limits.max_header_bytes)
        return self.apply_members(reader.members(), reader)

    def apply_members(self, members: Iterable[Member], reader: MemberData) -> LayerStats:
        """Apply one layer given as members (in archive order) and a source of their file data
        (``reader.read_data(member)``, asked at most once per wanted regular file): the same rules
        as ``apply``, for layers that are not read as one tar stream (zstd:chunked partial fetch)."""
        if self._finalized:
            raise RuntimeError("Applier.apply after finalize")
        stats = LayerStats()
        self._upper = set()
        self._upper_runs = []
        self._upper_anc = set()
        self._last_dir = None  # (its top-level names are in this layer's stats only after a file)
        self._opened_dir = None
        self._siblings = None
        fs = self.fs
        file_entry = self._file_entry
        write = self._write
        # a whole tar's reader hands over the next plain files of the last file's directory as a
        # run (a generator: one step each): what this loop and _file_entry's same-directory path
        # would do with them
        plain = getattr(reader, "plain_run", None)
        # and the directories next to the one the general path made last (_sibling_base)
        next_dir = getattr(reader, "next_dir", None) if plain is not None else None
        umask = self._umask
        os_open, os_write, os_utime, os_close, os_mkdir = os.open, os.write, os.utime, os.close, os.mkdir
        new_file = _NEW_FILE
        times_of: int | float = -1
        times: tuple[int, int] | None = None
        mode_of = -1  # the last mode a run read, its file_mode() and whether the umask takes bits
        file_mode_of, chmod = 0, False
        times_ns: tuple[int, int] | None = None
        left = self.limits.max_entries - self.entries_total  # entries this layer may still have
        try:
            for member in members:
                left -= 1
                if left < 0:
                    raise LimitExceeded(f"more than {self.limits.max_entries} tar entries")
                fs.steps_left += STEPS_PER_ENTRY  # (fs.fund_entry(), inline)
                try:
                    general = member.type not in _REGULAR or not file_entry(reader, member, stats)
                    if general:
                        self._entry(reader, member, stats)
                except OSError as e:
                    raise _entry_error(e, member.name) from None
                got = None
                run: Iterator[tuple[bytes, int, int, memoryview]] = _NO_RUN
                if general:
                    opened = self._opened_dir
                    if opened is None:
                        continue
                    # a directory: its files may follow, the first one included, and its siblings
                    self._opened_dir = None
                    spelled, key, prefix_b, gen = opened
                    if plain is None or gen != self._tree_gen:
                        continue
                    self._siblings = self._sibling_base(spelled, key) if next_dir is not None else None
                    run = plain(prefix_b)
                    got = next(run, None)
                    if got is not None:
                        left -= 1  # (that file's entry)
                        if left < 0:
                            raise LimitExceeded(f"more than {self.limits.max_entries} tar entries")
                        fs.steps_left += STEPS_PER_ENTRY
                        self._start_run(spelled, key, prefix_b, gen, got)
                while True:
                    last = self._last_dir
                    if (
                        plain is not None
                        and last is not None
                        and last[2] == self._tree_gen
                        and last[1].fd >= 0
                    ):
                        # the next plain files of this file's directory, as the reader hands them
                        # over: what this loop and _file_entry's same-directory path would do with
                        # them, in fewer steps (names as bytes, upper paths noted for later, one
                        # utime argument for a run of files with one mtime)
                        prefix, same, gen, prefix_b, upper = last
                        dir_fd = same.fd
                        bases: list[bytes] = []
                        self._upper_runs.append((upper, bases))
                        note = bases.append
                        funded = left
                        written = 0
                        # the first file may be here already (counted where it was taken)
                        first, got = got, None
                        if first is None:
                            run = plain(prefix_b)
                        try:
                            for item in run if first is None else chain((first,), run):
                                if item is not first:
                                    left -= 1
                                    if left < 0:
                                        raise LimitExceeded(
                                            f"more than {self.limits.max_entries} tar entries"
                                        )
                                base, mode, mtime, data = item
                                if mode is not mode_of:  # (a run's files mostly share one object)
                                    mode_of = mode
                                    file_mode_of = (mode & 0o755) | 0o644  # file_mode()
                                    chmod = (file_mode_of & umask) != 0
                                mode = file_mode_of
                                try:
                                    fd = os_open(base, new_file, mode, dir_fd=dir_fd)
                                except FileExistsError:  # occupied: written as every other file is
                                    fs.steps_left += STEPS_PER_ENTRY * (funded - left)
                                    funded = left
                                    write(same, base.decode("utf-8", "surrogateescape"), mode, mtime, (data,))
                                    note(base)
                                    written += len(data)
                                    if gen != self._tree_gen or same.fd < 0:
                                        break
                                    continue
                                size = len(data)
                                try:
                                    try:
                                        if size:
                                            done = os_write(fd, data)
                                            if done < size:
                                                _write_rest(fd, data, done)
                                        if chmod:
                                            os.fchmod(fd, mode)
                                        if mtime != times_of:  # (the files of a layer mostly share one)
                                            times_of = mtime
                                            times, times_ns = _utime_args(mtime)
                                        if times_ns is None:
                                            os_utime(fd, times)
                                        else:
                                            os_utime(fd, ns=times_ns)
                                    finally:
                                        os_close(fd)
                                except BaseException:
                                    self._discard(same, base.decode("utf-8", "surrogateescape"))
                                    raise
                                note(base)
                                written += size
                        except OSError as e:
                            raise _entry_error(e, prefix + base.decode("utf-8", "surrogateescape")) from None
                        finally:
                            fs.steps_left += STEPS_PER_ENTRY * (funded - left)
                            stats.files += len(bases)
                            stats.bytes_written += written
                            if bases and same.path not in self._upper_anc:  # (a run after its directory)
                                self._mark_upper_anc(same.path)
                    # the run ended: the next entry may be a directory next to the last one
                    # (one the general path made: _sibling_base) with files of its own
                    sib = self._siblings
                    if sib is None or sib[2] != self._tree_gen:
                        break
                    s_spelled, s_parent, _, s_key, s_prefix = sib
                    got_dir = next_dir(s_prefix)  # (not None: plain is not)
                    if got_dir is None:
                        break
                    left -= 1
                    if left < 0:
                        raise LimitExceeded(f"more than {self.limits.max_entries} tar entries")
                    fs.steps_left += STEPS_PER_ENTRY
                    rest_b, mode, mtime = got_dir
                    rest = rest_b.decode("utf-8", "surrogateescape")
                    base = rest[:-1] if rest[-1] == "/" else rest
                    try:
                        if s_parent.fd < 0:  # evicted from the cache: opened again, as _entry would
                            s_parent = self._cached_dir(s_key)
                            self._siblings = (s_spelled, s_parent, self._tree_gen, s_key, s_prefix)
                        try:  # (what _directory does, inline for a free name)
                            os_mkdir(base, DIR_MODE, dir_fd=s_parent.fd)
                            made = True
                        except FileExistsError:
                            made = False
                            self._directory(s_parent, base, mode, mtime)
                    except OSError as e:
                        raise _entry_error(e, s_spelled + rest) from None
                    if made:
                        path = f"{s_parent.path}/{base}"  # (the parent's path is not the root's)
                        if type(mtime) is int and 0 <= mtime <= _MAX_MTIME:
                            self._dirs[path] = (mode, mtime * 1_000_000_000)
                        else:
                            self._dirs[path] = (mode, _ns(mtime))
                        self._upper.add(path)
                        if s_parent.path not in self._upper_anc:
                            self._mark_upper_anc(s_parent.path)
                    stats.dirs += 1  # (its top-level names are its parent's: in the stats already)
                    spelled = s_spelled + base + "/"
                    key = (*s_key, base)
                    prefix_b = s_prefix + rest_b if rest_b[-1] == 0x2F else s_prefix + rest_b + b"/"
                    run = plain(prefix_b)
                    got = next(run, None)
                    if got is not None:
                        left -= 1  # (that file's entry)
                        if left < 0:
                            raise LimitExceeded(f"more than {self.limits.max_entries} tar entries")
                        fs.steps_left += STEPS_PER_ENTRY
                        if made:  # (the tree is as mkdir left it: what _cached_dir would do)
                            try:
                                same = fs.open_made(s_parent, base)
                            except OSError as e:
                                raise _entry_error(
                                    e, spelled + got[0].decode("utf-8", "surrogateescape")
                                ) from None
                            parents = self._parents
                            if len(parents) >= _PARENT_CACHE:
                                parents.pop(next(iter(parents))).close()
                            parents[key] = same
                            self._last_dir = (spelled, same, self._tree_gen, prefix_b, same.path + "/")
                            self._upper_anc.add(same.path)  # (what the run's end would add)
                        else:
                            self._start_run(spelled, key, prefix_b, self._tree_gen, got)
        finally:
            done = self.limits.max_entries - left - self.entries_total
            stats.entries = done
            self.entries_total += done
        self.layers.append(stats)
        return stats

    def _start_run(
        self,
        spelled: str,
        key: tuple[str, ...],
        prefix_b: bytes,
        gen: int,
        got: tuple[bytes, int, int, memoryview],
    ) -> None:
        """The first plain file after a directory entry (``got``) starts a run in that directory."""
        try:
            same = self._cached_dir(key)  # (what _file_entry would open for it)
        except OSError as e:
            name = spelled + got[0].decode("utf-8", "surrogateescape")
            raise _entry_error(e, name) from None
        self._last_dir = (spelled, same, gen, prefix_b, f"{same.path}/" if same.path else "")

    def _sibling_base(
        self, spelled: str, key: tuple[str, ...]
    ) -> tuple[str, Parent, int, tuple[str, ...], bytes] | None:
        """For the directory entry the general path just made (spelled ``spelled``, ending in
        ``/``; ``key`` its components): the parent, whose other child directories the loop takes
        through ``next_dir`` while it stays valid (the _tree_gen, its fd open) as ``_entry`` would
        take them: a cached parent with a path below the root (the children's top-level names
        are its own), every name below it selected.  (Its spelling, Parent, _tree_gen, key, the
        spelling as bytes.)"""
        if len(key) < 2 or self._parents_gen != self._tree_gen:
            return None
        above = key[:-1]
        parent = self._parents.get(above)
        if parent is None or not parent.path:
            return None
        if self.selection.paths is not None and not self.selection.covers_by_name("/".join(above)):
            return None
        name = spelled.rstrip("/")
        cut = len(name) - len(key[-1])
        if name[cut:] != key[-1] or name[cut - 1 : cut] != "/":
            return None
        up = name[:cut]
        return up, parent, self._tree_gen, above, up.encode("utf-8", "surrogateescape")

    def file_count(self) -> tuple[int, int] | None:
        """(regular files, their total size) in the root as the layers left it, counted as they
        were written (every name of a hard link counts); None when an entry removed or replaced
        something (then walk the root).  Exact for a root that was empty to begin with."""
        if not self._pristine:
            return None
        files, size = self._linked
        for layer in self.layers:
            files += layer.files
            size += layer.bytes_written
        return files, size

    def finalize(self) -> None:
        """Set directory modes and times (deepest first), check selected paths, release fds."""
        if self._finalized:
            return
        self._finalized = True
        self._drop_parents()
        try:
            if self._stand_in_names:
                self._remove_stand_ins()
            if self._prune and not self.selection.everything:
                self._refresh_aliases()
                self._prune_unwanted(self.fs.root_fd, "")
            if not self._fix_dirs_quickly():
                self.fs.walk_dirs_post(self._fix_dir)
            self._check_selected_paths()
        finally:
            self.fs.close()

    def close(self) -> None:
        """Release the root fd without finalizing (on failure; the caller discards the root)."""
        self._drop_parents()
        self.fs.close()

    # -- entries ----------------------------------------------------------------------------

    def _entry(self, reader: MemberData, m: Member, stats: LayerStats) -> None:
        if not m.name:
            raise IntegrityError("tar entry with an empty name")
        parts = split_name(m.name, what="name")
        if not parts:
            if not m.isdir():
                raise IntegrityError(f"root entry {m.name!r} is not a directory")
            stats.top_level.add(".")
            self._dirs[""] = (m.mode, _ns(m.mtime))
            return
        base = parts[-1]
        if whiteout.is_whiteout(base):  # (whatever its type)
            self._whiteout(parts, stats)
            return
        if m.type not in KNOWN_TYPES:  # as umoci ("unknown typeflag"), containerd, containers/storage
            raise IntegrityError(f"tar entry {m.name!r} has an unknown type {m.type!r}")
        if m.issym() or m.islnk():
            stats.links.add((parts[0], _link_top(parts[:-1], m.linkname, hard=m.islnk())))
        stats.top_level.add(parts[0])
        if not self._wanted(parts):
            stats.skipped += 1
            if m.issym():
                # symlinks steer resolution (selection follows them): applied, pruned by finalize
                self._prune = True
                with self._parent(parts) as parent:
                    self._apply_typed(reader, m, parent, base, stats)
            elif self._prune:
                self._clear_unwanted(parts)
            return
        with self._parent(parts) as parent:
            stats.top_level.add(parent.child(base).split("/", 1)[0])
            self._apply_typed(reader, m, parent, base, stats)
        if m.type == DIRTYPE and (
            self.selection.paths is None or self.selection.covers_by_name("/".join(parts))
        ):  # (as _file_entry's same-directory path needs it: every file below is selected)
            spelled = m.name if m.name.endswith("/") else m.name + "/"
            self._opened_dir = (
                spelled,
                tuple(parts),
                spelled.encode("utf-8", "surrogateescape"),
                self._tree_gen,
            )

    def _file_entry(self, reader: MemberData, m: Member, stats: LayerStats) -> bool:
        """A plain regular file (most entries of most layers), applied as ``_entry`` would, with
        less work per entry.  False (nothing done) for anything unusual: ``_entry`` takes it."""
        name = m.name
        last = self._last_dir
        if last is not None and name.startswith(last[0]) and last[2] == self._tree_gen and last[1].fd >= 0:
            # the directory of the previous file: its checks, selection and stats are done
            base = name[len(last[0]) :]
            if (
                base
                and "/" not in base
                and base != "."
                and base != ".."
                and "\0" not in base
                and not base.startswith(WHITEOUT_PREFIX)
            ):
                same = last[1]
                self._write_file(reader, m, same, base)
                stats.files += 1
                stats.bytes_written += m.size
                self._upper.add(f"{same.path}/{base}" if same.path else base)  # ("d" -> "/": "")
                return True
        parts = name.split("/")
        if "" in parts or "." in parts:
            parts = [p for p in parts if p and p != "."]
        if not parts or ".." in parts or "\0" in name:
            return False
        base = parts.pop()
        if base.startswith(WHITEOUT_PREFIX):
            return False
        key = tuple(parts)
        covered: bool | None = True
        if self.selection.paths is not None:
            covered = self._covered_dirs.get(key)
            if covered is None:
                if len(self._covered_dirs) >= _PARENT_CACHE:
                    self._covered_dirs.clear()
                covered = self._covered_dirs[key] = self.selection.covers_by_name("/".join(key))
            if not covered and not self._wanted([*parts, base]):
                return False
        parent = self._parents.get(key) if self._parents_gen == self._tree_gen else None
        if parent is None:
            parent = self._cached_dir(key)
        top = stats.top_level
        top.add(parts[0] if parts else base)
        ppath = parent.path
        top.add(parent.parts[0] if ppath else base)
        self._write_file(reader, m, parent, base)
        stats.files += 1
        stats.bytes_written += m.size
        self._upper.add(f"{ppath}/{base}" if ppath else base)
        if ppath not in self._upper_anc:  # (else its ancestors are there too)
            self._mark_upper_anc(ppath)
        if covered and parts and name.endswith("/" + base) and len(name) > len(base) + 1:
            # (not for a directory only some of whose files are selected)
            spelled = name[: len(name) - len(base)]
            self._last_dir = (
                spelled,
                parent,
                self._tree_gen,
                spelled.encode("utf-8", "surrogateescape"),
                f"{ppath}/" if ppath else "",
            )
        return True

    def _apply_typed(
        self, reader: MemberData, m: Member, parent: Parent, base: str, stats: LayerStats
    ) -> None:
        if m.isdir():
            self._directory(parent, base, m.mode, m.mtime)
            stats.dirs += 1
            return
        path = parent.child(base)
        if m.type in _REGULAR:
            self._write_file(reader, m, parent, base)
            stats.files += 1
            stats.bytes_written += m.size
        elif m.issym():
            self._symlink(m, parent, base)
            stats.symlinks += 1
        elif m.islnk():
            self._hardlink(m, parent, base)
            stats.hardlinks += 1
        else:  # device or FIFO: not created, but it hides what lower layers had at this name
            self._stand_in(parent, base)
            stats.ignored += 1
        self._mark_upper(path)

    def _directory(self, parent: Parent, base: str, mode: int, mtime: float | int) -> None:
        """A directory entry at ``base`` in ``parent`` (its mode and mtime are set by finalize)."""
        try:  # a free name (most directories of a layer): one system call
            os.mkdir(base, DIR_MODE, dir_fd=parent.fd)
        except FileExistsError:  # merge into a directory; replace anything else (never followed)
            st = lstat_at(parent.fd, base)
            if st is None or not stat.S_ISDIR(st.st_mode):
                if st is not None:
                    self._remove(parent, base)
                os.mkdir(base, DIR_MODE, dir_fd=parent.fd)
        path = parent.child(base)
        self._dirs[path] = (mode, _ns(mtime))
        self._mark_upper(path)

    def _stand_in(self, parent: Parent, base: str) -> None:
        """An empty file in place of a device or FIFO (as umoci's rootless unpack makes for a
        device), so that hard links to it work as there; ``finalize`` removes it and every link
        to it: the output has neither specials nor stand-ins."""
        try:
            fd = os.open(base, _NEW_FILE, 0o600, dir_fd=parent.fd)
            tmp = None
        except FileExistsError:  # whatever lower layers had here goes (never followed)
            tmp, fd = self._new_temp(parent)
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        if tmp is not None:
            try:
                self._replace(parent, tmp, base)
            except BaseException:
                self._discard(parent, tmp)
                raise
        self._pristine = False  # (removed again by finalize)
        self._stand_ins.add((st.st_dev, st.st_ino))
        self._stand_in_names.append(parent.child(base))

    def _remove_stand_ins(self) -> None:
        """Remove the specials' stand-ins and the hard links to them, wherever they still are."""
        for path in self._stand_in_names:
            parts = path.split("/")
            parent = self.fs.open_dir(parts[:-1], create=False)
            if parent is None:
                continue
            with parent:
                st = lstat_at(parent.fd, parts[-1])
                if st is not None and stat.S_ISREG(st.st_mode) and (st.st_dev, st.st_ino) in self._stand_ins:
                    os.unlink(parts[-1], dir_fd=parent.fd)

    def _write_file(self, reader: MemberData, m: Member, parent: Parent, base: str) -> None:
        self._write(parent, base, m.mode, m.mtime, reader.read_data(m))

    def _write(
        self,
        parent: Parent,
        base: str,
        mode: int,
        mtime: float | int,
        data: Iterable[bytes | memoryview | list[bytes | memoryview]],
    ) -> None:
        """A regular file at ``base`` in ``parent``: its data, mode (as the header has it) and mtime."""
        mode = (mode & 0o755) | 0o644  # file_mode()
        try:  # a free name: create it in place (one syscall instead of temp + lstat + rename)
            fd = os.open(base, _NEW_FILE, mode, dir_fd=parent.fd)
            tmp = None
        except FileExistsError:  # occupied (file, symlink, dir): write a new inode, rename it over
            tmp, fd = self._new_temp(parent)
        try:
            try:
                for chunk in data:
                    if isinstance(chunk, list):
                        _write_buffers(fd, chunk)
                        continue
                    done = os.write(fd, chunk)
                    while done < len(chunk):
                        chunk = memoryview(chunk)[done:]
                        done = os.write(fd, chunk)
                if tmp is not None or mode & self._umask:
                    os.fchmod(fd, mode)
                if type(mtime) is int and 0 <= mtime <= _MAX_MTIME:  # (most): whole seconds, exact
                    os.utime(fd, (mtime, mtime))
                else:
                    ns = _ns(mtime)
                    os.utime(fd, ns=(ns, ns))
            finally:
                os.close(fd)
            if tmp is not None:
                self._replace(parent, tmp, base)
        except BaseException:
            self._discard(parent, base if tmp is None else tmp)
            raise

    def _symlink(self, m: Member, parent: Parent, base: str) -> None:
        target = m.linkname
        if not target or "\0" in target:
            raise IntegrityError(f"symlink {m.name!r} has an invalid target {target!r}")
        tmp = self._temp_name(parent, lambda name: os.symlink(target, name, dir_fd=parent.fd))
        try:
            ns = _ns(m.mtime)
            os.utime(tmp, ns=(ns, ns), dir_fd=parent.fd, follow_symlinks=False)
            self._replace(parent, tmp, base)
        except BaseException:
            self._discard(parent, tmp)
            raise
        self._tree_changed()

    def _hardlink(self, m: Member, parent: Parent, base: str) -> None:
        tparts = split_name(m.linkname, what="hard link target")
        if not tparts:
            raise IntegrityError(f"hard link {m.name!r} points at the root")
        existing = lstat_at(parent.fd, base)
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            self._remove(parent, base)  # the entry replaces the directory first (as umoci, containerd)
        tparent = self.fs.open_dir(tparts[:-1], create=False)
        tst = lstat_at(tparent.fd, tparts[-1]) if tparent is not None else None
        try:
            if tparent is None or tst is None:
                if not self._wanted(tparts):
                    raise IntegrityError(
                        f"hard link {m.name!r} -> {m.linkname!r}: the target is outside the "
                        "selected paths; select it too"
                    )
                raise IntegrityError(f"hard link {m.name!r} -> {m.linkname!r}: target does not exist")
            if stat.S_ISDIR(tst.st_mode):
                raise IntegrityError(f"hard link {m.name!r} -> {m.linkname!r}: target is a directory")
            if tparent.parts == parent.parts and tparts[-1] == base:
                # replacing the name removes the target first (umoci, containerd fail the same way)
                raise IntegrityError(f"hard link {m.name!r} points at itself")
            existing = lstat_at(parent.fd, base)
            if existing is not None and (existing.st_dev, existing.st_ino) == (tst.st_dev, tst.st_ino):
                return
            tfd, tname = tparent.fd, tparts[-1]
            tmp = self._temp_name(
                parent,
                lambda name: os.link(
                    tname, name, src_dir_fd=tfd, dst_dir_fd=parent.fd, follow_symlinks=False
                ),
            )
            try:
                self._replace(parent, tmp, base)
            except BaseException:
                self._discard(parent, tmp)
                raise
            if (tst.st_dev, tst.st_ino) in self._stand_ins:  # a link to a device or FIFO
                self._stand_in_names.append(parent.child(base))
            elif stat.S_ISREG(tst.st_mode):  # (not a symlink's)
                files, size = self._linked
                self._linked = (files + 1, size + tst.st_size)
        finally:
            if tparent is not None:
                tparent.close()

    # -- whiteouts --------------------------------------------------------------------------

    def _whiteout(self, parts: list[str], stats: LayerStats) -> None:
        if self._upper_runs:
            self._flush_upper()
        base = parts[-1]
        dir_parts = parts[:-1]
        if whiteout.is_opaque(base):
            stats.top_level.add(dir_parts[0] if dir_parts else ".")
            stats.root_opaque = stats.root_opaque or not dir_parts
            stats.whiteouts += 1
            d = self.fs.open_dir(dir_parts, create=False)
            if d is None:  # nothing below a directory that does not exist (as umoci)
                return
            with d:
                fd = self.fs.open_subdir(d.fd, ".")
                try:
                    self._clear_lower(fd, d.path)
                finally:
                    os.close(fd)
                self._mark_upper(d.path)
            return
        target = whiteout.target(base)
        if target is None:  # reserved .wh..wh.* names
            stats.ignored += 1
            return
        if target in ("", ".", ".."):
            raise IntegrityError(f"invalid whiteout {'/'.join(parts)!r}")
        tparts = [*dir_parts, target]
        stats.top_level.add(tparts[0])
        stats.whiteouts += 1
        parent = self.fs.open_dir(dir_parts, create=False)
        if parent is None:
            return
        with parent:
            path = parent.child(target)
            stats.top_level.add(path.split("/", 1)[0])
            if path in self._upper:
                return
            st = lstat_at(parent.fd, target)
            if st is None:
                return
            if path in self._upper_anc and stat.S_ISDIR(st.st_mode):
                fd = self.fs.open_subdir(parent.fd, target)
                try:
                    self._clear_lower(fd, path)
                finally:
                    os.close(fd)
            else:
                self._remove(parent, target)

    def _flush_upper(self) -> None:
        """The runs' paths into ``_upper`` (before it is read)."""
        add = self._upper.add
        for upper, bases in self._upper_runs:
            for base in bases:
                add(upper + base.decode("utf-8", "surrogateescape"))
        self._upper_runs.clear()

    def _clear_lower(self, dir_fd: int, path: str) -> None:
        """Remove everything under ``dir_fd`` that the current layer did not write."""
        with os.scandir(dir_fd) as it:
            entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
        for name, is_dir in entries:
            child = f"{path}/{name}" if path else name
            if child in self._upper or child in self._upper_anc:
                if is_dir:
                    fd = self.fs.open_subdir(dir_fd, name)
                    try:
                        self._clear_lower(fd, child)
                    finally:
                        os.close(fd)
                continue
            self.fs.remove(dir_fd, name, child, self._dir_removed)
            self._pristine = False
            self._tree_changed()

    # -- helpers ----------------------------------------------------------------------------

    def _parent(self, parts: list[str]) -> Parent:
        """The parent directory of ``parts`` (created if missing); not owned by the caller."""
        parent = self._cached_dir(tuple(parts[:-1]))
        return Parent(parent.fd, parent.parts, owned=False)

    def _cached_dir(self, key: tuple[str, ...]) -> Parent:
        """The directory ``key`` (created if missing), from the cache: never close it."""
        if self._parents_gen != self._tree_gen:
            self._drop_parents()
        parent = self._parents.get(key)
        if parent is None:
            # a directory below a cached one (a layer lists a directory, then its files): one
            # step from the cached fd, valid for the same reason as the cache itself
            above = self._parents.get(key[:-1]) if key else None
            if above is not None:
                parent = self.fs.open_child(above, key[-1], create=True)
            else:
                parent = self.fs.open_dir(key, create=True)
            assert parent is not None
            if len(self._parents) >= _PARENT_CACHE:
                self._parents.pop(next(iter(self._parents))).close()
            self._parents[key] = parent
        return parent

    def _drop_parents(self) -> None:
        for parent in self._parents.values():
            parent.close()
        self._parents.clear()
        self._parents_gen = self._tree_gen

    def _tree_changed(self) -> None:
        """A removal or a symlink change: names may resolve elsewhere now."""
        self._gen += 1
        self._tree_gen += 1

    def _wanted(self, parts: list[str], *, is_dir: bool = False) -> bool:
        sel = self.selection
        if sel.everything:
            return True
        if sel.wants("/".join(parts)):
            return True
        if self._alias_gen != self._gen:
            self._refresh_aliases()
            if sel.wants("/".join(parts)):
                return True
        return sel.wants(self.fs.canonical(parts, follow_final=is_dir))

    def _refresh_aliases(self) -> None:
        """Where the selected paths resolve now, plus every symlink passed on the way there."""
        sel = self.selection
        assert sel.paths is not None
        self._alias_gen = self._gen
        aliases: list[str] = []
        for p in sel.paths:
            aliases.append(self.fs.canonical(p.split("/"), trace=aliases))
        sel.set_aliases(aliases)

    def _clear_unwanted(self, parts: list[str]) -> None:
        """A skipped entry still replaces a (kept-for-resolution) symlink or directory at its name."""
        parent = self.fs.open_dir(parts[:-1], create=False)
        if parent is None:
            return
        with parent:
            st = lstat_at(parent.fd, parts[-1])
            if st is not None and (stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                self._remove(parent, parts[-1])

    def _prune_unwanted(self, dir_fd: int, path: str) -> None:
        """Remove the symlinks kept only for resolution, and directories left empty by that."""
        with os.scandir(dir_fd) as it:
            entries = [(e.name, e.is_dir(follow_symlinks=False), e.is_symlink()) for e in it]
        for name, is_dir, is_link in entries:
            child = f"{path}/{name}" if path else name
            wanted = self.selection.wants(child)
            if is_dir:
                fd = self.fs.open_subdir(dir_fd, name)
                try:
                    self._prune_unwanted(fd, child)
                    empty = not os.listdir(fd)
                finally:
                    os.close(fd)
                if not wanted and empty:
                    self._pristine = False  # (no file goes; counted as a removal all the same)
                    os.rmdir(name, dir_fd=dir_fd)
                    self._dirs.pop(child, None)
            elif is_link and not wanted:
                self._pristine = False
                os.unlink(name, dir_fd=dir_fd)

    def _mark_upper(self, path: str) -> None:
        self._upper.add(path)
        if "/" in path:
            self._mark_upper_anc(path.rsplit("/", 1)[0])
        else:
            self._upper_anc.add("")

    def _mark_upper_anc(self, anc: str) -> None:
        """``anc`` (a directory path, "" for the root) and its ancestors hold upper paths."""
        while anc not in self._upper_anc:
            self._upper_anc.add(anc)
            if "/" not in anc:
                anc = ""
                continue
            anc = anc.rsplit("/", 1)[0]

    def _implicit_dir(self, path: str) -> None:
        self._gen += 1

    def _dir_removed(self, path: str) -> None:
        self._dirs.pop(path, None)

    def _remove(self, parent: Parent, name: str) -> None:
        self._pristine = False
        self.fs.remove(parent.fd, name, parent.child(name), self._dir_removed)
        self._tree_changed()

    def _replace(self, parent: Parent, tmp: str, base: str) -> None:
        st = lstat_at(parent.fd, base)
        if st is not None:
            self._pristine = False  # whatever was at the name goes
            if stat.S_ISDIR(st.st_mode):
                self._remove(parent, base)
            elif stat.S_ISLNK(st.st_mode):
                self._tree_changed()
        os.rename(tmp, base, src_dir_fd=parent.fd, dst_dir_fd=parent.fd)
        self._discard(parent, tmp)  # rename between two names of one inode is a no-op

    def _discard(self, parent: Parent, tmp: str) -> None:
        try:
            os.unlink(tmp, dir_fd=parent.fd)
        except FileNotFoundError:
            pass

    def _next_tmp(self) -> str:
        self._tmp_counter += 1
        return f".imgextract-tmp-{os.getpid()}-{self._tmp_counter}"

    def _temp_name(self, parent: Parent, create: object) -> str:
        for _ in range(100):
            name = self._next_tmp()
            try:
                create(name)  # type: ignore[operator]
                return name
            except FileExistsError:
                continue
        raise IntegrityError("cannot find a free temporary name")

    def _new_temp(self, parent: Parent) -> tuple[str, int]:
        for _ in range(100):
            name = self._next_tmp()
            try:
                return name, os.open(name, _NEW_FILE, 0o600, dir_fd=parent.fd)
            except FileExistsError:
                continue
        raise IntegrityError("cannot find a free temporary name")

    def _fix_dirs_quickly(self) -> bool:
        """``walk_dirs_post(_fix_dir)`` without the walk, when nothing was removed or replaced
        (every directory is where it was made) and the umask left ``DIR_MODE`` whole: every
        directory was made with its final mode, so only the times of explicit entries are set
        (by name, from open parents), then the root's mode and time.  False: walk instead."""
        if not self._pristine or self._umask & DIR_MODE:
            return False
        if not self.fs.set_dir_times([(path, meta[1]) for path, meta in self._dirs.items() if path]):
            return False
        self._fix_dir(self.fs.root_fd, "")
        return True

    def _fix_dir(self, fd: int, path: str) -> None:
        meta = self._dirs.get(path)
        os.fchmod(fd, dir_mode(meta[0]) if meta else 0o755)
        if meta:
            os.utime(fd, ns=(meta[1], meta[1]))

    def _check_selected_paths(self) -> None:
        if self.selection.paths is None:
            return
        for p in self.selection.paths:
            if self.fs.escapes(p.split("/")):
                raise IntegrityError(
                    f"selected path {p!r} is a symlink (or below one) that leads outside the image"
                )
