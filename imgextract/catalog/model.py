"""The typed, frozen view of a catalog: packages, channels (with their upgrade entries), bundles.

Only what queries, filters and pulls need is kept; the large parts of a bundle (its
``olm.bundle.object`` properties, icons) are dropped while reading, so a 130 MB catalog fits in a
few tens of megabytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgextract.catalog.versions import Version, try_version


@dataclass(frozen=True)
class Origin:
    """Where an object was read: file path relative to the catalog root, object index in that file."""

    path: str
    index: int

    def __str__(self) -> str:
        return f"{self.path}: object {self.index}"


@dataclass(frozen=True)
class RelatedImage:
    name: str
    image: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "image": self.image}


@dataclass(frozen=True)
class ChannelEntry:
    """One ``olm.channel`` entry: a bundle name and its upgrade edges."""

    name: str
    replaces: str | None = None
    skips: tuple[str, ...] = ()
    skip_range: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.replaces:
            out["replaces"] = self.replaces
        if self.skips:
            out["skips"] = list(self.skips)
        if self.skip_range:
            out["skipRange"] = self.skip_range
        return out


@dataclass(frozen=True)
class Channel:
    """A channel of a package. ``heads`` are the entries nothing else in the channel upgrades from
    (one in a valid catalog; every candidate when the graph is ambiguous)."""

    package: str
    name: str
    entries: tuple[ChannelEntry, ...]
    heads: tuple[str, ...]
    origin: Origin | None = None

    @property
    def head(self) -> str | None:
        """The single head, or None when the channel is empty or has several."""
        return self.heads[0] if len(self.heads) == 1 else None

    @property
    def bundle_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entries)

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "name": self.name,
            "head": self.head,
            "heads": list(self.heads),
            "entries": [e.to_json() for e in self.entries],
        }


@dataclass(frozen=True)
class Bundle:
    """An ``olm.bundle``: its image, its version (from the ``olm.package`` property), the channels
    that list it, and its related images (as the catalog declares them)."""

    package: str
    name: str
    image: str
    version: str
    channels: tuple[str, ...]
    related_images: tuple[RelatedImage, ...]
    origin: Origin | None = None

    @property
    def semver(self) -> Version | None:
        return try_version(self.version)

    def images(self) -> set[str]:
        """The bundle image and every related image (empty strings left out)."""
        out = {r.image for r in self.related_images if r.image}
        if self.image:
            out.add(self.image)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "name": self.name,
            "version": self.version,
            "image": self.image,
            "channels": list(self.channels),
            "relatedImages": [r.to_json() for r in self.related_images],
        }


@dataclass(frozen=True)
class Package:
    """An ``olm.package``. ``replaced_default`` names the catalog's original default channel when a
    filter dropped it and ``default_channel`` is its replacement."""

    name: str
    default_channel: str | None
    channels: tuple[str, ...]
    replaced_default: str | None = None
    origin: Origin | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "defaultChannel": self.default_channel,
            "channels": list(self.channels),
        }
        if self.replaced_default is not None:
            out["replacedDefaultChannel"] = self.replaced_default
        return out
