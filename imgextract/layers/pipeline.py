"""One layer blob from raw bytes to the staging root: verify, decompress, verify, apply.

    raw --VerifyingReader(digest, size)--> open_decompressed(media type, remaining cap)
        --VerifyingReader(diff_id)--> Applier.apply

The tar is applied while it streams; the blob digest/size and the diff_id are known only at
the end, so on any error the staging root is already modified: the caller discards it
(outputs/directory.py does).  After the tar's end-of-archive marker the rest of the
uncompressed stream and of the blob are drained, so both digests always cover every byte.
"""

from __future__ import annotations

from typing import BinaryIO

from imgextract.layers.applier import Applier, LayerStats
from imgextract.layers.decompress import open_decompressed
from imgextract.layers.verify import VerifyingReader, parse_digest


def apply_blob(
    raw: BinaryIO, *, digest: str, size: int | None, media_type: str, diff_id: str, applier: Applier
) -> LayerStats:
    """Apply one layer; ``IntegrityError`` on a digest/size/diff_id mismatch or a bad layer,
    ``LimitExceeded`` when the remaining uncompressed budget of ``applier.limits`` is exceeded."""
    parse_digest(diff_id)
    blob = VerifyingReader(raw, digest, size)
    tar = open_decompressed(blob, media_type, limit=applier.remaining_bytes())
    uncompressed = VerifyingReader(tar, diff_id, None)  # type: ignore[arg-type]
    try:
        stats = applier.apply(uncompressed)  # type: ignore[arg-type]
        uncompressed.finish()
        blob.finish()
    finally:
        applier.uncompressed_total += tar.total
    stats.digest, stats.diff_id = digest, diff_id
    stats.compressed_size, stats.uncompressed_size = blob.count, tar.total
    return stats
