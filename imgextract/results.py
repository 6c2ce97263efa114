"""What the operations return: frozen, typed results whose ``to_json()`` is the CLI's ``--json`` object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imgextract.bundles.registry_v1 import BundleInfo
from imgextract.mirrors import Source
from imgextract.pull.extract import LayerReport
from imgextract.records import value_hash
from imgextract.reference import Reference

if TYPE_CHECKING:
    from imgextract.imgpkg.copy import CopyResult as _CopyReport
    from imgextract.imgpkg.lock import BundleLock

__all__ = [
    "BundleInfo",
    "CopyResult",
    "InspectResult",
    "LayerReport",
    "MirrorsResult",
    "PullResult",
    "Source",
]


@dataclass(frozen=True)
class InspectResult:
    """What a pull of ``reference`` would fetch: the resolved image, where it came from, its layers.

    ``digest`` is the digest of what the reference points at (an index or a manifest); ``source``
    the endpoint (after mirror rewriting) that served it; ``kind`` one of ``registry+v1``,
    ``plain+v0``, ``fbc``, ``imgpkg``, ``image``; ``labels`` the image config's labels and
    ``annotations`` the (platform's) image manifest's annotations.
    """

    reference: str
    resolved: Reference
    digest: str
    source: str
    media_type: str
    platform: str | None
    kind: str
    bundle: BundleInfo | None
    layers: tuple[LayerReport, ...]
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)  # the image manifest's annotations
    platforms: tuple[str, ...] = ()
    compression: Mapping[str, Any] | None = None  # dual-compression index: variants and the choice

    def __hash__(self) -> int:  # by value: the generated one refuses the mapping fields
        return value_hash(self)

    def _image_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reference": self.reference,
            "resolved": {
                "registry": self.resolved.registry,
                "repository": self.resolved.repository,
                "tag": self.resolved.tag,
                "digest": self.digest,
            },
            "source": self.source,
            "mediaType": self.media_type,
            "platform": self.platform,
            "kind": self.kind,
            "bundle": self.bundle.to_json() if self.bundle else None,
            "layers": [layer.to_json() for layer in self.layers],
        }
        if self.compression is not None:
            out["compression"] = dict(self.compression)
        return out

    def to_json(self) -> dict[str, Any]:
        """The ``bundle-extract inspect --json`` object."""
        out = self._image_json()
        out.update({"files": 0, "bytes": 0, "output": None})
        out["labels"] = dict(self.labels)
        out["annotations"] = dict(self.annotations)
        out["platforms"] = list(self.platforms)
        return out


@dataclass(frozen=True)
class PullResult(InspectResult):
    """A finished pull: the inspected image plus what was written.

    ``files`` and ``bytes`` count the regular files written; ``output`` is where (None when the
    ConfigMaps were only returned); ``configmaps`` holds the ConfigMap objects of a
    ``format="configmap"`` pull (dump them with :func:`imgextract.dump_yaml`); ``imgpkg`` reports
    how an imgpkg bundle's ``.imgpkg/images.yml`` was rewritten.
    """

    files: int = 0
    bytes: int = 0
    output: str | None = None
    imgpkg: Mapping[str, Any] | None = None
    configmaps: tuple[dict[str, Any], ...] = ()

    def __hash__(self) -> int:  # by value: the generated one refuses the mapping fields
        return value_hash(self)

    def to_json(self) -> dict[str, Any]:
        """The ``bundle-extract pull --json`` object."""
        out = self._image_json()
        out.update({"files": self.files, "bytes": self.bytes, "output": self.output})
        if self.imgpkg is not None:
            out["imgpkg"] = self.imgpkg
        return out


@dataclass(frozen=True)
class MirrorsResult:
    """The endpoints a pull of ``reference`` would try, in order, each with the rule that produced it."""

    reference: str
    sources: tuple[Source, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``bundle-extract mirrors --json`` object."""
        return {
            "reference": self.reference,
            "sources": [
                {"reference": str(s.reference), "insecure": s.insecure, "blocked": s.blocked, "rule": s.rule}
                for s in self.sources
            ],
        }


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
        return {
            "source": self.source,
            "destination": self.destination,
            "bundle": self.bundle_ref,
            "digest": self.digest,
            "tag": self.tag,
            "images": len(self.images),
            "bundles": list(self.bundles),
            "locations": dict(self.locations),
            "blobs": dict(self.blobs),
        }
