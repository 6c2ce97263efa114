"""A bundle's manifest file decoded as ``unstructured.Unstructured`` (go-yaml's rules), and the memo
that decodes and encodes each shared file (a CRD most often) once per process."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from imgextract.catalog.render import gojson
from imgextract.catalog.render.goyaml import DecodeError, first_document_flagged, to_unstructured
from imgextract.catalog.render.parsedbundle import CRD_KIND, CSV_KIND, _crd_keys
from imgextract.keyedlocks import KeyedLocks

__all__: list[str] = []


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
# its bytes alone, so it is kept here by those bytes (the file's own ``bytes`` object as the key: a
# lookup hashes it with the interpreter's string hash and compares it whole, no SHA-256 of every file
# a bundle holds; the budget counts the bytes kept as keys): decoded and encoded once per process.
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
        size = len(key) + len(item.text)
        if size > self._budget:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self._used += size
            while self._used > self._budget:
                old_key, old = self._items.popitem(last=False)
                self._used -= len(old_key) + len(old.text)

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
    key = bytes(data)  # (the file's bytes themselves when they are bytes: no copy)
    with _DECODING.hold(key):
        known = _MEMO.get(key)
        if known is not None:
            return known
        obj, numbers = _decode_object(data)
        if obj.get("kind") != CSV_KIND and (known := _remember(key, obj, numbers)) is not None:
            return known
        return obj, numbers
