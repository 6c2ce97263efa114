"""go-yaml v2 resolution and apimachinery's YAMLOrJSONDecoder, as opm reads bundle files.

Expected values follow go-yaml v2 ``resolve.go`` (resolve table, ParseInt base 0 after dropping ``_``,
yamlStyleFloat), ``sigs.k8s.io/yaml`` ``convertToJSONableObject`` (key conversion) and apimachinery
``YAMLReader``/``GuessJSONStream`` (first document, JSON sniffing)."""

from __future__ import annotations

import math

import pytest

from imgextract.catalog.render.goresolve import go_resolve
from imgextract.catalog.render.goyaml import DecodeError, first_document, load_yaml


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


def test_resolution_applies_inside_collections() -> None:
    # resolve.go on every plain scalar the composer produces; quoted scalars stay strings
    doc = "c: [y, on, 'yes', off, 1e3, 0x1F, 017, 1_000, 2001-12-14t21:59:43.10-05:00, ~, \"1\"]\n"
    assert load_yaml(doc) == {
        "c": [True, True, "yes", False, 1000.0, 31, 15, 1000, "2001-12-14t21:59:43.10-05:00", None, "1"]
    }


def test_anchors_and_aliases_expand() -> None:
    assert load_yaml("a: &x {k: [1, 2]}\nb: *x\n") == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}}


def test_merge_keys_follow_go_yaml_v2_order() -> None:
    # decode.go mapping(): a merge sets its keys when it is met, so it overrides the keys before it
    # and the keys after it override it; in a sequence of maps the earlier maps win
    assert load_yaml("a: 1\n<<: {a: 2, b: 2}\nc: 3\n") == {"a": 2, "b": 2, "c": 3}
    assert load_yaml("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 5\n")["d"] == {"x": 5, "true": 2}
    assert load_yaml("<<: [{a: 1}, {a: 2, b: 2}]\n") == {"a": 1, "b": 2}
    assert load_yaml("'<<': {a: 1}\n") == {"<<": {"a": 1}}  # quoted: an ordinary key
    with pytest.raises(DecodeError, match="map merge requires map or sequence of maps"):
        load_yaml("<<: 1\n")


def test_duplicate_keys_last_wins() -> None:
    # go-yaml v2's Unmarshal (not UnmarshalStrict) sets the key again
    assert load_yaml("a: 1\na: 2\n") == {"a": 2}


def test_alias_bomb_is_refused_as_go_yaml_refuses_it() -> None:
    # decode.go allowedAliasRatio: "document contains excessive aliasing", before any expansion
    doc = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        doc += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    with pytest.raises(DecodeError, match="excessive aliasing"):
        load_yaml(doc)
    # a few hundred ordinary aliases are fine
    many = "base: &b {k: v}\nitems:\n" + "".join("  - *b\n" for _ in range(300))
    assert len(load_yaml(many)["items"]) == 300


def test_first_document_that_is_no_json_is_read_as_yaml() -> None:
    """apimachinery 0.33 ``YAMLOrJSONDecoder.Decode`` (opm master reads bundle manifests with it): a
    text that starts with ``{`` but is no JSON is read again as YAML (after ``consumeWhitespace``),
    and when YAML fails too the JSON error is the one raised."""
    assert first_document(b"{kind: ConfigMap, apiVersion: v1, metadata: {name: x}}\n") == (
        "yaml",
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "x"}},
    )
    assert first_document(b'  {"kind": "X", "n": 1e400}\n---\nkind: Y\n') == (
        "yaml",
        {"kind": "X", "n": "1e400"},
    )
    with pytest.raises(DecodeError, match="Expecting"):
        first_document(b"{kind: [X}\n")
