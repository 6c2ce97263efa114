"""One layer blob from raw bytes to the staging root: verify, decompress, verify, apply.

    raw --VerifyingReader(digest, size)--> open_decompressed(media type, remaining cap)
        --VerifyingReader(diff_id)--> Applier.apply

Inflating the blob and hashing the tar run on a second thread (overlap.py), on another core,
while this thread hashes the blob as it hands it over, parses the tar and writes files (writing
is most of what this thread does: the page cache copy of every byte).

The tar is applied while it streams; the blob digest/size and the diff_id are known only at
the end, so on any error the staging root is already modified: the caller discards it
(outputs/directory.py does).  After the tar's end-of-archive marker the rest of the
uncompressed stream and of the blob are drained, so both digests always cover every byte.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from imgextract.layers.applier import Applier
from imgextract.layers.decompress import declared_compression, open_decompressed
from imgextract.layers.layerstats import LayerStats
from imgextract.layers.memory import reuse_freed_memory
from imgextract.layers.overlap import InflateThread
from imgextract.layers.verify import SharedDigest, VerifyingReader, parse_digest

CHUNK = 1024 * 1024
BIG_LAYER = 16 * CHUNK


def apply_blob(
    raw: BinaryIO,
    *,
    digest: str,
    size: int | None,
    media_type: str,
    diff_id: str,
    applier: Applier,
    threaded: bool = True,
    source_verifies: bool = False,
) -> LayerStats:
    """Apply one layer; ``IntegrityError`` on a digest/size/diff_id mismatch or a bad layer,
    ``LimitExceeded`` when the remaining uncompressed budget of ``applier.limits`` is exceeded.
    ``threaded=False``: verify and inflate on the caller's thread (a small blob, where a second
    thread costs more than it overlaps).  ``source_verifies``: ``raw`` itself raises instead of
    reporting end-of-file unless digest and size matched (a streamed download, pull/prefetch.py),
    so the blob is counted here but not hashed a second time."""
    parse_digest(diff_id)
    declared_compression(media_type)  # a foreign layer fails here, before anything is read
    if not threaded:
        return _apply_inline(raw, digest, size, media_type, diff_id, applier)
    if size is None or size >= BIG_LAYER:
        reuse_freed_memory()  # hundreds of 1 MiB buffers ahead (a small layer: not worth loading ctypes)
    blob = VerifyingReader(raw, digest, size, hashed=not source_verifies)
    # the blob's digest is computed by the download thread (source_verifies) or on this thread as
    # the blob is handed over; the tar's then by whichever of this thread and the inflate thread
    # would otherwise wait, or on the inflate thread
    shared = SharedDigest(diff_id) if source_verifies else None
    ahead = InflateThread(blob, digest=shared)  # type: ignore[arg-type]
    limit = applier.remaining_bytes()
    built: list[Any] = []

    def build() -> Any:  # on the inflate thread
        built.append(open_decompressed(ahead.source(), media_type, limit=limit))
        return built[0] if source_verifies else VerifyingReader(built[0], diff_id, None)

    ahead.start(build)
    try:
        stats = applier.apply(ahead)  # type: ignore[arg-type]
        while ahead.read(CHUNK):  # to the end of the decoded stream: both digests are checked there
            pass
        if shared is not None:
            shared.finish()
    finally:
        ahead.close()
        total = built[0].total if built else 0
        applier.uncompressed_total += total
    blob.finish()  # (the decoder read the blob to its end: verified; a no-op check)
    stats.digest, stats.diff_id = digest, diff_id
    stats.compressed_size, stats.uncompressed_size = blob.count, total
    return stats


def _apply_inline(
    raw: BinaryIO, digest: str, size: int | None, media_type: str, diff_id: str, applier: Applier
) -> LayerStats:
    blob = VerifyingReader(raw, digest, size)
    decoded = open_decompressed(blob, media_type, limit=applier.remaining_bytes())
    uncompressed = VerifyingReader(decoded, diff_id, None)  # type: ignore[arg-type]
    try:
        stats = applier.apply(uncompressed)  # type: ignore[arg-type]
        uncompressed.finish()
        blob.finish()
    finally:
        applier.uncompressed_total += decoded.total
    stats.digest, stats.diff_id = digest, diff_id
    stats.compressed_size, stats.uncompressed_size = blob.count, decoded.total
    return stats
