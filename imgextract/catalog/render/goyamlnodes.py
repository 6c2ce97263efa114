"""A YAML document through libyaml's node tree, the reference path: every document and every error,
go-yaml v2's resolution (tags, ``!``, merge keys) and alias accounting, its syntax errors worded as
go-yaml words them."""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from imgextract.catalog.render.goresolve import (
    _RESOLVE_FIRST,
    _STR,
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    DecodeError,
    _key,
    go_resolve,
    tagged_scalar,
)
from imgextract.catalog.render.goyamlevents import c_parser
from imgextract.yamlalias import allowed_alias_ratio

__all__: list[str] = []


_PLAIN = "tag:go-yaml:plain"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"
_SCALAR_NODE = yaml.ScalarNode
_SEQUENCE_NODE = yaml.SequenceNode
_MAPPING_NODE = yaml.MappingNode
_NONSPECIFIC = "tag:go-yaml:nonspecific"  # a scalar tagged ``!``: text as it is, ``<<`` still merges


class _Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    # libyaml scans, parses and composes the nodes; every implicit plain scalar is tagged for go-yaml's
    # resolution (done on the node tree below), so PyYAML's implicit resolvers never run.
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is _SCALAR_NODE:
            return _PLAIN if implicit[0] else _STR
        return _SEQ if kind is _SEQUENCE_NODE else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:  # no path resolvers
        return None

    def ascend_resolver(self) -> None:
        return None


def _construct_plain(loader: Any, node: Any) -> Any:
    return go_resolve(loader.construct_scalar(node))


def _construct_timestamp(loader: Any, node: Any) -> Any:
    return loader.construct_scalar(node)


def _construct_unknown(loader: Any, suffix: str, node: Any) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor(_PLAIN, _construct_plain)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_multi_constructor("!", _construct_unknown)
_Loader.add_multi_constructor("tag:", _construct_unknown)


# go-yaml v2's alias accounting (decode.go): every node decode counts, an alias counts twice (the
# alias node and its target), and decodes under an alias count as aliasing.
class _Walk:
    """Node tree -> JSON-able value in one pass, with go-yaml v2's resolution and alias accounting
    (tagged scalars as go-yaml's ``resolve``; PyYAML's constructor only for collections as keys).

    The accounting follows go-yaml for collections (what an alias bomb is made of); an alias of a
    scalar counts as one plain decode, which only ever makes the ratio smaller."""

    __slots__ = ("aliases", "decodes", "go_numbers", "loader", "seen")

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.go_numbers = False
        self.decodes = 2  # the document node and the root
        self.aliases = 0
        self.seen: set[int] = set()

    def _enter(self, node: Any, under_alias: bool, depth: int) -> bool:
        """Account for entering a collection (its own decode was counted by its parent); True when
        it is reached through an alias."""
        if depth > 1000:
            raise DecodeError("error converting YAML to JSON: document nested too deeply")
        key = id(node)
        if key in self.seen:
            self.decodes += 1
            self.aliases += 1
            under_alias = True
        else:
            self.seen.add(key)
        if (
            self.aliases > 100
            and self.decodes > 1000
            and self.aliases / self.decodes > allowed_alias_ratio(self.decodes)
        ):
            raise DecodeError("error converting YAML to JSON: yaml: document contains excessive aliasing")
        return under_alias

    def _children(self, n: int, under_alias: bool) -> None:
        self.decodes += n
        if under_alias:
            self.aliases += n

    def count_tree(self, node: Any, under_alias: bool, depth: int) -> None:
        """The accounting alone, for a subtree handed to PyYAML's constructor."""
        t = type(node)
        if t is _SCALAR_NODE:
            return
        under_alias = self._enter(node, under_alias, depth)
        kids = _children(node)
        self._children(len(kids), under_alias)
        for n in kids:
            self.count_tree(n, under_alias, depth + 1)

    def scalar(self, s: str) -> Any:
        return self.checked(go_resolve(s))

    def checked(self, v: Any) -> Any:
        """A resolved scalar as ``json.Marshal`` takes it (NaN and infinities fail the document)."""
        if v.__class__ is float:
            if math.isnan(v) or math.isinf(v):
                raise DecodeError(f"json: unsupported value: {v!r}")
            self.go_numbers = True
        elif v.__class__ is int and not INT64_MIN <= v <= INT64_MAX:
            self.go_numbers = True
            return v if v <= UINT64_MAX else float(v)
        return v

    def mapping(self, pairs: list[Any], out: dict[str, Any], under_alias: bool, depth: int) -> dict[str, Any]:
        """Decode a mapping's pairs into ``out`` in order, as go-yaml v2 does: a merge key (``<<``)
        sets its map's keys there and then (so it overrides the keys before it, and the keys after
        it override it)."""
        self._children(2 * len(pairs), under_alias)
        for k, v in pairs:
            ktag = k.tag
            if type(k) is _SCALAR_NODE and (ktag == _STR or ktag == _PLAIN):
                key = k.value
                if ktag == _PLAIN and (not key or key[0] in _RESOLVE_FIRST):
                    key = _key(go_resolve(key))
                elif ktag == _PLAIN and key == "<<":
                    self.merge(v, out, under_alias, depth + 1)
                    continue
            elif type(k) is _SCALAR_NODE and (ktag == _MERGE or ktag == _NONSPECIFIC) and k.value == "<<":
                self.merge(v, out, under_alias, depth + 1)  # go-yaml v2 isMerge
                continue
            elif type(k) is _SCALAR_NODE:
                key = _key(tagged_scalar(k.tag, k.value))
            else:
                self.count_tree(k, under_alias, depth + 1)
                key = _key(self.loader.construct_object(k, deep=True))
            if type(v) is _SCALAR_NODE:
                vtag = v.tag
                if vtag == _STR:
                    out[key] = v.value
                    continue
                if vtag == _PLAIN:
                    s = v.value
                    out[key] = self.scalar(s) if not s or s[0] in _RESOLVE_FIRST else s
                    continue
            out[key] = self.value(v, under_alias, depth + 1)
        return out

    def merge(self, node: Any, out: dict[str, Any], under_alias: bool, depth: int) -> None:
        """go-yaml v2 ``merge``: a map, or a sequence of maps of which the earlier win."""
        if type(node) is _MAPPING_NODE:
            under_alias = self._enter(node, under_alias, depth)
            self.mapping(node.value, out, under_alias, depth)
            return
        if type(node) is _SEQUENCE_NODE:
            items = node.value
            if all(type(n) is _MAPPING_NODE for n in items):
                self._children(len(items), under_alias)
                for n in reversed(items):
                    self.mapping(n.value, out, self._enter(n, under_alias, depth + 1), depth + 1)
                return
        raise DecodeError(
            "error converting YAML to JSON: yaml: map merge requires map or sequence of maps as the value"
        )

    def value(self, node: Any, under_alias: bool = False, depth: int = 0) -> Any:
        t = type(node)
        tag = node.tag
        if t is _SCALAR_NODE:
            if tag == _PLAIN:
                s = node.value
                return self.scalar(s) if not s or s[0] in _RESOLVE_FIRST else s
            if tag == _STR:
                return node.value
            return self.checked(tagged_scalar(tag, node.value))
        # go-yaml v2's parser keeps no tag of a sequence or mapping
        if t is _SEQUENCE_NODE:
            under_alias = self._enter(node, under_alias, depth)
            items = node.value
            self._children(len(items), under_alias)
            out_seq: list[Any] = []
            for n in items:
                if type(n) is _SCALAR_NODE and n.tag == _STR:
                    out_seq.append(n.value)
                else:
                    out_seq.append(self.value(n, under_alias, depth + 1))
            return out_seq
        under_alias = self._enter(node, under_alias, depth)
        return self.mapping(node.value, {}, under_alias, depth)


def _children(node: Any) -> list[Any]:
    if type(node) is _SEQUENCE_NODE:
        return list(node.value)
    if type(node) is _MAPPING_NODE:
        return [n for pair in node.value for n in pair]
    return []


def _load_nodes(text: str | bytes) -> tuple[Any, bool]:
    """:func:`load_yaml_flagged` through libyaml's node tree: every document, and the errors."""
    loader = _Loader(text)
    try:
        # go-yaml v2's Unmarshal composes the first document and never parses what follows it
        node = loader.get_node() if loader.check_node() else None
        if node is None:
            return None, False
        marks = _nonspecific_marks(text)
        if marks:
            _retag_nonspecific(node, marks)
        walk = _Walk(loader)
        return walk.value(node), walk.go_numbers
    except yaml.YAMLError as exc:
        raise DecodeError(f"error converting YAML to JSON: {_go_yaml_message(exc)}") from exc
    except (ValueError, TypeError, RecursionError, KeyError, AttributeError) as exc:  # KeyError: !!bool maybe
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"error converting YAML to JSON: {exc}") from exc
    finally:
        loader.dispose()


def _go_yaml_message(exc: yaml.YAMLError) -> str:
    """A libyaml syntax error as go-yaml v2's ``parser.fail`` words it: ``yaml: line N: PROBLEM``, N
    the problem mark's 0-based line (one more for a scanner error), else the context mark's, no
    ``line`` part when that is 0; libyaml's context text is dropped."""
    problem = getattr(exc, "problem", None)
    if not isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError)) or not problem:
        return str(exc).replace("\n", " ")
    problem_mark, context_mark = exc.problem_mark, exc.context_mark
    line = 0
    if problem_mark is not None and problem_mark.line:
        line = problem_mark.line + (1 if isinstance(exc, yaml.scanner.ScannerError) else 0)
    elif context_mark is not None:
        line = context_mark.line
    return f"yaml: line {line}: {problem}" if line else f"yaml: {problem}"


_NONSPECIFIC_HINT = re.compile(r"!(?=[\s,\]}]|\Z)")
_NONSPECIFIC_HINT_BYTES = re.compile(rb"!(?=[\s,\]}]|\Z)")


def _nonspecific_marks(text: str | bytes) -> set[tuple[int, int]]:
    """Where the first document's scalars tagged ``!`` start.  PyYAML resolves such a scalar as an
    untagged plain one; go-yaml v2 keeps its tag, which ``resolve`` does not know, so its text
    stays as it is.  Only read when the text could hold such a tag (a ``!`` before a blank)."""
    hint = _NONSPECIFIC_HINT if isinstance(text, str) else _NONSPECIFIC_HINT_BYTES
    if hint.search(text) is None:  # type: ignore[arg-type]
        return set()
    parser_class = c_parser()
    parser: Any = parser_class(text) if parser_class is not None else yaml.SafeLoader(text)
    marks: set[tuple[int, int]] = set()
    try:
        while True:
            e = parser.get_event()
            if e is None or isinstance(e, (yaml.events.DocumentEndEvent, yaml.events.StreamEndEvent)):
                return marks
            if isinstance(e, yaml.events.ScalarEvent) and e.tag == "!" and e.start_mark is not None:
                marks.add((e.start_mark.line, e.start_mark.column))
    except yaml.YAMLError:
        return marks  # the node tree reports it
    finally:
        parser.dispose()


def _retag_nonspecific(root: Any, marks: set[tuple[int, int]]) -> None:
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is _SCALAR_NODE:
            if node.tag == _PLAIN and (node.start_mark.line, node.start_mark.column) in marks:
                node.tag = _NONSPECIFIC
        else:
            pending.extend(_children(node))
