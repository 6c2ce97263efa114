"""Anchors and aliases in the event loops (C and Python) answer exactly as the node tree, or stand aside.

Both loops read a document with anchors and aliases themselves (an alias is its anchor's value
again, an independent copy; an aliased plain scalar is resolved again where it stands) and hand
the node tree (goyamlnodes, the reference) what they do not reproduce: an alias as a key, an
undefined or redefined anchor, an alias inside its own anchor's node, a merge key, an expansion past
their depth, and any document whose aliased decodes could come near go-yaml's excessive-aliasing
share.  Here: where a loop answers, the node tree gives the same value (types, key order) and
numbers flag; where the node tree fails, both loops stand aside (so the error is the node tree's);
the C loop answers wherever the Python loop does (no tag involved) and the reader gives the same
with the C loop on and off (via test_goyaml_cext.agree).
"""

from __future__ import annotations

import random
import sys
import tracemalloc
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regfix.bundles import registry_v1_bundle

from imgextract.catalog.render import goyaml, goyamlevents, goyamlnodes
from imgextract.catalog.render.goyamlnodes import _load_nodes

from .test_goyaml_cext import EXT, _c_loop_on, _outcome, _typed, agree
from .test_goyaml_events import COMMON

__all__ = ["_c_loop_on"]  # (the autouse fixture: the C loop on, or the module skipped without it)

_EXCESSIVE = "error converting YAML to JSON: yaml: document contains excessive aliasing"


def _tree(text: str | bytes) -> Any:
    got = _outcome(lambda: _load_nodes(text))
    return ("ok", _typed(got[1][0]), got[1][1]) if got[0] == "ok" else got


def check(text: str | bytes) -> tuple[bool, bool]:
    """Both loops against the node tree (and the C loop against the Python loop); which answered."""
    agree(text)
    tree = _tree(text)
    answered = []
    for load in (goyaml._c_events, goyamlevents._load_events):
        fast = _outcome(lambda load=load: load(text))  # type: ignore[misc]
        assert fast[0] == "ok", (text, fast)
        if fast[1] is not None:
            assert tree == ("ok", _typed(fast[1][0]), fast[1][1]), text
        answered.append(fast[1] is not None)
    return answered[0], answered[1]


# documents both loops must answer (the node tree's value)
ANSWERED = [
    "a: &x 1\nb: *x\nc: &f 1.5\nd: *f\ne: &y yes\nf: *y\ng: &n ~\nh: *n\ni: &q 'yes'\nj: *q\n",
    "a: &x\nb: *x\nc: &e ''\nd: *e\n",  # empty: null; quoted empty: the text
    "a: &h 0x1F\nb: *h\nc: &o 017\nd: *o\ne: &t 2001-01-01\nf: *t\ng: &s 1:20\nh: *s\n",
    "a: &b 9223372036854775808\nb: *b\nc: &u 18446744073709551616\nd: [*u, *u]\n",
    "a: &w type\nb: *w\nc: &o on\nd: *o\ne: &O Off\nf: *O\ng: &N NULL\nh: *N\n",  # words
    "&k 0x10: a\nb: *k\n&w on: c\nd: [*w, *k]\n&z '1': e\nf: *z\n",  # anchored keys, aliases as values
    "&m <<x: a\nb: *m\n",
    "&k 1.5: a\nb: *k\n",  # a key's alias that is a number: the numbers flag comes from the alias alone
    "&k 9223372036854775808: a\nb: [*k]\n",
    "&k 18446744073709551616: a\nb: *k\n",
    "a: &s [1, &m {b: [2, 3]}, c]\nd: *s\ne: *m\nf: {g: *s, h: [*m, *m]}\n",
    "a: &s\n- 1\n- x: &i [y, 2.5]\n  z: *i\nb: *s\nc:\n- *s\n- *i\n",
    "&root {a: &big 18446744073709551616, b: *big, c: &l [], d: *l, e: &d {}, f: *d}\n",
    "- &a [1]\n- &b [*a, *a]\n- &c [*b, *b]\n- [*c, *c]\n",  # nested expansions, a small bomb
    "a: &d {k: 1, k: [2], j: 3}\nb: *d\n",  # a duplicate key in an anchored mapping
    "a: &x {b: 1}\nc: *x\nd: {e: *x, f: [*x, {g: *x}]}\n",
    "[&a 1, *a, &b [*a], *b, {k: *b}]\n",
    "a: &a x\nb: &b [*a, *a]\nc: [*b, *b, *a]\n",
    '{"a": &x {"b": [1, null]}, "c": *x}\n',
    "a: &x [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + "".join(f"b{i}: *x\n" for i in range(8)),
]

# documents both loops must leave to the node tree
LEFT = [
    "a: &x 1\n*x : 2\n",  # an alias as a key
    "a: &x [1]\n? *x\n: 2\n",
    "a: &x [1]\nb: &x [2]\nc: *x\n",  # a redefined anchor (the node tree's composer refuses it)
    "a: &x 1\nb: &x 2\n",
    "&x a: &x 1\n",
    "a: &x [1, *x]\n",  # an alias inside its own anchor's node
    "a: &x {b: *x}\n",
    "a: &x {b: [c, {d: *x}]}\n",
    "a: *nowhere\n",  # an undefined alias
    "a: [*b]\nb: &b 1\n",  # an alias before its anchor
    "a: &x .nan\nb: *x\n",
    "&k .nan: a\nb: *k\n",  # a key's alias that is NaN
    "&k -.inf: a\nb: [*k]\n",
    "a: &x 1\nb: *x\n---\nc: 1\n",  # a second document
    "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n",  # merge keys
    "base: &b {x: 1}\nm:\n  <<: [*b, {z: 3}]\n",
    "m: &l {<<: {x: 1}}\nn: *l\n",
]


@pytest.mark.parametrize("text", ANSWERED)
def test_both_loops_answer_anchored_documents_as_the_node_tree(text: str) -> None:
    assert check(text) == (True, True), text
    assert check(text.encode("utf-8")) == (True, True), text


@pytest.mark.parametrize("text", LEFT)
def test_both_loops_leave_what_they_do_not_reproduce_to_the_node_tree(text: str) -> None:
    assert check(text) == (False, False), text
    assert check(text.encode("utf-8")) == (False, False), text


def test_an_alias_is_an_independent_copy_in_both_loops() -> None:
    text = "a: &x {b: [1, {c: d}], e: 2}\nf: *x\ng: [*x, *x]\n"
    for load in (goyaml._c_events, goyamlevents._load_events):
        got = load(text)
        assert got is not None
        value = got[0]
        copies = [value["a"], value["f"], *value["g"]]
        for i, one in enumerate(copies):
            for other in copies[i + 1 :]:
                assert one is not other
                assert one["b"] is not other["b"] and one["b"][1] is not other["b"][1]
        value["f"]["b"][1]["c"] = "changed"
        value["g"][0]["e"] = 3
        assert value["a"] == {"b": [1, {"c": "d"}], "e": 2} == value["g"][1]


def test_the_render_benchmarks_crd_shape() -> None:
    """PyYAML-dumped CRDs share their schema through ``&id001``/``*id001``: both loops read them."""
    files = registry_v1_bundle(large_crd_bytes=40_000, crd_salt="salt").files
    shared = [data for path, data in files.items() if path.endswith(".yaml") and b"*id001" in data]
    assert shared
    for data in shared:
        assert check(data) == (True, True)
        assert check(data.decode("utf-8")) == (True, True)
    schema = {"type": "object", "properties": {"spec": {"type": "object", "x-n": 1.5}}}
    versions = [{"name": f"v{i}", "served": True, "schema": {"openAPIV3Schema": schema}} for i in range(3)]
    text = yaml.safe_dump({"kind": "CustomResourceDefinition", "spec": {"versions": versions}})
    assert "&id001" in text and text.count("*id001") == 2
    assert check(text) == (True, True)


def _bomb(width: int, levels: int) -> str:
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    lines.append(f"top: [{', '.join([f'*l{levels - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("width", "levels"), [(10, 9), (9, 6), (4, 12), (2, 40), (100, 3)])
def test_alias_bombs_are_the_node_trees_error_and_never_expand(width: int, levels: int) -> None:
    """Billion laughs: both loops stand aside before expanding (bounded memory), and the reader gives
    the node tree's excessive-aliasing error whether the C loop is on or off."""
    text = _bomb(width, levels)
    for load in (goyaml._c_events, goyamlevents._load_events):
        tracemalloc.start()
        try:
            assert load(text) is None
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2_000_000, (load, peak)
    if width**levels <= 10**7:  # (the node tree itself walks up to its limit)
        for c_on in (True, False):
            saved = goyaml._C_LOAD
            goyaml._C_LOAD = saved if c_on else None
            try:
                with pytest.raises(goyaml.DecodeError) as got:
                    goyaml.load_yaml_flagged(text)
            finally:
                goyaml._C_LOAD = saved
            assert str(got.value) == _EXCESSIVE


@pytest.mark.parametrize("size", [1, 10, 150])
def test_near_go_yamls_alias_limit_the_loops_answer_only_what_the_node_tree_accepts(size: int) -> None:
    """Many aliases of one anchor around the threshold (100 aliased decodes past 1000 decodes at a
    share of 0.99), with plain nodes besides: wherever the node tree fails, both loops stand aside;
    wherever a loop answers, it is the node tree's value."""
    anchor = "a: &a [" + ", ".join(str(i) for i in range(size)) + "]\n"
    seen_error = seen_answer = 0
    for aliases in (1, 5, 20, 100, 400, 1000):
        for plain in (0, 10, 300, 3000):
            text = anchor + "".join(f"p{i}: x\n" for i in range(plain)) + "b: [" + "*a, " * aliases + "]\n"
            c, py = check(text)
            tree = _tree(text)
            if tree[0] == "error":
                assert tree[2] == _EXCESSIVE
                seen_error += 1
            else:
                seen_answer += c
    assert seen_answer > 10
    assert seen_error > 0 or size < 100  # (a share past 0.99 needs an anchor of 100 nodes)


def test_an_expansion_past_the_loops_depth_is_left_to_the_node_tree() -> None:
    deep = "[" * 150 + "]" * 150
    assert check(f"a: &d {deep}\nb: *d\n") == (True, True)
    # "b:" opens one collection: 1 + 49 + 150 levels is the loops' limit, 200
    assert check(f"a: &d {deep}\nb: {'[' * 49}*d{']' * 49}\n") == (True, True)
    assert check(f"a: &d {deep}\nb: {'[' * 50}*d{']' * 50}\n") == (False, False)
    assert check(f"a: &d {deep}\nb: {'[' * 51}*d{']' * 51}\n") == (False, False)
    # aliases nested in aliases: each anchor 40 levels deeper than the one it holds
    chain = ["a0: &a0 " + "[" * 40 + "]" * 40]
    for i in range(1, 8):
        chain.append(f"a{i}: &a{i} " + "[" * 40 + f"*a{i - 1}" + "]" * 40)
    assert check("\n".join(chain) + "\n") == (False, False)
    assert check("\n".join(chain[:4]) + "\n") == (True, True)


def _tree_counts(text: str) -> tuple[int, int]:
    """The node tree's alias accounting after its whole walk: (aliased decodes, decodes)."""
    loader = goyamlnodes._Loader(text)
    try:
        walk = goyamlnodes._Walk(loader)
        assert loader.check_node()
        walk.value(loader.get_node())
        return walk.aliases, walk.decodes
    finally:
        loader.dispose()


@pytest.mark.parametrize(
    "anchor",
    [
        "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]",
        "{a: 1, b: [2, 3], c: {d: e}, f: [g, h, i]}",
        "[[1, [2]], {k: [x, y]}, {}, []]",
        "{k: [1, 2], k: 3, j: [[4]]}",  # a duplicate key's lost value counts too
        "[" + ", ".join(["[x, {y: z}]"] * 12) + "]",
    ],
)
def test_the_loops_alias_bound_is_the_node_trees_own_count(anchor: str) -> None:
    """With every alias at the end, the loops' count of aliased decodes and decodes is the node
    tree's, exactly: they stand aside precisely where that count passes 100 aliased decodes at a
    share past 0.9 (the node tree's own error comes only past 0.99)."""
    decided = set()
    for aliases in range(1, 400, 7):
        text = f"a: &a {anchor}\nb: {{p: &p [q, [r]], s: *p}}\nc: [" + "*a, " * aliases + "]\n"
        counted, decodes = _tree_counts(text)
        aside = counted > 100 and counted * 10 > decodes * 9
        assert check(text) == (not aside, not aside), (text, counted, decodes)
        decided.add(aside)
    assert decided == {True, False}


def test_past_300000_decodes_the_loops_leave_a_document_with_aliases_to_the_node_tree() -> None:
    """(go-yaml's allowed share falls past 400,000 decodes: such documents are the node tree's.)"""
    shared = "a: &a [" + ", ".join(["x"] * 150) + "]\nb: *a\n"
    big = "c:\n" + "- x\n" * 300_000
    for load in (goyaml._c_events, goyamlevents._load_events):
        assert load(shared + big) is None
        assert load(shared + big[: -4 * 400]) is not None  # (300,000 - 91 decodes)
        assert load("a: &a [x]\nb: *a\n" + big) is not None  # (few aliased decodes)


_SCALAR = st.one_of(
    st.text(alphabet=st.sampled_from("aynoOT~01.5xe-: "), max_size=6),
    st.integers(min_value=-(1 << 66), max_value=1 << 66),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_LEAF = st.recursive(
    _SCALAR,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text("abk", max_size=2), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def _shared_documents(draw: st.DrawFn) -> Any:
    """A value whose collections appear more than once, some inside others (yaml.dump writes them
    as &idNNN/*idNNN): at least the first of them twice."""
    pool: list[Any] = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        part = (st.sampled_from(pool) | _LEAF) if pool else _LEAF
        keys = st.text("xyz", max_size=2)
        pool.append(draw(st.lists(part, max_size=3) | st.dictionaries(keys, part, max_size=3)))
    picks = st.sampled_from(pool)
    doc = draw(
        st.recursive(
            picks | _SCALAR,
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text("pqr", max_size=2), inner, max_size=4)
            ),
            max_leaves=12,
        )
    )
    return {"first": pool[0], "doc": doc, "again": [pool[0], pool[-1]]}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_shared_documents(), flow=st.sampled_from([None, True, False]))
def test_both_loops_agree_with_the_node_tree_on_generated_shared_documents(
    doc: Any, flow: bool | None
) -> None:
    text = yaml.dump(doc, default_flow_style=flow)
    check(text)


_PIECES = [
    "&a ",
    "&b ",
    "*a",
    "*b",
    " *a",
    "&a [",
    "*a]",
    "[*a, *b]",
    "{k: *a}",
    "\n- *a",
    "\nz: *b\n",
    "&a",
    "<<: *a\n",
]


def _anchored_mutants(text: str, seed: int, n: int) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        t = text
        for _ in range(rnd.randrange(1, 4)):
            pos = rnd.randrange(len(t) + 1)
            t = t[:pos] + rnd.choice(_PIECES) + t[pos + rnd.choice((0, 0, 1)) :]
        out.append(t)
    return out


def test_both_loops_agree_with_the_node_tree_on_mutated_documents() -> None:
    answered = 0
    for seed, text in enumerate(COMMON + ANSWERED):
        for mutant in _anchored_mutants(text, seed, 40):
            c, py = check(mutant)
            answered += c
    assert answered > 100


def test_the_c_loop_keeps_the_reference_counts_of_its_inputs() -> None:
    """Over many calls, answered and stood aside, on anchored documents: the text, the callbacks and
    the words map keep their reference counts, and memory stays flat."""
    texts = [t.encode("utf-8") if i % 2 else t for i, t in enumerate(ANSWERED + LEFT + [_bomb(10, 5)])]
    value, key, words = goyaml._c_value, goyaml._c_key, goyaml._RESOLVE_MAP
    args = (goyaml._C_FIRST, value, key, goyamlevents._EVENTS_MAX_DEPTH, goyaml._C_VERBATIM, words)

    def calls(n: int) -> None:
        for _ in range(n):
            for text in texts:
                EXT.load(text, *args)

    calls(20)
    before = [sys.getrefcount(x) for x in (*texts, value, key, words)]
    tracemalloc.start()
    try:
        mem = tracemalloc.get_traced_memory()[0]
        calls(300)
        grown = tracemalloc.get_traced_memory()[0] - mem
    finally:
        tracemalloc.stop()
    assert [sys.getrefcount(x) for x in (*texts, value, key, words)] == before
    assert grown < 20_000
