"""The common YAML document read straight from libyaml's events (PyYAML's C parser): no node tree,
go-yaml v2's resolution per scalar, anchors and aliases within go-yaml's alias limits; anything
uncommon (merge keys, tagged keys, aliases as keys, alias bombs, errors) is left to :mod:`.goyamlnodes`, whose rules this path only ever agrees with."""

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

# go-yaml's alias accounting as the node tree counts it (goyamlnodes._Walk: an alias's target and
# every collection below it count twice, every other node below it once, all as aliased decodes) can
# only refuse a document whose aliased decodes pass 100 and make up more than 0.10-0.99 of its
# decodes.  The loop (and _goyamlc.c alike) stands aside, for the node tree to decide and report,
# once its upper bound of the aliased decodes passes _ALIAS_FREE and either their share could pass
# 0.9 or the decodes _DECODES_MAX (past 400,000 go-yaml's allowed share falls).  It is checked
# before each copy, so an alias bomb never expands here: what is copied stays below nine times the
# document's own nodes.
_ALIAS_FREE = 100
_DECODES_MAX = 300_000


def _copy(v: Any) -> Any:
    """An independent copy of a collection the loop built (what the node tree builds again for each
    alias): nothing a caller changes in one shows in another."""
    if v.__class__ is dict:
        return {k: _copy(x) if x.__class__ is dict or x.__class__ is list else x for k, x in v.items()}
    return [_copy(x) if x.__class__ is dict or x.__class__ is list else x for x in v]


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


def _checked_number(v: float | int) -> tuple[float | int, bool] | None:
    """A resolved number as both loops keep it (the C loop's ``checked_number``): the value to
    store (an int past uint64 becomes a float) and whether it sets the numbers flag (a float, an int
    outside int64); None for NaN or an infinity (the node tree's to answer)."""
    if v.__class__ is float:
        return None if v != v or v in _INFINITIES else (v, True)
    if INT64_MIN <= v <= INT64_MAX:
        return v, False
    return (float(v) if v > UINT64_MAX else v), True


def _load_events(text: str | bytes) -> tuple[Any, bool] | None:
    """The common document (plain and quoted scalars, tagged values too, block and flow collections,
    anchors and aliases, no tagged key, merge key, alias as a key or non-string key that fails)
    built straight from libyaml's events, or None for anything else, which :func:`load_yaml_flagged` then reads through the
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
        alias_event = ev.AliasEvent
        numbers = False
        # name -> (text, plain) of a scalar (resolved again at each alias, as the node tree does),
        # (value, cost, height, collections below) of a complete collection (cost: the aliased
        # decodes of one alias of it; height: its levels of collections), None while its node is open
        anchors: dict[str, Any] = {}
        # counted from the events, as _goyamlc.c counts them (a duplicate key's lost value counts
        # too, as the node tree walks it): the node tree's decodes (from the document's node; the
        # root counts as it starts), an upper bound of its aliased ones, the collections built
        # (aliases expanded), and the share of the decodes that are no built node (decodes - 1 -
        # extra: the nodes built, keys included)
        decodes = 1
        aliased = colls = extra = 0
        height = 0  # the current collection's deepest child so far (0: none a collection)
        # an anchor is written with "&", a tag with "!": a text without either has neither, and
        # its events are not asked for them (two attribute reads of most scalars)
        marked = ("&" in text or "!" in text) if isinstance(text, str) else (b"&" in text or b"!" in text)
        stack: list[tuple[Any, ...]] = []
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
                s = e.value
                decodes += 1
                if marked and e.anchor is not None:
                    if e.tag is not None or e.anchor in anchors:
                        return None  # (a tagged one: left to the node tree; a redefined one: its error)
                    anchors[e.anchor] = (s, e.implicit[0])
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
                if v is not s and (v.__class__ is float or v.__class__ is int):
                    checked = _checked_number(v)
                    if checked is None:
                        return None
                    v, flagged = checked
                    numbers = numbers or flagged
            elif c is mapping_start or c is sequence_start:
                if want_key or len(stack) >= _EVENTS_MAX_DEPTH:  # a collection as a key, too deep
                    return None
                anchor = e.anchor if marked else None  # (a collection's tag is dropped, as go-yaml v2's)
                if anchor is not None:
                    if anchor in anchors:
                        return None  # redefined: the node tree's error
                    anchors[anchor] = None
                decodes += 1
                colls += 1
                push((cur, key, anchor, decodes - extra, colls, height))
                height = 0
                if c is mapping_start:
                    cur = {}
                    in_map = want_key = True
                else:
                    cur = []
                    in_map = False
                continue
            elif c is mapping_end or c is sequence_end:
                v = cur
                h = height + 1
                cur, key, anchor, nodes0, colls0, height = pop()
                if anchor is not None:  # complete: what its aliases copy
                    below = colls - colls0
                    anchors[anchor] = (v, 1 + decodes - extra - nodes0 + below, h, below)
                if h > height:
                    height = h
                in_map = cur.__class__ is dict
                want_key = False  # the parent takes the value: a mapping then waits for a key again
            elif c is alias_event:
                a = anchors.get(e.anchor)
                if a is None or want_key:
                    return None  # undefined, inside its own anchor's node, or a key
                decodes += 1
                if len(a) == 2:  # a scalar: as the scalar branch's value
                    s, plain = a
                    if plain and (not s or s[0] in resolve_first):
                        v = (word(s, s) if s[0] in word_first else _quick_resolve(s)) if s else None
                        if v is not s and (v.__class__ is float or v.__class__ is int):
                            checked = _checked_number(v)
                            if checked is None:
                                return None
                            v, flagged = checked
                            numbers = numbers or flagged
                    else:
                        v = s
                else:  # a collection: its node counts twice, every collection below it too
                    value, cost, h, below = a
                    aliased += cost
                    decodes += cost
                    if (
                        aliased > _ALIAS_FREE and (aliased * 10 > decodes * 9 or decodes > _DECODES_MAX)
                    ) or len(stack) + h > _EVENTS_MAX_DEPTH:
                        return None  # maybe excessive aliasing (the node tree's to say), or too deep
                    v = _copy(value)
                    colls += 1 + below
                    extra += 1 + below
                    if h > height:
                        height = h
            else:  # the document ends early
                return None
            if in_map:
                cur[key] = v
                want_key = True
            elif cur is None:
                break
            else:
                cur.append(v)
        if aliased > _ALIAS_FREE and decodes > _DECODES_MAX:
            return None  # go-yaml's allowed share of aliased decodes falls past 400,000 decodes
        if get().__class__ is not ev.DocumentEndEvent or get().__class__ is not ev.StreamEndEvent:
            return None  # a second document: the node tree's error
        return v, numbers
    except (yaml.YAMLError, ValueError, TypeError, OverflowError):
        return None  # the node tree raises its error for it
    finally:
        parser.dispose()
