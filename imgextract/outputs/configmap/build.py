"""A registry+v1 bundle as Kubernetes ConfigMaps, the way OLM stores an unpacked bundle.

Compatible with opm ``alpha bundle extract`` / OLM's ConfigMap loader (same keys, the six
bundle annotations, ``olm.sourceImage``, ``olm.contentEncoding: gzip+base64``), minus opm's
bugs: colliding or invalid keys get unique derived keys and the original paths are recorded
in ``bundle-extract/file-names``; a bundle over 1 MiB fails clearly or is split on request.
See docs/configmap.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from imgextract.bundles.labels import ANNOTATIONS_FILE, BUNDLE_KEYS, MANIFESTS, METADATA
from imgextract.errors import InvalidBundleError, UsageError, option
from imgextract.outputs.configmap import codec
from imgextract.outputs.configmap.keys import assign_keys
from imgextract.outputs.configmap.layout import bundle_dir, check_relative_path, default_path
from imgextract.outputs.configmap.meta import (
    CONTENT_ENCODING,
    FILE_NAMES,
    GZIP_BASE64,
    MANIFESTS_DIR,
    MAX_ANNOTATION_BYTES,
    MAX_DATA_BYTES,
    METADATA_DIR,
    OLM_MANAGED,
    PART,
    RESOLVED_DIGEST,
    SOURCE_IMAGE,
    check_namespace,
    check_object_name,
)

Compress = Literal["auto", "always", "never"]

__all__ = ["build_configmaps"]


@dataclass(frozen=True)
class _Entry:
    path: str
    key: str
    stored: codec.Stored
    recorded: bool  # the path differs from what a reader would infer: goes in the file-name map


def _ordered_paths(files: Mapping[str, bytes], manifests_dir: str, metadata_dir: str) -> list[str]:
    """opm's order (manifests dir, then metadata dir, each sorted), other paths last; annotations.yaml left out."""
    excluded = {f"{metadata_dir}/{ANNOTATIONS_FILE}", f"{METADATA_DIR}/{ANNOTATIONS_FILE}"}

    def rank(path: str) -> tuple[int, str]:
        if path.startswith(manifests_dir + "/"):
            return (0, path)
        if path.startswith(metadata_dir + "/"):
            return (1, path)
        return (2, path)

    paths = [check_relative_path(p) for p in files if p not in excluded]
    return sorted(paths, key=rank)


def _use_gzip(files: Mapping[str, bytes], paths: list[str], compress: str, limit: int) -> bool:
    if compress == "always":
        return True
    if compress == "never":
        return False
    all_text = all(codec.as_text(files[p]) is not None for p in paths)
    return not (all_text and sum(len(files[p]) for p in paths) <= limit)


def _pack(entries: list[_Entry], limit: int, split: bool, encoding: str) -> list[list[_Entry]]:
    total = sum(e.stored.size for e in entries)
    if total <= limit:
        return [entries]
    if not split:
        largest = sorted(entries, key=lambda e: -e.stored.size)[:3]
        detail = ", ".join(f"{e.path} ({e.stored.size} bytes)" for e in largest)
        if encoding == "uncompressed":  # --compress never: gzip is what OLM itself reads
            advice = (
                f"use {option('compress', 'auto')} (gzip, which OLM reads); {option('split')} writes "
                "several ConfigMaps, which OLM cannot read as one bundle"
            )
        else:
            advice = (
                f"use {option('split')} to write several ConfigMaps (OLM cannot read a split bundle as one)"
            )
        raise InvalidBundleError(
            f"bundle needs {total} bytes of ConfigMap data ({encoding}), over the Kubernetes limit of {limit} "
            f"bytes; largest: {detail}; {advice}"
        )
    for e in entries:
        if e.stored.size > limit:
            raise InvalidBundleError(
                f"file {e.path} needs {e.stored.size} bytes of ConfigMap data ({encoding}), over the Kubernetes "
                f"limit of {limit} bytes for a single ConfigMap even when split"
            )
    parts: list[list[_Entry]] = [[]]
    used = 0
    for e in entries:
        if used + e.stored.size > limit:
            parts.append([])
            used = 0
        parts[-1].append(e)
        used += e.stored.size
    return parts


def _annotations(base: dict[str, str], part: list[_Entry], index: int, count: int) -> dict[str, str]:
    annotations = dict(base)
    if count > 1:
        annotations[PART] = f"{index}/{count}"
    names = {e.key: e.path for e in part if e.recorded}
    if names:
        annotations[FILE_NAMES] = json.dumps(
            dict(sorted(names.items())), separators=(",", ":"), ensure_ascii=False
        )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > MAX_ANNOTATION_BYTES:
        raise InvalidBundleError(
            f"ConfigMap annotations would take {size} bytes, over the Kubernetes limit of "
            f"{MAX_ANNOTATION_BYTES} bytes (too many renamed files)"
        )
    return annotations


def _configmap(
    name: str, namespace: str | None, labels: dict[str, str], annotations: dict[str, str], part: list[_Entry]
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    metadata["annotations"] = annotations
    cm: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata}
    data = {e.key: e.stored.value for e in sorted(part, key=lambda e: e.key) if e.stored.field == "data"}
    binary = {
        e.key: e.stored.value for e in sorted(part, key=lambda e: e.key) if e.stored.field == "binaryData"
    }
    if data:
        cm["data"] = data
    if binary:
        cm["binaryData"] = binary
    return cm


def build_configmaps(
    files: Mapping[str, bytes],
    *,
    name: str,
    namespace: str | None = None,
    annotations: Mapping[str, str],
    source_image: str,
    resolved_digest: str | None = None,
    compress: Compress = "auto",
    split: bool = False,
    olm_labels: bool = False,
    limit: int = MAX_DATA_BYTES,
) -> list[dict[str, Any]]:
    """The ConfigMap(s) holding a bundle's files (relative path -> content).

    One key per file except ``<metadata>/annotations.yaml`` (its six bundle keys become
    annotations). ``compress``: ``auto`` stores plain ``data`` when every file is UTF-8 and
    the total fits ``limit``, else gzip+base64 ``binaryData``; ``always``/``never`` force it
    (``never`` stores non-UTF-8 files as plain ``binaryData``). Over ``limit`` ->
    InvalidBundleError, or with ``split`` ConfigMaps ``NAME-0`` .. ``NAME-<n-1>`` annotated
    ``bundle-extract/part: i/n``.
    """
    if compress not in ("auto", "always", "never"):
        raise UsageError(f"invalid compress mode {compress!r}: expected auto, always or never")
    check_object_name(name)
    if namespace:
        check_namespace(namespace)
    manifests_dir = bundle_dir(annotations.get(MANIFESTS), MANIFESTS_DIR)
    metadata_dir = bundle_dir(annotations.get(METADATA), METADATA_DIR)
    paths = _ordered_paths(files, manifests_dir, metadata_dir)
    if not paths:
        raise InvalidBundleError("bundle has no files to put in a ConfigMap")

    use_gzip = _use_gzip(files, paths, compress, limit)
    encode = codec.encode_gzip_base64 if use_gzip else codec.encode_plain
    keys = assign_keys(paths)
    entries = [_Entry(p, keys[p], encode(files[p]), default_path(keys[p], files[p]) != p) for p in paths]
    encoding = "gzip+base64" if use_gzip else "uncompressed"
    parts = _pack(entries, limit, split, encoding)

    base: dict[str, str] = {k: str(annotations.get(k) or "") for k in BUNDLE_KEYS}
    base[SOURCE_IMAGE] = source_image
    if resolved_digest:
        base[RESOLVED_DIGEST] = resolved_digest
    if use_gzip:
        base[CONTENT_ENCODING] = GZIP_BASE64
    labels = {OLM_MANAGED: "true"} if olm_labels else {}

    count = len(parts)
    result = []
    for index, part in enumerate(parts):
        part_name = name if count == 1 else check_object_name(f"{name}-{index}")
        result.append(_configmap(part_name, namespace, labels, _annotations(base, part, index, count), part))
    return result
