"""Where things live under the cache root, and digest parsing for file names.

<root>/blobs/<alg>/<hex>            committed, verified blob (layers, configs)
<root>/blobs/<alg>/<hex>.partial    resumable download in progress (guarded by the lock)
<root>/manifests/<alg>/<hex>        "<media type>\\n" + raw manifest bytes (verified)
<root>/packs/<hex>.pack             verified small files kept together (see packs.py)
<root>/index/<alg>/<hex>.json       layer index entry (top-level paths a layer touches)
<root>/locks/<alg>/<hex>.lock       fcntl lock files
<root>/tmp/                         private temp files, renamed into place when complete
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from imgextract.errors import IntegrityError
from imgextract.oci.digest import Digest, is_digest

DIR_MODE = 0o700
FILE_MODE = 0o600


def split_digest(digest: str) -> tuple[str, str]:
    """``sha256:<hex>`` -> ("sha256", hex); anything else (so any path trick) -> IntegrityError."""
    if not isinstance(digest, str):
        raise IntegrityError(f"not a supported digest: {str(digest)[:80]!r}")
    return _split(digest)


@lru_cache(maxsize=4096)  # a pull asks for the same digests' paths many times (blob, index, lock)
def _split(digest: str) -> tuple[str, str]:
    if not is_digest(digest):
        raise IntegrityError(f"not a supported digest: {digest[:80]!r}")
    parsed = Digest.parse(digest)
    return parsed.algorithm, parsed.hex


class Layout:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._made: dict[tuple[str, ...], Path] = {}  # directories known to exist
        self._names: dict[tuple[str, ...], str] = {}  # the same, as text

    def _dir(self, *parts: str) -> Path:
        known = self._made.get(parts)
        if known is not None:
            return known
        path = self.root.joinpath(*parts)
        os.makedirs(path, mode=DIR_MODE, exist_ok=True)
        self._made[parts] = path
        return path

    def _dir_name(self, *parts: str) -> str:
        """``_dir`` as text: the files of a pull's hot path are named by plain strings (a ``Path``
        join parses its parts again, ~25 K instructions, and the system call takes text)."""
        name = self._names.get(parts)
        if name is None:
            name = self._names[parts] = str(self._dir(*parts))
        return name

    def forget(self) -> None:
        """Check (and create) the directories again: the cache was removed under us."""
        self._made.clear()
        self._names.clear()

    def blob(self, digest: str) -> Path:
        return Path(self.blob_name(digest))

    def partial(self, digest: str) -> Path:
        return Path(self.partial_name(digest))

    def manifest(self, digest: str) -> Path:
        return Path(self.manifest_name(digest))

    def index(self, digest: str) -> Path:
        alg, hexd = split_digest(digest)
        return self._dir("index", alg) / f"{hexd}.json"

    def lock(self, digest: str) -> Path:
        alg, hexd = split_digest(digest)
        return self._dir("locks", alg) / f"{hexd}.lock"

    def blob_dir_name(self, algorithm: str) -> str:
        """The directory of ``algorithm``'s blobs, as text (made when missing)."""
        return self._dir_name("blobs", algorithm)

    def blob_name(self, digest: str) -> str:
        """A committed blob's file, as text (:meth:`blob` is its ``Path``)."""
        alg, hexd = split_digest(digest)
        return f"{self.blob_dir_name(alg)}/{hexd}"

    def partial_name(self, digest: str) -> str:
        """An interrupted download's file, as text (:meth:`partial` is its ``Path``)."""
        alg, hexd = split_digest(digest)
        return f"{self.blob_dir_name(alg)}/{hexd}.partial"

    def manifest_name(self, digest: str) -> str:
        """A kept manifest's file, as text (:meth:`manifest` is its ``Path``)."""
        alg, hexd = split_digest(digest)
        return f"{self._dir_name('manifests', alg)}/{hexd}"

    def tmp_name(self) -> str:
        """``tmp`` as text."""
        return self._dir_name("tmp")

    def packs(self) -> Path:
        return self._dir("packs")

    def tmp(self) -> Path:
        return self._dir("tmp")
