"""Directory output: build in a staging directory beside OUT, rename into place on success.

On any failure the staging directory is removed and OUT is untouched (a pre-existing OUT is
only replaced with ``--force``, and then only after the new content is complete).

Staging and replaced-OUT directories are named ``.<OUT>.staging-<owner>-<random>`` and
``.<OUT>.old-<owner>-<random>``, ``<owner>`` naming the process (host mark, pid and start time,
see :mod:`imgextract.procowner`).  One left behind by a killed process of this host is removed by
the next pull into the same parent directory (:func:`sweep_stale`); one of another host (pods
sharing a volume) only once nothing in it changed for :data:`~imgextract.procowner.FOREIGN_MAX_AGE`
(24 h), since its owner may still be running there.  A local filesystem failure (disk full,
read-only, permission denied) is raised as :class:`~imgextract.errors.LocalFilesystemError`
naming the path and the errno.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeGuard

from imgextract.errors import ImgExtractError, UsageError, local_filesystem_error, option
from imgextract.procowner import FOREIGN_MAX_AGE, TOKEN_PATTERN, left_behind, owner_token
from imgextract.removal import rmtree_forcing_permissions

log = logging.getLogger(__name__)

_OWNED = re.compile(r"^\..+\.(?:staging|old)-(" + TOKEN_PATTERN + r")-[0-9a-f]{12}$")
SPOOL_PREFIX = "bundle-extract-layer-"  # a layer spooled beside OUT while it downloads (pull --no-cache)
_SPOOL = re.compile(r"^" + SPOOL_PREFIX + r"(" + TOKEN_PATTERN + r")-")
LOCAL_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG, errno.EIO, errno.EMLINK}
)


def is_local_failure(exc: BaseException | None) -> TypeGuard[OSError]:
    """An ``OSError`` of the local filesystem (not of a socket)."""
    return (
        isinstance(exc, OSError)
        and not isinstance(exc, ConnectionError | TimeoutError)
        and exc.errno in LOCAL_ERRNOS
    )


def _owned_name(out_name: str, kind: str) -> str:
    return f".{out_name}.{kind}-{owner_token()}-{os.urandom(6).hex()}"


_active: set[Path] = set()  # staging directories of this process not yet committed or removed

COMMIT_CHECKPOINTS: list[Callable[[], None]] = []
"""Called before a staging directory becomes OUT; one that raises stops the commit (the CLI adds
its signal check once told to stop, so an interrupt swallowed somewhere never ends in a commit)."""


def remove_active_staging() -> None:
    """Remove every staging directory this process has not committed (last-resort cleanup on a
    signal: called even when the unwinding that normally removes them did not run)."""
    for root in list(_active):
        try:
            if os.path.isdir(root) and not os.path.islink(root):
                force_rmtree(root)
        except OSError:
            pass
        _active.discard(root)


def sweep_stale(directory: Path, *, now: float | None = None) -> int:
    """Remove staging/old directories and layer spool files in ``directory`` left behind; returns how
    many.  Left behind: their owner is a process of this host that is gone, or (any other owner: a
    pod or host sharing the volume, whose processes we cannot see) nothing in them changed for
    ``FOREIGN_MAX_AGE``."""
    cutoff = (time.time() if now is None else now) - FOREIGN_MAX_AGE
    removed = 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    for name in names:
        path = directory / name
        spool = _SPOOL.match(name)
        if spool is not None:
            if left_behind(path, spool.group(1), cutoff):
                try:
                    path.unlink()
                    removed += 1
                except OSError:
                    pass
            continue
        match = _OWNED.match(name)
        if match is None or not left_behind(path, match.group(1), cutoff):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                force_rmtree(path)
                removed += 1
                log.info("removed %s, left behind by an interrupted pull", path)
        except OSError:
            continue
    return removed


def force_rmtree(path: Path) -> None:
    """Remove a tree even when it holds directories without write or search permission."""
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    if not path.exists():
        return
    rmtree_forcing_permissions(path)


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def _describe_non_directory(out: Path) -> str:
    if out.is_symlink():
        target = os.readlink(out)
        if not out.exists():
            return f"output {out} is a dangling symlink (to {target})"
        if out.is_dir():
            return f"output {out} is a symlink to a directory ({target}); name the directory itself"
        return f"output {out} is a symlink (to {target})"
    return f"output {out} exists and is not a directory"


def check_output_dir(out: Path, *, force: bool, sweep_beside: bool = True) -> None:
    """OUT must not exist, or be an empty directory, unless ``force``.

    Staging directories left beside OUT (unless not ``sweep_beside``: the early check of a pull,
    whose staging sweeps them again) or inside an empty OUT by a killed pull are removed first.
    """
    absolute = Path(os.path.abspath(out))
    if sweep_beside:
        sweep_stale(absolute.parent)
    if absolute.is_dir() and not absolute.is_symlink():
        sweep_stale(absolute)
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        if not force:
            raise UsageError(f"{_describe_non_directory(out)} (use {option('force')} to replace it)")
    elif out.is_dir() and any(out.iterdir()):
        if not force:
            raise UsageError(f"output directory {out} is not empty (use {option('force')} to replace it)")
        absolute, cwd = Path(os.path.abspath(out)), Path.cwd()
        if os.path.ismount(absolute):
            raise UsageError(f"{option('force')} cannot replace {out}: it is a mount point; empty it first")
        if absolute == cwd or absolute in cwd.parents:
            raise UsageError(
                f"{option('force')} would replace {out}, which holds the current directory; "
                "choose another output directory"
            )
    if not Path(os.path.abspath(out)).parent.is_dir():
        raise UsageError(f"parent directory of {out} does not exist; create it first")


class StagingDir:
    """``with StagingDir(out, force) as root: ...; staging.commit()``."""

    def __init__(self, out: Path, *, force: bool = False) -> None:
        self.out = Path(os.path.abspath(out))  # "." and "dir/.." have no usable name or parent
        self.force = force
        self.root: Path | None = None
        self.committed = False
        self.in_place = False

    def __enter__(self) -> Path:
        check_output_dir(self.out, force=self.force)
        # An existing empty OUT (a mount point, the current directory) is kept: stage inside it, on
        # its filesystem, and move the result up on commit.
        self.in_place = _is_empty_dir(self.out)
        parent = self.out if self.in_place else self.out.parent
        # Named before it exists, so a Ctrl-C landing right after the mkdir (tempfile.mkdtemp runs Python
        # code there) still finds it: __exit__ does not run when __enter__ raises.
        while True:
            root = parent / _owned_name(self.out.name, "staging")
            _active.add(root)  # before it exists: a signal right after the mkdir still finds it
            try:
                os.mkdir(root, 0o700)
                os.chmod(root, 0o755)
                self.root = root
                return root
            except FileExistsError:
                _active.discard(root)
                continue
            except BaseException as exc:
                if os.path.isdir(root):
                    force_rmtree(root)
                _active.discard(root)
                if is_local_failure(exc):
                    raise local_filesystem_error(exc, doing="creating") from None
                raise

    def _commit_in_place(self) -> None:
        assert self.root is not None
        for checkpoint in list(COMMIT_CHECKPOINTS):
            checkpoint()
        moved: list[Path] = []
        try:
            for entry in sorted(self.root.iterdir()):
                os.rename(entry, self.out / entry.name)
                moved.append(self.out / entry.name)
            self.root.rmdir()
            _active.discard(self.root)
        except BaseException:
            for path in moved:
                force_rmtree(path)
            raise
        self.committed = True

    def commit(self) -> None:
        assert self.root is not None
        if self.in_place:
            self._commit_in_place()
            return
        for checkpoint in list(COMMIT_CHECKPOINTS):
            checkpoint()
        out = self.out
        trash: Path | None = None
        if out.is_symlink() or out.exists():
            if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
                out.rmdir()
            else:
                trash = out.parent / _owned_name(out.name, "old")
                os.mkdir(trash, 0o700)
                os.rename(out, trash / "old")
        os.rename(self.root, out)
        _active.discard(self.root)
        self.committed = True
        if trash is not None:
            force_rmtree(trash)

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.committed and self.root is not None:
            force_rmtree(self.root)
            _active.discard(self.root)
        if ev is not None and not isinstance(ev, ImgExtractError) and is_local_failure(ev):
            name = ev.filename if isinstance(ev.filename, str) else None
            if name is not None and self.root is not None:
                if name.startswith(str(self.root)):
                    name = str(self.out) + name[len(str(self.root)) :]
                elif not os.path.isabs(name):
                    name = str(self.out / name)
            raise local_filesystem_error(OSError(ev.errno, ev.strerror, name)) from ev


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file through a temporary sibling and rename it into place."""
    import tempfile  # rarely needed (and it loads ``random``): not at start-up

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        if is_local_failure(exc):
            raise local_filesystem_error(exc, doing="creating") from None
        raise
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_local_failure(exc):
            if exc.filename is None:
                exc = OSError(exc.errno, exc.strerror, str(path))
            raise local_filesystem_error(exc) from None
        raise
