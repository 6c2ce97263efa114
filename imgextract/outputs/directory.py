"""Directory output: build in a staging directory beside OUT, rename into place on success.

On any failure the staging directory is removed and OUT is untouched (a pre-existing OUT is
only replaced with ``--force``, and then only after the new content is complete).
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
import tempfile
from pathlib import Path
from types import TracebackType

from imgextract.errors import UsageError, option


def force_rmtree(path: Path) -> None:
    """Remove a tree even when it holds directories without write or search permission."""
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    if not path.exists():
        return
    os.chmod(path, stat.S_IRWXU)
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, stat.S_IRWXU)
    shutil.rmtree(path)


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and not any(path.iterdir())


def check_output_dir(out: Path, *, force: bool) -> None:
    """OUT must not exist, or be an empty directory, unless ``force``."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        if not force:
            raise UsageError(
                f"output {out} exists and is not a directory (use {option('force')} to replace it)"
            )
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
            root = parent / f".{self.out.name}.staging-{secrets.token_hex(6)}"
            try:
                os.mkdir(root, 0o700)
                os.chmod(root, 0o755)
                self.root = root
                return root
            except FileExistsError:
                continue
            except BaseException:
                if os.path.isdir(root):
                    force_rmtree(root)
                raise

    def _commit_in_place(self) -> None:
        assert self.root is not None
        moved: list[Path] = []
        try:
            for entry in sorted(self.root.iterdir()):
                os.rename(entry, self.out / entry.name)
                moved.append(self.out / entry.name)
            self.root.rmdir()
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
        out = self.out
        trash: Path | None = None
        if out.is_symlink() or out.exists():
            if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
                out.rmdir()
            else:
                trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
                os.rename(out, trash / "old")
        os.rename(self.root, out)
        self.committed = True
        if trash is not None:
            force_rmtree(trash)

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.committed and self.root is not None:
            force_rmtree(self.root)


def atomic_write(path: Path, data: bytes) -> None:
    """Write a file through a temporary sibling and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
