"""The OCI image-spec nouns: digests, media types, platforms, descriptors, manifests, configs, whiteouts.

Pure data and parsing, no I/O.  Everything the rest of the package needs is re-exported here, so
``from imgextract import oci`` and ``oci.Manifest``, ``oci.Digest``, ``oci.OCI_INDEX`` read well.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from imgextract.lazy import lazy_exports
from imgextract.oci.digest import ALGORITHMS, Digest, compute_digest, is_digest, new_hasher
from imgextract.oci.mediatypes import (
    DOCKER_CONFIG,
    DOCKER_FOREIGN_LAYER,
    DOCKER_FOREIGN_LAYER_UNCOMPRESSED,
    DOCKER_LAYER,
    DOCKER_LAYER_UNCOMPRESSED,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_PLUGIN_CONFIG,
    DOCKER_SCHEMA1,
    DOCKER_SCHEMA1_SIGNED,
    DOCKER_SCHEMA2_TYPES,
    INDEX_TYPES,
    MANIFEST_ACCEPT,
    MANIFEST_TYPES,
    NON_DISTRIBUTABLE_LAYER_TYPES,
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_LAYER_GZIP,
    OCI_LAYER_NONDISTRIBUTABLE,
    OCI_LAYER_NONDISTRIBUTABLE_GZIP,
    OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
    OCI_LAYER_ZSTD,
    OCI_MANIFEST,
    SCHEMA1_MESSAGE,
    SCHEMA1_TYPES,
    base_media_type,
    is_index,
    is_manifest,
    is_non_distributable,
    sniff_media_type,
)
from imgextract.oci.platform import Platform

if TYPE_CHECKING:
    from imgextract.oci import whiteout
    from imgextract.oci.config import ImageConfig, config_labels, parse_config
    from imgextract.oci.manifest import (
        Descriptor,
        Index,
        Manifest,
        candidates,
        is_candidate,
        matching,
        parse_index,
        parse_manifest,
        select_platform,
        usable,
    )

# Imported on first use: a manifest's digest (and its media type) is all a kept result needs, so a
# warm render builds neither descriptor, manifest nor config classes.
_LAZY = {
    "ImageConfig": "imgextract.oci.config",
    "config_labels": "imgextract.oci.config",
    "parse_config": "imgextract.oci.config",
    "Descriptor": "imgextract.oci.manifest",
    "Index": "imgextract.oci.manifest",
    "Manifest": "imgextract.oci.manifest",
    "candidates": "imgextract.oci.manifest",
    "is_candidate": "imgextract.oci.manifest",
    "matching": "imgextract.oci.manifest",
    "parse_index": "imgextract.oci.manifest",
    "parse_manifest": "imgextract.oci.manifest",
    "select_platform": "imgextract.oci.manifest",
    "usable": "imgextract.oci.manifest",
}


def __getattr__(name: str) -> object:
    if name == "whiteout":  # a submodule, not an attribute of one (importing it binds it here)
        return import_module("imgextract.oci.whiteout")
    return _lazy_getattr(name)


_lazy_getattr, __dir__ = lazy_exports(__name__, _LAZY, globals())

__all__ = [
    "ALGORITHMS",
    "DOCKER_CONFIG",
    "DOCKER_FOREIGN_LAYER",
    "DOCKER_FOREIGN_LAYER_UNCOMPRESSED",
    "DOCKER_LAYER",
    "DOCKER_LAYER_UNCOMPRESSED",
    "DOCKER_MANIFEST",
    "DOCKER_MANIFEST_LIST",
    "DOCKER_PLUGIN_CONFIG",
    "DOCKER_SCHEMA1",
    "DOCKER_SCHEMA1_SIGNED",
    "DOCKER_SCHEMA2_TYPES",
    "INDEX_TYPES",
    "MANIFEST_ACCEPT",
    "MANIFEST_TYPES",
    "NON_DISTRIBUTABLE_LAYER_TYPES",
    "OCI_CONFIG",
    "OCI_EMPTY",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_LAYER_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE",
    "OCI_LAYER_NONDISTRIBUTABLE_GZIP",
    "OCI_LAYER_NONDISTRIBUTABLE_ZSTD",
    "OCI_LAYER_ZSTD",
    "OCI_MANIFEST",
    "SCHEMA1_MESSAGE",
    "SCHEMA1_TYPES",
    "Descriptor",
    "Digest",
    "ImageConfig",
    "Index",
    "Manifest",
    "Platform",
    "base_media_type",
    "candidates",
    "compute_digest",
    "config_labels",
    "is_candidate",
    "is_digest",
    "is_index",
    "is_manifest",
    "is_non_distributable",
    "matching",
    "new_hasher",
    "parse_config",
    "parse_index",
    "parse_manifest",
    "select_platform",
    "sniff_media_type",
    "usable",
    "whiteout",
]
