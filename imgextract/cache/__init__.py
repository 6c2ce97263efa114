"""Content cache: blobs and manifests by digest, resumable partial downloads, a per-layer index.

Everything in the cache is addressed by a digest that is verified before it is committed, so an
entry may be served whatever the mirror policy says (tags are always resolved against a source).  Several
processes may share one cache directory: partial downloads are guarded by ``fcntl`` locks and every
committed file appears by an atomic rename.
"""

from imgextract.cache.layerindex import (
    LayerIndexEntry,
    can_skip,
    entry_from_stats,
    plan_skips,
    selection_top_levels,
    selection_traverses_symlink,
)
from imgextract.cache.store import ContentCache, PruneReport, parse_max_age
from imgextract.cache.writer import BlobWriter

__all__ = [
    "BlobWriter",
    "ContentCache",
    "LayerIndexEntry",
    "PruneReport",
    "can_skip",
    "entry_from_stats",
    "parse_max_age",
    "plan_skips",
    "selection_top_levels",
    "selection_traverses_symlink",
]
