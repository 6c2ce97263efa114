"""YAML as imgpkg reads and writes it.

imgpkg goes through ``sigs.k8s.io/yaml``: documents are written as ``---\\n`` followed by the
object with keys in alphabetical order, block style, files mode 0600.  Reading is go-yaml v2:
duplicate keys are an error, timestamps stay strings (we never turn ``2021-01-01`` into a date),
plain scalars are typed by its rules (``n`` is false, ``1e6`` a float), and a number or boolean
bound for a Go string field is its text (:func:`go_string`).  Writing quotes every string go-yaml
v2 would read back as another type.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

import yaml

from imgextract.bundles.yamlnodes import ExpansionError, check_expansion
from imgextract.errors import InvalidBundleError

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024


_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc]
    """SafeLoader resolving plain scalars as go-yaml v2 does, with duplicate keys refused.

    Booleans include YAML 1.1's ``y``/``n``; numbers are what Go's ``strconv`` reads (``1e6`` is
    a float, ``0o17`` an integer); timestamps are not resolved (go-yaml v2 keeps them as strings).
    libyaml's parser: the pure-Python one takes minutes over a hostile 16 MiB file, and libyaml
    refuses nesting deeper than 1000 levels."""


class _Dumper(yaml.SafeDumper):
    """SafeDumper that quotes every string go-yaml v2 would read as something else (``n``, ``1e6``)."""


class _GoNumber:
    """A "regexp" for PyYAML's resolver: matches what go-yaml v2 resolves to an int or a float."""

    @staticmethod
    def match(value: str) -> bool:
        from imgextract.bundles.annotations import go_yaml_number

        return go_yaml_number(value) is not None


_GO_V2_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "null", "timestamp")}
_BOOLS = {
    **dict.fromkeys("y Y yes Yes YES true True TRUE on On ON".split(), True),
    **dict.fromkeys("n N no No NO false False FALSE off Off OFF".split(), False),
}
for _cls in (_Loader, _Dumper):
    _cls.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _GO_V2_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(f"^(?:{'|'.join(_BOOLS)})$"), list("yYnNtTfFoO")
    )
    _cls.add_implicit_resolver(
        "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
    )
    _cls.add_implicit_resolver("tag:yaml.org,2002:int", _GoNumber(), list("-+.0123456789"))


_BASE60_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")


def _represent_str(dumper: _Dumper, data: str) -> yaml.ScalarNode:
    """go-yaml v2's ``stringv``: a multi-line string as a literal block, a string that would read
    back as another type (or as a YAML 1.1 base-60 float) double-quoted, any other plain if it can."""
    style = None
    if "\n" in data:
        style = "|"
    elif (
        dumper.resolve(yaml.ScalarNode, data, (True, False)) != "tag:yaml.org,2002:str"  # type: ignore[no-untyped-call]
        or _BASE60_FLOAT.match(data) is not None
    ):
        style = '"'
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _represent_str)


def _construct_bool(loader: _Loader, node: yaml.ScalarNode) -> Any:
    value = loader.construct_scalar(node)
    return _BOOLS.get(value, value)


def _construct_number(loader: _Loader, node: yaml.ScalarNode) -> Any:
    from imgextract.bundles.annotations import go_yaml_number

    text = loader.construct_scalar(node)
    number = go_yaml_number(text)
    return text if number is None else number  # an explicit !!int tag on a non-number


_Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_number)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:  # a sequence or a mapping as a key: go-yaml v2 fails the same way
            raise yaml.constructor.ConstructorError(
                None, None, "invalid map key", key_node.start_mark
            ) from None
        if key in out:
            raise InvalidBundleError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load(data: bytes | str, *, what: str) -> Any:
    """The first YAML document (a leading ``---`` is fine); errors name ``what``.

    As sigs.k8s.io/yaml's ``Unmarshal`` (go-yaml v2): only the first document is read, the rest of
    the stream is never parsed; no document, or an empty one, is None (a Go struct left at its
    zero value)."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidBundleError(f"{what}: larger than {MAX_DOCUMENT_BYTES} bytes")
    loader = _Loader(data)
    try:
        if not loader.check_node():
            return None
        node = loader.get_node()
        check_expansion(node, MAX_DOCUMENT_BYTES)  # writing the lock back spells aliases out
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InvalidBundleError(f"{what}: not valid YAML ({str(exc).splitlines()[0]})") from None
    except ExpansionError as exc:
        raise InvalidBundleError(f"{what}: not valid YAML ({exc})") from None
    except InvalidBundleError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # PyYAML on a mistagged value
        raise InvalidBundleError(f"{what}: not valid YAML (a tagged value does not fit: {exc})") from None
    except RecursionError:  # nested mappings are constructed recursively, below libyaml's limit
        raise InvalidBundleError(f"{what}: not valid YAML (nested too deeply)") from None
    finally:
        loader.dispose()


def go_string(value: Any) -> Any:
    """A scalar as sigs.k8s.io/yaml hands it to a Go ``string`` field: numbers and booleans are
    converted to their text (``3`` -> "3", ``1.50`` -> "1.5", ``yes`` -> "true"; floats by their
    32-bit value, as imgpkg's sigs.k8s.io/yaml formats them), null is the empty string; a string
    stays itself.  Anything else is returned as is (the caller refuses it)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        from imgextract.bundles.annotations import go_float32_string

        return go_float32_string(value)
    return value


def go_fields(data: Mapping[Any, Any], names: Collection[str]) -> tuple[dict[str, Any], list[str]]:
    """A YAML mapping as encoding/json fills a struct with fields ``names`` (through sigs.k8s.io/yaml):
    the keys, as Go text, come in sorted order (the JSON object sigs.k8s.io/yaml builds is sorted);
    each sets the field named exactly like it, else the one equal under Unicode case folding
    (Go's ``EqualFold``: ``KIND`` is ``kind``, the Kelvin sign is k), so the last such key wins.
    Returns the values by field name and the keys no field takes, sorted."""
    by_fold = {name.casefold(): name for name in names}
    fields: dict[str, Any] = {}
    unknown: list[str] = []
    texts = sorted(
        ((str(go_string(key)), value) for key, value in data.items()),
        key=lambda kv: kv[0].encode("utf-8", "surrogatepass"),
    )
    for key, value in texts:
        name = key if key in names else by_fold.get(key.casefold())
        if name is None:
            unknown.append(key)
        else:
            fields[name] = value
    return fields, unknown


def dump(obj: Any) -> bytes:
    """imgpkg's output: ``---`` line, then block YAML with keys sorted."""
    body = yaml.dump(
        obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True, width=1 << 30
    )
    return ("---\n" + body).encode()
