"""The result of copying an imgpkg bundle (``Client.copy``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from imgextract.records import value_hash

if TYPE_CHECKING:
    from imgextract.imgpkg.copy import CopyResult as _CopyReport
    from imgextract.imgpkg.lock import BundleLock


@dataclass(frozen=True)
class CopyResult:
    """A finished ``copy``: the bundle's new reference, every image and bundle copied, blob counts."""

    source: str
    destination: str
    bundle_ref: str
    digest: str
    tag: str | None
    images: Mapping[str, str]
    bundles: tuple[str, ...]
    locations: Mapping[str, str]
    blobs: Mapping[str, int]
    lock: BundleLock | None = None

    def __hash__(self) -> int:  # by value: the generated one refuses the mapping fields
        return value_hash(self)

    @classmethod
    def from_report(cls, report: _CopyReport) -> CopyResult:
        """Freeze the copier's running report."""
        return cls(
            source=report.source,
            destination=report.destination,
            bundle_ref=report.bundle_ref,
            digest=report.digest,
            tag=report.tag,
            images=dict(report.images),
            bundles=tuple(report.bundles),
            locations=dict(report.locations),
            blobs=dict(report.blobs),
            lock=report.lock,
        )

    def to_json(self) -> dict[str, Any]:
        """The ``bundle-extract copy --json`` object."""
        from imgextract.imgpkg.copy import copy_json

        return copy_json(self)
