"""A bundle's ``manifests`` and ``metadata`` directories as opm lists and reads them (``os.ReadDir``
order; only regular files, symlinks only inside the bundle), on disk or held in memory."""

from __future__ import annotations

import functools
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from imgextract.catalog.render.rendered import BundleError

__all__ = ["Listing", "memory_listing"]

log = logging.getLogger(__name__)


def _read(root: Path, entry: os.DirEntry[str]) -> bytes | None:
    """A regular file's bytes; None for what opm cannot read as a file.  Symlinks are followed only
    inside the bundle directory (a hostile image must not make us read the host's files)."""
    path = Path(entry.path)
    try:
        st = os.stat(path)
        if entry.is_symlink():
            real = os.path.realpath(path)
            if os.path.commonpath([real, os.path.realpath(root)]) != os.path.realpath(root):
                log.warning("skipping %s: symlink leaves the bundle", entry.name)
                return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return _read_all(entry.path, st.st_size)
    except OSError as exc:
        log.warning("unable to read file %s: %s", entry.name, exc)
        return None


def _read_all(path: str, size: int) -> bytes:
    """The file's bytes up to its end, in plain system calls (``read_bytes`` adds five more per
    file, each a point where a worker thread hands the GIL over)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        first = os.read(fd, size + 1)
        if not first:
            return first
        parts = [first]
        while chunk := os.read(fd, max(size, 1 << 16)):
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)


def _entries(d: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(d) as it:
            return sorted(it, key=lambda e: e.name.encode("utf-8", "surrogateescape"))
    except FileNotFoundError as exc:  # os.DirFS's error, its path made "." by fs.Sub
        raise BundleError("open .: no such file or directory") from exc
    except NotADirectoryError as exc:
        raise BundleError("readdirent .: not a directory") from exc


class _Entry:
    """One name of a bundle directory: whether it is a directory, and how to read it (None: opm
    cannot read it as a file; the reason was logged)."""

    __slots__ = ("is_dir", "name", "read")

    def __init__(self, name: str, is_dir: bool, read: Callable[[], bytes | None]) -> None:
        self.name = name
        self.is_dir = is_dir
        self.read = read


Listing = Callable[[str], list[_Entry]]
"""A bundle's ``manifests`` or ``metadata`` directory as ``os.ReadDir`` lists it (sorted by name);
raises BundleError as opm's read fails."""


def _disk_listing(root: Path) -> Listing:
    def listing(name: str) -> list[_Entry]:
        return [_Entry(e.name, e.is_dir(), functools.partial(_read, root, e)) for e in _entries(root / name)]

    return listing


def memory_listing(files: dict[str, bytes], dirs: set[str], root: str = "") -> Listing:
    """The listing of a bundle held in memory (``files``: path -> bytes, ``dirs``: every directory
    path; paths relative to the image, the bundle at ``root``), as the same tree on disk lists."""
    prefix = f"{root}/" if root else ""

    def listing(name: str) -> list[_Entry]:
        d = prefix + name
        if d not in dirs:
            raise BundleError(
                "readdirent .: not a directory" if d in files else "open .: no such file or directory"
            )
        inner = d + "/"
        names = {p[len(inner) :].split("/", 1)[0] for p in files if p.startswith(inner)}
        names.update(x[len(inner) :].split("/", 1)[0] for x in dirs if x.startswith(inner))
        out = [_Entry(n, inner + n in dirs, functools.partial(files.get, inner + n)) for n in names]
        out.sort(key=lambda e: e.name.encode("utf-8", "surrogateescape"))
        return out

    return listing
