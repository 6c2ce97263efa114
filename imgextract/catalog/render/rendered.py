"""What rendering a bundle produces: the ``olm.bundle`` object and its properties.

Kept apart from :mod:`.bundle` (which reads bundle directories, and so YAML): a bundle rendered
before comes back from the content cache as these objects without loading any of that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imgextract.catalog.render.gojson import RawJSON

__all__ = ["BundleError", "Property", "RenderedBundle", "TemplateError"]


class BundleError(ValueError):
    """The bundle cannot be rendered (the same cases where opm fails)."""


class TemplateError(BundleError):
    """``--image-ref-template`` could not be executed for a bundle (opm wraps it as "failed templating
    image reference from bundle for REF: ...")."""


@dataclass(frozen=True)
class Property:
    """An FBC property: ``value`` is the JSON text opm carries (a ``json.RawMessage``)."""

    type: str
    value: str

    def to_fbc(self) -> dict[str, Any]:
        # an empty value is a nil json.RawMessage, which Go's encoder writes as null
        return {"type": self.type, "value": RawJSON(self.value or "null")}


@dataclass
class RenderedBundle:
    """The ``declcfg.Bundle`` opm builds, plus the CSV JSON its migrations read."""

    name: str
    package: str
    image: str
    properties: list[Property]
    related_images: list[tuple[str, str]]
    csv_json: str = ""

    def to_fbc(self) -> dict[str, Any]:
        """The object as opm's encoder sees it (field order of ``declcfg.Bundle``)."""
        out: dict[str, Any] = {"schema": "olm.bundle"}
        if self.name:  # name and package are omitempty, image is not
            out["name"] = self.name
        if self.package:
            out["package"] = self.package
        out["image"] = self.image
        if self.properties:
            out["properties"] = [p.to_fbc() for p in self.properties]
        if self.related_images:
            out["relatedImages"] = [{"name": n, "image": i} for n, i in self.related_images]
        return out
