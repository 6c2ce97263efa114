"""Whether an object of a known schema decodes into opm's ``declcfg`` struct, as Go's
``encoding/json`` decodes it while opm loads a catalog (the errors are opm's).

Most objects have the common shape of their schema (known fields spelt exactly, of the simple
types): they are accepted on that shape alone; the others are walked by :mod:`.render.gotypes`.
"""

from __future__ import annotations

import json
from typing import Any

from imgextract.catalog.fbc import (
    SCHEMA_BUNDLE,
    SCHEMA_CHANNEL,
    SCHEMA_DEPRECATIONS,
    SCHEMA_PACKAGE,
    CatalogFormatError,
    FbcObject,
)
from imgextract.oci.fields import go_fields

STRUCTS = {  # the schemas opm decodes into a struct while loading, and the struct's word in its errors
    SCHEMA_PACKAGE: "package",
    SCHEMA_CHANNEL: "channel",
    SCHEMA_BUNDLE: "bundle",
    SCHEMA_DEPRECATIONS: "deprecation",
}


# The common shape of a bundle or channel, field by field (str: a string or null; a tuple: a list of
# objects of those fields; "*": anything): an object of this shape decodes into its declcfg struct
# whatever Go's decoder does, so the generic (slower) type walk is needed only for the others.
_PlainShape = dict[str, Any]
_PLAIN_FIELDS: dict[str, _PlainShape] = {
    SCHEMA_BUNDLE: {
        "schema": str,
        "name": str,
        "package": str,
        "image": str,
        "properties": ({"type": str, "value": "*"},),
        "relatedImages": ({"name": str, "image": str},),
    },
    SCHEMA_CHANNEL: {
        "schema": str,
        "name": str,
        "package": str,
        "entries": ({"name": str, "replaces": str, "skips": [str], "skipRange": str},),
        "properties": ({"type": str, "value": "*"},),
    },
}


def _plain(value: dict[str, Any], shape: _PlainShape | None) -> bool:
    """True when ``value`` has ``shape``: known fields spelt exactly and of the simple types above."""
    if shape is None:
        return False
    folded = _FOLDED.get(id(shape))
    if folded is None:
        folded = _FOLDED[id(shape)] = {k.lower() for k in shape}
    for key, v in value.items():
        want = shape.get(key)
        if want is None:
            if key.lower() in folded:  # another spelling of a field: Go's matching decides
                return False
            continue
        if v is None or want == "*":
            continue
        if want is str:
            if not isinstance(v, str):
                return False
        elif isinstance(want, tuple):
            if not isinstance(v, list) or not all(isinstance(x, dict) and _plain(x, want[0]) for x in v):
                return False
        elif not isinstance(v, list) or not all(isinstance(x, str) for x in v):  # [str]
            return False
    return True


_FOLDED: dict[int, set[str]] = {}


def check_types(obj: FbcObject) -> None:
    """What opm checks of an object of a known schema before it builds its model: ``fbcBuilder.addMeta``
    decodes it into its declcfg struct ("parse bundle: json: cannot unmarshal ..."; an icon's
    ``base64data`` is a ``[]byte``), ``readBundleObjects`` decodes each ``olm.bundle.object``, and
    ``ConvertToModel``'s ``property.Parse`` decodes every property of a bundle by its type."""
    from imgextract.catalog.render import gotypes, olmtypes
    from imgextract.oci.jsontext import go_base64_check

    where = f"{obj.path}: object {obj.index}"
    if not _plain(obj.data, _PLAIN_FIELDS.get(obj.schema)):
        try:
            gotypes.check(obj.data, olmtypes.DECLCFG[obj.schema], sort_keys=True)
        except gotypes.GoTypeError as exc:
            raise CatalogFormatError(f"{where}: parse {STRUCTS[obj.schema]}: {exc}") from None
    data = go_fields(obj.data)
    if obj.schema == SCHEMA_PACKAGE:
        icon = data.get("icon")
        raw = go_fields(icon).get("base64data") if isinstance(icon, dict) else None
        if isinstance(raw, str):
            try:
                go_base64_check(raw.encode("utf-8", "surrogatepass"))
            except ValueError as exc:
                raise CatalogFormatError(f"{where}: parse package: {exc}") from None
    elif obj.schema == SCHEMA_BUNDLE:
        _check_properties(obj, data.get("properties") or [], where)


_PLAIN_PROPERTY_VALUES: dict[str, _PlainShape] = {
    "olm.package": {"packageName": str, "version": str, "release": str},
    "olm.gvk": {"group": str, "kind": str, "version": str},
    "olm.bundle.object": {"data": str},
}


def _check_properties(obj: FbcObject, props: list[Any], where: str) -> None:
    from imgextract.catalog.render import gotypes, olmtypes
    from imgextract.oci.jsontext import go_base64_check

    parsed = []  # (index, type, value, whether a value is there at all)
    for p in props:
        if isinstance(p, dict) and len(p) == 2 and "type" in p and "value" in p:
            ptype, value, present = p["type"] or "", p["value"], True
        else:
            pf = go_fields(p) if isinstance(p, dict) else {}
            ptype, value = pf.get("type") or "", pf.get("value")
            present = isinstance(p, dict) and any(k.lower() == "value" for k in p)
        parsed.append((ptype, value, present))
    bundle = json.dumps(obj.name)
    objects = f"{where}: read bundle objects: package {json.dumps(obj.package)}, bundle {bundle}"
    for i, (ptype, value, _present) in enumerate(parsed):  # readBundleObjects (while loading)
        if ptype != "olm.bundle.object":
            continue
        try:
            if (
                not _plain(value, _PLAIN_PROPERTY_VALUES[ptype])
                if isinstance(value, dict)
                else value is not None
            ):
                gotypes.check(value, olmtypes.PROPERTY_VALUES[ptype])
            raw = go_fields(value).get("data") if isinstance(value, dict) else None
            if raw is not None:  # (its content, YAML or JSON, is read only by render)
                go_base64_check(raw.encode("utf-8", "surrogatepass"))
        except ValueError as exc:  # GoTypeError too
            raise CatalogFormatError(
                f"{objects}: parse property at index {i} as bundle object: {exc}"
            ) from None
    for i, (ptype, value, present) in enumerate(parsed):  # property.Parse (ConvertToModel)
        failed = (
            f"{where}: parse properties for bundle {bundle}: parse property[{i}] of type {json.dumps(ptype)}"
        )
        if not present:  # a nil json.RawMessage: nothing to unmarshal
            raise CatalogFormatError(f"{failed}: unexpected end of JSON input")
        struct = olmtypes.PROPERTY_VALUES.get(ptype)
        if struct is None or (isinstance(value, dict) and _plain(value, _PLAIN_PROPERTY_VALUES.get(ptype))):
            continue
        try:
            gotypes.check(value, struct)
        except gotypes.GoTypeError as exc:
            raise CatalogFormatError(f"{failed}: {exc}") from None
