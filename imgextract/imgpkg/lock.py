"""imgpkg's lock files: ImagesLock (``.imgpkg/images.yml``) and BundleLock (``copy --lock-output``).

Parsing follows imgpkg: ImagesLock is strict (unknown keys are an error, apiVersion and kind checked,
every image a digest reference); references are normalised the way go-containerregistry names them
(``ubuntu@sha256:..`` -> ``index.docker.io/library/ubuntu@sha256:..``).  Writing keeps entry order
and annotations, in imgpkg's style (see :mod:`imgextract.imgpkg.yamlio`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imgextract.errors import InvalidBundleError
from imgextract.imgpkg import ggcrname
from imgextract.imgpkg import yamlio as imgpkg_yaml
from imgextract.reference import DOCKER_HUB, Reference

API_VERSION = "imgpkg.carvel.dev/v1alpha1"
IMAGES_LOCK_KIND = "ImagesLock"
BUNDLE_LOCK_KIND = "BundleLock"
IMAGES_LOCK_PATH = ".imgpkg/images.yml"
GGCR_DOCKER_HUB = "index.docker.io"
_IMAGES = "images lock"  # how imgpkg names the files in its errors
_BUNDLE = "bundle lock"


def parse_digest_ref(image: str) -> Reference:
    """A digest reference (tag dropped), read and named as imgpkg reads it: go-containerregistry's
    ``name.NewDigest`` (:mod:`imgextract.imgpkg.ggcrname`); raises InvalidBundleError like imgpkg."""
    try:
        registry, repository, digest = ggcrname.parse_digest(image)
    except ggcrname.BadName:
        raise InvalidBundleError(f"Expected ref to be in digest form, got '{image}'") from None
    if registry == ggcrname.DEFAULT_REGISTRY:
        registry = DOCKER_HUB
    return Reference(registry=registry, repository=repository, digest=digest)


def ref_string(ref: Reference) -> str:
    """go-containerregistry's spelling of a digest reference (Docker Hub is ``index.docker.io``)."""
    registry = GGCR_DOCKER_HUB if ref.registry == DOCKER_HUB else ref.registry
    return f"{registry}/{ref.repository}@{ref.digest}"


def normalize_ref(image: str) -> str:
    return ref_string(parse_digest_ref(image))


def relocated_ref(image: str, registry: str, repository: str) -> str:
    """``image``'s digest in ``registry/repository``."""
    digest = parse_digest_ref(image).digest
    assert digest is not None
    return ref_string(Reference(registry=registry, repository=repository, digest=digest))


def _check_version(data: Mapping[str, Any], kind: str, what: str, lock: str) -> None:
    """imgpkg's ``Validate``: apiVersion, then kind."""
    if data.get("apiVersion") != API_VERSION:
        raise InvalidBundleError(
            f"{what}: Validating {lock}: Validating apiVersion: Unknown version (known: {API_VERSION})"
        )
    if data.get("kind") != kind:
        raise InvalidBundleError(f"{what}: Validating {lock}: Validating kind: Unknown kind (known: {kind})")


def _check_digest(image: str, what: str, lock: str) -> None:
    try:
        parse_digest_ref(image)
    except InvalidBundleError as exc:
        raise InvalidBundleError(f"{what}: Validating {lock}: {exc}") from None


def _go_quote(name: str) -> str:
    """Go's ``%q`` of a field name, as encoding/json spells it in "unknown field %q"."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _strict_fields(data: Mapping[Any, Any], allowed: set[str], what: str, lock: str) -> dict[str, Any]:
    """``yaml.UnmarshalStrict`` into a struct with the ``allowed`` fields (matched as encoding/json
    matches them, :func:`imgpkg_yaml.go_fields`): a key no field takes is an error, the first in
    the sorted order Go decodes the keys in."""
    fields, unknown = imgpkg_yaml.go_fields(data, allowed)
    if unknown:
        raise InvalidBundleError(f"{what}: Unmarshaling {lock}: unknown field {_go_quote(unknown[0])}")
    return fields


@dataclass(frozen=True)
class ImageRef:
    image: str  # as written in the file
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> Reference:
        return parse_digest_ref(self.image)

    @property
    def digest(self) -> str:
        digest = self.reference.digest
        assert digest is not None
        return digest

    @property
    def normalized(self) -> str:
        return normalize_ref(self.image)

    def to_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"image": self.image}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True)
class ImagesLock:
    images: tuple[ImageRef, ...] = ()

    @classmethod
    def parse(cls, data: bytes | str, *, what: str = IMAGES_LOCK_PATH) -> ImagesLock:
        """imgpkg's ``NewImagesLockFromBytes``: the whole document is decoded (unknown keys refused)
        before ``Validate`` checks apiVersion, kind and every image's digest form."""
        doc = imgpkg_yaml.load(data, what=what)
        doc = {} if doc is None else doc  # Go: the struct keeps its zero value
        if not isinstance(doc, dict):
            raise InvalidBundleError(f"{what}: expected a mapping")
        doc = _strict_fields(doc, {"apiVersion", "kind", "images"}, what, _IMAGES)
        raw_images = doc.get("images")
        raw_images = [] if raw_images is None else raw_images
        if not isinstance(raw_images, list):
            raise InvalidBundleError(f"{what}: 'images' must be a list")
        images = tuple(_parse_image(item, what) for item in raw_images)
        _check_version(doc, IMAGES_LOCK_KIND, what, _IMAGES)
        for image in images:
            _check_digest(image.image, what, _IMAGES)
        return cls(images)

    def with_images(self, images: Sequence[ImageRef]) -> ImagesLock:
        return ImagesLock(tuple(images))

    def to_yaml(self) -> bytes:
        doc: dict[str, Any] = {"apiVersion": API_VERSION, "kind": IMAGES_LOCK_KIND}
        if self.images:
            doc["images"] = [i.to_yaml() for i in self.images]
        return imgpkg_yaml.dump(doc)


def _string_map(value: Any, what: str, field_name: str) -> dict[str, str]:
    """A ``map[string]string`` as sigs.k8s.io/yaml fills it: scalar keys and values become their Go
    text (``replicas: 3`` -> "3", null -> ""); a nested list or mapping is an error."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidBundleError(f"{what}: '{field_name}' must map strings to strings")
    out: dict[str, str] = {}
    for key, item in value.items():
        k, v = (imgpkg_yaml.go_string(key) if key is not None else None), imgpkg_yaml.go_string(item)
        if not isinstance(k, str) or not isinstance(v, str):
            raise InvalidBundleError(f"{what}: '{field_name}' must map strings to strings")
        out[k] = v
    return out


def _string_field(value: Any, what: str, field_name: str) -> str:
    """A Go ``string`` field: a number or boolean is its text, null the empty string."""
    text = imgpkg_yaml.go_string(value)
    if not isinstance(text, str):
        raise InvalidBundleError(f"{what}: '{field_name}' must be a string")
    return text


def _parse_image(item: Any, what: str) -> ImageRef:
    """One entry, decoded as Go decodes it into ``ImageRef`` (null is the zero value)."""
    item = {} if item is None else item
    if not isinstance(item, dict):
        raise InvalidBundleError(f"{what}: each entry of 'images' must be a mapping")
    item = _strict_fields(item, {"image", "annotations"}, what, _IMAGES)
    image = _string_field(item.get("image"), what, "image")
    annotations = _string_map(item.get("annotations"), what, "annotations")
    return ImageRef(image, annotations)


@dataclass(frozen=True)
class BundleLock:
    """imgpkg's BundleLock; ``other_tags`` is ``otherTags``, the comma-joined tags that
    ``imgpkg push --additional-tags`` adds."""

    image: str
    tag: str | None = None
    other_tags: str | None = None

    @classmethod
    def parse(cls, data: bytes | str, *, what: str = "bundle lock") -> BundleLock:
        """imgpkg's ``NewBundleLockFromBytes``: decoded strictly, then ``Validate``d."""
        doc = imgpkg_yaml.load(data, what=what)
        doc = {} if doc is None else doc  # Go: the struct keeps its zero value
        if not isinstance(doc, dict):
            raise InvalidBundleError(f"{what}: expected a mapping")
        doc = _strict_fields(doc, {"apiVersion", "kind", "bundle"}, what, _BUNDLE)
        bundle = doc.get("bundle")
        bundle = {} if bundle is None else bundle
        if not isinstance(bundle, dict):
            raise InvalidBundleError(f"{what}: 'bundle' must be a mapping")
        bundle = _strict_fields(bundle, {"image", "tag", "otherTags"}, what, _BUNDLE)
        image = _string_field(bundle.get("image"), what, "bundle.image")
        tag = _string_field(bundle.get("tag"), what, "bundle.tag")
        other_tags = _string_field(bundle.get("otherTags"), what, "bundle.otherTags")
        _check_version(doc, BUNDLE_LOCK_KIND, what, _BUNDLE)
        _check_digest(image, what, _BUNDLE)
        return cls(image, tag or None, other_tags or None)

    def to_yaml(self) -> bytes:
        bundle: dict[str, str] = {"image": self.image}
        if self.tag:
            bundle["tag"] = self.tag
        if self.other_tags:
            bundle["otherTags"] = self.other_tags
        return imgpkg_yaml.dump({"apiVersion": API_VERSION, "kind": BUNDLE_LOCK_KIND, "bundle": bundle})
