"""FBC objects as ``opm render`` re-writes them (``declcfg.LoadFS`` then ``WriteJSON``/``WriteYAML``).

opm decodes every object into a ``map[string]interface{}`` first (numbers become float64), re-encodes it
(keys sorted, no HTML escaping), then into its typed structs for the known schemas: ``olm.package``,
``olm.channel``, ``olm.bundle``, ``olm.deprecations`` keep only their declared fields, in struct order;
every other schema is written as that re-encoded blob.  :func:`normalize` does the same to one object.

:func:`iter_fbc_dir` reads an FBC directory (``*.json`` concatenated objects, ``*.yaml``/``*.yml``
multi-document; every file the catalog package's walk yields, ``.indexignore`` honoured) as
``(file, index, object)``; any iterator of such triples can be passed to the renderer instead.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from imgextract.catalog.render import gojson
from imgextract.catalog.render.gojson import RawJSON
from imgextract.oci.jsontext import go_base64_decode

__all__ = ["FBCError", "bundle_csv_json", "go_base64_decode", "iter_fbc_dir", "normalize", "run_order"]


class FBCError(ValueError):
    """An FBC object opm would refuse to load."""


def _float64(v: Any) -> Any:
    """``json.Unmarshal`` into ``interface{}``: every number is a float64."""
    if isinstance(v, dict):
        return {k: _float64(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_float64(x) for x in v]
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    return v


def _blob(v: Any) -> str:
    return gojson.marshal(_float64(v), escape_html=False, sort_keys=True)


def _s(obj: dict[str, Any], key: str, where: str) -> str:
    from imgextract.catalog.render.gostruct import field

    v = field(obj, key)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise FBCError(f"{where}: json: cannot unmarshal into Go struct field {key} of type string")
    return v


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    from imgextract.catalog.render.gostruct import field

    v = field(obj, key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise FBCError(f"{where}: json: cannot unmarshal into Go struct field {key} of type array")
    return v


def _props(obj: dict[str, Any], where: str) -> list[dict[str, Any]]:
    out = []
    for p in _list(obj, "properties", where):
        if p is None:  # a null element is Go's zero Property
            p = {}
        if not isinstance(p, dict):
            raise FBCError(f"{where}: property is not an object")
        from imgextract.catalog.render.gostruct import field

        value = field(p, "value")
        out.append({"type": _s(p, "type", where), "value": RawJSON(_blob(value))})
    return out


def _meta_keys(obj: dict[str, Any]) -> dict[str, str]:
    """``Meta.UnmarshalJSON``, by the catalog reader's rules."""
    from imgextract.catalog.fbc import meta_keys

    try:
        return meta_keys(obj)
    except ValueError as exc:
        raise FBCError(str(exc)) from exc


_PARSE = {
    "olm.package": "package",
    "olm.channel": "channel",
    "olm.bundle": "bundle",
    "olm.deprecations": "deprecation",
}


def normalize(obj: dict[str, Any]) -> dict[str, Any]:
    """One FBC object in the shape opm writes it."""
    if not isinstance(obj, dict):
        raise FBCError("FBC object is not a JSON object")
    meta = _meta_keys(obj)
    schema = meta["schema"]
    if not schema:
        raise FBCError(f"object {_blob(obj)[:200]!r} is missing root schema field")
    where = f"{schema} {obj.get('name', '')!s}".strip()
    if schema in _PARSE:
        from imgextract.catalog.render import gotypes, olmtypes

        try:  # fbcBuilder.addMeta: json.Unmarshal of the re-encoded blob (keys sorted) into the struct
            gotypes.check(obj, olmtypes.DECLCFG[schema], sort_keys=True)
        except gotypes.GoTypeError as exc:
            raise FBCError(f"parse {_PARSE[schema]}: {exc}") from exc
    if schema == "olm.package":
        out: dict[str, Any] = {"schema": schema, "name": _s(obj, "name", where)}
        out["defaultChannel"] = _s(obj, "defaultChannel", where)
        from imgextract.catalog.render.gostruct import field

        icon = field(obj, "icon")
        if icon is not None:
            if not isinstance(icon, dict):
                raise FBCError(
                    f"{where}: json: cannot unmarshal into Go struct field Package.icon of type declcfg.Icon"
                )
            data = field(icon, "base64data")
            if data is not None and not isinstance(data, str):
                raise FBCError(
                    f"{where}: json: cannot unmarshal into Go struct field Icon.icon.base64data of type []uint8"
                )
            try:  # a []byte: Go's base64 decoder (line breaks skipped); absent, it stays nil (null)
                raw = None if data is None else go_base64_decode(data.encode("utf-8", "surrogatepass"))
            except ValueError as exc:  # the CorruptInputError is the unmarshal error: "parse package: ..."
                raise FBCError(f"parse package: {exc}") from exc
            out["icon"] = {
                "base64data": None if raw is None else base64.b64encode(raw).decode(),
                "mediatype": _s(icon, "mediatype", where),
            }
        if _s(obj, "description", where):
            out["description"] = _s(obj, "description", where)
        props = _props(obj, where)
        if props:
            out["properties"] = props
        return out
    if schema == "olm.channel":
        out = {"schema": schema, "name": _s(obj, "name", where), "package": _s(obj, "package", where)}
        entries = []
        for e in _list(obj, "entries", where):
            if e is None:  # a null element is Go's zero ChannelEntry
                e = {}
            if not isinstance(e, dict):
                raise FBCError(f"{where}: channel entry is not an object")
            item: dict[str, Any] = {"name": _s(e, "name", where)}
            if _s(e, "replaces", where):
                item["replaces"] = _s(e, "replaces", where)
            skips = _list(e, "skips", where)
            if any(x is not None and not isinstance(x, str) for x in skips):
                raise FBCError(
                    f"{where}: json: cannot unmarshal into Go struct field ChannelEntry.skips of type string"
                )
            skips = [x or "" for x in skips]
            if skips:
                item["skips"] = skips
            if _s(e, "skipRange", where):
                item["skipRange"] = _s(e, "skipRange", where)
            entries.append(item)
        out["entries"] = entries if entries or obj.get("entries") is not None else None
        props = _props(obj, where)
        if props:
            out["properties"] = props
        return out
    if schema == "olm.bundle":
        out = {"schema": schema}
        for key in ("name", "package"):  # omitempty in declcfg.Bundle (image is not)
            if _s(obj, key, where):
                out[key] = _s(obj, key, where)
        out["image"] = _s(obj, "image", where)
        props = _props(obj, where)
        if props:
            out["properties"] = props
        rel = []
        for r in _list(obj, "relatedImages", where):
            if r is None:  # a null element is Go's zero RelatedImage
                r = {}
            if not isinstance(r, dict):
                raise FBCError(f"{where}: related image is not an object")
            rel.append({"name": _s(r, "name", where), "image": _s(r, "image", where)})
        if rel:
            out["relatedImages"] = rel
        return out
    if schema == "olm.deprecations":
        out = {"schema": schema, "package": _s(obj, "package", where)}
        entries = []
        for e in _list(obj, "entries", where):
            if e is None:  # a null element is Go's zero DeprecationEntry
                e = {}
            if not isinstance(e, dict):
                raise FBCError(f"{where}: deprecation entry is not an object")
            ref_value = e.get("reference")
            ref: dict[str, Any] = ref_value if isinstance(ref_value, dict) else {}
            reference: dict[str, Any] = {"schema": _s(ref, "schema", where)}
            if _s(ref, "name", where):
                reference["name"] = _s(ref, "name", where)
            entries.append({"reference": reference, "message": _s(e, "message", where)})
        out["entries"] = entries if entries or obj.get("entries") is not None else None
        return out
    return {"__raw__": RawJSON(_blob(obj)), **meta}


def run_order(n: dict[str, Any]) -> dict[str, Any]:
    """``Render.Run``'s treatment of a normalised ``olm.bundle`` (every reference, catalogs too):
    ``olm.bundle.object``/``olm.csv.metadata`` properties moved last, relatedImages sorted by image as
    Go's ``sort.Slice`` sorts.  Other objects are returned unchanged."""
    if n.get("schema") != "olm.bundle" or "__raw__" in n:
        return n
    objs_last = ("olm.bundle.object", "olm.csv.metadata")
    props = n.get("properties")
    if props:
        n["properties"] = [p for p in props if p["type"] not in objs_last] + [
            p for p in props if p["type"] in objs_last
        ]
    if n.get("relatedImages"):
        from imgextract.catalog.render.gosort import go_sort

        n["relatedImages"] = go_sort(n["relatedImages"], key=lambda r: r["image"].encode())
    return n


def _to_json(data: bytes) -> str:
    """apimachinery ``yaml.ToJSON``: JSON (a ``{`` first) is kept as it is, YAML is converted."""
    from imgextract.catalog.render.goyaml import _yaml_chunks, load_yaml

    text = data.decode("utf-8", errors="replace")
    if text.lstrip()[:1] == "{":
        return text
    value = None
    for chunk in _yaml_chunks(text):  # yaml.Unmarshal reads the first document only
        value = load_yaml(chunk)
        break
    return gojson.marshal(value, escape_html=True, sort_keys=True)


def _kind(obj_json: str) -> Any:
    try:
        value = json.loads(obj_json)
    except ValueError:
        return None
    return value.get("kind") if isinstance(value, dict) else None


def bundle_csv_json(obj: dict[str, Any]) -> str:
    """``declcfg.readBundleObjects`` on a normalised ``olm.bundle``: every ``olm.bundle.object``
    property must decode (``{"data": <standard base64>}``, the data YAML or JSON), else FBCError; the
    bundle's CSV is the first object of kind ClusterServiceVersion ("" when there is none)."""
    from imgextract.catalog.render.gostruct import field
    from imgextract.catalog.render.goyaml import DecodeError

    where = f"package {json.dumps(obj.get('package', ''))}, bundle {json.dumps(obj.get('name', ''))}"
    data = b""  # opm decodes every property into the same struct: a value without data keeps the last
    csv = ""
    for i, p in enumerate(obj.get("properties") or []):
        if p.get("type") != "olm.bundle.object":
            continue
        value = json.loads(str(p.get("value")))
        try:
            if value is not None and not isinstance(value, dict):
                kind = (
                    "array" if isinstance(value, list) else "string" if isinstance(value, str) else "number"
                )
                kind = "bool" if isinstance(value, bool) else kind
                raise ValueError(f"json: cannot unmarshal {kind} into Go value of type property.BundleObject")
            raw = field(value or {}, "data")
            if raw is not None:
                if not isinstance(raw, str):
                    kind = (
                        "bool"
                        if isinstance(raw, bool)
                        else "number"
                        if isinstance(raw, int | float)
                        else "object"
                    )
                    kind = "array" if isinstance(raw, list) else kind
                    raise ValueError(
                        f"json: cannot unmarshal {kind} into Go struct field BundleObject.data of type []uint8"
                    )
                data = go_base64_decode(raw.encode("utf-8", "surrogatepass"))
        except ValueError as exc:
            raise FBCError(
                f"read bundle objects: {where}: parse property at index {i} as bundle object: {exc}"
            ) from exc
        try:
            text = _to_json(data)
        except (DecodeError, ValueError, RecursionError) as exc:
            raise FBCError(
                f"read bundle objects: {where}: convert bundle object property at index {i} to JSON: {exc}"
            ) from exc
        if not csv and _kind(text) == "ClusterServiceVersion":
            csv = text
    return csv


def iter_fbc_dir(root: Path) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Every object of an FBC directory as ``(file, index, object)``, read by the catalog package's
    reader (opm's walk, ``.indexignore``, ``YAMLOrJSONDecoder`` with go-yaml's values, ``Meta``'s
    key rules): ``render`` and the catalog commands read a catalog the same way."""
    from imgextract.catalog.fbc import CatalogFormatError, iter_catalog

    try:
        for obj in iter_catalog(Path(root)):
            yield obj.path, obj.index, obj.data
    except CatalogFormatError as exc:
        raise FBCError(str(exc)) from exc
