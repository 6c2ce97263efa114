"""The common YAML document read straight from libyaml's events (PyYAML's C parser): no node tree,
go-yaml v2's resolution per scalar; anything uncommon (anchors, aliases, merge keys, tagged keys,
errors) is left to :mod:`.goyamlnodes`, whose rules this path only ever agrees with."""

from __future__ import annotations

import functools
import math
import sys
from importlib.machinery import PathFinder
from importlib.util import find_spec
from typing import Any

from imgextract.catalog.render.goresolve import (
    _RESOLVE_FIRST,
    _RESOLVE_MAP,
    _WORD_FIRST,
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    _key,
    _quick_resolve,
    tagged_scalar,
)

__all__: list[str] = []


_EVENTS_MAX_DEPTH = 200  # deeper documents take the node tree's path (and its depth error)
# (_goyamlc.c, the C twin of this loop, uses the same limit. It must stay below 1000: PyYAML's
# bundled libyaml refuses deeper nesting, the system libyaml the extension links does not, so a
# higher limit would let the two readers answer differently.)


_INFINITIES = (math.inf, -math.inf)


@functools.cache
def c_parser() -> Any:
    """PyYAML's libyaml parser (``yaml.cyaml.CParser``), None when PyYAML has no libyaml."""
    import yaml

    return getattr(yaml, "cyaml", None) and getattr(yaml.cyaml, "CParser", None)


def has_c_parser() -> bool:
    """Whether :func:`c_parser` is there, found as the import system finds ``yaml._yaml`` (PyYAML's
    libyaml binding) without importing PyYAML until something has: a document that the C extension
    reads needs none of it, and its import costs some 8 ms (its reader compiles a large regular
    expression).  (A ``yaml._yaml`` that is there but fails to load, a broken installation, counts
    as there.)"""
    if "yaml" in sys.modules:
        return c_parser() is not None
    spec = find_spec("yaml")
    locations = None if spec is None else spec.submodule_search_locations
    return bool(locations) and PathFinder.find_spec("yaml._yaml", list(locations or ())) is not None


def _load_events(text: str | bytes) -> tuple[Any, bool] | None:
    """The common document (plain and quoted scalars, tagged values too, block and flow collections,
    no anchor, alias, tagged key, merge key or non-string key that fails) built straight from libyaml's
    events, or None for anything else, which :func:`load_yaml_flagged` then reads through the
    node tree (whose errors and rules are the reference: this path only ever agrees with it).

    The node tree costs a Python node object and three resolver calls per scalar before the walk
    even starts; here each event is looked at once, with the same go-yaml v2 resolution."""
    parser_class = c_parser()
    if parser_class is None:
        return None
    import yaml  # (loaded by c_parser)

    ev = yaml.events  # libyaml's events, as the C parser hands them over (PyYAML's classes)
    try:
        parser = parser_class(text)
    except (yaml.YAMLError, ValueError, TypeError):
        return None
    try:
        get = parser.get_event
        get()  # the stream's start
        if get().__class__ is not ev.DocumentStartEvent:
            return None  # no document: the node tree says what that is
        scalar_event = ev.ScalarEvent
        mapping_start = ev.MappingStartEvent
        sequence_start = ev.SequenceStartEvent
        mapping_end = ev.MappingEndEvent
        sequence_end = ev.SequenceEndEvent
        resolve_first = _RESOLVE_FIRST
        word_first = _WORD_FIRST
        word = _RESOLVE_MAP.get
        numbers = False
        # an anchor is written with "&", a tag with "!": a text without either has neither, and
        # its events are not asked for them (two attribute reads of most scalars)
        marked = ("&" in text or "!" in text) if isinstance(text, str) else (b"&" in text or b"!" in text)
        stack: list[tuple[Any, Any]] = []
        push = stack.append
        pop = stack.pop
        cur: Any = None  # the collection being filled (None: the document's root)
        in_map = False  # cur is a mapping
        want_key = False  # in a mapping, no key is waiting for its value: the next node is a key
        v: Any = None
        key: Any = None
        while True:
            e = get()
            c = e.__class__
            if c is scalar_event:
                if marked and e.anchor is not None:
                    return None
                s = e.value
                if want_key:
                    if marked and e.tag is not None:
                        return None
                    if e.implicit[0]:
                        if s == "<<":
                            return None
                        if not s or s[0] in resolve_first:
                            # as _quick_resolve (its word case inline: most keys that get here)
                            r = (word(s, s) if s[0] in word_first else _quick_resolve(s)) if s else None
                            if r.__class__ is not str:
                                if r is None:
                                    return None
                                s = _key(r)
                    key = s
                    want_key = False
                    continue
                tag = e.tag if marked else None
                if tag is not None:  # as _Walk.value: "!" keeps the text, any other as go-yaml's resolve
                    v = s if tag == "!" else tagged_scalar(tag, s)
                elif e.implicit[0] and (not s or s[0] in resolve_first):  # as _Walk.scalar
                    v = (word(s, s) if s[0] in word_first else _quick_resolve(s)) if s else None
                else:
                    v = s
                if v is not s:
                    vc = v.__class__
                    if vc is float:
                        if v != v or v in _INFINITIES:
                            return None
                        numbers = True
                    elif vc is int and not INT64_MIN <= v <= INT64_MAX:
                        numbers = True
                        if v > UINT64_MAX:
                            v = float(v)
            elif c is mapping_start or c is sequence_start:
                if (  # (a collection's tag is dropped, as go-yaml v2's parser drops it)
                    (marked and e.anchor is not None)
                    or want_key  # a collection as a key
                    or len(stack) >= _EVENTS_MAX_DEPTH
                ):
                    return None
                push((cur, key))
                if c is mapping_start:
                    cur = {}
                    in_map = want_key = True
                else:
                    cur = []
                    in_map = False
                continue
            elif c is mapping_end or c is sequence_end:
                v = cur
                cur, key = pop()
                in_map = cur.__class__ is dict
                want_key = False  # the parent takes the value: a mapping then waits for a key again
            else:  # an alias, or the document ends early
                return None
            if in_map:
                cur[key] = v
                want_key = True
            elif cur is None:
                break
            else:
                cur.append(v)
        if get().__class__ is not ev.DocumentEndEvent or get().__class__ is not ev.StreamEndEvent:
            return None  # a second document: the node tree's error
        return v, numbers
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return None  # the node tree raises its error for it
    finally:
        parser.dispose()
