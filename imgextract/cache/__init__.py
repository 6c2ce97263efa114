"""Content cache: blobs and manifests by digest, resumable partial downloads, a per-layer index.

Everything in the cache is addressed by a digest that is verified before it is committed, so an
entry may be served whatever the mirror policy says (tags are always resolved against a source).  Several
processes may share one cache directory: partial downloads are guarded by ``fcntl`` locks and every
committed file appears by an atomic rename.
"""

from typing import TYPE_CHECKING

from imgextract.cache.store import ContentCache, PruneReport, parse_max_age
from imgextract.cache.writer import BlobWriter
from imgextract.lazy import lazy_exports

if TYPE_CHECKING:
    from imgextract.cache.layerindex import (
        LayerIndexEntry,
        can_skip,
        entry_from_stats,
        plan_skips,
        selection_top_levels,
        selection_traverses_symlink,
    )

# The layer index serves pulls that apply layers: a render or an inspect never loads it.
_LAZY = {
    name: "imgextract.cache.layerindex"
    for name in (
        "LayerIndexEntry",
        "can_skip",
        "entry_from_stats",
        "plan_skips",
        "selection_top_levels",
        "selection_traverses_symlink",
    )
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

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
