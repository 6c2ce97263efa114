"""annotations.yaml values read as opm reads them (sigs.k8s.io/yaml into Go strings)."""

from __future__ import annotations

import pytest

from imgextract.bundles.annotations import go_float32_string, parse_annotations
from imgextract.errors import InvalidBundleError


@pytest.mark.parametrize(
    ("written", "opm"),
    [
        ("1.0", "1"),
        ("4.10", "4.1"),
        ("true", "true"),
        ("True", "true"),
        ("yes", "true"),
        ("off", "false"),
        ("010", "8"),
        ("0x1F", "31"),
        ("1_000", "1000"),
        ("1e6", "1e+06"),
        ("100000.0", "100000"),
        ("1234567.0", "1.234567e+06"),
        ("3.14159265358979", "3.1415927"),
        (".5", "0.5"),
        ("2020-01-01", "2020-01-01"),
        ("stable", "stable"),
        ("4.10.1", "4.10.1"),
        ("'4.10'", "4.10"),
        ('"true"', "true"),
        ("'1.0'", "1.0"),
        ("~", ""),
        ("", ""),
    ],
)
def test_scalar_as_opm_reads_it(written: str, opm: str) -> None:
    doc = f"annotations:\n  k: {written}\n".encode()
    assert parse_annotations(doc) == {"k": opm}


def test_go_float32_formatting() -> None:
    assert go_float32_string(0.1) == "0.1"
    assert go_float32_string(1.5e-7) == "1.5e-07"
    assert go_float32_string(1e40) == "+Inf"
    assert go_float32_string(-2.5) == "-2.5"


def test_case_insensitive_annotations_key_as_encoding_json() -> None:
    assert parse_annotations(b"Annotations:\n  a: b\n") == {"a": "b"}


@pytest.mark.parametrize(
    "doc", [b"annotations: [a]\n", b"other: {}\n", b"- x\n", b"annotations:\n  a: [1]\n"]
)
def test_not_a_string_map_is_invalid(doc: bytes) -> None:
    with pytest.raises(InvalidBundleError):
        parse_annotations(doc)


@pytest.mark.parametrize(
    "doc",
    [
        b"---\nannotations:\n  operators.operatorframework.io.bundle.package.v1: widget\n---\n",
        b"annotations:\n  operators.operatorframework.io.bundle.package.v1: widget\n---\nnotes: [kept, aside]\n",
        b"annotations:\n  operators.operatorframework.io.bundle.package.v1: widget\n...\n---\n- a list\n",
    ],
)
def test_only_the_first_document_is_read(doc: bytes) -> None:
    """opm's ConfigMap writer (``Populate``: ghodss/yaml ``Unmarshal``), OLM's ``cpb`` (yaml.v2
    ``Unmarshal``) and opm's bundle parser (``decodeFileFS``: one ``Decode`` of a YAML-or-JSON
    decoder) all read the first document of annotations.yaml and ignore what follows, such as a
    trailing ``---`` or a second document."""
    assert parse_annotations(doc) == {"operators.operatorframework.io.bundle.package.v1": "widget"}
