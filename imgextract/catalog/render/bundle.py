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
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import json
import logging
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgextract.catalog.render import gojson
from imgextract.catalog.render.gosort import go_sort
from imgextract.catalog.render.gostruct import TypeMismatch, expect, raw_elements, raw_members, string_field
from imgextract.catalog.render.gostruct import field as gofield
from imgextract.catalog.render.goyaml import (
    DecodeError,
    first_document,
    first_document_flagged,
    to_unstructured,
)
from imgextract.catalog.render.rendered import BundleError, Property, RenderedBundle, TemplateError
from imgextract.keyedlocks import KeyedLocks
from imgextract.oci import jsontext

__all__ = [
    "BundleError",
    "Property",
    "RenderedBundle",
    "memory_listing",
    "parse_bundle",
    "parse_bundle_dir",
    "render_bundle",
    "render_listed",
]

log = logging.getLogger(__name__)

CSV_KIND = "ClusterServiceVersion"
CRD_KIND = "CustomResourceDefinition"
PROPERTIES_ANNOTATION = "olm.properties"
PACKAGE_KEY = "operators.operatorframework.io.bundle.package.v1"
CHANNELS_KEY = "operators.operatorframework.io.bundle.channels.v1"
DEFAULT_CHANNEL_KEY = "operators.operatorframework.io.bundle.channel.default.v1"


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


# ---------------------------------------------------------------------------------------- reading files


def _read(root: Path, entry: os.DirEntry[str]) -> bytes | None:
    """A regular file's bytes; None for what opm cannot read as a file.  Symlinks are followed only
    inside the bundle directory (a hostile image must not make us read the host's files)."""
    path = Path(entry.path)
    try:
        st = os.stat(path)
        if entry.is_symlink():
            real = os.path.realpath(path)
            if os.path.commonpath([real, os.path.realpath(root)]) != os.path.realpath(root):
                log.warning("skipping %s: symlink leaves the bundle", entry.name)
                return None
        if not stat.S_ISREG(st.st_mode):
            return None
        return _read_all(entry.path, st.st_size)
    except OSError as exc:
        log.warning("unable to read file %s: %s", entry.name, exc)
        return None


def _read_all(path: str, size: int) -> bytes:
    """The file's bytes up to its end, in plain system calls (``read_bytes`` adds five more per
    file, each a point where a worker thread hands the GIL over)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        first = os.read(fd, size + 1)
        if not first:
            return first
        parts = [first]
        while chunk := os.read(fd, max(size, 1 << 16)):
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)
    finally:
        os.close(fd)


def _entries(d: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(d) as it:
            return sorted(it, key=lambda e: e.name.encode("utf-8", "surrogateescape"))
    except FileNotFoundError as exc:  # os.DirFS's error, its path made "." by fs.Sub
        raise BundleError("open .: no such file or directory") from exc
    except NotADirectoryError as exc:
        raise BundleError("readdirent .: not a directory") from exc


class _Entry:
    """One name of a bundle directory: whether it is a directory, and how to read it (None: opm
    cannot read it as a file; the reason was logged)."""

    __slots__ = ("is_dir", "name", "read")

    def __init__(self, name: str, is_dir: bool, read: Callable[[], bytes | None]) -> None:
        self.name = name
        self.is_dir = is_dir
        self.read = read


Listing = Callable[[str], list[_Entry]]
"""A bundle's ``manifests`` or ``metadata`` directory as ``os.ReadDir`` lists it (sorted by name);
raises BundleError as opm's read fails."""


def _disk_listing(root: Path) -> Listing:
    def listing(name: str) -> list[_Entry]:
        return [_Entry(e.name, e.is_dir(), functools.partial(_read, root, e)) for e in _entries(root / name)]

    return listing


def memory_listing(files: dict[str, bytes], dirs: set[str], root: str = "") -> Listing:
    """The listing of a bundle held in memory (``files``: path -> bytes, ``dirs``: every directory
    path; paths relative to the image, the bundle at ``root``), as the same tree on disk lists."""
    prefix = f"{root}/" if root else ""

    def listing(name: str) -> list[_Entry]:
        d = prefix + name
        if d not in dirs:
            raise BundleError(
                "readdirent .: not a directory" if d in files else "open .: no such file or directory"
            )
        inner = d + "/"
        names = {p[len(inner) :].split("/", 1)[0] for p in files if p.startswith(inner)}
        names.update(x[len(inner) :].split("/", 1)[0] for x in dirs if x.startswith(inner))
        out = [_Entry(n, inner + n in dirs, functools.partial(files.get, inner + n)) for n in names]
        out.sort(key=lambda e: e.name.encode("utf-8", "surrogateescape"))
        return out

    return listing


def _decode_object(data: bytes) -> tuple[dict[str, Any], bool]:
    """``unstructured.Unstructured`` decoding: an object with a string ``kind`` (and whether it holds
    floats or big integers, see ``load_yaml_flagged``)."""
    kind, value, numbers = first_document_flagged(data)
    if kind == "empty":
        raise DecodeError("EOF")
    if not isinstance(value, dict):
        if value is None:
            raise DecodeError("Object 'Kind' is missing in 'null'")
        what = "array" if isinstance(value, list) else "string" if isinstance(value, str) else "number"
        raise DecodeError(f"json: cannot unmarshal {what} into Go value of type map[string]interface {{}}")
    k = value.get("kind")
    api = value.get("apiVersion")
    if not isinstance(k, str) or not k or (isinstance(api, str) and api.count("/") > 1):
        raise DecodeError("Object 'Kind' is missing")
    return (to_unstructured(value, kind == "yaml") if numbers else value), numbers


# ---------------------------------------------------------------------------------------- memo

# A manifest file is decoded (YAML, go-yaml's rules) and re-encoded (Go JSON) for its olm.bundle.object:
# most of a bundle's rendering time, for files (CRDs above all) that many bundles share byte for byte,
# one version of an operator after another.  What a file contributes when it is not the CSV depends on
# its bytes alone, so it is kept here by their SHA-256: decoded and encoded once per process.
_MEMO_MIN_BYTES = 4096
_MEMO_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class _Known:
    """A decoded non-CSV manifest: its kind, Go JSON, number flag and CRD keys (or their error)."""

    kind: str
    text: str
    numbers: bool
    crd: list[tuple[str, str, str, str]] | Exception | None


class _Memo:
    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._used = 0
        self._lock = threading.Lock()
        self._items: OrderedDict[bytes, _Known] = OrderedDict()

    def get(self, key: bytes) -> _Known | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: bytes, item: _Known) -> None:
        size = len(item.text)
        if size > self._budget:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self._used += size
            while self._used > self._budget:
                _k, old = self._items.popitem(last=False)
                self._used -= len(old.text)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._used = 0


_MEMO = _Memo(_MEMO_MAX_BYTES)


def _crd_or_error(obj: dict[str, Any]) -> list[tuple[str, str, str, str]] | Exception | None:
    """The CRD's keys, or the error reading them raises (raised later, where opm fails)."""
    if obj.get("kind") != CRD_KIND:
        return None
    try:
        return _crd_keys(obj)
    except (ValueError, TypeError) as exc:  # BundleError, TypeMismatch
        return exc


def _remember(key: bytes, obj: dict[str, Any], numbers: bool) -> _Known | None:
    try:
        text = gojson.marshal(obj, escape_html=True, sort_keys=True, no_floats=not numbers)
    except (ValueError, TypeError, RecursionError):
        return None  # fails where opm fails, when the bundle object is built: not memoised
    known = _Known(str(obj.get("kind")), text, numbers, _crd_or_error(obj))
    _MEMO.put(key, known)
    return known


_DECODING = KeyedLocks()  # one decode per shared file at a time: the others wait for its memo entry


def _known_or_decoded(data: bytes) -> _Known | tuple[dict[str, Any], bool]:
    """A manifest file's memo entry, or the file decoded (a CSV, a small file, one that cannot be
    memoised).  Threads rendering bundles that share the file decode it once: the second waits for
    the first and then takes its entry."""
    if len(data) < _MEMO_MIN_BYTES:
        return _decode_object(data)
    key = hashlib.sha256(data).digest()
    with _DECODING.hold(key):
        known = _MEMO.get(key)
        if known is not None:
            return known
        obj, numbers = _decode_object(data)
        if obj.get("kind") != CSV_KIND and (known := _remember(key, obj, numbers)) is not None:
            return known
        return obj, numbers


# ---------------------------------------------------------------------------------------- metadata


def _coerce_str(v: Any) -> Any:
    """sigs.k8s.io/yaml turns a YAML number/bool into a string when the Go field is a string."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        from imgextract.catalog.render.goyaml import _float32_g

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


# ---------------------------------------------------------------------------------------- the parser


def _csv_spec(csv: dict[str, Any]) -> dict[str, Any]:
    spec = csv.get("spec")
    if spec is None:
        raise BundleError("unexpected end of JSON input")
    if not isinstance(spec, dict):
        raise BundleError("json: cannot unmarshal into Go value of type map[string]*json.RawMessage")
    return spec


def _check_csv_meta(csv: dict[str, Any]) -> None:
    """``runtime.DefaultUnstructuredConverter.FromUnstructured`` into ObjectMeta rejects wrong types."""
    meta = csv.get("metadata")
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise BundleError("error decoding CSV metadata: not an object")
    for k in ("name", "namespace", "generateName"):
        if meta.get(k) is not None and not isinstance(meta.get(k), str):
            raise BundleError(f"error decoding CSV metadata: .metadata.{k} is not a string")
    for k in ("annotations", "labels"):
        m = meta.get(k)
        if m is None:
            continue
        if not isinstance(m, dict) or any(v is not None and not isinstance(v, str) for v in m.values()):
            raise BundleError(f"error decoding CSV metadata: .metadata.{k} must map strings to strings")
    from imgextract.catalog.render import gotypes

    try:  # the rest of metav1.ObjectMeta is typed too (generation, timestamps, owner references, ...)
        gotypes.check(meta, gotypes.OBJECT_META, sort_keys=True)
    except gotypes.GoTypeError as exc:
        raise BundleError(f"error decoding CSV metadata: {exc}") from exc


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
    where = f"error decoding {version} CRD"
    spec = expect(obj.get("spec"), dict, where) or {}
    group = spec.get("group") or ""
    names = expect(spec.get("names"), dict, where) or {}
    kind = names.get("kind") or ""
    plural = names.get("plural") or ""
    for v in (group, kind, plural):
        if not isinstance(v, str):
            raise BundleError(f"{where}: field is not a string")
    out = []
    for ver in expect(spec.get("versions"), list, where) or []:
        if not isinstance(ver, dict) or not isinstance(ver.get("name", ""), str):
            raise BundleError(f"{where}: spec.versions entries must be objects with a string name")
        out.append((group, ver.get("name") or "", kind, plural))
    if version == "v1beta1":
        single = spec.get("version")
        if single is not None and not isinstance(single, str):
            raise BundleError(f"{where}: spec.version is not a string")
        if single:
            out.append((group, single, kind, plural))
    return out


def parse_bundle_dir(root: Path) -> ParsedBundle:
    """``bundleParser.Parse`` on ``root`` (a directory with ``manifests/`` and ``metadata/``)."""
    return parse_bundle(_disk_listing(Path(root)))


def parse_bundle(listing: Listing) -> ParsedBundle:
    """``bundleParser.Parse`` on a bundle's ``manifests`` and ``metadata`` as ``listing`` gives them."""
    objects: list[dict[str, Any]] = []
    numeric: list[bool] = []
    texts: list[str | None] = []
    crds: list[list[tuple[str, str, str, str]] | Exception | None] = []
    csv: dict[str, Any] | None = None
    csv_numbers = True
    for entry in listing("manifests"):
        if entry.name.startswith(".") or entry.is_dir:
            continue
        data = entry.read()
        if data is None:
            log.warning("failed to decode: unable to read file %s", entry.name)
            continue
        try:
            got = _known_or_decoded(data)
        except (DecodeError, RecursionError) as exc:
            log.warning("failed to decode: %s", exc)
            continue
        if isinstance(got, _Known):
            objects.append({"kind": got.kind})
            numeric.append(got.numbers)
            texts.append(got.text)
            crds.append(got.crd)
            continue
        obj, numbers = got
        if obj.get("kind") == CSV_KIND:
            if csv is not None:
                continue
            csv = obj
            csv_numbers = numbers
        objects.append(obj)
        numeric.append(numbers)
        texts.append(None)
        crds.append(None)
    if not objects:
        raise BundleError("no bundle objects found")
    if csv is None:
        raise BundleError("no csv in bundle")
    _check_csv_meta(csv)
    crd_keys: list[tuple[str, str, str, str]] = []
    for obj, crd in zip(objects, crds, strict=True):
        if obj.get("kind") == CRD_KIND:
            keys = _crd_keys(obj) if crd is None else crd
            if isinstance(keys, Exception):
                raise copy.copy(keys).with_traceback(None)  # a fresh instance: the memo's is shared
            crd_keys.extend(keys)
    meta = csv.get("metadata") or {}
    name = meta.get("name") or ""

    annotations: dict[str, str] | None = None
    deps: list[Property] | None = None
    props: list[Property] | None = None
    for entry in listing("metadata"):
        data = entry.read() if not entry.is_dir else None
        if data is None:
            continue
        try:
            kind, value = first_document(data)
        except (DecodeError, RecursionError):
            continue
        for which in ("annotations", "dependencies", "properties"):
            try:
                if which == "annotations" and annotations is None:
                    annotations = _annotations_file(kind, value)
                elif which == "dependencies" and deps is None:
                    deps = _typed_list(kind, value, data, "dependencies")
                elif which == "properties" and props is None:
                    props = _typed_list(kind, value, data, "properties")
            except (TypeMismatch, ValueError, IndexError):
                continue
    if annotations is None:
        raise BundleError("Could not find annotations file")
    parsed = ParsedBundle(
        name=name,
        package=annotations[PACKAGE_KEY],
        objects=objects,
        csv=csv,
        properties=list(props or []),
        dependencies=list(deps or []),
        annotations=annotations,
        crd_keys=crd_keys,
        numeric=numeric,
        csv_numeric=csv_numbers,
        texts=texts,
    )
    _check_provided_apis(parsed)
    parsed.properties = _property_set(parsed.properties + _derived_properties(parsed))
    return parsed


# ---------------------------------------------------------------------------------------- APIs


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


# ---------------------------------------------------------------------------------------- rendering


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


def related_images(b: ParsedBundle, image: str) -> list[tuple[str, str]]:
    """``getRelatedImages``: CSV relatedImages, the bundle image, operator images (each once).
    Errors are Go's ``json.Unmarshal`` errors, unprefixed (the caller names the bundle)."""
    from imgextract.catalog.render import gotypes

    spec = _csv_spec(b.csv)
    out: list[tuple[str, str]] = []
    ri = spec.get("relatedImages")  # map lookup: exact key
    if ri is not None:
        try:
            gotypes.check(ri, gotypes.RELATED_IMAGES, sort_keys=True)
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
    from imgextract.catalog.render import gotypes

    try:
        gotypes.check(spec, gotypes.CSV_SPEC_FOR_IMAGES, sort_keys=True)
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


def _go_q(s: str) -> str:
    """Go's ``%q`` (as opm quotes a bundle name in its messages)."""
    return json.dumps(s, ensure_ascii=False)


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
