"""``copy --to-repo``: relocate a bundle and its images into one repository, then write locations images.

Order of work (nothing is tagged as a locations image unless everything before it succeeded):
1. discover the bundle tree (:mod:`imgextract.imgpkg.graph`);
2. copy every blob (present -> skip, same registry -> mount, else stream; in parallel);
3. PUT every manifest: index children by digest, each top-level image by tag ``sha256-{hex}.imgpkg``
   (then HEAD to confirm the digest);
4. one locations image per bundle, tagged ``sha256-{bundle hex}.image-locations.imgpkg``;
5. the root bundle's source tag re-applied; optional BundleLock file.
"""

from __future__ import annotations

import io
import logging
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from imgextract import oci
from imgextract.errors import ImgExtractError, IntegrityError, UsageError, option
from imgextract.imgpkg.blobs import DEFAULT_CONCURRENCY, BlobCopier
from imgextract.imgpkg.graph import BundleGraph, ClientFor, SourceImage, SourcesFor, discover
from imgextract.imgpkg.image import build_image
from imgextract.imgpkg.locations import LOCATIONS_FILE, ImageLocations, imgpkg_tag, locations_tag
from imgextract.imgpkg.lock import BundleLock, ref_string
from imgextract.imgpkg.relocate import read_locations
from imgextract.reference import DEFAULT_TAG, Reference, parse_reference
from imgextract.registry.client import ManifestResponse, RegistryClient

log = logging.getLogger(__name__)


def source_tag(ref: Reference) -> str | None:
    """The tag copy re-applies in the destination and writes in the BundleLock: imgpkg's
    ``PlainImage.Tag()`` of the source.  go-containerregistry's ``ParseReference`` reads a
    reference with a digest as a digest (a tag next to it is dropped: no tag) and one without as a
    tag, ``latest`` when none is written."""
    if ref.digest is not None:
        return None
    return ref.tag or DEFAULT_TAG


@dataclass
class CopyResult:
    source: str
    destination: str  # registry/repository
    digest: str  # the root bundle's digest
    tag: str | None  # the source tag re-applied in the destination
    images: dict[str, str] = field(default_factory=dict)  # digest -> original reference
    bundles: list[str] = field(default_factory=list)  # bundle digests, root first
    locations: dict[str, str] = field(default_factory=dict)  # bundle digest -> locations image digest
    blobs: Counter[str] = field(default_factory=Counter)
    lock: BundleLock | None = None

    @property
    def bundle_ref(self) -> str:
        return ref_string(parse_reference(f"{self.destination}@{self.digest}"))

    def to_json(self) -> dict[str, Any]:
        return copy_json(self)


class _CopyFields(Protocol):
    """What a copy's JSON is made of (read-only: the library's result is frozen)."""

    @property
    def source(self) -> str: ...
    @property
    def destination(self) -> str: ...
    @property
    def digest(self) -> str: ...
    @property
    def tag(self) -> str | None: ...
    @property
    def bundle_ref(self) -> str: ...
    @property
    def images(self) -> Mapping[str, str]: ...
    @property
    def bundles(self) -> Sequence[str]: ...
    @property
    def locations(self) -> Mapping[str, str]: ...
    @property
    def blobs(self) -> Mapping[str, int]: ...


def copy_json(result: _CopyFields) -> dict[str, Any]:
    """The ``bundle-extract copy --json`` object of a copy (the running report here, or the
    library's frozen :class:`imgextract.CopyResult`)."""
    return {
        "source": result.source,
        "destination": result.destination,
        "bundle": result.bundle_ref,
        "digest": result.digest,
        "tag": result.tag,
        "images": len(result.images),
        "bundles": list(result.bundles),
        "locations": dict(result.locations),
        "blobs": dict(result.blobs),
    }


def parse_destination(repo: str) -> Reference:
    ref = parse_reference(repo)
    if ref.tag is not None or ref.digest is not None:
        raise UsageError(f"{option('to_repo')} takes a repository without tag or digest, got {repo!r}")
    return ref


@dataclass(frozen=True)
class _Put:
    client: RegistryClient
    repository: str
    response: ManifestResponse
    tag: str | None  # None: PUT by digest (an index child)


def _manifest_tree(image: SourceImage) -> list[_Put]:
    """The manifests of ``image``, children before parents; the top-level one last, put by tag."""
    out: list[_Put] = []

    def walk(resp: ManifestResponse, tag: str | None) -> None:
        if oci.is_index(resp.media_type):
            for child in oci.parse_index(resp.raw, resp.media_type).manifests:
                walk(image.client.get_manifest(image.repository, child.digest), None)
        out.append(_Put(image.client, image.repository, resp, tag))

    walk(image.response, imgpkg_tag(image.digest))
    return out


def _blobs(put: _Put) -> list[oci.Descriptor]:
    if oci.is_index(put.response.media_type):
        return []
    manifest = oci.parse_manifest(put.response.raw, put.response.media_type)
    return [manifest.config, *manifest.layers]


def _put_confirmed(dst: RegistryClient, repo: str, ref: str, resp: ManifestResponse) -> None:
    digest = dst.put_manifest(repo, ref, resp.raw, resp.media_type)
    if ":" in ref:
        return
    head = dst.head_manifest(repo, ref)
    if digest != resp.digest or head is None or head.digest != resp.digest:
        raise IntegrityError(f"{dst.registry}/{repo}:{ref} does not point at {resp.digest} after the push")


def write_locations_image(dst: RegistryClient, repo: str, bundle_digest: str, doc: ImageLocations) -> str:
    """Push the bundle's locations image.

    On a refused tag (immutable tags) an existing locations image is kept when it can be read, as
    imgpkg's ``LocationsConfigs.Save`` does; one that cannot be read leaves the refusal standing,
    since every later pull would fail on it."""
    built = build_image({LOCATIONS_FILE: doc.to_yaml()})
    tag = locations_tag(bundle_digest)
    for digest, data in built.blobs():
        dst.upload_blob(repo, io.BytesIO(data), digest, len(data))
    try:
        dst.put_manifest(repo, tag, built.manifest, built.media_type)
    except ImgExtractError as exc:
        existing = dst.head_manifest(repo, tag)
        if existing is None:
            raise
        try:
            readable = read_locations(dst, repo, bundle_digest) is not None
        except ImgExtractError as unreadable:
            log.debug("existing locations tag %s cannot be read: %s", tag, unreadable.message)
            readable = False
        if not readable:
            raise exc from None
        log.warning("locations tag %s not written (%s); an existing one is kept", tag, exc.message)
        return existing.digest
    dst.put_manifest(repo, imgpkg_tag(built.digest), built.manifest, built.media_type)
    return built.digest


def write_bundle_lock(path: Path, lock: BundleLock) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(lock.to_yaml())


def copy_bundle(
    source: str | Reference,
    to_repo: str | Reference,
    *,
    client_for: ClientFor,
    concurrency: int = DEFAULT_CONCURRENCY,
    lock_output: Path | None = None,
    sources_for: SourcesFor | None = None,
) -> CopyResult:
    """Copy the bundle ``source`` (tag or digest) and everything it references into ``to_repo``.

    ``client_for(registry)`` returns the client for a registry (credentials, TLS, insecure flags applied).
    ``sources_for(ref)`` gives the endpoints to read an image from as ``pull`` does (the user's mirror
    configuration); without it every image is read from where it is named.
    Raises on the first failure; in that case no locations image has been written.
    """
    src = parse_reference(source) if isinstance(source, str) else source
    dest = parse_destination(to_repo) if isinstance(to_repo, str) else to_repo
    graph: BundleGraph = discover(src, client_for, sources_for)
    dst = client_for(dest.registry)
    repo = dest.repository
    tag = source_tag(src)
    result = CopyResult(str(src), dest.name, graph.root.digest, tag)

    puts = [p for image in graph.images.values() for p in _manifest_tree(image)]
    with BlobCopier(dst, repo, concurrency=concurrency) as copier:
        for put in puts:
            for desc in _blobs(put):
                copier.submit(put.client, put.repository, desc)
        result.blobs = copier.wait()
    for put in puts:
        _put_confirmed(dst, repo, put.tag or put.response.digest, put.response)
    result.images = {d: img.origin for d, img in graph.images.items() if d != graph.root.digest}

    for digest, node in graph.bundles.items():
        doc = ImageLocations.for_lock(node.lock, node.is_bundle)
        result.locations[digest] = write_locations_image(dst, repo, digest, doc)
        result.bundles.append(digest)

    if tag:
        _put_confirmed(dst, repo, tag, graph.root.response)
    result.lock = BundleLock(result.bundle_ref, tag)
    if lock_output is not None:
        write_bundle_lock(lock_output, result.lock)
    log.info(
        "copied %s to %s (%d images, %d bundles, blobs %s)",
        src,
        dest.name,
        len(result.images),
        len(result.bundles),
        dict(result.blobs),
    )
    return result
