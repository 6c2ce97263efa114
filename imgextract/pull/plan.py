"""Which layers a pull applies: layers paired with their diff_ids, and the ones it may skip.

A layer can be skipped when the content cache's layer index (written the last time that layer
was applied) shows it touches none of the selected top-level paths; see
:mod:`imgextract.cache.layerindex` for the rules that keep skipping safe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgextract import oci
from imgextract.bundles import detect
from imgextract.errors import IntegrityError
from imgextract.pull.resolve import ResolvedImage

if TYPE_CHECKING:
    from imgextract.cache import ContentCache


def layer_pairs(image: ResolvedImage) -> list[tuple[oci.Descriptor, str]]:
    """Each layer descriptor with its diff_id; a count mismatch is an integrity failure."""
    diff_ids = image.config.diff_ids
    if len(diff_ids) != len(image.manifest.layers):
        raise IntegrityError(
            f"manifest has {len(image.manifest.layers)} layers but config lists {len(diff_ids)} diff_ids",
            endpoint=image.endpoint,
        )
    return list(zip(image.manifest.layers, diff_ids, strict=True))


def plan_skips(
    pairs: list[tuple[oci.Descriptor, str]], plan: detect.Plan, cache: ContentCache | None
) -> list[bool]:
    """One flag per layer: True when the cache's index shows the layer cannot touch the selection."""
    if cache is None:
        return [False] * len(pairs)
    from imgextract.cache import plan_skips as skips_from_index
    from imgextract.cache import selection_top_levels

    return skips_from_index(
        [cache.get_layer_index(d.digest) for d, _ in pairs], selection_top_levels(plan.paths)
    )
