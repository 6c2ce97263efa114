"""The image config blob: labels, rootfs diff_ids, os/architecture/variant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from imgextract.errors import IntegrityError
from imgextract.oci.digest import is_digest
from imgextract.oci.fields import load_object, require, string_map
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
    def parse(cls, raw: bytes) -> ImageConfig:
        return parse_config(raw)


def parse_config(raw: bytes) -> ImageConfig:
    """Parse an image config blob (OCI or Docker): labels, rootfs diff_ids, os/arch/variant."""
    what = "image config"
    data = load_object(raw, what)
    rootfs = data.get("rootfs")
    if not isinstance(rootfs, dict):
        raise IntegrityError("malformed image config: missing 'rootfs'")
    diff_ids = require(rootfs, "diff_ids", list, what)
    if not all(is_digest(d) for d in diff_ids):
        raise IntegrityError("malformed image config: 'rootfs.diff_ids' must be a list of digests")
    config = data.get("config") or {}
    if not isinstance(config, dict):
        raise IntegrityError("malformed image config: 'config' is not an object")
    os_name = data.get("os") or ""
    arch = data.get("architecture") or ""
    variant = data.get("variant") or ""
    if not all(isinstance(v, str) for v in (os_name, arch, variant)):
        raise IntegrityError("malformed image config: os/architecture/variant must be strings")
    return ImageConfig(
        os=os_name,
        architecture=arch,
        variant=variant,
        labels=string_map(config, "Labels", what),
        diff_ids=tuple(diff_ids),
    )
