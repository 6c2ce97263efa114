"""The locations image's document (``image-locations.yml``) and imgpkg's tag names.

imgpkg writes ``kind: ImageLocations`` with ``images[].isBundle`` in ``image-locations.yml``; the
original proposal (carvel-dev/imgpkg#136) spelled it ``images-locations.yml``, ``kind: ImagesLocation``,
``images[].bundle`` and an unused ``repository``.  We write imgpkg's spelling and read both.  Apart
from apiVersion and kind, reading is lenient (unknown keys ignored), like imgpkg.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imgextract.errors import ImgExtractError, InvalidBundleError
from imgextract.imgpkg import yamlio as imgpkg_yaml
from imgextract.imgpkg.lock import API_VERSION, ImagesLock
from imgextract.reference import parse_reference

LOCATIONS_FILE = "image-locations.yml"
PROPOSAL_LOCATIONS_FILE = "images-locations.yml"
LOCATIONS_FILES = (LOCATIONS_FILE, PROPOSAL_LOCATIONS_FILE)
KIND = "ImageLocations"
PROPOSAL_KIND = "ImagesLocation"


def imgpkg_tag(digest: str) -> str:
    """The tag imgpkg puts beside every image it pushes: ``sha256-{hex}.imgpkg``."""
    return digest.replace(":", "-") + ".imgpkg"


def locations_tag(bundle_digest: str) -> str:
    """Where a bundle's locations image lives: ``sha256-{bundle hex}.image-locations.imgpkg``."""
    return bundle_digest.replace(":", "-") + ".image-locations.imgpkg"


def _digest_of(image: str) -> str | None:
    try:
        return parse_reference(image).digest
    except ImgExtractError:
        return None


@dataclass(frozen=True)
class ImageLocation:
    image: str
    is_bundle: bool


@dataclass(frozen=True)
class ImageLocations:
    images: tuple[ImageLocation, ...]

    @classmethod
    def for_lock(cls, lock: ImagesLock, is_bundle: Mapping[str, bool]) -> ImageLocations:
        """One entry per image of the ImagesLock, spelled as images.yml writes it, sorted.

        As imgpkg's ``NoteCopy``: each entry's ``image`` is the ImagesLock entry's own string (imgpkg
        marks nested bundles by comparing it with images.yml), one entry per digest (the last
        entry with that digest, as imgpkg's digest-keyed cache keeps it)."""
        by_digest = {
            ref.digest: ImageLocation(ref.image, bool(is_bundle.get(ref.digest, False)))
            for ref in lock.images
        }
        return cls(tuple(sorted(by_digest.values(), key=lambda e: e.image)))

    @classmethod
    def parse(cls, data: bytes | str, *, what: str = LOCATIONS_FILE) -> ImageLocations:
        doc = imgpkg_yaml.load(data, what=what)
        doc = {} if doc is None else doc  # Go: the struct keeps its zero value
        if not isinstance(doc, dict):
            raise InvalidBundleError(f"{what}: expected a mapping")
        doc, _unknown = imgpkg_yaml.go_fields(doc, ("apiVersion", "kind", "images"))  # lenient
        if doc.get("apiVersion") != API_VERSION:
            raise InvalidBundleError(f"{what}: Validating apiVersion: Unknown version (known: {API_VERSION})")
        if doc.get("kind") not in (KIND, PROPOSAL_KIND):
            raise InvalidBundleError(f"{what}: Validating kind: Unknown kind (known: {KIND})")
        raw = doc.get("images")
        raw = [] if raw is None else raw
        if not isinstance(raw, list):
            raise InvalidBundleError(f"{what}: 'images' must be a list")
        return cls(tuple(_parse_entry(item, what) for item in raw))

    def is_bundle(self, digest: str) -> bool | None:
        """What the file says about the image with ``digest`` (None when it does not list it)."""
        for entry in self.images:
            if _digest_of(entry.image) == digest:
                return entry.is_bundle
        return None

    def to_yaml(self) -> bytes:
        """imgpkg's ``ImageLocationsConfig.AsBytes``: entries sorted by image, whatever their order
        here; no entries is ``images: null`` (a nil Go slice, the field has no omitempty)."""
        entries = sorted(self.images, key=lambda e: e.image)
        images = [{"image": e.image, "isBundle": e.is_bundle} for e in entries] or None
        return imgpkg_yaml.dump({"apiVersion": API_VERSION, "kind": KIND, "images": images})


def _parse_entry(item: Any, what: str) -> ImageLocation:
    """One entry as Go's encoding/json fills ``ImageLocation``: ``null`` (the entry, or a field) is
    the zero value, so a null ``isBundle`` is false."""
    item = {} if item is None else item
    if isinstance(item, dict):
        item, _unknown = imgpkg_yaml.go_fields(item, ("image", "isBundle", "bundle"))
    image = imgpkg_yaml.go_string(item.get("image")) if isinstance(item, dict) else None
    if not isinstance(image, str):
        raise InvalidBundleError(f"{what}: each entry of 'images' needs a string 'image'")
    flag = item.get("isBundle", item.get("bundle"))
    flag = False if flag is None else flag
    if not isinstance(flag, bool):
        raise InvalidBundleError(f"{what}: 'isBundle' must be true or false")
    return ImageLocation(image, flag)
