"""Operator catalogs (file-based catalogs): streaming reader, typed model, channel graph, filters,
and pulling every selected bundle.

    from imgextract.catalog import Catalog
    cat = Catalog.open("quay.example/ns/catalog:v1")        # or an FBC directory
    sel = cat.filter(packages=["etcd"], heads_only=True)
    [b.image for b in sel.bundles()], sel.related_images()
"""

from __future__ import annotations

from imgextract.catalog.catalog import Catalog
from imgextract.catalog.fbc import CatalogFormatError, FbcObject, iter_catalog, iter_stream
from imgextract.catalog.filters import CatalogFilter, parse_shard, shard_of
from imgextract.catalog.model import Bundle, Channel, ChannelEntry, Package, RelatedImage
from imgextract.catalog.pull import BundleOutcome, CatalogPullResult, pull_bundles
from imgextract.catalog.versions import InvalidVersion, VersionRange, parse_range, parse_version

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
