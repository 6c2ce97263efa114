"""imgpkg bundles: the entry points ``api`` calls (pull-side localisation, ``copy --to-repo``).

- :func:`localize_pull` — after a bundle's content is extracted into ``root``: rewrite
  ``.imgpkg/images.yml`` to the images' current locations and, with ``recursive``, pull nested
  bundles under ``.imgpkg/bundles/sha256-{hex}/``.
- :func:`copy_bundle` — relocate a bundle and all its images into one repository and write one
  locations image per bundle (see :mod:`imgextract.imgpkg.copy`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgextract.imgpkg.copy import CopyResult, copy_bundle, parse_destination
from imgextract.imgpkg.pull import NestedBundle, localize_bundle, pull_nested_bundles, where_read
from imgextract.imgpkg.relocate import Relocation, relocate_images_lock
from imgextract.pull.resolve import ResolvedImage
from imgextract.reference import Reference

__all__ = [
    "CopyResult",
    "PullReport",
    "Relocation",
    "copy_bundle",
    "localize_pull",
    "parse_destination",
    "relocate_images_lock",
]


@dataclass
class PullReport:
    relocation: Relocation
    nested: list[NestedBundle] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = self.relocation.to_json()
        out["nested"] = [{"digest": n.digest, "path": n.path, **n.relocation.to_json()} for n in self.nested]
        return out


def localize_pull(
    root: Path,
    image: ResolvedImage,
    *,
    recursive: bool = False,
    resolve: Callable[[Reference], ResolvedImage] | None = None,
    extract_into: Callable[[ResolvedImage, Path], None] | None = None,
) -> PullReport:
    """Rewrite ``root/.imgpkg/images.yml`` against the repository ``image`` was read from.

    ``recursive`` needs ``resolve`` (reference -> ResolvedImage, e.g. ``Session.resolve``) and
    ``extract_into`` (write an image's whole content into an empty directory).
    """
    report = PullReport(localize_bundle(root, image.client, where_read(image)))
    if recursive:
        if resolve is None or extract_into is None:
            raise ValueError("recursive imgpkg pull needs resolve and extract_into")
        report.nested = pull_nested_bundles(
            root, report.relocation, resolve=resolve, extract_into=extract_into
        )
    return report
