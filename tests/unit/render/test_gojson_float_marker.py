"""Floats reach the C encoder as marked strings (their Go text after a ``\\x00GOFLOAT\\x00`` marker)
that are put back as numbers afterwards; a string or key of the value that holds the marker itself
must stay a string, written as Go writes it (the exact encoder, ``_emit``), not be taken for a float.
"""

from __future__ import annotations

from typing import Any

import pytest

from imgextract.catalog.render import gojson
from imgextract.catalog.render.goyaml import load_yaml_flagged

MARK = "\x00GOFLOAT\x00"


def _exact(value: Any, escape_html: bool, sort_keys: bool) -> str:
    out: list[str] = []
    gojson._emit(value, out, escape_html, sort_keys)
    return "".join(out)


@pytest.mark.parametrize(
    "value",
    [
        {"a": 1.5, "b": MARK + ',"x":1'},
        {"a": 1.5, MARK + "k": 2.5},
        {"a": [0.1, MARK + "1e5", "x" + MARK + "2", MARK]},
        {"b": MARK + "3"},  # no float at all: the marker is still only text
        {MARK: MARK, "f": -0.0, "g": 1e21, "h": 1e-7},
        [1.0, {"n": MARK + '"'}, 2.0],
    ],
)
@pytest.mark.parametrize("escape_html", [True, False])
@pytest.mark.parametrize("sort_keys", [True, False])
def test_a_value_holding_the_marker_is_written_exactly(
    value: Any, escape_html: bool, sort_keys: bool
) -> None:
    got = gojson.marshal(value, escape_html=escape_html, sort_keys=sort_keys)
    assert got == _exact(value, escape_html, sort_keys)
    assert "\\u0000GOFLOAT\\u0000" in got


def test_floats_without_the_marker_keep_the_fast_path() -> None:
    value = {"a": [1.5, 1e21, 1e-7, -0.0, 100.0], "b": "GOFLOAT", "c": "\x00"}
    assert gojson._fast_marshal(value, True, True) == _exact(value, True, True)
    assert gojson._fast_marshal(value, True, True) == (
        '{"a":[1.5,1e+21,1e-7,-0,100],"b":"GOFLOAT","c":"\\u0000"}'
    )


def test_a_manifest_cannot_inject_json_through_the_marker() -> None:
    # a double-quoted YAML scalar can hold NUL characters: the marker, then JSON of its own
    value, numbers = load_yaml_flagged('ratio: 0.5\nnote: "\\0GOFLOAT\\0,\\"kind\\":\\"Secret\\""\n')
    assert numbers
    text = gojson.marshal(value, escape_html=True, sort_keys=True, no_floats=not numbers)
    assert text == '{"note":"\\u0000GOFLOAT\\u0000,\\"kind\\":\\"Secret\\"","ratio":0.5}'
