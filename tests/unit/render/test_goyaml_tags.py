"""Explicit tags on scalars, as go-yaml v2 decodes them into ``interface{}`` (opm's manifests go
through sigs.k8s.io/yaml, which uses go-yaml v2's ``Unmarshal``).

``decoder.scalar`` hands a tagged scalar to ``resolve(tag, value)``: ``!!str`` takes any text,
``!!binary`` any text that is standard base64 (decoded), a tag that is not one of str, bool, int,
float, null, timestamp leaves the text as it is, and the resolvable ones resolve the text as an
untagged plain scalar would be and then demand that kind (an integer passes as ``!!float``).
Tags on sequences and mappings are dropped by go-yaml v2's parser."""

from __future__ import annotations

from typing import Any

import pytest

from imgextract.catalog.render.goyaml import DecodeError, load_yaml


def _value(text: str) -> Any:
    return load_yaml(f"a: {text}\n")["a"]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ('!!float "1.5"', 1.5),
        ("!!float 1", 1.0),
        ("!!float '1_0'", 10.0),
        ("!!float -.5e1", -5.0),
        ('!!int "0x1F"', 31),
        ("!!int 1_000", 1000),
        ("!!int 18446744073709551615", 18446744073709551615),
        ('!!bool "yes"', True),
        ("!!bool off", False),
        ('!!null ""', None),
        ("!!null", None),
        ("!!null ~", None),
        ("!!str 12", "12"),
        ("!!str", ""),
        ('!!str "1.5\\n"', "1.5\n"),
        ("!!timestamp 2001-12-14", "2001-12-14"),
        ('!!timestamp "2001-12-14t21:59:43.10-05:00"', "2001-12-14t21:59:43.10-05:00"),
        ("!!timestamp 2001-1-2 3:04:05.123456789123", "2001-1-2 3:04:05.123456789123"),
        ("!!binary aGVsbG8=", "hello"),
        ("!!binary |\n  aGVs\n  bG8=", "hello"),
        ("!!binary /w==", "\ufffd"),
        ("!custom 12", "12"),
        ("! 12", "12"),
        ('! "yes"', "yes"),
        ("!!seq 12", "12"),
        ("!!merge <<", "<<"),
        ("!!map [1, b]", [1, "b"]),
        ("!!set {x, y}", {"x": None, "true": None}),  # y: a YAML 1.1 bool
        ("!!omap [x: 1]", [{"x": 1}]),
        ("!!str {k: 1}", {"k": 1}),
    ],
)
def test_tagged_scalars_decode_as_go_yaml_v2(text: str, want: Any) -> None:
    got = _value(text)
    assert got == want and type(got) is type(want), (text, got)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('!!float "1.5\\n"', "cannot decode !!str `1.5\n` as a !!float"),
        ('!!int "12\\n"', "cannot decode !!str `12\n` as a !!int"),
        ("!!int 1.5", "cannot decode !!float `1.5` as a !!int"),
        ("!!int 2001-12-14", "cannot decode !!str `2001-12-14` as a !!int"),
        ("!!float 18446744073709551615", "cannot decode !!int `18446744073709551615` as a !!float"),
        ("!!bool 1", "cannot decode !!int `1` as a !!bool"),
        ("!!bool maybe", "cannot decode !!str `maybe` as a !!bool"),
        ('!!int ""', "cannot decode !!null `` as a !!int"),
        ("!!null no", "cannot decode !!bool `no` as a !!null"),
        ("!!timestamp 12", "cannot decode !!int `12` as a !!timestamp"),
        ("!!timestamp 2001-13-01", "cannot decode !!str `2001-13-01` as a !!timestamp"),
        ("!!timestamp 2001-02-29", "cannot decode !!str `2001-02-29` as a !!timestamp"),
        ("!!timestamp 2001-12-14T21:59:43", "cannot decode !!str `2001-12-14T21:59:43` as a !!timestamp"),
        ("!!timestamp 2001-12-14 24:00:00", "cannot decode !!str `2001-12-14 24:00:00` as a !!timestamp"),
        ("!!binary aGVsbG8", "!!binary value contains invalid base64 data"),
        ("!!binary aGVs bG8=", "!!binary value contains invalid base64 data"),
    ],
)
def test_tagged_scalars_go_yaml_v2_refuses(text: str, message: str) -> None:
    with pytest.raises(DecodeError) as info:
        _value(text)
    assert str(info.value) == f"error converting YAML to JSON: yaml: {message}"


def test_tagged_keys_and_nan() -> None:
    assert load_yaml("!!int '12': a\n!!str 13: b\n! 14: c\n!!binary aGk=: d\n") == {
        "12": "a",
        "13": "b",
        "14": "c",
        "hi": "d",
    }
    assert load_yaml(b"- ! 12\n- !x 13\n- 14\n") == ["12", "13", 14]
    with pytest.raises(DecodeError, match="unsupported value"):
        _value("!!float .nan")
