"""Files back out of bundle ConfigMaps: ours (split parts, file-name map) and opm's/OLM's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from imgextract.bundles.labels import ANNOTATIONS_FILE, BUNDLE_KEYS, METADATA
from imgextract.bundles.yamlnodes import ExpansionError, check_expansion
from imgextract.errors import InvalidBundleError
from imgextract.oci import jsontext
from imgextract.outputs.configmap import codec
from imgextract.outputs.configmap.keys import is_valid_key
from imgextract.outputs.configmap.layout import bundle_dir, check_relative_path, default_path
from imgextract.outputs.configmap.meta import (
    CONTENT_ENCODING,
    FILE_NAMES,
    GZIP_BASE64,
    METADATA_DIR,
    PART,
    RESOLVED_DIGEST,
)

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Per-file cap on gzip expansion when reading (a ConfigMap is at most 1 MiB of stored bytes).
MAX_FILE_BYTES = 256 * 1024 * 1024
_ALIAS_SLACK = 16 * 1024 * 1024  # what aliases may add to a ConfigMap stream's own size


def _label(cm: Mapping[str, Any]) -> str:
    meta = cm.get("metadata") or {}
    return f"ConfigMap {meta.get('namespace', '')}/{meta.get('name', '?')}".replace(" /", " ")


def _annotations(cm: Mapping[str, Any]) -> dict[str, str]:
    meta = cm.get("metadata") or {}
    ann = meta.get("annotations") or {}
    if not isinstance(ann, Mapping):
        raise InvalidBundleError(f"{_label(cm)}: metadata.annotations is not a map")
    if any(isinstance(v, list | dict) for v in ann.values()):  # str() would expand YAML alias bombs
        raise InvalidBundleError(f"{_label(cm)}: metadata.annotations values must be strings")
    return {str(k): str(v) for k, v in ann.items()}


def _part(cm: Mapping[str, Any]) -> tuple[int, int] | None:
    value = _annotations(cm).get(PART)
    if value is None:
        return None
    index, sep, count = value.partition("/")
    if not (sep and index.isdigit() and count.isdigit() and int(index) < int(count)):
        raise InvalidBundleError(f"{_label(cm)}: malformed {PART} annotation {value!r}")
    return int(index), int(count)


def _check_parts(configmaps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ConfigMaps in part order, after checking they form one complete set."""
    if not configmaps:
        raise InvalidBundleError("no ConfigMap to read")
    for cm in configmaps:
        if not isinstance(cm, Mapping) or cm.get("kind") != "ConfigMap":
            raise InvalidBundleError("expected ConfigMap objects")
    parts = [_part(cm) for cm in configmaps]
    if all(p is None for p in parts):
        if len(configmaps) > 1:
            raise InvalidBundleError(
                f"{len(configmaps)} ConfigMaps given but they are not parts of one split "
                f"bundle (no {PART} annotation)"
            )
        return list(configmaps)
    if any(p is None for p in parts):
        raise InvalidBundleError(f"some ConfigMaps have a {PART} annotation and some do not")
    counts = {p[1] for p in parts if p is not None}
    if len(counts) != 1:
        raise InvalidBundleError(f"ConfigMap parts disagree on the number of parts: {sorted(counts)}")
    count = counts.pop()
    indices = sorted(p[0] for p in parts if p is not None)
    if indices != list(range(count)):
        missing = sorted(set(range(count)) - set(indices))
        raise InvalidBundleError(
            f"incomplete or duplicated ConfigMap parts: have {indices} of {count}"
            + (f", missing {missing}" if missing else "")
        )
    digests = {_annotations(cm).get(RESOLVED_DIGEST) for cm in configmaps}
    if len(digests) > 1:
        raise InvalidBundleError(f"ConfigMap parts come from different images: {sorted(map(str, digests))}")
    order = {id(cm): p[0] for cm, p in zip(configmaps, parts, strict=True) if p is not None}
    return sorted(configmaps, key=lambda cm: order[id(cm)])


def _file_names(cm: Mapping[str, Any]) -> dict[str, str]:
    raw = _annotations(cm).get(FILE_NAMES)
    if raw is None:
        return {}
    try:
        names = jsontext.loads(raw)
    except ValueError:
        raise InvalidBundleError(f"{_label(cm)}: {FILE_NAMES} annotation is not JSON") from None
    if not isinstance(names, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in names.items()
    ):
        raise InvalidBundleError(f"{_label(cm)}: {FILE_NAMES} annotation must map keys to paths")
    return {k: check_relative_path(v) for k, v in names.items()}


def _values(cm: Mapping[str, Any]) -> dict[str, bytes]:
    """Key -> file bytes for one ConfigMap."""
    what = _label(cm)
    gz = _annotations(cm).get(CONTENT_ENCODING) == GZIP_BASE64
    data = cm.get("data") or {}
    binary = cm.get("binaryData") or {}
    if not isinstance(data, Mapping) or not isinstance(binary, Mapping):
        raise InvalidBundleError(f"{what}: data and binaryData must be maps")
    out: dict[str, bytes] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            raise InvalidBundleError(f"{what}: data[{key!r}] is not a string")
        out[str(key)] = value.encode("utf-8")
    for key, value in binary.items():
        if str(key) in out:
            raise InvalidBundleError(f"{what}: key {key!r} is in both data and binaryData")
        if not isinstance(value, str):
            raise InvalidBundleError(f"{what}: binaryData[{key!r}] is not a string")
        out[str(key)] = codec.decode_binary(
            value, gzip_base64=gz, what=f"{what} key {key}", max_bytes=MAX_FILE_BYTES
        )
    for key in out:
        if not is_valid_key(key):
            raise InvalidBundleError(f"{what}: invalid key {key!r}")
    return out


def annotations_yaml(configmap: Mapping[str, Any]) -> bytes:
    """A ``metadata/annotations.yaml`` rebuilt from the six bundle annotations (empty ones left out)."""
    ann = _annotations(configmap)
    body = {k: ann[k] for k in BUNDLE_KEYS if ann.get(k)}
    return yaml.safe_dump({"annotations": body}, sort_keys=False, default_flow_style=False).encode("utf-8")


def read(configmaps: list[dict[str, Any]], *, with_annotations_yaml: bool = False) -> dict[str, bytes]:
    """Relative path -> bytes for the files held by one bundle's ConfigMap(s).

    Handles ``data``, plain ``binaryData``, ``gzip+base64`` binaryData, split parts (any
    order, checked complete) and the ``bundle-extract/file-names`` map. Keys without a
    recorded path land in ``metadata/`` when their content is an annotations/dependencies/
    properties document, else in ``manifests/`` (opm's rule). ``with_annotations_yaml`` adds
    the annotations file rebuilt from the bundle annotations (not byte-identical to the
    image's: opm and bundle-extract store only its six keys).
    """
    ordered = _check_parts(configmaps)
    files: dict[str, bytes] = {}
    seen_keys: set[str] = set()
    for cm in ordered:
        names = _file_names(cm)
        for key, content in _values(cm).items():
            if key in seen_keys:
                raise InvalidBundleError(f"key {key!r} appears in more than one ConfigMap part")
            seen_keys.add(key)
            path = names.get(key) or default_path(key, content)
            if path in files:
                raise InvalidBundleError(f"two ConfigMap keys map to the same file {path}")
            files[path] = content
    if with_annotations_yaml:
        metadata_dir = bundle_dir(_annotations(ordered[0]).get(METADATA), METADATA_DIR)
        path = f"{metadata_dir}/{ANNOTATIONS_FILE}"
        if path in files:
            raise InvalidBundleError(f"ConfigMap already holds {path}")
        files[path] = annotations_yaml(ordered[0])
    return files


def load_yaml(text: str | bytes) -> list[dict[str, Any]]:
    """ConfigMaps from a YAML/JSON stream: several documents and ``kind: List`` flattened."""
    out: list[dict[str, Any]] = []
    # aliases may not spell out much more than the text holds: reading the files writes them all
    limit = len(text) + _ALIAS_SLACK
    loader = _LOADER(text)
    try:
        docs = []
        while loader.check_node():
            node = loader.get_node()
            check_expansion(node, limit)
            docs.append(loader.construct_document(node))
    except ExpansionError as e:
        raise InvalidBundleError(f"ConfigMap YAML: {e}") from None
    except yaml.YAMLError as e:
        raise InvalidBundleError(f"ConfigMap YAML does not parse: {str(e).splitlines()[0]}") from None
    except (ValueError, RecursionError, TypeError, KeyError, AttributeError) as e:
        # int()'s 4300-digit limit; nesting too deep to construct; PyYAML on a mistagged value
        # (``!!bool maybe`` is a KeyError, ``!!timestamp xyz`` an AttributeError)
        reason = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(";")[0]
        raise InvalidBundleError(f"ConfigMap YAML does not parse: {reason}") from None
    finally:
        loader.dispose()
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, dict) and doc.get("kind") == "List":
            out.extend(item for item in doc.get("items") or [])
        else:
            out.append(doc)
    return out
