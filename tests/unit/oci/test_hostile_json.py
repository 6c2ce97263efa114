"""Hostile JSON at every reader of JSON the product does not control: nesting deeper than Python's
recursion limit and integers past the int conversion limit (4300 digits) are the reader's own
clear error, never a RecursionError or a bare ValueError (reported as an internal error)."""

from __future__ import annotations

import io
import json

import pytest

from imgextract.auth.authfile import AuthFile
from imgextract.catalog.fbc import CatalogFormatError, iter_stream
from imgextract.errors import ConfigError, IntegrityError
from imgextract.oci import jsontext
from imgextract.oci.fields import load_object
from imgextract.registry.errors import registry_error_codes
from imgextract.signatures.errors import PolicyError
from imgextract.signatures.payload import InvalidPayload, parse_payload
from imgextract.signatures.policy import parse_policy

DEEP_ARRAY = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
DEEP_OBJECT = '{"a": ' * 100_000 + "1" + "}" * 100_000
HUGE_INT = '{"schema": "olm.package", "name": "p", "a": ' + "1" * 5000 + "}"
HOSTILE = {"deep-array": DEEP_ARRAY, "deep-object": DEEP_OBJECT, "huge-int": HUGE_INT}


@pytest.fixture(params=sorted(HOSTILE), ids=sorted(HOSTILE))
def hostile(request: pytest.FixtureRequest) -> str:
    return HOSTILE[request.param]


def test_loads_makes_both_a_decode_error(hostile: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        jsontext.loads(hostile)
    with pytest.raises(json.JSONDecodeError):
        jsontext.raw_decode(json.JSONDecoder(), hostile, 0)


def test_loads_leaves_a_hook_error_alone() -> None:
    class Mine(ValueError):
        pass

    def hook(text: str) -> int:
        raise Mine(text)

    with pytest.raises(Mine):
        jsontext.loads("[1]", parse_int=hook)


def test_manifest(hostile: str) -> None:
    with pytest.raises(IntegrityError, match="malformed manifest: not valid JSON"):
        load_object(hostile.encode(), "manifest")


def test_registry_error_body(hostile: str) -> None:
    assert registry_error_codes(hostile.encode()) == []


def test_signature_payload(hostile: str) -> None:
    with pytest.raises(InvalidPayload):
        parse_payload(hostile.encode(), "atomic container signature")


def test_policy_json(hostile: str) -> None:
    with pytest.raises(PolicyError, match="not valid JSON"):
        parse_policy(hostile.encode())


def test_auth_file(hostile: str) -> None:
    with pytest.raises(ConfigError, match="auth.json: not valid JSON"):
        AuthFile.parse(hostile, "auth.json")


def test_catalog_json(hostile: str) -> None:
    """After two objects a catalog stream read as JSON stays JSON (``YAMLOrJSONDecoder``)."""
    text = '{"schema": "acme.a"}\n{"schema": "acme.b"}\n' + hostile
    with pytest.raises(CatalogFormatError, match=r"^c\.json: object 2: invalid JSON"):
        list(iter_stream(io.BytesIO(text.encode()), "c.json"))


def test_catalog_json_first_object_read_again_as_yaml(hostile: str) -> None:
    """apimachinery 0.33's ``YAMLOrJSONDecoder`` (opm's): a first object that fails as JSON is read
    as YAML. A deep one fails there too (the JSON error is reported); a number past float64's range
    (an error for Go's JSON decoder) is text to go-yaml v2, so opm keeps the object."""
    stream = io.BytesIO(hostile.encode())
    if hostile is HUGE_INT:
        (obj,) = iter_stream(stream, "c.json")
        assert obj.data["a"] == "1" * 5000
        return
    with pytest.raises(CatalogFormatError, match=r"^c\.json: object 0: invalid JSON"):
        list(iter_stream(stream, "c.json"))


def test_lone_surrogates_become_replacement_characters() -> None:
    """Go's encoding/json decodes an unpaired ``\\uD800``-``\\uDFFF`` escape as U+FFFD; Python keeps
    a lone surrogate, which no UTF-8 encoder accepts later (sorting, writing, printing)."""
    text = '{"a\\ud800": ["x\\udc00y", {"k": "\\ud83d\\ude00", "z": "\\uDBFF"}], "b": "\\\\ud800"}'
    expected = {"a\ufffd": ["x\ufffdy", {"k": "\U0001f600", "z": "\ufffd"}], "b": "\\ud800"}
    assert jsontext.loads(text) == expected
    assert jsontext.raw_decode(json.JSONDecoder(), "  " + text + " tail", 2)[0] == expected
    assert jsontext.loads('"\\udfff"') == "\ufffd"


def test_catalog_lone_surrogate_is_replaced() -> None:
    data = b'{"schema": "olm.package", "name": "p", "defaultChannel": "st\\ud800"}\n'
    (obj,) = iter_stream(io.BytesIO(data), "c.json")
    assert obj.data["defaultChannel"] == "st\ufffd"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(literal: str) -> None:
    """Go's encoding/json refuses them ("invalid character 'N' looking for beginning of value");
    Python's decoder accepts them unless told otherwise."""
    text = '{"schema": "olm.package", "name": "p", "x": ' + literal + "}"
    with pytest.raises(json.JSONDecodeError, match="invalid character"):
        jsontext.loads(text)
    with pytest.raises(IntegrityError, match="malformed manifest: not valid JSON"):
        load_object(text.encode(), "manifest")
    with pytest.raises(ConfigError, match="not valid JSON"):
        AuthFile.parse(text, "auth.json")
    # a catalog stream turns to YAML at its first object (YAMLOrJSONDecoder), where go-yaml v2 reads
    # the plain scalar as a string; after two objects it stays JSON
    (obj,) = iter_stream(io.BytesIO(text.encode()), "c.json")
    assert obj.data["x"] == literal
    with pytest.raises(CatalogFormatError, match="object 2: invalid JSON: invalid character"):
        list(iter_stream(io.BytesIO(b'{"schema":"a.b"}{"schema":"a.b"}' + text.encode()), "c.json"))


def test_invalid_utf8_in_a_string_is_a_replacement_character() -> None:
    """encoding/json: "invalid UTF-8 ... replaced by U+FFFD" inside strings (the document stays
    valid); a byte order mark or UTF-16 text is no JSON to Go."""
    assert load_object(b'{"a": "x\xffy", "b\xfe": 1}', "manifest") == {"a": "x\ufffdy", "b\ufffd": 1}
    assert jsontext.loads(bytearray(b'["\xc3"]')) == ["\ufffd"]
    for raw in (b'\xef\xbb\xbf{"a": 1}', '{"a": 1}'.encode("utf-16"), b'{"a": 1\xff}'):
        with pytest.raises(IntegrityError, match="not valid JSON"):
            load_object(raw, "manifest")
