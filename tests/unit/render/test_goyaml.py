"""go-yaml v2 resolution and apimachinery's YAMLOrJSONDecoder, as opm reads bundle files.

Expected values follow go-yaml v2 ``resolve.go`` (resolve table, ParseInt base 0 after dropping ``_``,
yamlStyleFloat), ``sigs.k8s.io/yaml`` ``convertToJSONableObject`` (key conversion) and apimachinery
``YAMLReader``/``GuessJSONStream`` (first document, JSON sniffing)."""

from __future__ import annotations

import math

import pytest

from imgextract.catalog.render.goyaml import DecodeError, first_document, go_resolve, load_yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("y", True),
        ("NO", False),
        ("on", True),
        ("off", False),
        ("~", None),
        ("", None),
        ("0x1F", 31),
        ("017", 15),
        ("0o17", 15),
        ("0b101", 5),
        ("1_000", 1000),
        ("+12", 12),
        ("1e3", 1000.0),
        ("1.", 1.0),
        (".5", 0.5),
        ("08", 8.0),  # not octal, not decimal int: yamlStyleFloat matches
        ("18446744073709551615", 18446744073709551615),  # ParseUint
        ("1:20", "1:20"),  # YAML 1.1 sexagesimal is not resolved by go-yaml
        ("2021-01-01", "2021-01-01"),  # timestamps stay strings for interface{} targets
        ("1e400", "1e400"),  # ParseFloat range error: stays a string
        ("yes please", "yes please"),
        ("-", "-"),
    ],
)
def test_go_resolve(text: str, expected: object) -> None:
    got = go_resolve(text)
    assert got == expected and type(got) is type(expected)


def test_special_floats() -> None:
    assert math.isinf(go_resolve(".inf")) and math.isnan(go_resolve(".NaN"))


def test_keys_become_strings_as_sigs_yaml_does() -> None:
    assert load_yaml("y: 1\n1.5: 2\n3: 3\nfalse: 4\n'q': 5\n") == {
        "true": 1,
        "1.5": 2,
        "3": 3,
        "false": 4,
        "q": 5,
    }


def test_nan_value_fails_the_document() -> None:
    with pytest.raises(DecodeError):
        load_yaml("a: .nan\n")


def test_first_document_only() -> None:
    assert first_document(b"---\nkind: A\n---\nkind: B\n") == ("yaml", {"kind": "A"})
    # a leading comment before the separator is a document of its own (null)
    assert first_document(b"# note\n---\nkind: A\n") == ("yaml", None)
    assert first_document(b"") == ("empty", None)


def test_json_sniffed_in_first_bytes() -> None:
    kind, value = first_document(b'  {"kind": "A", "n": 12345678901234567890, "f": 1.0} trailing')
    assert kind == "json" and value == {"kind": "A", "n": 1.2345678901234567e19, "f": 1.0}
