"""A parsed bundle's properties as opm derives them: at parse time (``bundleParser.derivedProperties``:
package, the CSV's ``olm.properties`` annotation, gvks) and at render time
(``ObjectsAndPropertiesFromBundle``: the typed properties re-built, required APIs and packages, one
``olm.bundle.object`` per manifest, sorted)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from imgextract.catalog.render import gojson
from imgextract.catalog.render.gostruct import field as gofield
from imgextract.catalog.render.gostruct import raw_elements, raw_members
from imgextract.catalog.render.parsedbundle import ParsedBundle, csv_version, provided_apis, required_apis
from imgextract.catalog.render.rendered import BundleError, Property
from imgextract.oci import jsontext

__all__ = ["objects_and_properties"]

log = logging.getLogger(__name__)

PROPERTIES_ANNOTATION = "olm.properties"


def _csv_annotation_properties(text: str) -> list[Property]:
    """``json.Unmarshal`` of the CSV's ``olm.properties`` annotation into ``[]Property``, keeping what
    Go keeps: nothing on a syntax error or when the text is not an array; otherwise every element,
    a field of the wrong type left as it was (the error is only logged), a ``null`` value kept as the
    RawMessage ``null`` and a ``null`` element as the zero Property."""
    try:  # deep nesting and huge numbers are decode errors, a lone surrogate escape U+FFFD
        value = jsontext.loads(text)
    except ValueError as exc:
        log.warning("failed to unmarshal csv annotation properties: %s", exc)
        return []
    if value is None:
        return []
    if not isinstance(value, list):
        log.warning("failed to unmarshal csv annotation properties: not an array")
        return []
    out: list[Property] = []
    mistyped = False
    for _off, raw in raw_elements(text):
        if raw == "null" or raw[:1] != "{":
            mistyped = mistyped or raw != "null"
            out.append(Property("", ""))
            continue
        typ, val = "", ""
        for key, member in raw_members(raw):
            if key.lower() == "type":
                if member[:1] == '"':
                    typ = jsontext.loads(member)
                elif member != "null":
                    mistyped = True
            elif key.lower() == "value":
                val = member
        out.append(Property(typ, val))
    if mistyped:
        log.warning("failed to unmarshal csv annotation properties: a field has the wrong type")
    return out


def _derived_properties(b: ParsedBundle) -> list[Property]:
    """``bundleParser.derivedProperties``: package (annotations), CSV annotation properties, gvks."""
    derived: list[Property] = []
    anns = (b.csv.get("metadata") or {}).get("annotations") or {}
    text = anns.get(PROPERTIES_ANNOTATION)
    if isinstance(text, str):
        derived = _csv_annotation_properties(text)
    if b.package:
        try:
            version = csv_version(b)
        except BundleError as exc:  # bundleParser.Parse's wrapping of derivedProperties' error
            raise BundleError(f"failed to derive properties: {exc}") from exc
        derived.insert(0, Property("olm.package", _strings({"packageName": b.package, "version": version})))
    for g, v, k, _p in sorted(provided_apis(b)):
        derived.append(Property("olm.gvk", _strings({"group": g, "kind": k, "version": v})))
    return _property_set(derived)


def _strings(value: dict[str, Any], escape_html: bool = True) -> str:
    """A struct of string fields (``property.Package``, ``property.GVK``) as Go's encoder writes it;
    strings hold no float, so the encoder needs no pass looking for one."""
    plain = all(v.__class__ is str for v in value.values())
    return gojson.marshal(value, escape_html=escape_html, sort_keys=False, no_floats=plain)


def _property_set(props: list[Property]) -> list[Property]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in props:
        if (p.type, p.value) in seen:
            continue
        seen.add((p.type, p.value))
        out.append(p)
    return out


def _build(value: dict[str, Any]) -> str:
    """``property.MustBuild``: an encoder without HTML escaping, compacted."""
    return _strings(value, escape_html=False)


def _unmarshal_struct(raw: str, fields: tuple[str, ...], go_type: str) -> dict[str, str]:
    """``json.Unmarshal`` of a property value into ``property.GVK`` / ``property.Package`` (string
    fields); raises BundleError with Go's message."""
    from imgextract.catalog.render import gotypes

    if not raw.strip():
        raise BundleError("unexpected end of JSON input")
    try:
        value = jsontext.loads(raw)
    except ValueError as exc:
        raise BundleError(f"invalid JSON: {exc}") from exc
    try:
        gotypes.check(value, gotypes.Struct(go_type, dict.fromkeys(fields, gotypes.S)))
    except gotypes.GoTypeError as exc:
        raise BundleError(str(exc)) from exc
    if not isinstance(value, dict):
        return dict.fromkeys(fields, "")
    return {f: gofield(value, f) or "" for f in fields}


def _parse_property(i: int, p: Property, fields: tuple[str, ...], go_type: str) -> dict[str, str]:
    """``property.ParseError``: "parse property[I] of type "T": ERR"."""
    try:
        return _unmarshal_struct(p.value, fields, go_type)
    except BundleError as exc:
        raise BundleError(f"parse property[{i}] of type {_go_q(p.type)}: {exc}") from exc


_GVK = ("group", "kind", "version")
_PACKAGE = ("packageName", "version")


def objects_and_properties(b: ParsedBundle, image: str) -> tuple[list[str], list[Property]]:
    """``ObjectsAndPropertiesFromBundle``."""
    provided: set[tuple[str, str, str]] = set()
    required: set[tuple[str, str, str]] = set()
    package_prop: Property | None = None
    others: list[Property] = []
    for i, p in enumerate(b.properties):
        if p.type == "olm.gvk":
            v = _parse_property(i, p, _GVK, "property.GVK")
            provided.add((v["group"], v["kind"], v["version"]))
        elif p.type == "olm.package":
            v = _parse_property(i, p, _PACKAGE, "property.Package")
            package_prop = Property(
                "olm.package", _build({"packageName": v["packageName"], "version": v["version"]})
            )
        else:
            others.append(p)
    package_required: list[Property] = []
    for i, p in enumerate(b.dependencies):
        if p.type == "olm.gvk":
            v = _parse_property(i, p, _GVK, "property.GVK")
            required.add((v["group"], v["kind"], v["version"]))
        elif p.type == "olm.package":
            v = _parse_property(i, p, _PACKAGE, "property.Package")
            package_required.append(
                Property(
                    "olm.package.required",
                    _build({"packageName": v["packageName"], "versionRange": v["version"]}),
                )
            )
        else:
            others.append(p)
    try:
        version = csv_version(b)
    except BundleError as exc:
        raise BundleError(f"get version: {exc}") from exc
    for g, ver, k, _p in provided_apis(b):
        provided.add((g, k, ver))
    for g, ver, k, _p in required_apis(b):
        required.add((g, k, ver))

    objects: list[str] = []
    props: list[Property] = []
    for i, obj in enumerate(b.objects):
        known = b.texts[i] if i < len(b.texts) else None
        if known is None:
            plain = i < len(b.numeric) and not b.numeric[i]
            known = gojson.marshal(obj, escape_html=True, sort_keys=True, no_floats=plain)
        data = known
        objects.append(data)
        props.append(
            # _build({"data": <base64>}): the base64 alphabet needs no escaping in any Go JSON string
            Property("olm.bundle.object", '{"data":"' + base64.b64encode(data.encode()).decode() + '"}')
        )
    if package_prop is None:
        package_prop = Property("olm.package", _build({"packageName": b.package, "version": version}))
    props.append(package_prop)
    props.extend(Property("olm.gvk", _build({"group": g, "kind": k, "version": v})) for g, k, v in provided)
    props.extend(
        Property("olm.gvk.required", _build({"group": g, "kind": k, "version": v})) for g, k, v in required
    )
    props.extend(package_required)
    props.extend(others)
    props.sort(key=lambda p: (p.type.encode(), p.value.encode()))
    return objects, props


def _go_q(s: str) -> str:
    """Go's ``%q`` (as opm quotes a bundle name in its messages)."""
    return json.dumps(s, ensure_ascii=False)
