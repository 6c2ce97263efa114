"""Directory output: build in a staging directory beside OUT, rename into place on success.

On any failure the staging directory is removed and OUT is untouched (a pre-existing OUT is
only replaced with ``--force``, and then only after the new content is complete).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from types import TracebackType

from imgextract.errors import UsageError


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


def check_output_dir(out: Path, *, force: bool) -> None:
    """OUT must not exist, or be an empty directory, unless ``force``."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        if not force:
            raise UsageError(f"output {out} exists and is not a directory (use --force to replace it)")
    elif out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"output directory {out} is not empty (use --force to replace it)")
    if not out.parent.is_dir():
        raise UsageError(f"parent directory of {out} does not exist")


class StagingDir:
    """``with StagingDir(out, force) as root: ...; staging.commit()``."""

    def __init__(self, out: Path, *, force: bool = False) -> None:
        self.out = out
        self.force = force
        self.root: Path | None = None
        self.committed = False

    def __enter__(self) -> Path:
        check_output_dir(self.out, force=self.force)
        self.root = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.staging-", dir=self.out.parent))
        os.chmod(self.root, 0o755)
        return self.root

    def commit(self) -> None:
        assert self.root is not None
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

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
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
