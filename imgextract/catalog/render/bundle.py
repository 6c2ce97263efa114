"""A registry+v1 bundle directory -> the ``olm.bundle`` object opm renders for it.

The rules follow operator-registry (``pkg/registry/parse.go`` ``bundleParser``, ``pkg/registry/bundle.go``,
``pkg/registry/csv.go``, ``pkg/registry/registry_to_model.go`` ``ObjectsAndPropertiesFromBundle`` and
``alpha/action/render.go`` ``bundleToDeclcfg``/``getRelatedImages``):

* ``manifests/``: regular files in name order, dotfiles skipped, only the first document of each file;
  a file that does not decode to an object with a ``kind`` is skipped (opm logs a warning); only the first
  ClusterServiceVersion counts (a second one is skipped); no object -> "no bundle objects found", no
  CSV -> "no csv in bundle"; every owned CRD of the CSV must be provided by a CRD manifest or owned
  APIService.
* ``metadata/``: files recognised by content, the first of each kind wins: annotations (required:
  "Could not find annotations file"), dependencies, properties.
* properties: one ``olm.package`` (the last of properties.yaml, annotations, CSV ``olm.properties``
  annotation; else package + CSV version), ``olm.gvk`` for every CRD version and owned APIService,
  ``olm.gvk.required`` for dependencies.yaml gvks and required CRDs/APIServices, ``olm.package.required``
  for dependencies.yaml packages, every other property/dependency verbatim, one ``olm.bundle.object``
  per manifest; sorted by type then value bytes; bundle objects moved last.
* relatedImages: the CSV's ``spec.relatedImages``, then the bundle image and every container and init
  container image of the CSV deployments (name ""), each added once; sorted by image.

The parts, one concept each: :mod:`.bundlefiles` (listing and reading the directories),
:mod:`.manifestmemo` (a manifest decoded, once per shared file), :mod:`.bundlemeta` (the metadata
files), :mod:`.parsedbundle` (the parsed bundle and its CSV's APIs), :mod:`.bundleparse`
(``bundleParser.Parse``), :mod:`.bundleprops` (the properties), :mod:`.relatedimages`; here
``bundleToDeclcfg`` puts them together.
"""

from __future__ import annotations

from pathlib import Path

from imgextract.catalog.render import gojson
from imgextract.catalog.render.bundlefiles import Listing, _disk_listing
from imgextract.catalog.render.bundleparse import parse_bundle
from imgextract.catalog.render.bundleprops import _PACKAGE, _go_q, _unmarshal_struct, objects_and_properties
from imgextract.catalog.render.parsedbundle import ParsedBundle
from imgextract.catalog.render.relatedimages import related_images
from imgextract.catalog.render.rendered import BundleError, Property, RenderedBundle, TemplateError

__all__ = [
    "BundleError",
    "Property",
    "RenderedBundle",
    "expand_template",
    "render_bundle",
    "render_listed",
]


def render_bundle(root: Path, image: str = "", image_template: str | None = None) -> RenderedBundle:
    """``bundleToDeclcfg`` for a bundle directory: ``image`` is the reference as given ("" for a
    directory), or built from ``image_template`` (``{{.Package}} {{.Name}} {{.Version}}``)."""
    return render_listed(_disk_listing(Path(root)), image, image_template)


def render_listed(listing: Listing, image: str = "", image_template: str | None = None) -> RenderedBundle:
    """:func:`render_bundle` for a bundle given by its listing (see :func:`memory_listing`)."""
    b = parse_bundle(listing)
    if image_template is not None:
        image = expand_template(image_template, b)
    try:
        objects, props = objects_and_properties(b, image)
    except BundleError as exc:
        raise BundleError(f"get properties for bundle {_go_q(b.name)}: {exc}") from exc
    try:
        rel = related_images(b, image)
    except BundleError as exc:
        raise BundleError(f"get related images for bundle {_go_q(b.name)}: {exc}") from exc
    moved = [p for p in props if p.type not in ("olm.bundle.object", "olm.csv.metadata")]
    moved += [p for p in props if p.type in ("olm.bundle.object", "olm.csv.metadata")]
    # the CSV's object was encoded just now, with the same options
    csv_json = next((text for obj, text in zip(b.objects, objects, strict=True) if obj is b.csv), None)
    if csv_json is None:
        csv_json = gojson.marshal(b.csv, escape_html=True, sort_keys=True, no_floats=not b.csv_numeric)
    return RenderedBundle(b.name, b.package, image, moved, rel, csv_json)


def expand_template(template: str, b: ParsedBundle) -> str:
    """``--image-ref-template``: Go ``text/template`` fields ``.Package``, ``.Name``, ``.Version``."""
    import re

    version = ""
    for p in b.properties:  # templateBundleImageRef takes the first olm.package property
        if p.type == "olm.package":
            try:
                version = _unmarshal_struct(p.value, _PACKAGE, "property.Package")["version"]
            except BundleError as exc:  # templateBundleImageRef returns it as the templating error
                raise TemplateError(str(exc)) from exc
            break
    values = {"Package": b.package, "Name": b.name, "Version": version}

    def value(key: str, pos: int) -> str:
        if key not in values:  # text/template state.errorf at the field node (parse.Tree.ErrorContext)
            line = template.count("\n", 0, pos) + 1
            col = pos - (template.rfind("\n", 0, pos) + 1)
            raise TemplateError(
                f'template: image-ref-template:{line}:{col}: executing "image-ref-template" at <.{key}>: '
                f"can't evaluate field {key} in type action.imageReferenceTemplateData"
            )
        return values[key]

    # text/template trim markers: "{{- " trims the white space before the action, " -}}" after it
    parts: list[str] = []
    pos = 0
    trim_next = False
    for m in re.finditer(r"\{\{(- )?\s*\.(\w+)\s*?( -)?\}\}", template):
        text = template[pos : m.start()]
        if trim_next:
            text = text.lstrip(" \t\r\n")
        if m.group(1):
            text = text.rstrip(" \t\r\n")
        parts += [text, value(m.group(2), m.start(2) - 1)]
        trim_next = bool(m.group(3))
        pos = m.end()
    tail = template[pos:]
    parts.append(tail.lstrip(" \t\r\n") if trim_next else tail)
    out = "".join(parts)
    if "{{" in out:
        raise BundleError(
            f"failed to parse image reference template {template!r}: only {{{{.Package}}}}, "
            "{{.Name}} and {{.Version}} are supported"
        )
    return out
