"""After an imgpkg bundle is extracted: rewrite ``.imgpkg/images.yml``, optionally pull nested bundles.

The lead's pull extracts the bundle into a staging root, then calls :func:`localize_bundle`; with
``recursive`` it calls :func:`pull_nested_bundles`, which lands each nested bundle (de-duplicated,
flat) under ``.imgpkg/bundles/sha256-{hex}/``, each rewritten against its own repository, as imgpkg does.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from imgextract import oci
from imgextract.errors import InvalidBundleError
from imgextract.imgpkg.lock import IMAGES_LOCK_PATH, ImagesLock, parse_digest_ref
from imgextract.imgpkg.relocate import Relocation, relocate_images_lock
from imgextract.layers.fsroot import RootFS
from imgextract.pull.resolve import ResolvedImage
from imgextract.reference import Reference
from imgextract.registry.client import RegistryClient

BUNDLE_LABEL = "dev.carvel.imgpkg.bundle"
NESTED_DIR = ".imgpkg/bundles"


def _check_inside(root: Path, rel: str) -> None:
    """Refuse ``rel`` when the kernel would resolve it outside ``root`` (a symlink the image planted)."""
    with RootFS(root) as fs:
        escapes = fs.escapes(rel.split("/"))
    if escapes:
        raise InvalidBundleError(f"imgpkg bundle: {rel} leads outside the bundle through a symlink")


def read_local_lock(root: Path) -> ImagesLock:
    path = root / IMAGES_LOCK_PATH
    _check_inside(root, IMAGES_LOCK_PATH)
    if path.is_symlink() or not path.is_file():
        raise InvalidBundleError(f"imgpkg bundle has no regular file {IMAGES_LOCK_PATH}")
    return ImagesLock.parse(path.read_bytes())


def write_local_lock(root: Path, lock: ImagesLock) -> None:
    """Replace ``.imgpkg/images.yml`` (same mode as the extracted file), atomically."""
    path = root / IMAGES_LOCK_PATH
    mode = path.stat().st_mode & 0o777
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(lock.to_yaml())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def localize_bundle(root: Path, client: RegistryClient, bundle_ref: Reference) -> Relocation:
    """Rewrite ``root/.imgpkg/images.yml`` to the images' current locations; returns the report.

    ``bundle_ref`` is where the bundle was read from, with its digest; ``client`` serves that registry.
    The file is left untouched when the images are not all in the bundle's repository; otherwise it
    is written in imgpkg's form even when no reference changes, as imgpkg's pull writes it.
    """
    lock = read_local_lock(root)
    new, report = relocate_images_lock(client, bundle_ref, lock)
    if report.rewritten:
        write_local_lock(root, new)
    return report


def is_bundle_image(image: ResolvedImage) -> bool:
    return not oci.is_index(image.media_type) and BUNDLE_LABEL in image.config.labels


def where_read(image: ResolvedImage) -> Reference:
    phys = image.source.reference
    return Reference(registry=phys.registry, repository=phys.repository, digest=image.digest)


@dataclass(frozen=True)
class NestedBundle:
    digest: str
    path: str  # relative to the output root
    relocation: Relocation


def pull_nested_bundles(
    root: Path,
    top: Relocation,
    *,
    resolve: Callable[[Reference], ResolvedImage],
    extract_into: Callable[[ResolvedImage, Path], None],
) -> list[NestedBundle]:
    """Pull every bundle reachable from ``top`` (breadth first) into ``root/.imgpkg/bundles/``.

    ``resolve`` finds an image by reference (mirrors and credentials applied); ``extract_into`` writes
    its whole content into an existing empty directory.  Images the locations image marks as not
    bundles are not fetched at all.
    """
    pulled: list[NestedBundle] = []
    seen: set[str] = set()
    queue = [top]
    while queue:
        current = queue.pop(0)
        for entry in current.lock.images:
            digest = entry.digest
            if digest in seen or current.is_bundle.get(digest) is False:
                continue
            seen.add(digest)
            image = resolve(parse_digest_ref(entry.image))
            if not is_bundle_image(image):
                continue
            rel = f"{NESTED_DIR}/{digest.replace(':', '-')}"
            dest = root / rel
            _check_inside(root, rel)
            dest.mkdir(parents=True, exist_ok=False)
            extract_into(image, dest)
            report = localize_bundle(dest, image.client, where_read(image))
            pulled.append(NestedBundle(digest, rel, report))
            queue.append(report)
    return pulled
