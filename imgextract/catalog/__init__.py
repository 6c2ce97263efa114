"""Operator catalogs (file-based catalogs): streaming reader, typed model, channel graph, filters,
and pulling every selected bundle.

    from imgextract.catalog import Catalog
    cat = Catalog.open("quay.example/ns/catalog:v1")        # or an FBC directory
    sel = cat.filter(packages=["etcd"])  # the heads of its channels
    [b.image for b in sel.bundles()], sel.related_images()
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imgextract.lazy import lazy_exports

if TYPE_CHECKING:
    from imgextract.catalog.catalog import Catalog
    from imgextract.catalog.fbc import CatalogFormatError, FbcObject, iter_catalog, iter_stream
    from imgextract.catalog.filters import CatalogFilter, parse_shard, shard_of
    from imgextract.catalog.model import Bundle, Channel, ChannelEntry, Package, RelatedImage
    from imgextract.catalog.pull import BundleOutcome, CatalogPullResult, pull_bundles
    from imgextract.catalog.versions import InvalidVersion, VersionRange, parse_range, parse_version

# Resolved on first use, so that importing a submodule (``imgextract.catalog.render`` for ``render``)
# does not import the catalog reader, its filters and the pull machinery as well.
_LAZY = {
    "Bundle": "imgextract.catalog.model",
    "BundleOutcome": "imgextract.catalog.pull",
    "Catalog": "imgextract.catalog.catalog",
    "CatalogFilter": "imgextract.catalog.filters",
    "CatalogFormatError": "imgextract.catalog.fbc",
    "CatalogPullResult": "imgextract.catalog.pull",
    "Channel": "imgextract.catalog.model",
    "ChannelEntry": "imgextract.catalog.model",
    "FbcObject": "imgextract.catalog.fbc",
    "InvalidVersion": "imgextract.catalog.versions",
    "Package": "imgextract.catalog.model",
    "RelatedImage": "imgextract.catalog.model",
    "VersionRange": "imgextract.catalog.versions",
    "iter_catalog": "imgextract.catalog.fbc",
    "iter_stream": "imgextract.catalog.fbc",
    "parse_range": "imgextract.catalog.versions",
    "parse_shard": "imgextract.catalog.filters",
    "parse_version": "imgextract.catalog.versions",
    "pull_bundles": "imgextract.catalog.pull",
    "shard_of": "imgextract.catalog.filters",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "Bundle",
    "BundleOutcome",
    "Catalog",
    "CatalogFilter",
    "CatalogFormatError",
    "CatalogPullResult",
    "Channel",
    "ChannelEntry",
    "FbcObject",
    "InvalidVersion",
    "Package",
    "RelatedImage",
    "VersionRange",
    "iter_catalog",
    "iter_stream",
    "parse_range",
    "parse_shard",
    "parse_version",
    "pull_bundles",
    "shard_of",
]
