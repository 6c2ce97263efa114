"""Media types of the OCI image spec and Docker's distribution formats, and how to classify them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imgextract.errors import IntegrityError
from imgextract.oci.fields import go_fields, load_object

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_NONDISTRIBUTABLE = "application/vnd.oci.image.layer.nondistributable.v1.tar"
OCI_LAYER_NONDISTRIBUTABLE_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
OCI_LAYER_NONDISTRIBUTABLE_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_UNCOMPRESSED = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
DOCKER_FOREIGN_LAYER_UNCOMPRESSED = "application/vnd.docker.image.rootfs.foreign.diff.tar"
DOCKER_PLUGIN_CONFIG = "application/vnd.docker.plugin.v1+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
# containers/image ``SupportedSchema2MediaType``: the types a Docker v2s2 manifest and each of its
# layers may carry (the list is that function's, schema 1 and list types included).
DOCKER_SCHEMA2_TYPES = frozenset(
    {
        DOCKER_SCHEMA1,
        DOCKER_SCHEMA1_SIGNED,
        DOCKER_CONFIG,
        DOCKER_FOREIGN_LAYER,
        DOCKER_FOREIGN_LAYER_UNCOMPRESSED,
        DOCKER_LAYER,
        DOCKER_MANIFEST,
        DOCKER_LAYER_UNCOMPRESSED,
        DOCKER_MANIFEST_LIST,
    }
)
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
SCHEMA1_TYPES = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})
NON_DISTRIBUTABLE_LAYER_TYPES = frozenset(
    {
        OCI_LAYER_NONDISTRIBUTABLE,
        OCI_LAYER_NONDISTRIBUTABLE_GZIP,
        OCI_LAYER_NONDISTRIBUTABLE_ZSTD,
        DOCKER_FOREIGN_LAYER,
        DOCKER_FOREIGN_LAYER_UNCOMPRESSED,
    }
)

# The Accept list sent when fetching a manifest: every type we can identify, schema 1 included so that
# a schema-1-only registry answers with something we can name in the error instead of a 404.
MANIFEST_ACCEPT: tuple[str, ...] = (
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
    DOCKER_SCHEMA1_SIGNED,
    DOCKER_SCHEMA1,
)

SCHEMA1_MESSAGE = "Docker schema1 manifests are not supported (re-push the image with a current client)"


def base_media_type(content_type: str | None) -> str:
    """``Content-Type`` without parameters, lower-cased (``a/b; charset=utf-8`` -> ``a/b``)."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def is_index(media_type: str) -> bool:
    return media_type in INDEX_TYPES


def is_manifest(media_type: str) -> bool:
    return media_type in MANIFEST_TYPES


def is_non_distributable(media_type: str) -> bool:
    return media_type in NON_DISTRIBUTABLE_LAYER_TYPES


def check_schema(data: Mapping[str, Any], what: str) -> None:
    """A schema 2 document (schema 1 is refused with its own message)."""
    fields = go_fields(data)  # keys matched as Go matches them (see imgextract.oci.fields)
    version = fields.get("schemaversion")
    declared = fields.get("mediatype")
    if declared is not None and not isinstance(declared, str):
        raise IntegrityError(f"malformed {what}: 'mediaType' must be a string")
    if version == 1 or base_media_type(declared) in SCHEMA1_TYPES:
        raise IntegrityError(SCHEMA1_MESSAGE)
    if version != 2 or type(version) is not int:  # Go's int refuses 2.0 and true
        raise IntegrityError(f"malformed {what}: schemaVersion must be 2, got {version!r}")


def sniff_media_type(raw: bytes, content_type: str | None = None) -> str:
    """The document type of a manifest or index, from Content-Type or, when generic, from the body."""
    header = base_media_type(content_type)
    if header in MANIFEST_TYPES | INDEX_TYPES:
        return header
    if header in SCHEMA1_TYPES:
        raise IntegrityError(SCHEMA1_MESSAGE)
    data = load_object(raw, "manifest")
    check_schema(data, "manifest")
    fields = go_fields(data)
    declared = fields.get("mediatype")
    if isinstance(declared, str) and declared in MANIFEST_TYPES | INDEX_TYPES:
        return declared
    # Without mediaType, the config's type decides first (containers/image GuessMIMEType)
    config = fields.get("config")
    config_type = go_fields(config).get("mediatype") if isinstance(config, dict) else None
    if config_type == DOCKER_CONFIG:
        return DOCKER_MANIFEST
    if config_type == OCI_CONFIG:
        return OCI_MANIFEST
    if "manifests" in fields:
        return OCI_INDEX
    if "config" in fields or "layers" in fields:
        return OCI_MANIFEST
    raise IntegrityError(f"unrecognised manifest type {header or declared!r}")
