"""The C event loop (``_goyamlc``, optional) answers exactly as goyaml's Python event loop, or stands aside.

``load_yaml_flagged`` tries the C loop first when it was built; where it answers, its value (types,
key order) and number flag must be the Python loop's, and where the Python loop stands aside (hands
the document to the node tree) the C loop must too.  It may stand aside more often only for tags
(it leaves every tagged document to the Python loop).  (Documents with anchors and aliases:
test_goyaml_cext_aliases.py holds both loops to the node tree.)  And the whole reader gives the same values
and the same errors with the C loop on and off.  Checked on every YAML file of the test data, the
fixture bundles, hand-picked and hostile documents, generated documents, and mutated and truncated
copies of them all.

CI sets IMGEXTRACT_REQUIRE_CEXT=1 (.ci/run): there the extension must have been built, so these
tests cannot quietly pass on the Python loop alone (and test_goyaml_cext_built.py fails).
"""

from __future__ import annotations

import codecs
import functools
import os
import random
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from regfix.bundles import fbc_catalog, plain_v0_bundle, registry_v1_bundle

from imgextract.catalog.render import goyaml, goyamlevents

from .test_goyaml_events import COMMON, LEFT_ALONE

ROOT = Path(__file__).resolve().parents[3]
REQUIRED = bool(os.environ.get("IMGEXTRACT_REQUIRE_CEXT"))


def _extension() -> Any:
    try:
        return __import__("imgextract.catalog.render._goyamlc", fromlist=["load"])
    except ImportError:
        return None


EXT = _extension()


@pytest.fixture(autouse=True)
def _c_loop_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test below compares the C loop with the Python one (the C loop on even where the
    environment switched it off for the rest of the suite)."""
    if EXT is None:
        if REQUIRED:
            pytest.fail("IMGEXTRACT_REQUIRE_CEXT is set but the C extension was not built")
        pytest.skip("the C extension is not built here (CI requires it)")
    monkeypatch.setattr(goyaml, "_C_LOAD", EXT.load)


def _typed(v: Any) -> Any:
    """A value with every scalar's type spelled out (1 == 1.0 == True in Python), keys in order."""
    if v.__class__ is dict:
        return ("map", [(_typed(k), _typed(x)) for k, x in v.items()])
    if v.__class__ is list:
        return ("seq", [_typed(x) for x in v])
    return (type(v).__name__, repr(v))


def _has_tag(text: str | bytes) -> bool:
    """Whether PyYAML's parser sees a tag or a %TAG directive before it stops."""
    try:
        for e in yaml.parse(text, Loader=yaml.CSafeLoader):
            if getattr(e, "tag", None) is not None or getattr(e, "tags", None):
                return True
    except (yaml.YAMLError, ValueError, TypeError):
        pass
    return False


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return ("ok", call())
    except Exception as exc:  # the same exception, type and words, from both paths
        return ("error", type(exc).__name__, str(exc))


def _full(text: str | bytes, c_on: bool) -> Any:
    saved = goyaml._C_LOAD
    goyaml._C_LOAD = saved if c_on else None
    try:
        got = _outcome(lambda: goyaml.load_yaml_flagged(text))
    finally:
        goyaml._C_LOAD = saved
    return (got[0], _typed(got[1][0]), got[1][1]) if got[0] == "ok" else got


def agree(text: str | bytes) -> bool:
    """The C loop answers as the Python loop, or stands aside where that one does (or for a tag);
    the reader gives the same with the C loop on and off.  True when the C loop answered."""
    py = _outcome(lambda: goyamlevents._load_events(text))
    c = _outcome(lambda: goyaml._c_events(text))
    if py[0] == "error" or c[0] == "error":
        assert c == py, text
        return False
    fast, slow = c[1], py[1]
    if fast is not None:
        assert slow is not None, text
        assert _typed(fast[0]) == _typed(slow[0]), text
        assert fast[1] is slow[1], text
    elif slow is not None:
        assert _has_tag(text), f"the C loop stood aside where the Python loop answers: {text!r}"
    assert _full(text, True) == _full(text, False), text
    return fast is not None


def _forms(text: str) -> Iterator[str | bytes]:
    """The text as str, UTF-8 bytes, and the byte forms with a BOM libyaml reads (UTF-16 too)."""
    yield text
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return
    yield data
    yield codecs.BOM_UTF8 + data
    yield codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    yield codecs.BOM_UTF16_BE + text.encode("utf-16-be")


def _yaml_files() -> list[Path]:
    tops = (ROOT / "tests", ROOT / "registry-fixtures", ROOT / "benchmarks", ROOT / "docs")
    return sorted(p for top in tops for p in top.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _fixture_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for name, fixture in (
        ("v1", registry_v1_bundle(large_crd_bytes=40_000, crd_salt="salt")),
        ("v0", plain_v0_bundle()),
        ("fbc", fbc_catalog()),
    ):
        for path, data in fixture.files.items():
            if path.endswith((".yaml", ".yml", ".json")):
                files[f"{name}:{path}"] = data
    return files


def _corpus() -> dict[str, str]:
    texts = {str(p.relative_to(ROOT)): p.read_bytes().decode("utf-8", "replace") for p in _yaml_files()}
    texts.update((k, v.decode("utf-8", "replace")) for k, v in _fixture_files().items())
    return texts


CORPUS = _corpus()

HOSTILE = [
    *("[" * n + "]" * n for n in (198, 199, 200, 201, 300)),
    *("".join("  " * i + "a:\n" for i in range(n)) + "  " * n + "b\n" for n in (198, 199, 200, 201)),
    *("{a: " * n + "x" + "}" * n for n in (199, 200, 201)),
    "- " * 199 + "x\n",
    "- " * 200 + "x\n",
    "a: b\n\x00",
    "a: \ud800\n",  # a lone surrogate: no UTF-8 to hand libyaml
    "a: '\u2028\u0085'\nb: \"\\0\\x00\\u0000\\U0001F600\"\n",
    '"\\ud800": x\n',
    "a: !<tag:%ED%A0%80> 1\n",
    "%TAG !e! tag:%ED%A0%80\n---\na: 1\n",
    "%YAML 1.1\n---\na: 1\n",
    "%YAML 1.2\n---\na: 1\n",
    "%YAML 2.0\n---\na: 1\n",
    "a: 1\n...\n---\n",
    "a: 1\n...\n",
    "a: 1\n--- |\n  x\n",
    "--- >\n  folded\n",
    "? a\n? b\n: c\n",
    "{? a, b: c, ? : d}\n",
    "[a: b, c: d, {e: f}: g]\n",
    "<<: x\n",
    "'<<': x\n",
    "a: {<<: {b: 1}}\n",
    "a:\n  - <<\n  - <<: 1\n",
    "0: a\n00: b\n-0: c\n+0: d\n0.0: e\n-0.0: f\n1e3: g\n.5: h\n0x_1: i\n",
    "a: 9223372036854775807\nb: 9223372036854775808\nc: -9223372036854775808\nd: -9223372036854775809\n",
    "a: 18446744073709551615\nb: 18446744073709551616\nc: 0x10000000000000000\nd: 1" + "0" * 400 + "\n",
    "a: 1" + "0" * 5000 + "\n",
    "a: 0b" + "1" * 70 + "\nb: 0o" + "7" * 30 + "\nc: -0x" + "f" * 20 + "\n",
    "a: 1e308\nb: 1e309\nc: -1e309\nd: 4.9e-324\ne: 1e-400\n",
    "~: a\n",
    "null: a\n",
    ".inf: a\n.NaN: b\n-.inf: c\n",
    "true: a\nyes: b\nOn: c\nn: d\n",
    "a: [~, null, Null, NULL, nULL, '', \"\"]\n",
    "\ufeffa: 1\n",
    "a: 1\n\ufeff",
    "é: ü\n😀: [😀]\n",
    "a:\tb\n",
    "a: |\n  \ttab\n",
    "- a\n-b\n",
    "a: b\n  c: d\n",
    "a: 'unterminated\n",
    "*alias\n",
    "&anchor a\n",
    "!tag a\n",
    "!!str\n",
    "- !!map {}\n",
    "x" * 70000 + ": long key\n",
    "a: " + "y" * 200000 + "\n",
]

STRUCTURAL = [
    "\n",
    " ",
    ":",
    "- ",
    "? ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "#",
    "&a ",
    "*a",
    "!",
    "!!str ",
    "'",
    '"',
    "|",
    ">",
    "---\n",
    "...\n",
    "<<",
    "~",
    "0x",
    "1e3",
    ".nan",
    "\t",
    "\\",
    "%",
    "\u00e9",
    "\ufeff",
]


def _mutants(text: str, seed: int, n: int) -> Iterator[str]:
    rnd = random.Random(seed)
    head = text[:6000]
    for i in range(1, 9):  # truncations
        yield head[: len(head) * i // 9]
    for _ in range(n):
        pos = rnd.randrange(len(head) + 1)
        piece = rnd.choice(STRUCTURAL)
        cut = rnd.choice((0, 0, 1, 2))
        yield head[:pos] + piece + head[pos + cut :]
    lines = head.splitlines(keepends=True)
    for _ in range(n // 2):
        if len(lines) > 1:
            i, j = sorted(rnd.sample(range(len(lines)), 2))
            yield "".join(lines[:i] + lines[j:])  # a run of lines left out
            yield "".join(lines[: j + 1] + lines[i : j + 1] + lines[j + 1 :])  # a run repeated


def test_c_loop_agrees_on_every_yaml_file_and_fixture_bundle() -> None:
    assert len(CORPUS) >= 25, sorted(CORPUS)
    answered = 0
    for text in CORPUS.values():
        for form in _forms(text):
            answered += agree(form)
    assert answered >= len(CORPUS) * 3  # (most files: every form)


@pytest.mark.parametrize("text", COMMON + LEFT_ALONE + HOSTILE)
def test_c_loop_agrees_on_chosen_documents(text: str) -> None:
    for form in _forms(text):
        agree(form)


def test_c_loop_answers_the_common_documents() -> None:
    untagged = [t for t in COMMON if not _has_tag(t)]
    assert len(untagged) >= 20
    assert all(agree(t) for t in untagged)


def test_c_loop_agrees_where_short_texts_repeat() -> None:
    """The C loop hands back a short ASCII text it decoded before as the same str (a slot per hash,
    the last text of that hash kept): keys and values repeated across mappings, more distinct texts
    than slots, texts of one length differing in a byte, non-ASCII texts of the same byte length,
    the longest text kept and the first one too long, words, quoted and empty texts."""
    edge = ["a" * 32, "a" * 31 + "b", "a" * 33, "\u00e9t\u00e9", "\u00e9tf", "etfe", "on", "No", ""]
    texts = [f"k{i}" for i in range(700)] + [f"k{i}x" for i in range(0, 700, 7)] + edge
    rnd = random.Random(12)
    lines = []
    for m in range(60):
        lines.append(f"m{m}:")
        for key in rnd.sample(texts, 25):
            value = rnd.choice([*texts, "~", "0", "1.5"])
            quoted = rnd.random() < 0.2
            plain_key = key or "''"
            lines.append(f"  '{key}': '{value}'" if quoted else f"  {plain_key}: {value}")
        lines.append(f"  list: [{', '.join(rnd.choice(texts[:50]) for _ in range(8))}]")
    text = "\n".join(lines) + "\n"
    for form in _forms(text):
        assert agree(form)
    got = goyaml._c_events("a: {type: x, description: x}\nb: {type: y, description: y}\n")
    assert got is not None
    a, b = (list(got[0][m]) for m in ("a", "b"))
    assert a == b == ["type", "description"]
    assert a[0] is b[0] and a[1] is b[1]  # one str per text: decoded, and its hash computed, once


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_c_loop_agrees_on_mutated_and_truncated_documents(name: str) -> None:
    for i, text in enumerate(_mutants(CORPUS[name], zlib.crc32(name.encode()), 40)):
        agree(text)
        if i % 8 == 0:
            agree(text.encode("utf-8", "surrogatepass"))  # (bytes: invalid UTF-8 among them)


def test_c_loop_agrees_on_mutated_chosen_documents() -> None:
    for seed, text in enumerate(COMMON + HOSTILE[:20]):
        for mutant in _mutants(text, seed, 15):
            agree(mutant)


_SCALAR_TEXT = st.text(
    alphabet=st.sampled_from("aAyYnNtTfFoO~+-._0123456789xXbBeE:#&*!|>'\"%@` ,[]{}?\\\t\né😀\u0085"),
    max_size=12,
)
_SCALARS = st.one_of(
    _SCALAR_TEXT,
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_SCALARS, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=_VALUES,
    flow=st.sampled_from([None, True, False]),
    style=st.sampled_from([None, "'", '"', "|", ">"]),
    unicode=st.booleans(),
)
def test_c_loop_agrees_on_generated_documents(
    value: Any, flow: bool | None, style: str | None, unicode: bool
) -> None:
    text = yaml.dump(value, default_flow_style=flow, default_style=style, allow_unicode=unicode)
    for form in _forms(text):
        agree(form)


_FRAGMENTS = st.sampled_from(
    [*STRUCTURAL, "a", "b: ", "key: value", "- item", "  ", "    ", "1", "-1", "0o17", "yes", "null", "é"]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=30))
def test_c_loop_agrees_on_generated_fragments(parts: list[str]) -> None:
    text = "".join(parts)
    agree(text)
    agree(text.encode("utf-8"))


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2\n",  # libyaml's error
        "a: &x 1\n*x : 2\n",  # an alias as a key
        "a: &x [1]\nb: &x [2]\n",  # a redefined anchor
        "a: &x {b: [1, c], d: *x}\n",  # an alias inside its own anchor's node
        "a: &x {b: [1, c]}\nd: *y\n",  # an undefined alias
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [" + "*a, " * 10 + "]\nc: [" + "*b, " * 10 + "]\n",
        "a: 1\n---\nb: 2\n",  # a second document
        "[" * 250 + "]" * 250,  # too deep, with 200 collections open at once
        "? [a]\n: b\n",  # a collection as a key
        "a: .nan\n",  # NaN
        "~: a\n",  # a null key
        "a: !!int x\n",  # a tag
        "a: b\n\xff",  # (as str: libyaml's reader error)
        b"a: b\n\xff",  # invalid UTF-8
        "a: \ud800",  # no UTF-8 at all
        "a:\n  b: [1, {c: d, e: [f, g]}]\n  h: 1\nbad: [\n",  # a half-built tree dropped
    ],
)
def test_c_loop_leaks_nothing_where_it_stands_aside(text: str | bytes) -> None:
    """Each way out of the C loop releases what it built: Python memory stays flat over 3000 calls
    (a lost string or dict a call would be some 150 kB)."""
    load = EXT.load
    args = (goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, goyamlevents._EVENTS_MAX_DEPTH)

    def calls(n: int) -> None:
        for _ in range(n):
            try:
                assert load(text, *args) is None
            except UnicodeEncodeError:
                pass

    calls(300)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        calls(3000)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 20_000


def test_c_loop_refuses_bad_arguments() -> None:
    load = EXT.load
    with pytest.raises(TypeError):
        load("a: 1")
    with pytest.raises(ValueError):
        load("a: 1", "é", goyaml._c_value, goyaml._c_key, 200)
    with pytest.raises(ValueError):
        load("a: 1", goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 10**6)
    assert load(bytearray(b"a: 1"), goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 200) is None
    with pytest.raises(TypeError):  # the words come with their first characters, and as a dict
        load("a: 1", goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 200, goyaml._C_VERBATIM)
    with pytest.raises(TypeError):
        load("a: 1", goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 200, "y", frozenset(["y"]))
    with pytest.raises(ValueError):  # a verbatim character the callbacks would not see anyway
        load("a: 1", goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 200, "a", {})
    assert goyamlevents._load_events(bytearray(b"a: 1")) is None  # type: ignore[arg-type]  # (nor PyYAML's CParser)


def test_c_loop_keeps_a_word_the_map_does_not_hold_without_a_callback() -> None:
    """With ``verbatim_first`` and ``words`` (what goyaml passes to an extension of API 2), a plain
    scalar starting with a word character calls back only when it is a key of the map; the rest
    call back as before, and the document reads the same either way."""
    assert EXT.API >= 2 and goyaml._C_WORDS
    calls: list[str] = []

    def value(s: str) -> Any:
        calls.append(s)
        return goyaml._c_value(s)

    def key(s: str) -> str | None:
        calls.append(s)
        return goyaml._c_key(s)

    text = "type: object\nname: yes\non: off\nformat: ~\nn: 1\nTrue: ''\nx: [o, Off, ~x, '']\n"
    words = EXT.load(text, goyaml._C_FIRST, value, key, 200, goyaml._C_VERBATIM, goyaml._RESOLVE_MAP)
    assert calls == ["yes", "on", "off", "~", "n", "1", "True", "Off"]
    calls.clear()
    plain = EXT.load(text, goyaml._C_FIRST, value, key, 200)
    assert calls == [
        "type",
        "object",
        "name",
        "yes",
        "on",
        "off",
        "format",
        "~",
        "n",
        "1",
        "True",
        "o",
        "Off",
        "~x",
    ]
    slow = goyamlevents._load_events(text)
    assert words is not None and plain is not None and slow is not None
    assert _typed(words[0]) == _typed(plain[0]) == _typed(slow[0])
    assert words[1] is plain[1] is False


def test_c_loop_answers_the_same_with_and_without_the_words() -> None:
    args = (goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 200)
    words = (goyaml._C_VERBATIM, goyaml._RESOLVE_MAP)
    for text in CORPUS.values():
        for form in _forms(text):
            with_words = _outcome(functools.partial(EXT.load, form, *args, *words))
            without = _outcome(functools.partial(EXT.load, form, *args))
            if with_words[0] == "ok" and with_words[1] is not None:
                assert without[0] == "ok" and without[1] is not None
                assert (_typed(with_words[1][0]), with_words[1][1]) == (_typed(without[1][0]), without[1][1])
            else:
                assert with_words == without


_WORDY: list[str | bytes] = [
    "y: Y\nn: N\nyes: no\non: off\nTrue: False\n~: ~\nNULL: Null\n",
    "- yes\n- yesx\n- y\u00e9s\n- o\u0000\n- ~\n- ~~\n- Off\n- OFF\n- oFF\n- nULL\n",
    "{y: [n, no, No, NO, nO], t: [true, True, TRUE, tRUE], f: f, o: [on, On, ON, oN]}\n",
    "n: 1\nn: 2\n",  # a repeated key
    "? yes\n: no\n? off\n: {on: ~}\n",
    "type: object\nname: \"yes\"\nformat: 'no'\nobject: ~\n",
    b"y\xff: 1\n",  # invalid UTF-8 after a word character
    b"yes: \xed\xa0\x80\n",  # an encoded surrogate
    b"\xef\xbb\xbfyes: no\n",
]


def test_c_loop_resolves_a_short_text_once_per_load() -> None:
    """``resolve_value`` is asked once per load for a short text (a CRD's ``minimum: 0`` hundreds of
    times): its answer serves the text's later occurrences, aliases of it too, with the numbers flag
    set each time as before; a long text is asked each time; each load asks afresh."""
    calls: list[str] = []

    def value(s: str) -> Any:
        calls.append(s)
        return goyaml._c_value(s)

    big = "1" * 25  # past uint64: a float, and the numbers flag
    long = "1" + "0" * 32  # longer than the texts kept: asked each time
    text = (
        f"a: 0\nb: [0, 65535, 0, 65535, yes, yes]\nc: &n 7\nd: *n\ne: {big}\nf: {big}\ng: {long}\nh: {long}\n"
    )
    args = (goyaml._C_FIRST, value, goyaml._c_key, 200, goyaml._C_VERBATIM, goyaml._RESOLVE_MAP)
    for _ in range(2):
        calls.clear()
        got = EXT.load(text, *args)
        assert calls == ["0", "65535", "yes", "7", big, long, long]
        assert got == (
            {"a": 0, "b": [0, 65535, 0, 65535, True, True], "c": 7, "d": 7, "e": float(big), "f": float(big)}
            | {"g": float(long), "h": float(long)},
            True,
        )
        assert agree(text)


def test_c_loop_keeps_few_resolved_texts_of_a_document_of_distinct_numbers() -> None:
    """The per-load memo of resolved texts is bounded: a document of many distinct short numbers
    (nothing repeats, so nothing to save) does not keep a second entry per number beside the value
    (its peak was ~3.3 times the value it builds, the texts and a dict entry each kept to the end);
    the values are still the Python loop's, and each text past the bound is simply asked again."""
    n = 20_000
    text = "a:\n" + "".join(f"- {i}\n- {i}.5\n" for i in range(n)) + "b: [0, 0, 1, 1]\n"
    args = (goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 200, goyaml._C_VERBATIM, goyaml._RESOLVE_MAP)
    tracemalloc.start()
    try:
        got = EXT.load(text, *args)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got is not None and len(got[0]["a"]) == 2 * n and got[1] is True
    assert peak < kept * 1.3, (peak, kept)
    assert agree(text)


def test_c_loop_words_answer_as_the_python_loop_on_word_heavy_documents() -> None:
    args = (goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 200)
    words = (goyaml._C_VERBATIM, goyaml._RESOLVE_MAP)
    for text in _WORDY:
        forms: list[str | bytes] = list(_forms(text)) if isinstance(text, str) else [text]
        for form in forms:
            with_words = _outcome(functools.partial(EXT.load, form, *args, *words))
            without = _outcome(functools.partial(EXT.load, form, *args))
            slow = _outcome(lambda: goyamlevents._load_events(form))  # noqa: B023
            assert _typed_outcome(with_words) == _typed_outcome(without), form
            if with_words[0] == "ok" and with_words[1] is not None:
                assert _typed_outcome(with_words) == _typed_outcome(slow), form
            assert _full(form, True) == _full(form, False), form


def _typed_outcome(outcome: Any) -> Any:
    if outcome[0] == "ok" and outcome[1] is not None:
        return ("ok", _typed(outcome[1][0]), outcome[1][1])
    return outcome


def test_c_loop_words_mutated_by_a_callback() -> None:
    """A callback that changes ``words`` while the C loop reads: each scalar is looked up in the
    dict as it is then (no crash, no stale entry, the references kept); one that drops the last
    other reference to the dict leaves the loop a valid dict to finish with."""
    words: dict[Any, Any] = dict(goyaml._RESOLVE_MAP)
    seen: list[str] = []

    def value(s: str) -> Any:
        seen.append(s)
        words.clear()  # every later word is its own text, no callback
        for i in range(1000):  # and the table is rebuilt under the loop (a resize)
            words[f"n{i}"] = i
        return goyaml._c_value(s)

    got = EXT.load("a: yes\nb: no\nc: n5\nd: n\n", goyaml._C_FIRST, value, goyaml._c_key, 200, "yn", words)
    # "no" and "n" are no keys once the first callback has run; "n5" is one by then: called back
    assert got == ({"a": True, "b": "no", "c": "n5", "d": "n"}, False)
    assert seen == ["yes", "n5"]

    holder: dict[str, Any] = {"words": dict(goyaml._RESOLVE_MAP)}

    def dropping(s: str) -> Any:
        holder.pop("words", None)  # the caller's only other reference
        return goyaml._c_value(s)

    got = EXT.load(
        "- yes\n- no\n- yes\n", goyaml._C_FIRST, dropping, goyaml._c_key, 200, "yn", holder["words"]
    )
    assert got == ([True, False, True], False)


def test_c_loop_words_with_keys_that_are_no_str() -> None:
    """Keys that are not str (a lookup compares with them on a hash collision): an int, and one
    whose ``__eq__`` raises or empties the dict; its exception propagates, no crash."""

    class Hostile:
        def __init__(self, text: str, action: str, words: dict[Any, Any]) -> None:
            self.text, self.action, self.words = text, action, words

        def __hash__(self) -> int:
            return hash(self.text)

        def __eq__(self, other: object) -> bool:
            if self.action == "raise":
                raise RuntimeError("hostile __eq__")
            self.words.clear()
            return other == self.text

    args = (goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 200, "yn")
    assert EXT.load("a: yes\n", *args, {1: 1, 2.5: 2}) == ({"a": "yes"}, False)
    raising: dict[Any, Any] = {}
    raising[Hostile("yes", "raise", raising)] = True
    with pytest.raises(RuntimeError, match="hostile"):
        EXT.load("a: yes\n", *args, raising)
    clearing: dict[Any, Any] = {}
    clearing[Hostile("yes", "clear", clearing)] = True
    got = EXT.load("a: yes\nb: no\n", *args, clearing)
    assert got is not None and got[0]["b"] == "no"


def test_c_loop_verbatim_first_refuses_what_is_no_ascii() -> None:
    args = (goyaml._C_FIRST, goyaml._c_value, goyaml._c_key, 200)
    for bad in ("\ud800", "y\u00ff", "\U0001f600", "\x00"):
        with pytest.raises(ValueError):
            EXT.load("a: 1", *args, bad, {})
    with pytest.raises(TypeError):
        EXT.load("a: 1", *args, b"y", {})
    with pytest.raises(TypeError):  # a dict subclass is no dict here
        EXT.load("a: 1", *args, "y", type("D", (dict,), {})())
    assert EXT.load("a: yes", *args, "", goyaml._RESOLVE_MAP) == ({"a": True}, False)


def test_c_loop_numbers_as_the_python_loop_sets_them() -> None:
    """The number handling of the loop, for values the resolvers do not give today (go_number
    keeps integers within ParseInt/ParseUint's range): past uint64 a float, below int64 an int, both
    flagged; a float too large for float() hands the document on (OverflowError)."""
    load = EXT.load
    first, key, depth = goyaml._C_FIRST, goyaml._c_key, goyamlevents._EVENTS_MAX_DEPTH

    def run(value: Any) -> Any:
        return load("a: 1\n", first, lambda s: value, key, depth)

    assert _typed(run(1 << 70)[0]) == _typed({"a": float(1 << 70)}) and run(1 << 70)[1] is True
    assert _typed(run(1 << 64)[0]) == _typed({"a": float(1 << 64)})
    assert _typed(run((1 << 64) - 1)[0]) == _typed({"a": (1 << 64) - 1}) and run((1 << 64) - 1)[1] is True
    assert _typed(run(-(1 << 70))[0]) == _typed({"a": -(1 << 70)}) and run(-(1 << 70))[1] is True
    assert run((1 << 63) - 1) == ({"a": (1 << 63) - 1}, False)
    assert run(-(1 << 63)) == ({"a": -(1 << 63)}, False)
    assert run(True) == ({"a": True}, False)
    assert run(0.5) == ({"a": 0.5}, True)
    assert run(float("nan")) is None and run(float("-inf")) is None
    with pytest.raises(OverflowError):
        run(10**400)
