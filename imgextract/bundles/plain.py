"""The Kubernetes objects of a plain+v0 manifest file, counted as rukpak counts them.

rukpak's plain provisioner (``getBundleObjects``) reads each file of ``manifests/`` with
``util.ManifestObjects``: cli-runtime's local resource builder, ``Flatten().Unstructured()``, on
Kubernetes' YAML-or-JSON stream decoder.  A stream whose first non-blank character is ``{`` is a
run of JSON values; any other is YAML documents.  A document that is empty or ``null`` is skipped;
any other must decode as ``unstructured``: a mapping with a non-empty string ``kind`` ("Object
'Kind' is missing" otherwise).  A mapping with ``items`` is a list: its items are the objects (an
item without kind and apiVersion takes the list's kind minus ``List``).  ``ValidateBundle`` then
refuses a bundle with zero objects.

YAML is read as parser events, so a large manifest costs no node tree: only the root mapping's
``kind`` and ``items`` (and each item's ``kind``/``apiVersion``) are looked at.  A scalar anchor is
remembered so that ``kind: *name`` reads as Go reads it (aliases expand); the rare document that
reaches ``items`` or an item through an alias is composed whole instead.
"""

from __future__ import annotations

import io
import json
from typing import Any, BinaryIO

from imgextract.errors import InvalidBundleError
from imgextract.oci import jsonstream

__all__ = ["count_objects"]

_SNIFF = 64 * 1024
_JSON_READ = 1024 * 1024
MAX_JSON_VALUE = 256 * 1024 * 1024  # characters of one value of a JSON manifest file (as a catalog object)
_NO_KIND = "a document has no kind (rukpak decodes each one as a Kubernetes object: Object 'Kind' is missing)"
_NOT_OBJECT = "a document is not a Kubernetes object (rukpak decodes each one as a mapping with a kind)"


class _Composite(Exception):
    """The document reaches ``items`` or an item through an alias: count it from its node tree."""


def count_objects(data: bytes | BinaryIO, name: str) -> int:
    """How many objects rukpak's ``ManifestObjects`` finds in the file ``name`` (its bytes, or the
    file opened for reading: YAML is then parsed as it is read); InvalidBundleError (naming
    ``name``) where it fails."""
    if isinstance(data, bytes):
        data = io.BytesIO(data)
    start = data.tell()
    first = b""
    while not first:
        chunk = data.read(_SNIFF)
        if not chunk:
            break
        first = chunk.lstrip()[:1]
    data.seek(start)
    if first == b"{":
        return _count_json(data, name)
    return _count_yaml(data, name)


def _object_count(obj: Any, name: str) -> int:
    """Objects in one decoded, non-null document (unstructured decoding, then Flatten)."""
    if not isinstance(obj, dict):
        raise InvalidBundleError(f"{name}: {_NOT_OBJECT}")
    if "items" in obj:
        kind = obj.get("kind")
        if not isinstance(kind, str) or not kind:
            raise InvalidBundleError(f"{name}: {_NO_KIND}")
        items = [] if obj["items"] is None else obj["items"]
        if not isinstance(items, list):
            raise InvalidBundleError(f"{name}: {_NOT_OBJECT}")
        inherited = kind.removesuffix("List")
        for item in items:
            if not isinstance(item, dict):
                raise InvalidBundleError(f"{name}: {_NOT_OBJECT}")
            own = item.get("kind")
            if not item.get("apiVersion") and not own:
                own = inherited
            if not isinstance(own, str) or not own:
                raise InvalidBundleError(f"{name}: {_NO_KIND}")
        return len(items)
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InvalidBundleError(f"{name}: {_NO_KIND}")
    return 1


def _count_json(data: BinaryIO, name: str) -> int:
    """Objects in a stream of JSON values, decoded one at a time by Python's rules (see
    :mod:`imgextract.oci.jsonstream`); one value past ``MAX_JSON_VALUE`` characters is refused."""
    count = 0
    try:
        for value in jsonstream.iter_values(
            data,
            json.JSONDecoder().raw_decode,
            read_size=_JSON_READ,
            max_value=MAX_JSON_VALUE,
            bound_decoded=True,
        ):
            if value is not None:
                count += _object_count(value, name)
    except jsonstream.InvalidJSON as exc:
        raise InvalidBundleError(f"{name} is not valid JSON: {str(exc.cause).split(':')[0]}") from None
    except jsonstream.ValueTooLarge:
        raise InvalidBundleError(f"{name}: a JSON value is larger than {MAX_JSON_VALUE} characters") from None
    return count


def _count_yaml(data: BinaryIO, name: str) -> int:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    start = data.tell()
    try:
        try:
            return _count_events(yaml.parse(data, Loader=loader), name)
        except _Composite:
            data.seek(start)
            count = 0
            for doc in yaml.load_all(data, Loader=loader):  # noqa: S506 - a safe loader
                if doc is not None:
                    count += _object_count(doc, name)
            return count
    except yaml.YAMLError as exc:
        raise InvalidBundleError(f"{name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise InvalidBundleError(f"{name} is not valid YAML ({type(exc).__name__})") from None


_RESOLVER: list[Any] = []  # one PyYAML resolver, made on first use


def _scalar_text(event: Any) -> str | None:
    """A scalar's value when YAML resolves it to a string (a kind must be one), else None."""
    import yaml

    if event.tag is not None:
        return str(event.value) if event.tag in ("!", "tag:yaml.org,2002:str") else None
    if event.style:  # quoted or block: a string
        return str(event.value)
    if not _RESOLVER:
        _RESOLVER.append(yaml.resolver.Resolver())
    resolved = _RESOLVER[0].resolve(yaml.ScalarNode, event.value, (True, False))
    return str(event.value) if resolved == "tag:yaml.org,2002:str" else None


def _is_null(event: Any) -> bool:
    """A plain scalar YAML reads as null (an empty document is one)."""
    return event.tag is None and not event.style and event.value in ("", "~", "null", "Null", "NULL")


def _count_events(events: Any, name: str) -> int:
    """Walk the parser events of every document (see the module doc)."""
    import yaml

    count = 0
    anchors: dict[str, str | None] = {}  # scalar anchors: a kind may be an alias
    it = iter(events)
    for event in it:
        if not isinstance(event, yaml.DocumentStartEvent):
            continue
        anchors.clear()
        root = next(it)
        if isinstance(root, yaml.DocumentEndEvent):
            continue
        if isinstance(root, yaml.ScalarEvent):
            if root.anchor:
                anchors[root.anchor] = _scalar_text(root)
            if _is_null(root):
                continue  # an empty or null document
            raise InvalidBundleError(f"{name}: {_NOT_OBJECT}")
        if isinstance(root, yaml.AliasEvent):
            raise InvalidBundleError(f"{name}: {_NOT_OBJECT}")
        if not isinstance(root, yaml.MappingStartEvent):
            raise InvalidBundleError(f"{name}: {_NOT_OBJECT}")
        count += _object_count(_root_summary(it, anchors), name)
    return count


def _skip(it: Any, start: Any) -> None:
    """Consume the events of the collection ``start`` opened."""
    import yaml

    depth = 1
    for event in it:
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            if depth == 0:
                return


def _value(it: Any, anchors: dict[str, str | None]) -> tuple[str, Any]:
    """The next node: ("scalar", text-or-None) / ("alias", text-or-None) / ("mapping"|"sequence", start event)."""
    import yaml

    event = next(it)
    if isinstance(event, yaml.ScalarEvent):
        text = _scalar_text(event)
        if event.anchor:
            anchors[event.anchor] = text
        return ("null", None) if _is_null(event) else ("scalar", text)
    if isinstance(event, yaml.AliasEvent):
        if event.anchor not in anchors:
            raise _Composite
        return "scalar", anchors[event.anchor]
    if isinstance(event, yaml.MappingStartEvent):
        return "mapping", event
    return "sequence", event


def _mapping_fields(it: Any, anchors: dict[str, str | None], wanted: tuple[str, ...]) -> dict[str, Any]:
    """The scalar values of ``wanted`` keys of the mapping whose start was just read (last one
    wins, as go-yaml's non-strict decoding keeps it); other values skipped."""
    out: dict[str, Any] = {}
    while (key := _key(it, anchors)) is not None:
        value = _field_value(it, anchors)
        if key[1] in wanted:
            out[key[1]] = value
    return out


def _key(it: Any, anchors: dict[str, str | None]) -> tuple[Any, str | None] | None:
    """The next key of the mapping being read (its event and its text, None for a key that is no
    scalar, whose collection is skipped), or None at the mapping's end."""
    import yaml

    key = next(it)
    if isinstance(key, yaml.MappingEndEvent):
        return None
    key_text = _scalar_text(key) if isinstance(key, yaml.ScalarEvent) else None
    if isinstance(key, yaml.ScalarEvent) and key.anchor:
        anchors[key.anchor] = key_text
    if isinstance(key, yaml.CollectionStartEvent):
        _skip(it, key)
    return key, key_text


def _field_value(it: Any, anchors: dict[str, str | None]) -> Any:
    """The value after a key: a scalar's value, or a one-item list standing for a collection
    (skipped: no string)."""
    kind, value = _value(it, anchors)
    if kind in ("mapping", "sequence"):
        _skip(it, value)
        return [value]
    return value


def _root_summary(it: Any, anchors: dict[str, str | None]) -> dict[str, Any]:
    """The root mapping reduced to what unstructured decoding and Flatten look at."""
    import yaml

    out: dict[str, Any] = {}
    while (key := _key(it, anchors)) is not None:
        event, key_text = key
        if isinstance(event, yaml.AliasEvent):
            raise _Composite
        if key_text == "items":
            out["items"] = _items(it, anchors)
            continue
        value = _field_value(it, anchors)
        if key_text is not None:
            out[key_text] = value
    return out


def _items(it: Any, anchors: dict[str, str | None]) -> Any:
    """``items``: None for null, one summary per item for a sequence, else a stand-in that is no
    list (Go fails to decode it as the list's items)."""
    import yaml

    kind, value = _value(it, anchors)
    if kind == "null":
        return None
    if kind == "mapping":
        _skip(it, value)
    if kind != "sequence":
        return "not a list"
    items: list[Any] = []
    while True:
        event = next(it)
        if isinstance(event, yaml.SequenceEndEvent):
            return items
        if isinstance(event, yaml.AliasEvent):
            raise _Composite
        if isinstance(event, yaml.MappingStartEvent):
            items.append(_mapping_fields(it, anchors, ("kind", "apiVersion")))
        elif isinstance(event, yaml.CollectionStartEvent):
            _skip(it, event)
            items.append([])
        else:
            items.append(_scalar_text(event))
