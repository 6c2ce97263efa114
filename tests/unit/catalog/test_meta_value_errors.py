"""A ``schema``, ``package`` or ``name`` that is not a string: opm's error prints the value with Go's
``%t`` and ``%v`` verbs, never in Python's spelling."""

from __future__ import annotations

import io

import pytest

from imgextract.catalog.fbc import CatalogFormatError, iter_stream


@pytest.mark.parametrize(
    ("text", "got"),
    [
        ('{"schema":"acme.note","name":5}', '"name" to be a string, got %!t(float64=5): 5'),
        ('{"schema":"acme.note","name":1.5e300}', "got %!t(float64=1.5e+300): 1.5e+300"),
        ('{"schema":"acme.note","name":100000000}', "got %!t(float64=1e+08): 1e+08"),
        ('{"schema":"acme.note","name":123456}', "got %!t(float64=123456): 123456"),
        ('{"schema":"acme.note","name":0.00001}', "got %!t(float64=1e-05): 1e-05"),
        ('{"schema":"acme.note","package":true}', '"package" to be a string, got true: true'),
        ('{"schema":"acme.note","package":null}', "got %!t(<nil>): <nil>"),
        (
            '{"schema":"acme.note","name":[1,"a",null,false]}',
            "got [%!t(float64=1) %!t(string=a) %!t(<nil>) false]: [1 a <nil> false]",
        ),
        (
            '{"schema":"acme.note","name":{"b":1,"a":[2]}}',
            "got map[%!t(string=a):[%!t(float64=2)] %!t(string=b):%!t(float64=1)]: map[a:[2] b:1]",
        ),
        ('{"schema":7}', '"schema" to be a string, got %!t(float64=7): 7'),
    ],
)
def test_non_string_meta_value_is_printed_as_go_prints_it(text: str, got: str) -> None:
    """``declcfg.extractUniqueMetaKeys``: ``expected value for key %q to be a string, got %t: %v``
    over the value ``json.Unmarshal`` put in a ``map[string]any`` (numbers are float64)."""
    with pytest.raises(CatalogFormatError) as info:
        list(iter_stream(io.BytesIO(text.encode()), "x.json"))
    assert str(info.value).endswith(got), str(info.value)


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("Dockerfile", b"# A file that is no catalog\nFROM scratch\nCOPY catalog.yaml /configs/\n", "string"),
        ("list.yaml", b"- a\n- b\n", "array"),
        ("count.yaml", b"42\n", "number"),
        ("flag.yaml", b"true\n", "bool"),
        ("x.json", b'{"schema":"a"} [1, 2]', "array"),
    ],
)
def test_a_document_that_is_no_object_fails_as_go_decodes_it(name: str, data: bytes, kind: str) -> None:
    """``Meta.UnmarshalJSON`` decodes each document into a ``map[string]interface{}``: anything but
    an object (a README or Dockerfile left in the catalog directory reads as a YAML string) is
    ``json.Unmarshal``'s type error."""
    with pytest.raises(CatalogFormatError) as info:
        list(iter_stream(io.BytesIO(data), name))
    assert str(info.value).endswith(
        f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
    ), str(info.value)
