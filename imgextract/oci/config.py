"""The image config blob: labels, rootfs diff_ids, os/architecture/variant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from imgextract.errors import IntegrityError
from imgextract.oci.digest import is_digest
from imgextract.oci.fields import (
    go_bool,
    go_fields,
    go_list,
    go_object,
    go_set,
    go_str,
    go_str_list,
    go_str_map,
    load_object,
)
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
    def parse(cls, raw: bytes, media_type: str | None = None) -> ImageConfig:
        return parse_config(raw, media_type=media_type)


# Slice, map and pointer fields of ``v1.Image`` and its parts: ``null`` empties them.
_IMAGE_NULLABLE = frozenset({"created", "os.features", "history"})
_CONFIG_NULLABLE = frozenset(
    {"exposedports", "env", "entrypoint", "cmd", "volumes", "labels"}
)  # (ImageConfig)
_HISTORY_NULLABLE = frozenset({"created"})


def parse_config(raw: bytes, *, media_type: str | None = None) -> ImageConfig:
    """Parse an image config blob (OCI or Docker): labels, rootfs diff_ids, os/arch/variant.

    Decoded as Go decodes it into ``v1.Image`` (what podman's pull and umoci's unpack read a
    config into; containers/image reads a Docker config that way too), so a field of the wrong
    type anywhere is refused even where the pull does not use it (see :mod:`imgextract.oci.fields`).
    ``created`` must be a string; its RFC 3339 form is not checked.  ``rootfs.diff_ids`` is required.

    ``media_type``: the config descriptor's type.  A blob that is no image config under a type
    that is not an image config's is an OCI artifact: the error says so (containers/image's
    ``NonImageArtifactError``) rather than naming the first field missing.
    """
    try:
        return _parse_config(raw)
    except IntegrityError as exc:
        if media_type is None or media_type in (OCI_CONFIG, DOCKER_CONFIG):
            raise
        raise IntegrityError(
            f"not a container image: an artifact with config type {media_type[:200]!r} "
            "(unsupported image-specific operation on an artifact)"
        ) from exc


def _parse_config(raw: bytes) -> ImageConfig:
    what = "image config"
    data = load_object(raw, what)
    fields = go_fields(data, _IMAGE_NULLABLE)
    for name in ("created", "author"):
        go_str(fields, name, what)
    os_name, arch, variant = (go_str(fields, n, what) for n in ("os", "architecture", "variant"))
    go_str(fields, "os.version", what)
    go_str_list(fields, "os.features", what)
    config = go_fields(go_object(fields, "config", what) or {}, _CONFIG_NULLABLE)
    for name in ("User", "WorkingDir", "StopSignal"):
        go_str(config, name, what)
    for name in ("Env", "Entrypoint", "Cmd"):
        go_str_list(config, name, what)
    for name in ("ExposedPorts", "Volumes"):
        go_set(config, name, what)
    go_bool(config, "ArgsEscaped", what)
    for item in go_list(fields, "history", what):
        if item is not None and not isinstance(item, dict):
            raise IntegrityError("malformed image config: 'history' must be a list of objects")
        entry = go_fields(item or {}, _HISTORY_NULLABLE)
        for name in ("created", "created_by", "author", "comment"):
            go_str(entry, name, what)
        go_bool(entry, "empty_layer", what)
    rootfs_raw = go_object(fields, "rootfs", what)
    if rootfs_raw is None:
        raise IntegrityError("malformed image config: missing 'rootfs'")
    rootfs = go_fields(rootfs_raw, {"diff_ids"})
    rootfs_type = go_str(rootfs, "type", what)
    if "diff_ids" not in rootfs:
        raise IntegrityError("malformed image config: missing 'diff_ids'")
    diff_ids = go_list(rootfs, "diff_ids", what)
    if not all(is_digest(d) for d in diff_ids):
        raise IntegrityError("malformed image config: 'rootfs.diff_ids' must be a list of digests")
    labels = go_str_map(config, "Labels", what)
    if rootfs_type != "layers":  # config.md: MUST be "layers", an error otherwise when unpacking
        raise IntegrityError(f"malformed image config: unsupported rootfs.type {rootfs_type[:80]!r}")
    return ImageConfig(
        os=os_name, architecture=arch, variant=variant, labels=labels, diff_ids=tuple(diff_ids)
    )
