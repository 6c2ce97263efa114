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

``Applier`` holds the state and the run loop (``apply_members``: entries, and the runs of plain
files and sibling directories a tar reader hands over).  The rules are its base classes', one
module each, every one calling only those below it: entries.py (one entry: the general path and
a plain file's), links.py (symlinks, hard links, device stand-ins), files.py (writing files and
directories, modes and times), whiteouts.py (whiteouts, opaque directories, the layer's upper
paths), paths.py (names, parents resolved through fsroot.py, the selection, removal).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Final

from imgextract.errors import IntegrityError, LimitExceeded
from imgextract.layers.entries import _REGULAR, ApplierEntries
from imgextract.layers.files import _MAX_MTIME, _NEW_FILE, _ns, _process_umask, _utime_args, _write_rest
from imgextract.layers.fsroot import DIR_MODE, STEPS_PER_ENTRY, Parent, RootFS
from imgextract.layers.layerstats import LayerStats
from imgextract.layers.member import Member, MemberData
from imgextract.layers.paths import _PARENT_CACHE
from imgextract.layers.selection import PathSelection
from imgextract.records import FrozenRecord

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
_NO_RUN: Iterator[tuple[bytes, int, int, memoryview]] = iter(())  # (before a run is taken)


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


def _entry_error(e: OSError, name: str) -> Exception:
    """What an entry's failed system call is reported as: the local disk's errors as they are
    (with the entry's path), anything else as the layer's fault."""
    if e.errno in _ENVIRONMENTAL:
        return OSError(e.errno, e.strerror, e.filename or name)
    return IntegrityError(f"cannot apply layer entry {name!r}: {e.strerror or e}")


class Applier(ApplierEntries):
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
