"""What the operations return: frozen, typed results whose ``to_json()`` is the CLI's ``--json`` object.

:class:`InspectResult` and :class:`PullResult` are defined here; :class:`MirrorsResult`
(``results.mirrors``) and :class:`CopyResult` (``results.copy``) are imported on first use: every
pull imports this package, and a frozen dataclass costs about a millisecond to create.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imgextract.bundles.registry_v1 import BundleInfo
from imgextract.lazy import lazy_exports
from imgextract.mirrors import Source
from imgextract.pull.extract import LayerReport
from imgextract.records import value_hash
from imgextract.reference import Reference

if TYPE_CHECKING:
    from imgextract.results.copy import CopyResult
    from imgextract.results.mirrors import MirrorsResult

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


__getattr__, __dir__ = lazy_exports(
    __name__,
    {"CopyResult": "imgextract.results.copy", "MirrorsResult": "imgextract.results.mirrors"},
    globals(),
)
