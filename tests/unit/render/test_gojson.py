"""Go encoding/json rules the renderer relies on (expected values worked out from Go's encode.go,
indent.go and strconv's FormatFloat, not from this implementation)."""

from __future__ import annotations

import pytest

from imgextract.catalog.render import gojson
from imgextract.catalog.render.gojson import RawJSON


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # encoding/json floatEncoder: 'f' format between 1e-6 and 1e21, else 'e' with e-0X cleaned
        (1.0, "1"),
        (0.5, "0.5"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (1e-6, "0.000001"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.8446744073709552e19, "18446744073709552000"),
        (-0.0, "-0"),
        (123456789.25, "123456789.25"),
    ],
)
def test_json_float(value: float, expected: str) -> None:
    assert gojson.json_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # strconv.FormatFloat(f, 'g', -1, 64): %e when exponent < -4 or >= 6 (shortest: eprec = 6)
        (1.0, "1"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (1234567.5, "1.2345675e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (4.16, "4.16"),
    ],
)
def test_float_g(value: float, expected: str) -> None:
    assert gojson.float_g(value) == expected


def test_quote_html_and_controls() -> None:
    # encodeState.string: <>& only with escapeHTML; \b \f \n \r \t short; other controls \u00xx;
    # U+2028/U+2029 always escaped; DEL stays literal
    s = 'a<b>&c"\\\n\t\b\f\x01\x7f\u2028\u2029é'
    assert gojson.quote(s, escape_html=True) == (
        '"a\\u003cb\\u003e\\u0026c\\"\\\\\\n\\t\\b\\f\\u0001\x7f\\u2028\\u2029é"'
    )
    assert gojson.quote(s, escape_html=False) == '"a<b>&c\\"\\\\\\n\\t\\b\\f\\u0001\x7f\\u2028\\u2029é"'


def test_marshal_sorted_map_and_struct_order() -> None:
    v = {"b": 1, "a": [True, None, 2.5], "é": "x", "B": {}}
    # json.Marshal of a map sorts keys by bytes; a struct keeps field order
    assert gojson.marshal(v, escape_html=True, sort_keys=True) == '{"B":{},"a":[true,null,2.5],"b":1,"é":"x"}'
    assert (
        gojson.marshal(v, escape_html=True, sort_keys=False) == '{"b":1,"a":[true,null,2.5],"é":"x","B":{}}'
    )


def test_raw_message_is_compacted_not_reencoded() -> None:
    # a json.RawMessage goes through compact(): whitespace dropped, escapes and number text kept
    raw = RawJSON('{ "level" : 1.0, "note": "a \\u003c b", "x": [ 1 , 2 ] }')
    assert gojson.marshal({"value": raw}, escape_html=False, sort_keys=False) == (
        '{"value":{"level":1.0,"note":"a \\u003c b","x":[1,2]}}'
    )


def test_indent_like_encoder_setindent() -> None:
    # Encoder.SetIndent("", "    "): empty {} and [] stay on one line, ": " after keys
    text = '{"a":[],"b":{},"c":[1,{"d":"x\\"y,:"}]}'
    assert gojson.indent(text) == (
        '{\n    "a": [],\n    "b": {},\n    "c": [\n        1,\n        {\n'
        '            "d": "x\\"y,:"\n        }\n    ]\n}'
    )


def test_nan_is_refused() -> None:
    with pytest.raises(gojson.GoJSONError):
        gojson.json_float(float("nan"))


def test_fast_and_reference_encoders_agree() -> None:
    # the C-encoder fast path must give what the rule-by-rule encoder gives
    samples = [
        {"z": [1.0, 1e-7, 1e21, -0.0, 0.1, 2**62], "a": '<&>\u2028\x00\x1f\x7f"\\', "é": {"k": None}},
        ["\U0001f600", True, False, {}, [], "", 12345678.5],
        {"GOFLOAT": "\x00GOFLOAT", "n": 1.5},
    ]
    for v in samples:
        for esc in (True, False):
            for sk in (True, False):
                out: list[str] = []
                gojson._emit(v, out, esc, sk)
                assert gojson.marshal(v, escape_html=esc, sort_keys=sk) == "".join(out)


def test_no_floats_path_agrees_when_there_are_none() -> None:
    v = {"z": [1, 2**62, True, None], "a": '<&>\u2028\x00\x1f\x7f"\\é\U0001f600', "k": {"": ""}}
    for esc in (True, False):
        out: list[str] = []
        gojson._emit(v, out, esc, True)
        assert gojson.marshal(v, escape_html=esc, sort_keys=True, no_floats=True) == "".join(out)


@pytest.mark.parametrize(
    "value",
    [
        {"a": "<b>&amp;</b>", "c": ["x>y", "1 & 2"]},
        {"plain": "ascii only", "n": 1},
        {"sep": "line\u2028para\u2029", "html": "<é>"},
        {"mixed": "ü & <", "k<": ">"},
        "just <text>",
        ["\u2028"],
    ],
)
@pytest.mark.parametrize("escape_html", [True, False])
def test_ascii_output_takes_the_quick_escape_path_with_the_same_result(
    value: object, escape_html: bool
) -> None:
    # marshal's post-processing of the C encoder's text: ASCII text by str.replace, the rest by the
    # regular expression; both must give Go's escapes (json.Marshal: \u003c \u003e \u0026, U+2028/9)
    import json

    from imgextract.catalog.render.gojson import _ALL, _POST, _POST_HTML, marshal

    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    by_regex = (_POST_HTML if escape_html else _POST).get().sub(lambda m: _ALL[m.group()], plain)
    for no_floats in (True, False):
        assert marshal(value, escape_html=escape_html, sort_keys=False, no_floats=no_floats) == by_regex
