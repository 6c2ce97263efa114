"""Regular files and directories as the applier writes them, and their metadata (rules 3, 9,
11, 15, 16 and the output permission policy): every write makes a new inode (a free name created
with ``O_EXCL``, an occupied one through a temporary name renamed over it), modes are the policy's
(``file_mode``, ``dir_mode``; ``fchmod`` only when the umask took bits), mtimes clamped and set
on the open file (``_ns``, ``_utime_args``); directories are made 0755 and get their modes and
times in ``finalize`` (``_fix_dirs_quickly``, ``_fix_dir``)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from imgextract.errors import IntegrityError
from imgextract.layers.fsroot import DIR_MODE, Parent, lstat_at
from imgextract.layers.member import ExactTime, Member, MemberData
from imgextract.layers.whiteouts import ApplierWhiteouts

_MAX_MTIME = 253402300799  # 9999-12-31T23:59:59Z
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


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


class ApplierFiles(ApplierWhiteouts):
    """File writing of ``Applier`` (which sets these attributes: see its ``__init__``)."""

    _tmp_counter: int
    _umask: int

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
