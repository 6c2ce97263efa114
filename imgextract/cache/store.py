"""ContentCache: the cache directory's front door (blobs, manifests, layer index, prune).

``prune`` also ages out what other parts keep under the cache root: ``render/`` (one rendering
per bundle, written by :mod:`imgextract.catalog.render`) and ``catalogs/`` (the extracted FBC of a
catalog image, one directory per manifest digest, written by :mod:`imgextract.catalog.session`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from imgextract.cache.layout import Layout, split_digest
from imgextract.cache.locks import FileLock
from imgextract.cache.writer import BlobWriter, SmallBlobWriter, WaitSettings, private_temp_name, write_all
from imgextract.errors import IntegrityError
from imgextract.keyedlocks import KeyedLocks
from imgextract.procowner import FOREIGN_MAX_AGE, TOKEN_PATTERN, left_behind, owner_alive, quiet_since
from imgextract.records import Record

if TYPE_CHECKING:
    from imgextract.cache.layerindex import LayerIndexEntry

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
# a layer index (top-level names and links) larger than this is not read: that layer is then
# never skipped, the conservative answer
MAX_LAYER_INDEX_BYTES = 64 * 1024 * 1024
RENDER_DIR = "render"
CATALOGS_DIR = "catalogs"
_CATALOG_STAGING = re.compile(r"\.staging-(?:(" + TOKEN_PATTERN + r")-)?[0-9a-f]{12}")
DEFAULT_WAIT = WaitSettings()

if TYPE_CHECKING:
    from imgextract.cache.packs import PackStore


class PruneReport(Record):
    """What ``prune`` removed."""

    __slots__ = ("files", "bytes", "busy")

    def __init__(self, files: int = 0, bytes: int = 0, busy: int = 0) -> None:
        self.files = files
        self.bytes = bytes
        self.busy = busy  # partial downloads left alone because another process holds their lock


class ContentCache:
    """Content-addressed store under ``root``; safe to share between concurrent processes."""

    def __init__(self, root: Path, *, wait: WaitSettings | None = DEFAULT_WAIT) -> None:
        """``wait``: how long a writer waits for another process downloading the same blob
        (None: never wait, download a private copy at once)."""
        self.root = Path(root)
        self._layout = Layout(self.root)
        self.wait = wait
        self._fetching = KeyedLocks()
        self._touched: set[str] = set()  # blobs whose recency this process has updated
        self._packs: PackStore | None = None
        self._packs_lock = threading.Lock()
        os.makedirs(self.root, mode=0o700, exist_ok=True)  # OSError: the caller pulls without a cache
        self._sweep_dead_temps()

    def _sweep_dead_temps(self) -> None:
        """Private temp files of processes of this host that no longer run (killed mid-download),
        and any unchanged for ``FOREIGN_MAX_AGE`` (another host sharing the cache cannot be asked)."""
        try:
            names = os.listdir(self.root / "tmp")
        except OSError:
            return
        cutoff = time.time() - FOREIGN_MAX_AGE
        for name in names:
            path = self.root / "tmp" / name
            if _dead_owner(name) or _older(path, cutoff):
                self._unlink(path)

    # blobs ---------------------------------------------------------------------------------------
    def get_blob_path(self, digest: str) -> Path | None:
        """The committed blob's path, or None: for asking whether it is there.  To read it, use
        ``open_blob_fd`` (the path may be pruned or replaced between the two calls)."""
        path = self._layout.blob(digest)
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                return None
            os.utime(path)  # recency for ``prune --max-age``
        except FileNotFoundError:
            return None
        except OSError:  # read-only cache: still usable
            pass
        return path

    def open_blob_fd(self, digest: str) -> int | None:
        """A read-only fd of the committed blob (an open file survives a concurrent prune), or
        None.  Its bytes were verified when committed; readers verify them again."""
        try:
            fd = open_regular(self._layout.blob_name(digest))
        except FileNotFoundError:
            return None
        if digest not in self._touched:  # once a process: a layer many images share is read often
            try:
                os.utime(fd)  # recency for ``prune --max-age``
            except OSError:  # read-only cache: still usable
                pass
            self._touched.add(digest)
        return fd

    def open_blob(self, digest: str) -> BinaryIO | None:
        """Open the committed blob, or None (see ``open_blob_fd``)."""
        fd = self.open_blob_fd(digest)
        return None if fd is None else open(fd, "rb")  # noqa: SIM115 - the caller owns it

    def read_small_blob(self, digest: str, limit: int) -> bytes | None:
        """At most ``limit`` bytes of the committed blob (a config: small), or None."""
        fd = self.open_blob_fd(digest)
        return None if fd is None else read_fd(fd, limit)

    def fetching(self, digest: str) -> AbstractContextManager[None]:
        """Held while this process looks ``digest`` up and, if missing, fetches and commits it: a
        second thread wanting the same blob meanwhile waits, then finds it committed."""
        return self._fetching.hold(digest)

    def blob_writer(self, digest: str, size: int | None, *, verify: bool = True) -> BlobWriter:
        """A writer positioned after any partial download of ``digest`` (see ``BlobWriter``)."""
        return BlobWriter(self._layout, digest, size, verify=verify, wait=self.wait)

    def has_partial(self, digest: str) -> bool:
        """An interrupted download of ``digest`` is waiting to be resumed."""
        try:
            return os.stat(self._layout.partial_name(digest)).st_size > 0
        except (OSError, IntegrityError):
            return False

    def put_blob(self, digest: str, data: bytes) -> Path:
        with self.blob_writer(digest, len(data)) as writer:
            writer.write(
                memoryview(data)[writer.offset :]
            )  # a partial left by an earlier attempt is a prefix
            return writer.commit()

    def put_small_blob(self, digest: str, data: bytes, *, verified: bool = False) -> None:
        """Store a small blob held in memory (a file of a partially fetched layer): checked, then
        written to a private temp file and renamed into place.  No lock and no resumable partial:
        the name is the content's digest, so concurrent writers rename identical bytes.
        ``verified``: the caller has just checked these very bytes against ``digest`` (a config
        or layer read whole): they are not hashed a second time.  Callers store what they just
        failed to find in the cache, so whether it is there is not asked again: a copy another
        writer committed meanwhile is replaced by the same bytes."""
        algorithm = split_digest(digest)[0]
        if not verified and f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}" != digest:
            raise IntegrityError(f"refusing to cache bytes that do not match {digest}")
        self._atomic_write(self._layout.blob_name(digest), data)

    def small_blob_writer(self) -> SmallBlobWriter:
        """A writer of many small blobs the caller has verified (files of a partially fetched
        layer): cheaper per blob than ``put_small_blob``, which hashes the bytes again."""
        return SmallBlobWriter(self._layout)

    def packs(self) -> PackStore:
        """Small verified files kept together, one pack per batch (see ``packs.py``); one
        ``PackStore`` per cache, shared by the threads of a pull."""
        with self._packs_lock:
            if self._packs is None:
                from imgextract.cache.packs import PackStore

                self._packs = PackStore(self._layout)
            return self._packs

    def evict_blob(self, digest: str) -> None:
        """Remove a committed blob (e.g. one that failed verification when read back)."""
        try:
            os.unlink(self._layout.blob(digest))
        except FileNotFoundError:
            pass

    # manifests -----------------------------------------------------------------------------------
    def get_manifest(self, digest: str) -> tuple[bytes, str] | None:
        """(raw, media type) of a manifest or index stored by digest, re-verified on read."""
        path = self._layout.manifest_name(digest)
        try:
            data = read_small(path, MAX_MANIFEST_BYTES + 1024)
        except FileNotFoundError:
            return None
        try:
            os.utime(path)  # recency for ``prune --max-age``
        except OSError:  # read-only cache: still usable
            pass
        media_type, sep, raw = data.partition(b"\n")
        if not sep or _digest_of(raw, digest) != digest:
            self._unlink(path)
            return None
        return raw, media_type.decode("utf-8", "replace")

    def put_manifest(self, digest: str, raw: bytes, media_type: str, *, verified: bool = False) -> None:
        """Keep a manifest or index by digest; ``verified``: ``digest`` was just computed over (or
        checked against) these very bytes, so they are not hashed a second time."""
        if not verified and _digest_of(raw, digest) != digest:
            raise IntegrityError(f"manifest digest mismatch: expected {digest}")
        if len(raw) > MAX_MANIFEST_BYTES or "\n" in media_type:
            return
        path = self._layout.manifest_name(digest)
        data = media_type.encode() + b"\n" + raw
        try:  # a tag re-checked on every run: the same bytes are there already, only their age changes
            if read_small(path, len(data) + 1) == data:
                os.utime(path)
                return
        except OSError:
            pass
        self._atomic_write(path, data)

    # layer index ---------------------------------------------------------------------------------
    def get_layer_index(self, digest: str) -> LayerIndexEntry | None:
        try:
            raw = read_small(self._layout.index(digest), MAX_LAYER_INDEX_BYTES + 1)
        except FileNotFoundError:
            return None
        if len(raw) > MAX_LAYER_INDEX_BYTES:  # not one this code wrote: no skipping for its layer
            return None
        from imgextract.cache.layerindex import LayerIndexEntry

        return LayerIndexEntry.loads(raw)

    def put_layer_index(self, digest: str, entry: LayerIndexEntry) -> None:
        """Best effort: the index only ever saves work, so a cache we cannot write to is not an error."""
        path = self._layout.index(digest)
        data = entry.dumps()
        try:
            # a layer applied again from the cache indexes to the same bytes: only their age changes
            # (a new file and a rename per layer cost more than the layer's own application)
            if read_small(path, len(data) + 1) == data:
                os.utime(path)
                return
        except OSError:
            pass
        try:
            self._atomic_write(path, data)
        except OSError:
            pass

    # prune ---------------------------------------------------------------------------------------
    def prune(
        self, *, max_age: float | None = None, everything: bool = False, now: float | None = None
    ) -> PruneReport:
        """Remove entries unused for ``max_age`` seconds (or ``everything``): blobs, packs, manifests,
        the layer index, renderings (``render/``) and extracted catalogs (``catalogs/``).

        Partial downloads whose lock another process holds are left alone; committed files are
        unlinked, which a reader that already opened them does not notice.
        """
        if max_age is None and not everything:
            raise ValueError("prune needs max_age or everything=True")
        cutoff = float("inf") if everything else (now if now is not None else time.time()) - (max_age or 0.0)
        report = PruneReport()
        for kind in ("blobs", "packs", "manifests", "index"):
            for path in _files(self.root / kind):
                if path.name.endswith(".partial"):
                    self._prune_partial(path, cutoff, report)
                elif _older(path, cutoff):
                    self._unlink(path, report)
        tmp_cutoff = cutoff if everything else min(cutoff, time.time() - FOREIGN_MAX_AGE)
        for path in _files(self.root / "tmp"):
            if _older(path, tmp_cutoff) or _dead_owner(path.name):
                self._unlink(path, report)
        for path in _files(self.root / "locks"):
            self._prune_lock(path)
        for path in _files(self.root / RENDER_DIR):
            if path.name.startswith(".tmp-") and not _older(path, tmp_cutoff):  # being written
                continue
            if _unused(path, cutoff):
                self._unlink(path, report)
        self._prune_catalogs(cutoff, min(cutoff, time.time() - FOREIGN_MAX_AGE), report)
        return report

    def _prune_catalogs(self, cutoff: float, staging_cutoff: float, report: PruneReport) -> None:
        """Extracted catalogs unused since ``cutoff`` (renamed aside first, so a reader never sees a
        half-removed tree under the real name), staging directories of killed fetches."""
        base = self.root / CATALOGS_DIR
        try:
            names = os.listdir(base)
        except OSError:
            return
        for name in names:
            path = base / name
            if not path.is_dir() or path.is_symlink():
                continue
            if name.startswith(".trash-"):  # a prune interrupted while removing it
                self._remove_tree(path, report)
                continue
            staging = _CATALOG_STAGING.fullmatch(name)
            if staging is not None:
                owner = staging.group(1)
                if left_behind(path, owner, staging_cutoff) if owner else quiet_since(path, staging_cutoff):
                    self._remove_tree(path, report)
                continue
            if name.startswith(".") or not _unused(path, cutoff):
                continue
            trash = base / f".trash-{os.urandom(6).hex()}"
            try:
                os.rename(path, trash)
            except OSError:
                continue
            self._remove_tree(trash, report)

    @staticmethod
    def _remove_tree(path: Path, report: PruneReport) -> None:
        files = size = 0
        for dirpath, _dirs, names in os.walk(path):
            for n in names:
                try:
                    size += os.lstat(os.path.join(dirpath, n)).st_size
                    files += 1
                except OSError:
                    pass
        from imgextract.removal import rmtree_forcing_permissions  # (shutil): only a prune removes trees

        try:
            rmtree_forcing_permissions(path)
        except OSError:
            return
        report.files += files
        report.bytes += size

    def _prune_partial(self, path: Path, cutoff: float, report: PruneReport) -> None:
        digest = f"{path.parent.name}:{path.name[: -len('.partial')]}"
        try:
            lock = FileLock(self._layout.lock(digest))
        except IntegrityError:
            self._unlink(path, report)
            return
        if not lock.acquire(blocking=False):
            report.busy += 1
            return
        try:
            if _older(path, cutoff):
                self._unlink(path, report)
        finally:
            lock.release()

    def _prune_lock(self, path: Path) -> None:
        if not path.name.endswith(".lock"):
            return
        digest = f"{path.parent.name}:{path.name[: -len('.lock')]}"
        try:
            partial = self._layout.partial(digest)
        except IntegrityError:
            self._unlink(path)
            return
        lock = FileLock(path)
        if lock.acquire(blocking=False):
            lock.release(unlink=not partial.exists())

    # helpers -------------------------------------------------------------------------------------
    def _atomic_write(self, final: str | Path, data: bytes) -> None:
        tmp, fd = private_temp_name(self._layout, os.path.basename(final)[:16])
        try:
            try:
                write_all(fd, data)
            finally:
                os.close(fd)
            try:
                os.replace(tmp, final)
            except (
                FileNotFoundError
            ):  # its directory was removed under us (known directories are not re-checked)
                self._layout.forget()
                os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
                os.replace(tmp, final)
        except BaseException:
            self._unlink(tmp)
            raise

    @staticmethod
    def _unlink(path: str | Path, report: PruneReport | None = None) -> None:
        try:
            size = os.lstat(path).st_size
            os.unlink(path)
        except FileNotFoundError:
            return
        if report is not None:
            report.files += 1
            report.bytes += size


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_max_age(text: str) -> float:
    """``"30d"``, ``"12h"``, ``"90m"``, ``"3600"`` (seconds) -> seconds; ValueError otherwise."""
    value = text.strip().lower()
    unit = value[-1:] if value[-1:] in _UNITS else "s"
    number = value[:-1] if value[-1:] in _UNITS else value
    try:
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        seconds = -1.0
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"not a duration: {text!r} (use e.g. 30d, 12h, 90m)")
    return seconds


class NotRegularFile(FileNotFoundError):
    """A cache entry that is not a regular file (a symlink, FIFO, device or directory planted in
    the cache): read as missing, so every caller fetches the content again."""


# never follow a symlink planted in the cache, never block opening a FIFO (the kernel waits for a
# writer); O_NONBLOCK changes nothing for a regular file
_OPEN = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only fd of the regular file at ``path``.  Anything else raises ``NotRegularFile``
    and, unless it is a directory, is removed (only a link goes, never what it points at), so
    that the content fetched again can be committed in its place."""
    try:
        fd = os.open(path, _OPEN)
    except OSError as e:
        if e.errno != errno.ELOOP:  # (a symlink)
            raise
        _remove_entry(path)
        raise NotRegularFile(errno.ENOENT, "not a regular file", str(path)) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if not stat.S_ISDIR(mode):
            _remove_entry(path)
        raise NotRegularFile(errno.ENOENT, "not a regular file", str(path))
    return fd


def _remove_entry(path: str | os.PathLike[str]) -> None:
    try:
        os.unlink(path)
    except OSError:  # read-only cache, or gone already
        pass


def read_small(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most ``limit`` bytes of a small regular file (``NotRegularFile`` for anything else)."""
    return read_fd(open_regular(path), limit)


def read_fd(fd: int, limit: int) -> bytes:
    """At most ``limit`` bytes from ``fd``, which this closes: no buffered file object, so no
    buffer the size of ``limit`` nor the ``lseek``/``ioctl`` calls ``open()`` makes (a warm run
    reads a manifest and a config per image, from threads that hand the GIL over at every system
    call)."""
    try:
        want = min(limit, 65536)
        data = os.read(fd, want)
        if len(data) < want:  # a short read of a regular file: its end
            return data
        chunks = [data]
        size = len(data)
        while size < limit:
            chunk = os.read(fd, min(limit - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _digest_of(raw: bytes, like: str) -> str:
    algorithm, _hex = split_digest(like)
    return f"{algorithm}:{hashlib.new(algorithm, raw).hexdigest()}"


def _files(top: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, _dirs, names in os.walk(top):
        out.extend(Path(dirpath) / n for n in names)
    return out


_TEMP = re.compile(r"[^.]*\.(" + TOKEN_PATTERN + r")\.[0-9a-f]+\.tmp")


def _dead_owner(name: str) -> bool:
    """A private temp file ``<hex16>.<owner>.<random>.tmp`` whose process (on this host) is gone."""
    match = _TEMP.fullmatch(name)
    return match is not None and not owner_alive(match.group(1))


def _unused(path: Path, cutoff: float) -> bool:
    """Neither written nor read (where the filesystem records access times) since ``cutoff``."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    return max(st.st_mtime, st.st_atime) < cutoff


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.lstat().st_mtime < cutoff
    except FileNotFoundError:
        return False
