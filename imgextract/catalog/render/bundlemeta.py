"""A bundle's ``metadata/`` files as ``bundleParser`` reads them: the annotations file (package,
channels) and the dependencies and properties files (``[{type, value}]``), Go's types enforced."""

from __future__ import annotations

from typing import Any

from imgextract.catalog.render import gojson
from imgextract.catalog.render.gostruct import TypeMismatch, raw_elements, raw_members
from imgextract.catalog.render.gostruct import field as gofield
from imgextract.catalog.render.rendered import Property

__all__: list[str] = []

PACKAGE_KEY = "operators.operatorframework.io.bundle.package.v1"
CHANNELS_KEY = "operators.operatorframework.io.bundle.channels.v1"
DEFAULT_CHANNEL_KEY = "operators.operatorframework.io.bundle.channel.default.v1"


def _coerce_str(v: Any) -> Any:
    """sigs.k8s.io/yaml turns a YAML number/bool into a string when the Go field is a string."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        from imgextract.catalog.render.goresolve import _float32_g

        return _float32_g(v)
    return v


def _annotations_file(kind: str, value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    ann = gofield(value, "annotations")
    if ann is None:
        return None
    if not isinstance(ann, dict):
        raise TypeMismatch("json: cannot unmarshal into Go struct field AnnotationsFile.annotations")
    out = {}
    for key in (PACKAGE_KEY, CHANNELS_KEY, DEFAULT_CHANNEL_KEY):
        v = gofield(ann, key)
        if kind == "yaml":
            v = _coerce_str(v)
        if v is not None and not isinstance(v, str):
            raise TypeMismatch(
                f"json: cannot unmarshal into Go struct field Annotations.{key} of type string"
            )
        out[key] = v or ""
    return out if any(out.values()) else None


def _typed_list(kind: str, value: Any, data: bytes, key: str) -> list[Property] | None:
    """DependenciesFile / PropertiesFile: ``[{type string, value json.RawMessage}]``."""
    if not isinstance(value, dict):
        return None
    items = gofield(value, key)
    if items is None:
        return None
    if not isinstance(items, list):
        raise TypeMismatch(f"json: cannot unmarshal into Go struct field .{key}")
    raws: list[str | None] = []
    if kind == "json":
        # json.Decoder hands the RawMessage the bytes as written
        text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
        members = [m for m in raw_members(text, len(text) - len(text.lstrip())) if m[0].lower() == key]
        elems = raw_elements(members[-1][1]) if members else []
        for _off, elem in elems:
            vm = [m for m in raw_members(elem) if m[0].lower() == "value"] if elem.lstrip()[:1] == "{" else []
            raws.append(vm[-1][1] if vm else None)
    out = []
    for i, item in enumerate(items):
        if item is None:
            out.append(Property("", ""))
            continue
        if not isinstance(item, dict):
            raise TypeMismatch(f"json: cannot unmarshal into Go struct field .{key}")
        t = gofield(item, "type")
        if kind == "yaml":
            t = _coerce_str(t)
        if t is not None and not isinstance(t, str):
            raise TypeMismatch(f"json: cannot unmarshal into Go struct field .{key}.type of type string")
        v = gofield(item, "value")
        raw: str | None
        if kind == "json":
            raw = raws[i] if i < len(raws) else None
        else:
            present = any(k.lower() == "value" for k in item)  # an explicit null is the RawMessage null
            raw = (
                ("null" if present else None)
                if v is None
                else gojson.marshal(v, escape_html=True, sort_keys=True)
            )
        out.append(Property(t or "", raw or ""))
    return out or None
