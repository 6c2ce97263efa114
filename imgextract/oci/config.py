"""The image config blob: labels, rootfs diff_ids, os/architecture/variant."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from imgextract.errors import IntegrityError
from imgextract.oci.digest import is_digest
from imgextract.oci.fields import Struct, load_object, string_map
from imgextract.oci.mediatypes import DOCKER_CONFIG, OCI_CONFIG
from imgextract.oci.platform import Platform
from imgextract.records import FrozenRecord


class ImageConfig(FrozenRecord):
    """The parts of an image config a pull uses: platform, labels, layer diff_ids."""

    __slots__ = ("os", "architecture", "variant", "labels", "diff_ids")

    def __init__(
        self, os: str, architecture: str, variant: str, labels: Mapping[str, str], diff_ids: tuple[str, ...]
    ) -> None:
        self.os: Final = os
        self.architecture: Final = architecture
        self.variant: Final = variant
        self.labels: Final = labels
        self.diff_ids: Final = diff_ids

    @property
    def platform(self) -> Platform:
        return Platform(os=self.os, architecture=self.architecture, variant=self.variant)

    @classmethod
    def parse(cls, raw: bytes, media_type: str | None = None, artifact_type: str = "") -> ImageConfig:
        return parse_config(raw, media_type=media_type, artifact_type=artifact_type)


# The image-spec Go types (specs-go/v1 Image, ImageConfig, RootFS, History; see imgextract.oci.fields).
_IMAGE = Struct(
    "image config",
    created="string",  # a *time.Time: its RFC 3339 form is not checked
    author="string",
    architecture="string",
    variant="string",
    os="string",
    os__version="string",
    os__features="strings",
    config="struct",
    rootfs="struct",
    history="objects",
)
_IMAGE_CONFIG = Struct(
    "image config",
    User="string",
    ExposedPorts="set",
    Env="strings",
    Entrypoint="strings",
    Cmd="strings",
    Volumes="set",
    WorkingDir="string",
    Labels="map",
    StopSignal="string",
    ArgsEscaped="bool",
)
_ROOTFS = Struct("image config", type="string", diff_ids="list")
_HISTORY = Struct(
    "image config",
    created="string",
    created_by="string",
    author="string",
    comment="string",
    empty_layer="bool",
)


def parse_config(raw: bytes, *, media_type: str | None = None, artifact_type: str = "") -> ImageConfig:
    """Parse an image config blob (OCI or Docker): labels, rootfs diff_ids, os/arch/variant.

    Decoded as Go decodes it into ``v1.Image`` (what podman's pull and umoci's unpack read a
    config into; containers/image reads a Docker config that way too), so a field of the wrong
    type anywhere is refused even where the pull does not use it (see :mod:`imgextract.oci.fields`).
    ``created`` must be a string; its RFC 3339 form is not checked.  ``rootfs.diff_ids`` is required.

    ``media_type``: the config descriptor's type; ``artifact_type``: the manifest's
    ``artifactType``.  A blob that is no image config under a type that is not an image config's
    is an OCI artifact: the error says so as containers/image's ``NonImageArtifactError`` does
    ("unsupported image-specific operation on artifact with type ...", naming the manifest's
    ``artifactType`` when it has one, else the config's type) rather than naming the first field
    missing.
    """
    try:
        return _parse_config(raw)
    except IntegrityError as exc:
        if media_type is None or media_type in (OCI_CONFIG, DOCKER_CONFIG):
            raise
        kind = json.dumps((artifact_type or media_type)[:200])
        raise IntegrityError(
            f"not a container image: unsupported image-specific operation on artifact with type {kind}"
        ) from exc


def config_labels(raw: bytes) -> dict[str, str]:
    """The labels of any config blob, decoded with the types :func:`parse_config` checks (a
    mistyped field is an IntegrityError) but asking for no image: an artifact's config (a Helm
    chart's, the empty ``{}``) or one without ``rootfs.type`` has labels too, or none.  What imgpkg's
    ``Bundle.IsBundle`` reads of every image a bundle lists (go-containerregistry's ``ConfigFile``)."""
    return string_map(_decode(raw)[1].get("labels"))


def _decode(raw: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The image's fields and its ``config``'s, every key type-checked (history's too)."""
    fields = _IMAGE.decode(load_object(raw, "image config"))
    config = _IMAGE_CONFIG.decode(fields.get("config") or {})
    for item in fields.get("history") or ():
        if item is not None:
            _HISTORY.decode(item)
    if fields.get("rootfs") is not None:
        _ROOTFS.decode(fields["rootfs"])
    return fields, config


def _parse_config(raw: bytes) -> ImageConfig:
    fields, config = _decode(raw)
    if "rootfs" not in fields:
        raise IntegrityError("malformed image config: missing 'rootfs'")
    rootfs = _ROOTFS.decode(fields["rootfs"])
    if "diff_ids" not in rootfs:
        raise IntegrityError("malformed image config: missing 'diff_ids'")
    diff_ids = rootfs["diff_ids"]
    if not all(is_digest(d) for d in diff_ids):
        raise IntegrityError("malformed image config: 'rootfs.diff_ids' must be a list of digests")
    labels = string_map(config.get("labels"))
    rootfs_type = rootfs.get("type", "")
    if rootfs_type != "layers":  # config.md: MUST be "layers", an error otherwise when unpacking
        raise IntegrityError(f"malformed image config: unsupported rootfs.type {rootfs_type[:80]!r}")
    return ImageConfig(
        os=fields.get("os", ""),
        architecture=fields.get("architecture", ""),
        variant=fields.get("variant", ""),
        labels=labels,
        diff_ids=tuple(diff_ids),
    )
