"""``gojson.marshal(..., no_floats=True)`` through orjson writes the bytes the standard library's
encoder writes, and stands aside for whatever orjson would write otherwise.

The standard library path (``json.dumps`` with Go's escapes patched in) is the one the render
tests hold to opm's output; here each value is encoded both ways, with orjson in use and with it
disabled, over every code point, the characters Go escapes, integer bounds, key orders, nesting
and the values orjson refuses (which must come out as the standard library path writes them).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgextract.catalog.render import gojson
from imgextract.catalog.render.goresolve import _GoScalar


def _both(value: Any, *, escape_html: bool, sort_keys: bool) -> tuple[str, str]:
    """(orjson in use, orjson disabled) for one value."""
    saved = gojson._NATIVE
    try:
        gojson._NATIVE = None  # imported afresh
        native = gojson.marshal(value, escape_html=escape_html, sort_keys=sort_keys, no_floats=True)
        gojson._NATIVE = False
        stdlib = gojson.marshal(value, escape_html=escape_html, sort_keys=sort_keys, no_floats=True)
    finally:
        gojson._NATIVE = saved
    return native, stdlib


def _same(value: Any) -> str:
    out = None
    for escape_html in (True, False):
        for sort_keys in (True, False):
            native, stdlib = _both(value, escape_html=escape_html, sort_keys=sort_keys)
            assert native == stdlib, (escape_html, sort_keys)
            if escape_html and sort_keys:
                out = native
    assert out is not None
    return out


def _uses_native(value: Any, sort_keys: bool = True) -> bool:
    gojson._NATIVE = None
    return gojson._native_dumps(value, sort_keys) is not None


# every code point but the surrogates, in pieces, as values and as keys
_ALL = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


@pytest.mark.parametrize("start", range(0, len(_ALL), 1 << 16))
def test_every_code_point_is_escaped_alike(start: int) -> None:
    chunk = _ALL[start : start + (1 << 16)]
    value = {"s": "".join(chunk), "list": chunk[:4096], "keys": {c: c for c in chunk[:4096]}}
    assert _uses_native(value)
    _same(value)


def test_the_characters_go_escapes() -> None:
    s = "".join(chr(c) for c in range(0x80)) + "<>&\u2028\u2029\u00e9\U0001f600"
    out = _same({"k<&>": s, "\u2028": [s, "a\\b", '"q"']})
    assert "\\u003c" in out and "\\u2028" in out and "\\u0000" in out and "\\b" in out and "\\u001f" in out


@pytest.mark.parametrize(
    "n",
    [
        0,
        1,
        -1,
        2**31,
        -(2**31) - 1,
        2**53 + 1,
        2**63 - 1,
        -(2**63),
        2**63,
        2**64 - 1,
        2**64,
        -(2**63) - 1,
        10**30,
    ],
)
def test_integers_at_the_bounds(n: int) -> None:
    assert _same({"n": n, "list": [n, True, False, None]}) == f'{{"list":[{n},true,false,null],"n":{n}}}'


def test_keys_sort_by_code_point_which_is_utf8_order() -> None:
    keys = ["b", "a", "B", "", "\u00e9", "\uffff", "\U00010000", "\ue000", "aa", "a\u0000", "Z", "\u2028"]
    out = _same(dict.fromkeys(keys, 1))
    decoded = list(json.loads(out))
    assert decoded == sorted(keys)
    assert decoded == sorted(keys, key=lambda k: k.encode())


def test_insertion_order_without_sorting() -> None:
    native, stdlib = _both({"b": 1, "a": {"d": 2, "c": 3}}, escape_html=True, sort_keys=False)
    assert native == stdlib == '{"b":1,"a":{"d":2,"c":3}}'


def test_string_subclasses_are_strings() -> None:
    value = {"raw": gojson.RawJSON('{"a": 1}'), "scalar": _GoScalar("1"), "t": ("x", "y")}
    assert _uses_native(value)
    assert _same(value) == '{"raw":"{\\"a\\": 1}","scalar":"1","t":["x","y"]}'


def test_nesting_past_orjson_limit_goes_to_the_standard_encoder() -> None:
    deep: Any = "leaf"
    for _ in range(300):
        deep = {"a": [deep]}
    assert not _uses_native(deep)
    _same(deep)


@dataclass
class _Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [
        {1: "int key"},
        {True: "bool key", "s": 1},
        {None: "null key"},
        {"big": 2**64},
        {"neg": -(2**63) - 1},
        {"lone": "a\udc80b"},
        {"\ud800": "lone surrogate key"},
        [datetime.datetime(2024, 1, 2)],
        [_Point(1)],
        [b"bytes"],
    ],
)
def test_values_orjson_refuses_are_encoded_as_before(value: Any) -> None:
    assert not _uses_native(value)
    for escape_html in (True, False):
        for sort_keys in (True, False):
            try:
                native, stdlib = _both(value, escape_html=escape_html, sort_keys=sort_keys)
            except (TypeError, ValueError) as exc:  # both refuse it, with the same error
                gojson._NATIVE = False
                with pytest.raises(type(exc)) as again:
                    gojson.marshal(value, escape_html=escape_html, sort_keys=sort_keys, no_floats=True)
                gojson._NATIVE = None
                assert str(again.value) == str(exc)
            else:
                assert native == stdlib


def test_top_level_raw_json_keeps_the_raw_path() -> None:
    raw = gojson.RawJSON('{"b": 1,  "a": [ 2 ]}')
    assert gojson.marshal(raw, escape_html=True, sort_keys=True, no_floats=True) == '{"b":1,"a":[2]}'


def test_without_orjson_the_standard_encoder_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_orjson(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "orjson":
            raise ImportError("no orjson here")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_orjson)
    monkeypatch.setattr(gojson, "_NATIVE", None)
    assert gojson._native_dumps({"a": 1}, True) is None
    assert gojson._NATIVE is False
    assert gojson.marshal({"b": "<", "a": 1}, escape_html=True, sort_keys=True, no_floats=True) == (
        '{"a":1,"b":"\\u003c"}'
    )


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.text(max_size=12),
    st.sampled_from(["<", ">", "&", "\u2028", "\u2029", "\x00", "\x7f", "\\", '"', "\U0001f600", "\ufeff"]),
)
_trees = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=150, deadline=None)
@given(_trees)
def test_random_trees_encode_alike(value: Any) -> None:
    out = _same(value)
    assert json.loads(out) == json.loads(json.dumps(value))  # (the escapes decode to the same value)
