"""The label and annotation keys that identify bundle and catalog images."""

from __future__ import annotations

BUNDLE_PREFIX = "operators.operatorframework.io.bundle."
MEDIATYPE = BUNDLE_PREFIX + "mediatype.v1"
MANIFESTS = BUNDLE_PREFIX + "manifests.v1"
METADATA = BUNDLE_PREFIX + "metadata.v1"
PACKAGE = BUNDLE_PREFIX + "package.v1"
CHANNELS = BUNDLE_PREFIX + "channels.v1"
DEFAULT_CHANNEL = BUNDLE_PREFIX + "channel.default.v1"

# The six keys OLM copies from annotations.yaml onto the bundle ConfigMap, in OLM's order.
BUNDLE_KEYS = (MEDIATYPE, MANIFESTS, METADATA, PACKAGE, CHANNELS, DEFAULT_CHANNEL)

FBC_CONFIGS = "operators.operatorframework.io.index.configs.v1"
SQLITE_INDEX = "operators.operatorframework.io.index.database.v1"
IMGPKG_BUNDLE = "dev.carvel.imgpkg.bundle"

ANNOTATIONS_FILE = "annotations.yaml"
