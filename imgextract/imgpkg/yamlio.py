"""YAML as imgpkg reads and writes it.

imgpkg goes through ``sigs.k8s.io/yaml``: documents are written as ``---\\n`` followed by the
object with keys in alphabetical order, block style, files mode 0600.  Reading is go-yaml v2:
duplicate keys are an error and timestamps stay strings (we never turn ``2021-01-01`` into a date).
"""

from __future__ import annotations

from typing import Any

import yaml

from imgextract.errors import InvalidBundleError

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver and with duplicate keys refused."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise InvalidBundleError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load(data: bytes | str, *, what: str) -> Any:
    """Parse one YAML document (a leading ``---`` is fine); errors name ``what``."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidBundleError(f"{what}: larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        docs = [d for d in yaml.load_all(data, Loader=_Loader) if d is not None]  # noqa: S506 (SafeLoader subclass)
    except yaml.YAMLError as exc:
        raise InvalidBundleError(f"{what}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if len(docs) != 1:
        raise InvalidBundleError(f"{what}: expected one YAML document, found {len(docs)}")
    return docs[0]


def dump(obj: Any) -> bytes:
    """imgpkg's output: ``---`` line, then block YAML with keys sorted."""
    body = yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1 << 30)
    return ("---\n" + body).encode()
