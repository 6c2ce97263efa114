"""Where a bundle's images are now: imgpkg's lookup order, without contacting the original registries.

1. The locations image ``{bundle repo}:sha256-{hex}.image-locations.imgpkg`` exists: every image is in
   the bundle's repository; ``isBundle`` comes from the file.
2. Otherwise HEAD ``{bundle repo}@{digest}`` for each image; all present -> rewrite.
3. Otherwise keep the ImagesLock locations, and say which image was missing and why.

404, 401 and 403 on these probes mean "absent" (Harbor and others answer 401/403 for missing manifests).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from imgextract import oci
from imgextract.errors import AuthError, InvalidBundleError, NotFoundError
from imgextract.imgpkg.files import read_first_by_basename
from imgextract.imgpkg.locations import LOCATIONS_FILES, ImageLocations, locations_tag
from imgextract.imgpkg.lock import ImageRef, ImagesLock, ref_string, relocated_ref
from imgextract.reference import Reference
from imgextract.registry.client import RegistryClient

log = logging.getLogger(__name__)

Via = Literal["locations-image", "bundle-repository", "images-lock"]


@dataclass(frozen=True)
class Relocation:
    """The outcome for one bundle: the (possibly rewritten) lock and how it was decided."""

    bundle: str  # the bundle, repo@digest, where it was read from
    lock: ImagesLock  # rewritten, or the original when not rewritten
    via: Via
    is_bundle: Mapping[str, bool] = field(default_factory=dict)  # digest -> flag, from the locations image
    missing: str | None = None  # the first image not found in the bundle's repository
    reason: str | None = None  # why it counts as missing

    @property
    def rewritten(self) -> bool:
        return self.via != "images-lock"

    def message(self) -> str:
        if self.via == "locations-image":
            return f"images.yml rewritten to {self.bundle.split('@')[0]} (locations image)"
        if self.via == "bundle-repository":
            return f"images.yml rewritten to {self.bundle.split('@')[0]} (every image found there)"
        if self.missing is None:
            return "images.yml kept: the bundle lists no images"
        return (
            f"images.yml not rewritten: image {self.missing} not found in "
            f"{self.bundle.split('@')[0]} ({self.reason}); keeping the ImagesLock locations"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "bundle": self.bundle,
            "rewritten": self.rewritten,
            "via": self.via,
            "missing": self.missing,
            "reason": self.reason,
            "message": self.message(),
        }


def _absent_reason(exc: Exception) -> str:
    return "access denied (401/403), counted as absent" if isinstance(exc, AuthError) else "not found (404)"


def _check_locations_shape(manifest: oci.Manifest, where: str) -> None:
    """imgpkg's ``locationsSingleLayerReader.Read`` (pkg/imgpkg/bundle/locations_configs.go): one
    layer, of the Docker gzip layer type; anything else fails the pull there, so it does here."""
    prefix = f"Reading fetched location image {where}"
    if len(manifest.layers) != 1:
        raise InvalidBundleError(
            f"{prefix}: Expected locations OCI Image to only have a single layer, got {len(manifest.layers)}"
        )
    media_type = manifest.layers[0].media_type
    if media_type != oci.DOCKER_LAYER:
        raise InvalidBundleError(
            f"{prefix}: Expected layer to have docker layer media type, was {media_type}"
        )


def read_locations(client: RegistryClient, repository: str, bundle_digest: str) -> ImageLocations | None:
    """The bundle's locations document, or None when the locations image is absent (404/401/403)."""
    tag = locations_tag(bundle_digest)
    try:
        resp = client.get_manifest(repository, tag)
    except (NotFoundError, AuthError) as exc:
        log.debug("no locations image %s/%s:%s: %s", client.registry, repository, tag, _absent_reason(exc))
        return None
    if not oci.is_manifest(resp.media_type):
        raise InvalidBundleError(
            f"locations image {client.registry}/{repository}:{tag} is not an image manifest"
        )
    manifest = oci.parse_manifest(resp.raw, resp.media_type)
    _check_locations_shape(manifest, f"{client.registry}/{repository}:{tag}")
    # imgpkg takes the first entry with the file's base name, wherever it lies in the layer
    found = read_first_by_basename(client, repository, manifest.layers[0], LOCATIONS_FILES)
    if found is not None:
        name, data = found
        return ImageLocations.parse(data, what=f"{client.registry}/{repository}:{tag} {name}")
    raise InvalidBundleError(
        f"locations image {client.registry}/{repository}:{tag} has no {LOCATIONS_FILES[0]}"
    )


def _rewrite(lock: ImagesLock, bundle: Reference) -> ImagesLock:
    return lock.with_images(
        [
            ImageRef(relocated_ref(i.image, bundle.registry, bundle.repository), i.annotations)
            for i in lock.images
        ]
    )


def relocate_images_lock(
    client: RegistryClient, bundle_repo_ref: Reference, lock: ImagesLock
) -> tuple[ImagesLock, Relocation]:
    """Rewrite ``lock`` to the bundle's repository when its images are there (see module doc).

    ``client`` serves ``bundle_repo_ref.registry``; ``bundle_repo_ref`` carries the bundle's digest.
    Returns the new lock (the same object when not rewritten) and the report.
    """
    if bundle_repo_ref.digest is None:
        raise ValueError("bundle_repo_ref needs the bundle's digest")
    repo = bundle_repo_ref.repository
    bundle = ref_string(bundle_repo_ref)
    locations = read_locations(client, repo, bundle_repo_ref.digest)
    if locations is not None:
        listed = {i.digest: locations.is_bundle(i.digest) for i in lock.images}
        flags = {d: flag for d, flag in listed.items() if flag is not None}
        new = _rewrite(lock, bundle_repo_ref)
        return new, Relocation(bundle, new, "locations-image", flags)
    seen: set[str] = set()
    for image in lock.images:
        if image.digest in seen:
            continue
        seen.add(image.digest)
        try:
            present = client.head_manifest(repo, image.digest) is not None
            reason = "not found (404)"
        except AuthError as exc:
            present, reason = False, _absent_reason(exc)
        if not present:
            report = Relocation(bundle, lock, "images-lock", missing=image.image, reason=reason)
            log.info("%s", report.message())
            return lock, report
    new = _rewrite(lock, bundle_repo_ref)
    return new, Relocation(bundle, new, "bundle-repository")
