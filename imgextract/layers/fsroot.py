"""Filesystem operations confined to one directory, driven from directory file descriptors.

Nothing here joins a path string onto the root and hands it to the kernel.  Every walk starts
at the root's fd and opens one component at a time with ``O_PATH|O_NOFOLLOW|O_DIRECTORY``;
symlinks met on the way are read and resolved *by us* inside the root, like
``openat2(RESOLVE_IN_ROOT)``: absolute targets restart at the root, ``..`` stops at the root,
at most ``MAX_HOPS`` symlinks per walk (more is a loop -> ``IntegrityError``).  The final
component of a name is never followed; callers act on it with ``*at`` calls relative to the
parent's fd (``dir_fd=``), so a symlink planted by a layer can never redirect a write, a
chmod or a utime outside the root.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from imgextract.errors import IntegrityError, LimitExceeded

MAX_HOPS = 40  # Linux's MAXSYMLINKS
MAX_DEPTH = 512  # path components below the root (bounds recursion and open fds)
# Resolution work: every entry is resolved from the root, one openat per component.  A layer of
# many very deep names would cost depth x entries syscalls (1M entries at depth 500: ~an hour), so
# the walk spends from a budget that grows by STEPS_PER_ENTRY per tar entry on top of BASE_STEPS.
BASE_STEPS = 1_000_000
STEPS_PER_ENTRY = 64
# Every directory's final mode (applier.dir_mode): made with it, finalize has nothing to change
# unless the umask took bits away.
DIR_MODE = 0o755
_DIR_PATH = os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_DIR_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


def join(parts: Sequence[str]) -> str:
    return "/".join(parts)


class Parent:
    """An open directory inside the root and its canonical path (components below the root)."""

    __slots__ = ("fd", "parts", "path", "_owned")

    def __init__(self, fd: int, parts: list[str], owned: bool, path: str | None = None) -> None:
        """``path``: ``join(parts)``, when the caller has it."""
        self.fd = fd
        self.parts = parts
        self.path = join(parts) if path is None else path
        self._owned = owned

    def child(self, name: str) -> str:
        return f"{self.path}/{name}" if self.path else name

    def close(self) -> None:
        if self._owned and self.fd >= 0:
            os.close(self.fd)
        self.fd = -1

    def __enter__(self) -> Parent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def lstat_at(dir_fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


class RootFS:
    """A directory tree that layers are applied to; all access goes through ``root_fd``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root_fd = os.open(root, _DIR_READ)
        self.on_mkdir: Callable[[str], None] | None = None
        self.steps_left = BASE_STEPS

    def fund_entry(self) -> None:
        """Grant the resolution budget of one more tar entry."""
        self.steps_left += STEPS_PER_ENTRY

    def _spend(self) -> None:
        self.steps_left -= 1
        if self.steps_left < 0:
            raise LimitExceeded(
                "path resolution work exceeded: entries nest too deep on average "
                f"(more than {STEPS_PER_ENTRY} directory lookups per entry)"
            )

    def close(self) -> None:
        if self.root_fd >= 0:
            os.close(self.root_fd)
            self.root_fd = -1

    def __enter__(self) -> RootFS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- resolution -------------------------------------------------------------------------

    def _walk(
        self, parts: Sequence[str], *, create: bool, follow_final: bool = True, trace: list[str] | None = None
    ) -> tuple[int, list[str], list[str]]:
        """Walk ``parts`` as directories.  Returns (fd, canonical parts, unresolved rest).

        ``rest`` is non-empty only when ``create`` is false and a component is missing or not
        a directory; then fd is the deepest directory reached.  The fd is owned by the caller
        unless it is ``root_fd``.
        """
        fds: list[int] = [self.root_fd]
        canon: list[str] = []
        pending = list(reversed(parts))
        hops = 0
        try:
            while pending:
                c = pending.pop()
                if c in ("", "."):
                    continue
                self._spend()
                if c == "..":
                    if canon:
                        canon.pop()
                        os.close(fds.pop())
                    continue
                cur = fds[-1]
                try:
                    fd = os.open(c, _DIR_PATH, dir_fd=cur)
                except FileNotFoundError:
                    if not create:
                        return self._detach(fds), canon, [c, *reversed(pending)]
                    if len(canon) >= MAX_DEPTH:
                        raise IntegrityError(f"path deeper than {MAX_DEPTH} components") from None
                    os.mkdir(c, DIR_MODE, dir_fd=cur)
                    if self.on_mkdir is not None:
                        self.on_mkdir(join([*canon, c]))
                    fd = os.open(c, _DIR_PATH, dir_fd=cur)
                except (NotADirectoryError, OSError) as e:
                    if not isinstance(e, NotADirectoryError) and e.errno != 40:  # ELOOP
                        raise
                    st = os.stat(c, dir_fd=cur, follow_symlinks=False)
                    if not stat.S_ISLNK(st.st_mode) or (not follow_final and not pending):
                        if not create:
                            return self._detach(fds), canon, [c, *reversed(pending)]
                        raise IntegrityError(f"{join([*canon, c])!r} is not a directory") from None
                    if trace is not None:
                        trace.append(join([*canon, c]))
                    hops += 1
                    if hops > MAX_HOPS:
                        raise IntegrityError(
                            f"too many levels of symbolic links at {join([*canon, c])!r}"
                        ) from None
                    target = os.readlink(c, dir_fd=cur)
                    if not target:
                        raise IntegrityError(f"empty symlink {join([*canon, c])!r}") from None
                    if target.startswith("/"):
                        while len(fds) > 1:
                            os.close(fds.pop())
                        canon.clear()
                    pending.extend(reversed(target.split("/")))
                    continue
                fds.append(fd)
                canon.append(c)
                if len(canon) > MAX_DEPTH:
                    raise IntegrityError(f"path deeper than {MAX_DEPTH} components")
            return self._detach(fds), canon, []
        except BaseException:
            for fd in fds[1:]:
                os.close(fd)
            raise

    def _detach(self, fds: list[int]) -> int:
        """Close all but the last fd of a walk and return it (ownership passes to the caller)."""
        last = fds[-1]
        for fd in fds[1:-1]:
            os.close(fd)
        del fds[1:]
        return last

    def open_dir(self, parts: Sequence[str], *, create: bool) -> Parent | None:
        """The directory at ``parts`` (symlinks followed inside the root, the last one too).

        With ``create`` missing directories are made (``DIR_MODE``, less the umask); without it
        None is returned when the path does not exist or is not a directory.
        """
        fd, canon, rest = self._walk(parts, create=create)
        if rest:
            if fd != self.root_fd:
                os.close(fd)
            return None
        return Parent(fd, canon, owned=fd != self.root_fd)

    def open_child(self, parent: Parent, name: str, *, create: bool) -> Parent | None:
        """``open_dir([*parent.parts, name], create=create)`` for ``parent``, an open directory
        of this root that is still where its path resolves to (the caller knows nothing was
        removed or relinked since it was opened): one step from its fd instead of a walk from
        the root.  Anything but a plain directory or a free name at ``name`` (a symlink, which is
        resolved inside the root; a file) takes the full walk, so the result is the walk's."""
        if name in ("", ".", "..") or len(parent.parts) >= MAX_DEPTH:
            return self.open_dir([*parent.parts, name], create=create)
        self._spend()
        try:
            fd = os.open(name, _DIR_PATH, dir_fd=parent.fd)
        except FileNotFoundError:
            if not create:
                return None
            os.mkdir(name, DIR_MODE, dir_fd=parent.fd)
            if self.on_mkdir is not None:
                self.on_mkdir(join([*parent.parts, name]))
            fd = os.open(name, _DIR_PATH, dir_fd=parent.fd)
        except OSError as e:
            if not isinstance(e, NotADirectoryError) and e.errno != 40:  # ELOOP: a symlink
                raise
            return self.open_dir([*parent.parts, name], create=create)
        return Parent(fd, [*parent.parts, name], owned=True)

    def open_made(self, parent: Parent, name: str) -> Parent:
        """``open_child(parent, name, create=True)`` for a directory the caller has just made at
        ``name`` in ``parent`` (``mkdir``: a plain directory, nothing changed since) and a
        ``name`` that is one component (not empty, ``.`` or ``..``): its fd, one step from the
        parent's, at the same cost to the resolution budget."""
        if len(parent.parts) >= MAX_DEPTH:
            return self.open_dir([*parent.parts, name], create=True)  # type: ignore[return-value]
        self._spend()
        fd = os.open(name, _DIR_PATH, dir_fd=parent.fd)
        return Parent(fd, [*parent.parts, name], True, f"{parent.path}/{name}" if parent.path else name)

    def canonical(
        self, parts: Sequence[str], *, follow_final: bool = True, trace: list[str] | None = None
    ) -> str:
        """Where ``parts`` lands inside the root right now (missing tail kept as written).

        ``trace`` collects the canonical paths of the symlinks passed on the way."""
        if not parts:
            return ""
        if follow_final:
            fd, canon, rest = self._walk(parts, create=False, trace=trace)
        else:
            fd, canon, rest = self._walk(parts[:-1], create=False, trace=trace)
            rest = [*rest, parts[-1]]
        if fd != self.root_fd:
            os.close(fd)
        return join([*canon, *rest])

    def escapes(self, parts: Sequence[str]) -> bool:
        """Whether the kernel, resolving ``parts`` from the root the ordinary way (absolute
        symlinks from the host's /, ``..`` above the root allowed), would leave the root."""
        fds: list[int] = [self.root_fd]
        depth = 0
        pending = list(reversed(parts))
        hops = 0
        try:
            while pending:
                c = pending.pop()
                if c in ("", "."):
                    continue
                self._spend()
                if c == "..":
                    if depth == 0:
                        return True
                    depth -= 1
                    os.close(fds.pop())
                    continue
                try:
                    fd = os.open(c, _DIR_PATH, dir_fd=fds[-1])
                except FileNotFoundError:
                    return False
                except OSError as e:
                    if not isinstance(e, NotADirectoryError) and e.errno != 40:  # ELOOP
                        raise
                    st = os.stat(c, dir_fd=fds[-1], follow_symlinks=False)
                    if not stat.S_ISLNK(st.st_mode):
                        return False
                    hops += 1
                    if hops > MAX_HOPS:
                        return False  # the kernel stops with ELOOP
                    target = os.readlink(c, dir_fd=fds[-1])
                    if target.startswith("/"):
                        return True
                    pending.extend(reversed(target.split("/")))
                    continue
                fds.append(fd)
                depth += 1
            return False
        finally:
            for fd in fds[1:]:
                os.close(fd)

    def set_dir_times(self, dirs: Sequence[tuple[str, int]]) -> bool:
        """Set atime and mtime (ns) of each directory ``path`` ("/"-joined canonical components
        below the root, not the root itself) by name from its parent's fd, never following a
        symlink: each parent is opened once, one component at a time with ``O_NOFOLLOW``.  False
        (some may be set) when a path is not a directory reached that way: the caller walks."""
        stack: list[tuple[tuple[str, ...], int]] = [((), self.root_fd)]
        try:
            # (by path: the paths below a directory, "a/" + anything, come together in that order)
            for path, ns in sorted(dirs):
                *head, name = path.split("/")
                top = tuple(head)
                while stack[-1][0] != top[: len(stack[-1][0])]:
                    os.close(stack.pop()[1])
                for c in top[len(stack[-1][0]) :]:
                    if c in ("", ".", ".."):
                        return False
                    fd = os.open(c, _DIR_PATH, dir_fd=stack[-1][1])
                    stack.append(((*stack[-1][0], c), fd))
                seconds, fraction = divmod(ns, 1_000_000_000)
                if fraction:
                    os.utime(name, ns=(ns, ns), dir_fd=stack[-1][1], follow_symlinks=False)
                else:  # (most: whole seconds, exact; cheaper to pass than nanoseconds)
                    os.utime(name, (seconds, seconds), dir_fd=stack[-1][1], follow_symlinks=False)
            return True
        except (FileNotFoundError, NotADirectoryError):
            return False
        except OSError as e:
            if e.errno == 40:  # ELOOP: a symlink
                return False
            raise
        finally:
            for _, fd in stack[1:]:
                os.close(fd)

    # -- removal ----------------------------------------------------------------------------

    def remove(self, dir_fd: int, name: str, path: str, on_dir_removed: Callable[[str], None]) -> None:
        """Remove ``name`` (never following it); directories recursively."""
        st = lstat_at(dir_fd, name)
        if st is None:
            return
        if stat.S_ISDIR(st.st_mode):
            self._rmtree(dir_fd, name, path, on_dir_removed)
        else:
            os.unlink(name, dir_fd=dir_fd)

    def _rmtree(self, dir_fd: int, name: str, path: str, on_dir_removed: Callable[[str], None]) -> None:
        fd = os.open(name, _DIR_READ, dir_fd=dir_fd)
        try:
            with os.scandir(fd) as it:
                entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
            for child, is_dir in entries:
                if is_dir:
                    self._rmtree(fd, child, f"{path}/{child}" if path else child, on_dir_removed)
                else:
                    os.unlink(child, dir_fd=fd)
        finally:
            os.close(fd)
        os.rmdir(name, dir_fd=dir_fd)
        on_dir_removed(path)

    def open_subdir(self, dir_fd: int, name: str) -> int:
        """A readable fd of directory ``name`` in ``dir_fd`` (never a symlink)."""
        return os.open(name, _DIR_READ, dir_fd=dir_fd)

    def walk_dirs_post(self, visit: Callable[[int, str], None]) -> None:
        """Call ``visit(fd, path)`` for every directory, children before parents, root last."""
        self._post(self.root_fd, "", visit)

    def _post(self, fd: int, path: str, visit: Callable[[int, str], None]) -> None:
        with os.scandir(fd) as it:
            subdirs = [e.name for e in it if e.is_dir(follow_symlinks=False)]
        for name in subdirs:
            sub = os.open(name, _DIR_READ, dir_fd=fd)
            try:
                self._post(sub, f"{path}/{name}" if path else name, visit)
            finally:
                os.close(sub)
        visit(fd, path)
