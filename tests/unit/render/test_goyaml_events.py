"""The event path of the YAML reader agrees with the node-tree path, or stands aside.

``load_yaml_flagged`` first builds the common document straight from libyaml's events and hands
anything unusual (anchors, aliases, tagged keys, merge keys, keys that are not strings, documents past
the first, values Go's encoder refuses, scanner errors) to the node-tree walk, whose go-yaml v2
rules are tested in test_goyaml.py.  Here: where the event path answers, its value (types
included) and number flag are the node tree's; where it must not answer, it does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imgextract.catalog.render.goyaml import DecodeError, load_yaml_flagged
from imgextract.catalog.render.goyamlevents import _load_events
from imgextract.catalog.render.goyamlnodes import _load_nodes

DATA = Path(__file__).resolve().parents[2] / "data"


def _typed(v: Any) -> Any:
    """A value with every scalar's type spelled out (1 == 1.0 == True in Python)."""
    if isinstance(v, dict):
        return ("map", [(_typed(k), _typed(x)) for k, x in v.items()])
    if isinstance(v, list):
        return ("seq", [_typed(x) for x in v])
    return (type(v).__name__, repr(v))


# documents the event path must answer, exactly as the node tree does
COMMON = [
    "a: 1\nb: 1.0\nc: 1e3\nd: .5\ne: 0x1F\nf: 017\ng: 0o17\nh: 0b101\ni: 1_000\nj: +12\nk: -7\n",
    "big: 18446744073709551615\nbigger: 18446744073709551616\nneg: -9223372036854775809\nmax: 9223372036854775807\n",
    "y: y\nn: NO\non: on\noff: Off\nnull1: ~\nnull2: null\nempty:\nt: true\nf: FALSE\n",
    "ts: 2021-01-01\nsexa: 1:20\nver: 1.2.3\nq1: 'quoted 1'\nq2: \"2\"\nlit: |\n  line\n  two\nfold: >\n  a\n  b\n",
    "seq:\n- 1\n- two\n- [3, 4.5, {x: y}]\n- {}\n- []\n-\n- - nested\n  - 2\n",
    "1: int key\n1.5: float key\ntrue: bool key\n0x10: hex key\n.inf: inf key\n.nan: nan key\n",
    "dup: 1\ndup: 2\nother: 3\n",
    "flow: {a: 1, b: [x, y], 'c': \"d\"}\n",
    "- top\n- level\n- sequence\n",
    "just a scalar\n",
    "42\n",
    "---\nexplicit: start\n...\n",
    'html: <b>&amp;</b>\nunicode: é ü 😀\nesc: "\\t\\u00e9\\x41"\n',
    "k: 1e400\nl: -.5e-3\nm: 08\nn: 1.\no: +.inf is text\n",
    "multi: this is\n  a folded plain\n  scalar\n",
    "# comment only before\nkey: value # comment after\n",
    # the quick cases of the event path next to their neighbours: words, decimal integers
    "w: [o, on, On, ON, oN, off, n, no, No, nO, y, yes, t, true, tRUE, f, false, ~, ~x, type, null, Null, nULL]\n",
    "d: [1, 9, 10, 123456789012345678, 1234567890123456789, 9223372036854775807, 9223372036854775808]\n",
    "z: [0, 00, 01, 08, 0x1, 1_0, 1.0, 1e1, 1a, 1-2, 12:30, '\u0661\u0662', \u0661\u0662, \u00b2]\n",
    "1: a\n10: b\n123456789012345678901: c\nno: d\n~x: e\n",
    "spec:\n  versions:\n  - name: v1\n    served: true\n    schema:\n      openAPIV3Schema:\n        type: object\n",
    # "&" and "!" in text only (no anchor, no tag): the loop reads anchors and tags, finds none
    "a: 'x & y'\nb: \"hi!\"\nc: a&b\nd: wow!\n",
]

# tagged values (not keys): go-yaml's resolve of the tag; a collection's tag is dropped
COMMON += [
    "a: !!str 1\nb: ! 1\nc: !custom {b: 1}\nd: !!int 0x10\ne: !!float 1\nf: !!binary aGk=\n",
    "g: !!bool yes\nh: !!null ~\ni: !!timestamp 2001-01-01\nj: !foo bar\nk: !!str [x, !!int '1']\n",
    "l: !!float 9223372036854775807\nm: !!int 18446744073709551615\nn: !<tag:yaml.org,2002:str> 5\n",
    "%TAG !e! tag:example.com,2000:\n---\no: !e!x 1\np: !!binary |\n  aG\n  k=\n",
    '- ! "2"\n- !!str\n- !!map {}\n',
]

# anchors and aliases within go-yaml's rules: each alias is its anchor's value again
COMMON += [
    "a: &x {b: 1}\nc: *x\n",
    "a: &x 1\n",  # an anchor alone
    "a: &x 1\nb: *x\nc: &f 1.5\nd: *f\ne: &y yes\nf: *y\ng: &n ~\nh: *n\ni: &q 'yes'\nj: *q\n",
    "&k 0x10: a\nb: *k\n&w on: c\nd: [*w, *k]\n",  # an anchored key, its alias a value
    "a: &s [1, &m {b: [2, 3]}, c]\nd: *s\ne: *m\nf: {g: *s, h: [*m, *m]}\n",
    "&root {a: &big 18446744073709551616, b: *big}\n",
]

# documents the event path must leave to the node tree
LEFT_ALONE = [
    "a: &x 1\n*x : 2\n",  # an alias as a key
    "a: &x [1]\nb: &x [2]\nc: *x\n",  # a redefined anchor: the node tree's error
    "a: &x [1, *x]\n",  # an alias inside its own anchor's node
    "a: &x {b: *x}\n",
    "a: &x .nan\nb: *x\n",
    "a: !!str &x 1\nb: *x\n",  # an anchored tagged scalar
    "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n",  # an alias bomb
    "a: *x\n",  # an alias in a text without "&" or "!" (the loop skips anchor and tag reads there)
    "a: [b, *x]\nc: d\n",
    "!!str 1: tagged key\n",
    "! <<: {x: 1}\n",
    "a: !!int x\n",  # a tag the text does not fit: the node tree's error
    "a: !!float .nan\n",
    "a: !!binary aGk\n",
    "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n",  # merge key
    "m:\n  <<: {x: 1}\n",
    "? [a, b]\n: complex key\n",
    "? {a: 1}\n: complex key\n",
    "~: null key\n",
    ": empty key\n",
    "a: .nan\n",
    "a: [.inf]\n",
    "a: -.Inf\n",
    "a: 1\n---\nb: 2\n",  # a second document
    "a: [1, 2\n",  # scanner error
    "a: b: c\n",
    "\t- tab\n",
    "",
    "# only a comment\n",
    "[" * 300 + "]" * 300,  # deeper than the event path goes
]


@pytest.mark.parametrize("text", COMMON)
def test_event_path_answers_as_the_node_tree(text: str) -> None:
    fast = _load_events(text)
    assert fast is not None, "the event path should read this document"
    slow = _load_nodes(text)
    assert _typed(fast[0]) == _typed(slow[0])
    assert fast[1] == slow[1]
    assert load_yaml_flagged(text) == fast


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_event_path_leaves_unusual_documents_to_the_node_tree(text: str) -> None:
    assert _load_events(text) is None
    try:
        slow: Any = _load_nodes(text)
    except DecodeError as exc:
        with pytest.raises(DecodeError) as got:
            load_yaml_flagged(text)
        assert str(got.value) == str(exc)
    else:
        assert _typed(load_yaml_flagged(text)[0]) == _typed(slow[0])


def test_event_path_agrees_on_every_yaml_file_of_the_test_data() -> None:
    files = sorted(p for p in DATA.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    assert len(files) >= 10
    answered = 0
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        fast = _load_events(text)
        if fast is None:
            continue
        answered += 1
        slow = _load_nodes(text)
        assert _typed(fast[0]) == _typed(slow[0]), path.name
        assert fast[1] == slow[1], path.name
    assert answered >= len(files) // 2
