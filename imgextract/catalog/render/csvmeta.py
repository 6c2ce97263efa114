"""The ``olm.csv.metadata`` property (operator-registry ``property.MustBuildCSVMetadata``).

opm unmarshals the CSV JSON into operator-framework/api's typed ``ClusterServiceVersion`` and writes the
``property.CSVMetadata`` struct: fields in struct order, ``omitempty`` honoured (structs such as
``apiServiceDefinitions``, ``crdDescriptions`` and ``provider`` are always written), unknown fields
dropped, strings without HTML escaping, ``json.RawMessage`` descriptor values kept as they are.
"""

from __future__ import annotations

import json
from typing import Any

from imgextract.catalog.render import gojson
from imgextract.catalog.render.gojson import RawJSON
from imgextract.catalog.render.gostruct import TypeMismatch
from imgextract.catalog.render.gostruct import field as gofield

__all__ = ["CSVMetadataError", "csv_metadata_from_csv", "csv_metadata_from_property"]


class CSVMetadataError(ValueError):
    """The CSV does not unmarshal into the typed ClusterServiceVersion (opm's migration fails too)."""


def _s(obj: dict[str, Any], name: str, where: str) -> str:
    v = gofield(obj, name)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise CSVMetadataError(f"json: cannot unmarshal into Go struct field {where}.{name} of type string")
    return v


def _obj(v: Any, where: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise CSVMetadataError(f"json: cannot unmarshal into Go struct field {where} of type object")
    return v


def _list(v: Any, where: str) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list):
        raise CSVMetadataError(f"json: cannot unmarshal into Go struct field {where} of type array")
    return v


def _str_map(v: Any, where: str) -> dict[str, str]:
    m = _obj(v, where)
    for val in m.values():
        if val is not None and not isinstance(val, str):
            raise CSVMetadataError(f"json: cannot unmarshal into Go struct field {where} of type string")
    return {k: (val or "") for k, val in m.items()}


def _str_list(v: Any, where: str) -> list[str]:
    out = []
    for x in _list(v, where):
        if x is not None and not isinstance(x, str):
            raise CSVMetadataError(f"json: cannot unmarshal into Go struct field {where} of type string")
        out.append(x or "")
    return out


def _int32(v: Any, where: str) -> int:
    if v is None:
        return 0
    if (
        isinstance(v, bool)
        or not isinstance(v, (int, float))
        or (isinstance(v, float) and not v.is_integer())
    ):
        raise CSVMetadataError(f"json: cannot unmarshal into Go struct field {where} of type int32")
    i = int(v)
    if not -(1 << 31) <= i < (1 << 31):
        raise CSVMetadataError(f"json: cannot unmarshal number into Go struct field {where} of type int32")
    return i


def _raw_value(v: Any) -> RawJSON | None:
    # descriptor ``value`` is a json.RawMessage: the CSV JSON bytes (json.Marshal output: HTML-escaped)
    if v is None:
        return None
    return RawJSON(gojson.marshal(v, escape_html=True, sort_keys=True))


def _descriptors(v: Any, where: str) -> list[dict[str, Any]]:
    out = []
    for d in _list(v, where):
        d = _obj(d, where)
        item: dict[str, Any] = {"path": _s(d, "path", where)}
        for k in ("displayName", "description"):
            if _s(d, k, where):
                item[k] = _s(d, k, where)
        xd = _str_list(gofield(d, "x-descriptors"), where)
        if xd:
            item["x-descriptors"] = xd
        raw = _raw_value(gofield(d, "value"))
        if raw is not None:
            item["value"] = raw
        out.append(item)
    return out


def _resources(v: Any, where: str) -> list[dict[str, str]]:
    return [{k: _s(_obj(r, where), k, where) for k in ("name", "kind", "version")} for r in _list(v, where)]


def _tail(d: dict[str, Any], item: dict[str, Any], where: str) -> None:
    for k in ("displayName", "description"):
        if _s(d, k, where):
            item[k] = _s(d, k, where)
    for key, fn in (
        ("resources", _resources),
        ("statusDescriptors", _descriptors),
        ("specDescriptors", _descriptors),
        ("actionDescriptors", _descriptors),
    ):
        val = fn(gofield(d, key), f"{where}.{key}")
        if val:
            item[key] = val


def _crd_descriptions(v: Any, where: str) -> list[dict[str, Any]]:
    out = []
    for d in _list(v, where):
        d = _obj(d, where)
        item: dict[str, Any] = {k: _s(d, k, where) for k in ("name", "version", "kind")}
        _tail(d, item, where)
        out.append(item)
    return out


def _api_descriptions(v: Any, where: str) -> list[dict[str, Any]]:
    out = []
    for d in _list(v, where):
        d = _obj(d, where)
        item: dict[str, Any] = {k: _s(d, k, where) for k in ("name", "group", "version", "kind")}
        if _s(d, "deploymentName", where):
            item["deploymentName"] = _s(d, "deploymentName", where)
        port = _int32(gofield(d, "containerPort"), f"{where}.containerPort")
        if port:
            item["containerPort"] = port
        _tail(d, item, where)
        out.append(item)
    return out


def _owned_required(v: Any, where: str, fn: Any) -> dict[str, Any]:
    d = _obj(v, where)
    out: dict[str, Any] = {}
    for k in ("owned", "required"):
        items = fn(gofield(d, k), f"{where}.{k}")
        if items:
            out[k] = items
    return out


def _links(v: Any, where: str, first: str, second: str) -> list[dict[str, str]]:
    out = []
    for link in _list(v, where):
        link = _obj(link, where)
        item = {k: _s(link, k, where) for k in (first, second) if _s(link, k, where)}
        out.append(item)
    return out


def _build(
    annotations: dict[str, str],
    labels: dict[str, str],
    apis: Any,
    crds: Any,
    spec: dict[str, Any],
    api_key: str,
    crd_key: str,
) -> str:
    out: dict[str, Any] = {}
    if annotations:
        out["annotations"] = dict(sorted(annotations.items()))
    out["apiServiceDefinitions"] = _owned_required(apis, api_key, _api_descriptions)
    out["crdDescriptions"] = _owned_required(crds, crd_key, _crd_descriptions)
    for k in ("description", "displayName"):
        if _s(spec, k, "spec"):
            out[k] = _s(spec, k, "spec")
    modes = []
    for m in _list(gofield(spec, "installModes"), "spec.installModes"):
        m = _obj(m, "spec.installModes")
        sup = gofield(m, "supported")
        if sup is not None and not isinstance(sup, bool):
            raise CSVMetadataError(
                "json: cannot unmarshal into Go struct field InstallMode.supported of type bool"
            )
        modes.append({"type": _s(m, "type", "InstallMode"), "supported": bool(sup)})
    if modes:
        out["installModes"] = modes
    kw = _str_list(gofield(spec, "keywords"), "spec.keywords")
    if kw:
        out["keywords"] = kw
    if labels:
        out["labels"] = dict(sorted(labels.items()))
    links = _links(gofield(spec, "links"), "spec.links", "name", "url")
    if links:
        out["links"] = links
    maint = _links(gofield(spec, "maintainers"), "spec.maintainers", "name", "email")
    if maint:
        out["maintainers"] = maint
    for k in ("maturity", "minKubeVersion"):
        if _s(spec, k, "spec"):
            out[k] = _s(spec, k, "spec")
    native = [
        {k: _s(_obj(g, "nativeAPIs"), k, "GroupVersionKind") for k in ("group", "version", "kind")}
        for g in _list(gofield(spec, "nativeAPIs"), "spec.nativeAPIs")
    ]
    if native:
        out["nativeAPIs"] = native
    provider = _obj(gofield(spec, "provider"), "spec.provider")
    out["provider"] = {k: _s(provider, k, "AppLink") for k in ("name", "url") if _s(provider, k, "AppLink")}
    return gojson.marshal(out, escape_html=False, sort_keys=False)


_ALNUM = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def _numeric(part: str, what: str) -> None:
    if not part or not part.isascii() or not part.isdigit():
        raise CSVMetadataError(f"Invalid character(s) found in {what} number {part!r}")
    if len(part) > 1 and part[0] == "0":
        raise CSVMetadataError(f"{what.capitalize()} number must not contain leading zeroes {part!r}")
    if _past_uint64(part):
        raise CSVMetadataError(f'strconv.ParseUint: parsing "{part}": value out of range')


def _past_uint64(digits: str) -> bool:
    """Decimal ``digits`` without leading zeros past the largest uint64, judged by length first (an
    int() of more than 4300 digits is refused by Python itself)."""
    return len(digits) > 20 or (len(digits) == 20 and int(digits) >= 1 << 64)


def check_operator_version(text: str) -> None:
    """``OperatorVersion.UnmarshalJSON``: blang/semver ``ParseTolerant`` must accept the CSV version."""
    s = text.strip().removeprefix("v")
    parts = s.split(".", 2)

    def no_leading_zeros(p: str) -> str:
        if len(p) <= 1:
            return p
        p = p.lstrip("0")
        return p if p and p[0].isdigit() else "0" + p

    parts = [no_leading_zeros(p) for p in parts]
    if len(parts) < 3:
        if any(c in parts[-1] for c in "+-"):
            raise CSVMetadataError("Short version cannot contain PreRelease/Build meta data")
        parts += ["0"] * (3 - len(parts))
    if not "".join(parts):
        raise CSVMetadataError("Version string empty")
    _numeric(parts[0], "major")
    _numeric(parts[1], "minor")
    rest = parts[2]
    cut = min([i for i in (rest.find("-"), rest.find("+")) if i >= 0], default=len(rest))
    _numeric(rest[:cut], "patch")
    pre_i, build_i = rest.find("-"), rest.find("+")
    if pre_i != -1 and (build_i == -1 or pre_i < build_i):
        for pr in rest[pre_i + 1 : build_i if build_i != -1 else len(rest)].split("."):
            if pr and pr.isascii() and pr.isdigit():
                if len(pr) > 1 and pr[0] == "0":
                    raise CSVMetadataError(
                        f"Numeric PreRelease version must not contain leading zeroes {pr!r}"
                    )
                if _past_uint64(pr):  # NewPRVersion: strconv.ParseUint(s, 10, 64)
                    raise CSVMetadataError(f'strconv.ParseUint: parsing "{pr}": value out of range')
            elif not pr or not set(pr) <= _ALNUM:
                raise CSVMetadataError(f"Invalid character(s) found in prerelease {pr!r}")
    if build_i != -1:
        for b in rest[build_i + 1 :].split("."):
            if not b or not set(b) <= _ALNUM:
                raise CSVMetadataError(f"Invalid character(s) found in build meta data {b!r}")


def csv_metadata_from_csv(csv_json: str) -> str:
    """The ``olm.csv.metadata`` value built from a CSV's JSON (``MustBuildCSVMetadata``)."""
    from imgextract.catalog.render import gotypes, olmtypes

    try:
        csv = json.loads(csv_json)
        # json.Unmarshal into v1alpha1.ClusterServiceVersion: metadata and the deployments are typed
        gotypes.check(csv, olmtypes.CLUSTER_SERVICE_VERSION)
        csv = _obj(csv, "ClusterServiceVersion")
        meta = _obj(gofield(csv, "metadata"), "metadata")
        spec = _obj(gofield(csv, "spec"), "spec")
        version = gofield(spec, "version")
        if version is not None and not isinstance(version, str):
            raise CSVMetadataError("json: cannot unmarshal into Go struct field spec.version of type string")
        if version is not None:
            check_operator_version(version)
        return _build(
            _str_map(gofield(meta, "annotations"), "metadata.annotations"),
            _str_map(gofield(meta, "labels"), "metadata.labels"),
            gofield(spec, "apiservicedefinitions"),
            gofield(spec, "customresourcedefinitions"),
            spec,
            "spec.apiservicedefinitions",
            "spec.customresourcedefinitions",
        )
    except (TypeMismatch, ValueError) as exc:
        raise CSVMetadataError(str(exc)) from exc


def csv_metadata_from_property(value: str) -> str:
    """An existing ``olm.csv.metadata`` value re-encoded through the struct (opm minifies it so)."""
    from imgextract.catalog.render import gotypes, olmtypes

    try:
        decoded = json.loads(value)
        # json.Unmarshal into property.CSVMetadata: its errors, keys in the order declcfg wrote them
        gotypes.check(decoded, olmtypes.PROPERTY_VALUES["olm.csv.metadata"], sort_keys=True)
        m = _obj(decoded, "CSVMetadata")
        return _build(
            _str_map(gofield(m, "annotations"), "annotations"),
            _str_map(gofield(m, "labels"), "labels"),
            gofield(m, "apiServiceDefinitions"),
            gofield(m, "crdDescriptions"),
            m,
            "apiServiceDefinitions",
            "crdDescriptions",
        )
    except (TypeMismatch, ValueError) as exc:
        raise CSVMetadataError(str(exc)) from exc
