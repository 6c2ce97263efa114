"""Discover what copying a bundle involves: the bundle, every image of its ImagesLock, nested bundles.

Images are looked up as imgpkg does (locations image, then the bundle's repository, then the
ImagesLock location; see :mod:`imgextract.imgpkg.relocate`); when the bundle's repository does not
hold them all, each image is still read from there when it is there, else from its ImagesLock
location (imgpkg's ``FirstImageExists``, image by image).  Nested bundles are walked recursively, each
against the repository it was found in.  Nothing is written here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from imgextract import oci
from imgextract.errors import InvalidBundleError
from imgextract.imgpkg.files import read_image_files
from imgextract.imgpkg.lock import IMAGES_LOCK_PATH, ImagesLock, parse_digest_ref
from imgextract.imgpkg.relocate import Relocation, relocate_images_lock
from imgextract.reference import Reference
from imgextract.registry.client import ManifestResponse, RegistryClient

BUNDLE_LABEL = "dev.carvel.imgpkg.bundle"
MAX_CONFIG_BYTES = 8 * 1024 * 1024

ClientFor = Callable[[str], RegistryClient]
# The endpoints to read a reference from, in order: (physical reference, its client or None if blocked).
SourcesFor = Callable[[Reference], list[tuple[Reference, RegistryClient | None]]]


def open_manifest(
    ref: Reference, identifier: str, client_for: ClientFor, sources_for: SourcesFor | None
) -> tuple[RegistryClient, str, ManifestResponse]:
    """The manifest of ``ref`` from the first source (mirrors as configured, then the primary) that has it."""
    from imgextract.errors import ImgExtractError, NotFoundError, UnreachableError

    last: ImgExtractError | None = None
    blocked: list[str] = []
    sources = sources_for(ref) if sources_for is not None else [(ref, client_for(ref.registry))]
    for physical, client in sources:
        if client is None:
            blocked.append(physical.registry)
            continue
        try:
            return client, physical.repository, client.get_manifest(physical.repository, identifier)
        except (NotFoundError, UnreachableError) as exc:
            last = exc
    if last is not None:
        raise last
    raise UnreachableError(
        f"every source of {ref} is blocked by the registries configuration ({', '.join(blocked)})",
        reference=str(ref),
    )


@dataclass(frozen=True)
class SourceImage:
    """A top-level image (manifest or index) to copy, and where it is read from."""

    client: RegistryClient
    repository: str
    response: ManifestResponse
    origin: str  # the reference it was listed as (ImagesLock entry or the given source)

    @property
    def digest(self) -> str:
        return self.response.digest

    @property
    def where(self) -> str:
        return f"{self.client.registry}/{self.repository}@{self.digest}"


@dataclass
class BundleNode:
    image: SourceImage
    lock: ImagesLock  # as written in the bundle (original refs)
    relocation: Relocation
    is_bundle: dict[str, bool] = field(default_factory=dict)


@dataclass
class BundleGraph:
    root: SourceImage
    bundles: dict[str, BundleNode] = field(default_factory=dict)  # by digest, root first
    images: dict[str, SourceImage] = field(default_factory=dict)  # every top-level image, root first


def bundle_labels(image: SourceImage) -> dict[str, str] | None:
    """The config labels of a manifest (None for an index: an index is never a bundle)."""
    if not oci.is_manifest(image.response.media_type):
        return None
    manifest = oci.parse_manifest(image.response.raw, image.response.media_type)
    raw = image.client.read_blob(image.repository, manifest.config.digest, limit=MAX_CONFIG_BYTES)
    return oci.config_labels(raw)  # imgpkg's IsBundle: any config's labels, an artifact's too


def read_bundle_lock(image: SourceImage) -> ImagesLock:
    manifest = oci.parse_manifest(image.response.raw, image.response.media_type)
    files = read_image_files(image.client, image.repository, manifest, [IMAGES_LOCK_PATH])
    if IMAGES_LOCK_PATH not in files:
        raise InvalidBundleError(f"bundle {image.where} has no {IMAGES_LOCK_PATH}")
    return ImagesLock.parse(files[IMAGES_LOCK_PATH], what=f"{image.where} {IMAGES_LOCK_PATH}")


def fetch_source(
    source: Reference, client_for: ClientFor, sources_for: SourcesFor | None = None
) -> SourceImage:
    ref = source.pull_ref()
    client, repository, resp = open_manifest(ref, ref.identifier, client_for, sources_for)
    image = SourceImage(client, repository, resp, str(source))
    labels = bundle_labels(image)
    if labels is None:
        raise InvalidBundleError(f"Expected bundle image but found an image index: {source}")
    if BUNDLE_LABEL not in labels:
        raise InvalidBundleError(f"Expected bundle image but found plain image: {source}")
    return image


def _first_existing(
    bundle: SourceImage, listed: str, digest: str, client_for: ClientFor, sources_for: SourcesFor | None
) -> SourceImage:
    """An image of a bundle whose repository does not hold them all: imgpkg's ``FirstImageExists``
    over its locations, image by image: the bundle's repository first (404/401/403 there mean
    absent), then where the ImagesLock lists it."""
    from imgextract.errors import AuthError, NotFoundError

    try:
        return SourceImage(
            bundle.client, bundle.repository, bundle.client.get_manifest(bundle.repository, digest), listed
        )
    except (NotFoundError, AuthError):
        pass
    client, repository, resp = open_manifest(parse_digest_ref(listed), digest, client_for, sources_for)
    return SourceImage(client, repository, resp, listed)


def discover(source: Reference, client_for: ClientFor, sources_for: SourcesFor | None = None) -> BundleGraph:
    """``sources_for``: the user's mirror configuration (None: every image from where it is named)."""
    root = fetch_source(source, client_for, sources_for)
    graph = BundleGraph(root)
    graph.images[root.digest] = root
    pending = [root]
    while pending:
        bundle = pending.pop(0)
        lock = read_bundle_lock(bundle)
        where = Reference(registry=bundle.client.registry, repository=bundle.repository, digest=bundle.digest)
        relocated, report = relocate_images_lock(bundle.client, where, lock)
        node = BundleNode(bundle, lock, report)
        graph.bundles[bundle.digest] = node
        for original, located in zip(lock.images, relocated.images, strict=True):
            digest = original.digest
            image = graph.images.get(digest)
            if image is None:
                ref = parse_digest_ref(located.image)
                if not report.rewritten:
                    image = _first_existing(bundle, original.image, digest, client_for, sources_for)
                elif ref.registry == bundle.client.registry and sources_for is None:
                    image = SourceImage(
                        bundle.client,
                        ref.repository,
                        bundle.client.get_manifest(ref.repository, digest),
                        original.image,
                    )
                else:
                    client, repository, resp = open_manifest(ref, digest, client_for, sources_for)
                    image = SourceImage(client, repository, resp, original.image)
                graph.images[digest] = image
            flag = report.is_bundle.get(digest)
            if flag is None:
                labels = bundle_labels(image)
                flag = labels is not None and BUNDLE_LABEL in labels
            node.is_bundle[digest] = flag
            if flag and digest not in graph.bundles and all(p.digest != digest for p in pending):
                pending.append(image)
    return graph
