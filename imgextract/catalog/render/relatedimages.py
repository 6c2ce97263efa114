"""A parsed bundle's related images as opm's ``getRelatedImages`` lists them: the CSV's
``spec.relatedImages``, the bundle image, then its deployments' operator images."""

from __future__ import annotations

from typing import Any

from imgextract.catalog.render.gosort import go_sort
from imgextract.catalog.render.gostruct import field as gofield
from imgextract.catalog.render.parsedbundle import ParsedBundle, _csv_spec
from imgextract.catalog.render.rendered import BundleError

__all__ = ["operator_images", "related_images"]


def related_images(b: ParsedBundle, image: str) -> list[tuple[str, str]]:
    """``getRelatedImages``: CSV relatedImages, the bundle image, operator images (each once).
    Errors are Go's ``json.Unmarshal`` errors, unprefixed (the caller names the bundle)."""
    from imgextract.catalog.render import gotypes, olmtypes

    spec = _csv_spec(b.csv)
    out: list[tuple[str, str]] = []
    ri = spec.get("relatedImages")  # map lookup: exact key
    if ri is not None:
        try:
            gotypes.check(ri, olmtypes.RELATED_IMAGES, sort_keys=True)
        except gotypes.GoTypeError as exc:
            raise BundleError(str(exc)) from exc
        for item in ri:
            if item is None:  # a null element is Go's zero RelatedImage
                out.append(("", ""))
                continue
            out.append((gofield(item, "name") or "", gofield(item, "image") or ""))
    seen = {img for _n, img in out}
    if image and image not in seen:
        out.append(("", image))
    for img in sorted(operator_images(spec)):
        if img not in seen:
            out.append(("", img))
        seen.add(img)
    # Render.Run: sort.Slice by image, unstable: entries with one image keep Go's order for them
    return go_sort(out, key=lambda r: r[1].encode())


def operator_images(spec: dict[str, Any]) -> set[str]:
    """``GetOperatorImages``: container and init container images of the deployment install strategy.
    The spec is first decoded as Go decodes it into its typed struct (``apps/v1.DeploymentSpec`` for
    each deployment), so a value of the wrong type anywhere in a deployment fails as in opm."""
    from imgextract.catalog.render import gotypes, olmtypes

    try:
        gotypes.check(spec, olmtypes.CSV_SPEC_FOR_IMAGES, sort_keys=True)
    except gotypes.GoTypeError as exc:
        raise BundleError(str(exc)) from exc
    install = gofield(spec, "install")
    if not isinstance(install, dict) or gofield(install, "strategy") != "deployment":
        return set()
    sspec = gofield(install, "spec") or {}
    images: set[str] = set()
    for dep in gofield(sspec, "deployments") or []:
        dspec = (gofield(dep, "spec") if dep is not None else None) or {}
        template = gofield(dspec, "template") or {}
        pspec = gofield(template, "spec") or {}
        for key in ("containers", "initContainers"):
            for c in gofield(pspec, key) or []:
                images.add((gofield(c, "image") if c is not None else None) or "")
    return images
