"""Copy blobs between repositories: skip when present, mount within a registry, else stream.

A refused mount (202, or 401/403 from credentials that may not read the source repository,
imgpkg#495) falls back to streaming.  Each digest is copied once; copies run in parallel,
bounded by ``concurrency`` (imgpkg's default is 5).  Streamed blobs are verified while read.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import BinaryIO, Literal, cast

from imgextract import oci
from imgextract.errors import AuthError
from imgextract.layers.verify import VerifyingReader
from imgextract.registry.client import RegistryClient

log = logging.getLogger(__name__)

Outcome = Literal["present", "mounted", "streamed", "skipped"]
DEFAULT_CONCURRENCY = 5


def copy_blob(
    src: RegistryClient, src_repo: str, dst: RegistryClient, dst_repo: str, desc: oci.Descriptor
) -> Outcome:
    """Make ``desc`` exist in ``dst/dst_repo``; returns how."""
    if dst.blob_exists(dst_repo, desc.digest):
        return "present"
    if src.registry == dst.registry and src_repo != dst_repo:
        try:
            if dst.mount_blob(dst_repo, desc.digest, src_repo):
                return "mounted"
        except AuthError:
            log.debug("mount of %s from %s refused; streaming it", desc.digest, src_repo)
    with src.open_blob(src_repo, desc.digest, size=desc.size) as raw:
        reader = VerifyingReader(raw, desc.digest, desc.size)
        dst.upload_blob(dst_repo, cast(BinaryIO, reader), desc.digest, desc.size)
        reader.finish()
    return "streamed"


class BlobCopier:
    """Parallel, de-duplicated blob copies into one destination repository."""

    def __init__(self, dst: RegistryClient, dst_repo: str, *, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.dst = dst
        self.dst_repo = dst_repo
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="blob-copy")
        self._futures: dict[str, Future[Outcome]] = {}
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def submit(self, src: RegistryClient, src_repo: str, desc: oci.Descriptor) -> None:
        if oci.is_non_distributable(desc.media_type):
            with self._lock:
                self.counts["skipped"] += 1
            return
        with self._lock:
            if desc.digest in self._futures:
                return
            self._futures[desc.digest] = self._pool.submit(
                copy_blob, src, src_repo, self.dst, self.dst_repo, desc
            )

    def wait(self) -> Counter[str]:
        """Wait for every copy; the first failure is raised (after the others settled)."""
        futures = list(self._futures.values())
        wait(futures)
        for f in futures:
            exc = f.exception()
            if exc is not None:
                raise exc
        for f in futures:
            self.counts[f.result()] += 1
        return self.counts

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BlobCopier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
