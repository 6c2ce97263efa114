"""A parsed registry+v1 bundle (what operator-registry's ``bundleParser.Parse`` leaves) and what opm
reads from its CSV: the APIs it provides and requires (``pkg/registry/bundle.go``, ``csv.go``
``GetCustomResourceDefintions``/``GetApiServiceDefinitions``) and its version (``GetVersion``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from imgextract.catalog.render.gostruct import expect, string_field
from imgextract.catalog.render.gostruct import field as gofield
from imgextract.catalog.render.rendered import BundleError, Property

__all__ = ["ParsedBundle", "csv_version", "provided_apis", "required_apis"]

CSV_KIND = "ClusterServiceVersion"
CRD_KIND = "CustomResourceDefinition"


@dataclass
class ParsedBundle:
    """What ``bundleParser.Parse`` produces."""

    name: str
    package: str
    objects: list[dict[str, Any]]
    csv: dict[str, Any]
    properties: list[Property]
    dependencies: list[Property]
    annotations: dict[str, str]
    crd_keys: list[tuple[str, str, str, str]] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)  # per object: holds floats/big ints
    csv_numeric: bool = True
    # per object: its Go JSON (json.Marshal of the decoded object) when already known (see _Memo);
    # such an object is held in ``objects`` as ``{"kind": ...}`` only
    texts: list[str | None] = field(default_factory=list)


def _csv_spec(csv: dict[str, Any]) -> dict[str, Any]:
    spec = csv.get("spec")
    if spec is None:
        raise BundleError("unexpected end of JSON input")
    if not isinstance(spec, dict):
        raise BundleError("json: cannot unmarshal into Go value of type map[string]*json.RawMessage")
    return spec


def _definition_keys(spec: dict[str, Any], section: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """``GetCustomResourceDefintions`` / ``GetApiServiceDefinitions``: owned and required keys."""
    sect = spec.get(section)  # a Go map lookup: exact key
    if sect is None:
        return [], []
    if not isinstance(sect, dict):
        raise BundleError(f"json: cannot unmarshal {section} into Go value of type struct")

    def keys(name: str) -> list[dict[str, str]]:
        items = expect(gofield(sect, name), list, f"{section}.{name}") or []
        out = []
        for it in items:
            if not isinstance(it, dict):
                raise BundleError(f"{section}.{name}: entry is not an object")
            out.append(
                {f: string_field(it, f, "DefinitionKey") for f in ("group", "kind", "name", "version")}
            )
        return out

    return keys("owned"), keys("required")


def _crd_keys(obj: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Provided APIs of one CRD manifest: ``(group, version, kind, plural)`` per served version."""
    api_value = obj.get("apiVersion")
    api = api_value if isinstance(api_value, str) else ""
    group_part, _, version = api.rpartition("/")
    if version not in ("v1", "v1beta1"):
        return []
    if group_part != "apiextensions.k8s.io":
        raise BundleError(
            f'error decoding {version} CRD: no kind "{CRD_KIND}" is registered for version "{api}"'
        )
    from imgextract.catalog.render import gotypes, kubetypes

    try:  # (the JSON the deserializer reads is MarshalJSON of a map: keys in byte order)
        gotypes.check(obj, kubetypes.CUSTOM_RESOURCE_DEFINITION[version], sort_keys=True)
    except gotypes.GoTypeError as exc:
        raise BundleError(f"error decoding {version} CRD: {exc}") from exc
    spec = obj.get("spec") or {}
    group = spec.get("group") or ""
    names = spec.get("names") or {}
    kind = names.get("kind") or ""
    plural = names.get("plural") or ""
    out = [(group, (ver or {}).get("name") or "", kind, plural) for ver in spec.get("versions") or []]
    if version == "v1beta1" and spec.get("version"):
        out.append((group, spec["version"], kind, plural))
    return out


def _apikey_str(k: tuple[str, str, str, str]) -> str:
    return f"{k[0]}/{k[1]}/{k[2]} ({k[3]})"


def provided_apis(b: ParsedBundle) -> set[tuple[str, str, str, str]]:
    spec = _csv_spec(b.csv)
    out = set(b.crd_keys)
    owned, _ = _definition_keys(spec, "apiservicedefinitions")
    for api in owned:
        out.add((api["group"], api["version"], api["kind"], api["name"]))
    return out


def required_apis(b: ParsedBundle) -> set[tuple[str, str, str, str]]:
    spec = _csv_spec(b.csv)
    out = set()
    _, req_crds = _definition_keys(spec, "customresourcedefinitions")
    for api in req_crds:
        plural, dot, group = api["name"].partition(".")
        if not dot:
            raise BundleError(f"couldn't parse plural.group from crd name: {api['name']}")
        out.add((group, api["version"], api["kind"], plural))
    _, req_apis = _definition_keys(spec, "apiservicedefinitions")
    for api in req_apis:
        out.add((api["group"], api["version"], api["kind"], api["name"]))
    return out


def _check_provided_apis(b: ParsedBundle) -> None:
    """``AllProvidedAPIsInBundle``: every owned CRD of the CSV is in the bundle."""
    spec = _csv_spec(b.csv)
    provided = provided_apis(b)
    owned, _ = _definition_keys(spec, "customresourcedefinitions")
    for crd in owned:
        plural, dot, group = crd["name"].partition(".")
        if not dot:
            raise BundleError(f"couldn't parse plural.group from crd name: {crd['name']}")
        key = (group, crd["version"], crd["kind"], plural)
        if key not in provided:
            found = " ".join(f"{_apikey_str(k)}:{{}}" for k in sorted(provided))
            raise BundleError(
                f"error checking provided apis in bundle {b.name}: couldn't find {_apikey_str(key)} "
                f"in bundle. found: map[{found}]"
            )


def csv_version(b: ParsedBundle) -> str:
    """``GetVersion``: ``spec.version`` as a JSON string ("" when absent or null); otherwise Go's
    json.Unmarshal error, naming the JSON kind found (the callers say who asked)."""
    v = _csv_spec(b.csv).get("version")
    if v is None:
        return ""
    if not isinstance(v, str):
        kind = "bool" if isinstance(v, bool) else "array" if isinstance(v, list) else "object"
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            kind = "number"
        raise BundleError(f"json: cannot unmarshal {kind} into Go value of type string")
    return v
