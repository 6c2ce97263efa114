"""Apply an image's layers into a directory, through the content cache and the prefetcher.

``pull.resolve`` found the image; ``bundles.detect`` chose the paths; ``pull.plan`` decided which
layers can be skipped; this module downloads (through the cache and a bounded prefetcher), verifies
and applies each remaining layer in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgextract.bundles import detect
from imgextract.layers.applier import Applier, Limits
from imgextract.layers.pipeline import apply_blob
from imgextract.layers.selection import PathSelection
from imgextract.outputs.directory import force_rmtree
from imgextract.progress import CountingReader, Progress
from imgextract.pull.plan import layer_pairs, plan_skips
from imgextract.pull.resolve import ResolvedImage

if TYPE_CHECKING:
    from imgextract.cache import ContentCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerReport:
    """One layer of a pull: descriptor fields and whether it came over the network (``fetched``)."""

    digest: str
    size: int
    media_type: str
    fetched: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "size": self.size,
            "mediaType": self.media_type,
            "fetched": self.fetched,
        }


def extract(
    image: ResolvedImage, plan: detect.Plan, root: Path, limits: Limits, progress: Progress
) -> list[LayerReport]:
    """Apply the image's layers into ``root`` (empty).  Layers the cache's index shows cannot touch the
    selection are skipped; if a selected path then resolves through a symlink, redo without skipping."""
    from imgextract.cache import selection_traverses_symlink

    cache = image.cache
    reports, skipped = _apply_layers(image, plan, root, limits, progress, cache, allow_skip=True)
    if skipped and selection_traverses_symlink(root, plan.paths):
        for child in list(root.iterdir()):
            if child.is_dir() and not child.is_symlink():
                force_rmtree(child)
            else:
                child.unlink()
        reports, _ = _apply_layers(image, plan, root, limits, progress, cache, allow_skip=False)
    return reports


def _apply_layers(
    image: ResolvedImage,
    plan: detect.Plan,
    root: Path,
    limits: Limits,
    progress: Progress,
    cache: ContentCache | None,
    *,
    allow_skip: bool,
) -> tuple[list[LayerReport], bool]:
    from imgextract.cache import entry_from_stats
    from imgextract.pull.prefetch import Prefetcher

    applier = Applier(
        root,
        PathSelection(list(plan.paths) if plan.paths is not None else None),
        limits,
    )
    pairs = layer_pairs(image)
    skips = plan_skips(pairs, plan, cache if allow_skip else None)
    wanted = [d for (d, _), skip in zip(pairs, skips, strict=True) if not skip]
    reports = []
    try:
        with Prefetcher(
            image.client, image.repository, wanted, cache=cache, spool_dir=root.parent, reader_verifies=True
        ) as prefetch:
            for (desc, diff_id), skip in zip(pairs, skips, strict=True):
                if skip:
                    reports.append(LayerReport(desc.digest, desc.size, desc.media_type, False))
                    continue
                progress.layer_started(desc.digest, desc.size)
                with prefetch.open(desc) as raw:
                    stats = apply_blob(
                        CountingReader(raw, progress, desc.digest).as_binary(),
                        digest=desc.digest,
                        size=desc.size,
                        media_type=desc.media_type,
                        diff_id=diff_id,
                        applier=applier,
                    )
                fetched = not prefetch.stats(desc).from_cache
                if cache is not None:
                    entry = entry_from_stats(stats)
                    if entry is not None:
                        cache.put_layer_index(desc.digest, entry)
                progress.layer_done(desc.digest, fetched=fetched)
                reports.append(LayerReport(desc.digest, desc.size, desc.media_type, fetched))
        applier.finalize()
    except BaseException:
        applier.close()  # release the root fd; the caller discards the staging root
        raise
    return reports, any(skips)
