"""One layer blob from raw bytes to the staging root: verify, decompress, verify, apply.

    raw --VerifyingReader(digest, size)--> open_decompressed(media type, remaining cap)
        --VerifyingReader(diff_id)--> Applier.apply

The first two steps run on a second thread (overlap.py), so that hashing and inflating the
blob use another core while this thread parses the tar and writes files.

The tar is applied while it streams; the blob digest/size and the diff_id are known only at
the end, so on any error the staging root is already modified: the caller discards it
(outputs/directory.py does).  After the tar's end-of-archive marker the rest of the
uncompressed stream and of the blob are drained, so both digests always cover every byte.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from imgextract.layers.applier import Applier, LayerStats
from imgextract.layers.decompress import declared_compression, open_decompressed
from imgextract.layers.overlap import InflateThread
from imgextract.layers.verify import VerifyingReader, parse_digest

CHUNK = 1024 * 1024


class _Raw(io.RawIOBase):
    """A ``VerifyingReader`` as raw I/O, for a ``BufferedReader`` in front of it."""

    def __init__(self, source: VerifyingReader) -> None:
        super().__init__()
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def apply_blob(
    raw: BinaryIO,
    *,
    digest: str,
    size: int | None,
    media_type: str,
    diff_id: str,
    applier: Applier,
    threaded: bool = True,
) -> LayerStats:
    """Apply one layer; ``IntegrityError`` on a digest/size/diff_id mismatch or a bad layer,
    ``LimitExceeded`` when the remaining uncompressed budget of ``applier.limits`` is exceeded.
    ``threaded=False``: verify and inflate on the caller's thread (a small blob, where a second
    thread costs more than it overlaps)."""
    parse_digest(diff_id)
    declared_compression(media_type)  # a foreign layer fails here, before anything is read
    if not threaded:
        return _apply_inline(raw, digest, size, media_type, diff_id, applier)
    ahead = InflateThread(raw)
    blob = VerifyingReader(ahead.source(), digest, size)  # type: ignore[arg-type]
    limit = applier.remaining_bytes()
    built: list[Any] = []

    def build() -> Any:  # on the inflate thread
        built.append(open_decompressed(blob, media_type, limit=limit))
        return built[0]

    ahead.start(build)
    uncompressed = VerifyingReader(ahead, diff_id, None)  # type: ignore[arg-type]
    # tarfile reads 10 KiB at a time and member data in small pieces; a 1 MiB buffer in front makes
    # the diff_id hash run on 1 MiB pieces (hashlib releases the GIL per call: fewer, longer calls)
    buffered = io.BufferedReader(_Raw(uncompressed), CHUNK)
    try:
        stats = applier.apply(buffered)
        uncompressed.finish()  # to the end of the decoded stream: the thread has verified the blob
    finally:
        ahead.close()
        total = built[0].total if built else 0
        applier.uncompressed_total += total
    blob.finish()  # (already verified: a no-op check)
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
        stats = applier.apply(io.BufferedReader(_Raw(uncompressed), CHUNK))
        uncompressed.finish()
        blob.finish()
    finally:
        applier.uncompressed_total += decoded.total
    stats.digest, stats.diff_id = digest, diff_id
    stats.compressed_size, stats.uncompressed_size = blob.count, decoded.total
    return stats
