"""operator-registry's ``bundleParser.Parse``: a bundle's manifests (the first object of each file,
the first CSV) and metadata files -> a :class:`~.parsedbundle.ParsedBundle` with its properties."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from imgextract.catalog.render.bundlefiles import Listing, _disk_listing
from imgextract.catalog.render.bundlemeta import PACKAGE_KEY, _annotations_file, _typed_list
from imgextract.catalog.render.bundleprops import _derived_properties, _property_set
from imgextract.catalog.render.gostruct import TypeMismatch
from imgextract.catalog.render.goyaml import DecodeError, first_document
from imgextract.catalog.render.manifestmemo import _Known, _known_or_decoded
from imgextract.catalog.render.parsedbundle import (
    CRD_KIND,
    CSV_KIND,
    ParsedBundle,
    _check_provided_apis,
    _crd_keys,
)
from imgextract.catalog.render.rendered import BundleError, Property

__all__ = ["parse_bundle", "parse_bundle_dir"]

log = logging.getLogger(__name__)


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
    from imgextract.catalog.render import gotypes, kubetypes

    try:  # the rest of metav1.ObjectMeta is typed too (generation, timestamps, owner references, ...)
        gotypes.check(meta, kubetypes.OBJECT_META, sort_keys=True)
    except gotypes.GoTypeError as exc:
        raise BundleError(f"error decoding CSV metadata: {exc}") from exc


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
