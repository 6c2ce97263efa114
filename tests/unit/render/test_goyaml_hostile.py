"""Bundle manifests in JSON with numbers too large for Go's float64 or nesting past Python's
recursion limit: a DecodeError (render skips the file with "failed to decode", as opm does),
never a bare ValueError that ends the render as an internal error."""

from __future__ import annotations

import pytest

from imgextract.catalog.render.goyaml import DecodeError, first_document

HOSTILE = {
    "deep-arrays": b'{"kind": "ConfigMap", "n": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "deep-objects": b'{"a": ' * 100_000 + b"1" + b"}" * 100_000,
}


@pytest.mark.parametrize("data", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_json_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        first_document(data)


@pytest.mark.parametrize("sign", ["", "-"])
def test_number_past_float64_is_read_again_as_yaml(sign: str) -> None:
    """A number past float64's range fails Go's JSON decoding; apimachinery 0.33's
    ``YAMLOrJSONDecoder`` (opm's) then reads the manifest as YAML, where go-yaml v2 keeps it a
    string: the manifest decodes."""
    digits = sign + "1" * 5000
    data = b'{"kind": "ConfigMap", "n": ' + digits.encode() + b"}"
    assert first_document(data) == ("yaml", {"kind": "ConfigMap", "n": digits})


def test_int64_bounds_still_decode() -> None:
    assert first_document(b'{"n": -9223372036854775808, "m": 9223372036854775807}') == (
        "json",
        {"n": -9223372036854775808, "m": 9223372036854775807},
    )
    assert first_document(b'{"n": 9223372036854775808}') == ("json", {"n": 9.223372036854776e18})


def test_lone_surrogate_escape_is_a_replacement_character() -> None:
    """encoding/json reads ``"\\ud800"`` as U+FFFD; a lone surrogate kept in Python made a bundle
    whose CSV (in JSON) held one fail to render ("surrogates not allowed", exit 6)."""
    data = b'{"kind": "ClusterServiceVersion", "spec": {"displayName": "W\\udc00", "x\\ud800": 1}}'
    assert first_document(data) == (
        "json",
        {"kind": "ClusterServiceVersion", "spec": {"displayName": "W\ufffd", "x\ufffd": 1}},
    )


def test_csv_annotation_properties_nested_too_deeply_are_ignored() -> None:
    """The CSV's ``olm.properties`` annotation is JSON from the image: too deep is a decode
    failure (logged, no properties), never a RecursionError ending the render."""
    from imgextract.catalog.render.bundleprops import _csv_annotation_properties, _unmarshal_struct
    from imgextract.catalog.render.rendered import BundleError

    deep = "[" * 100_000 + "]" * 100_000
    assert _csv_annotation_properties(deep) == []
    with pytest.raises(BundleError, match="invalid JSON"):
        _unmarshal_struct('{"group": ' + deep + "}", ("group", "version", "kind"), "property.GVK")
    props = _csv_annotation_properties('[{"type": "olm.x\\ud800", "value": 1}]')
    assert [p.type for p in props] == ["olm.x\ufffd"]


def _child(code: str, timeout: float) -> str:
    """Run ``code`` in a fresh interpreter with a time bound (a quadratic or runaway decode fails
    the test by the bound instead of hanging the suite); its stdout."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_binary_of_invalid_utf8_decodes_in_linear_time() -> None:
    """``!!binary`` bytes that are no UTF-8 become U+FFFD per byte: 3 MB of them (every other
    byte invalid) took minutes when the decode restarted after each bad byte."""
    out = _child(
        "import base64\n"
        "from imgextract.catalog.render.goyaml import first_document\n"
        "n = 1_500_000\n"
        "data = b'kind: !!binary ' + base64.b64encode(b'a\\xff' * n)\n"
        "kind, value = first_document(data)\n"
        "print(kind, value['kind'] == 'a\\ufffd' * n)\n",
        timeout=30,
    )
    assert out.split() == ["yaml", "True"]


def test_binary_validation_memory_is_bounded_by_the_input() -> None:
    """Checking 32 MB of ``!!binary`` base64 costs a few times its size, not the ~30 bytes per
    byte of a regex repeating a group of four (about 1 GB here)."""
    out = _child(
        "import resource\n"
        "from imgextract.catalog.render.goyaml import first_document\n"
        "data = b'kind: !!binary ' + b'QUFB' * 8_000_000\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "kind, value = first_document(data)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(kind, len(value['kind']), (after - before) // 1024)\n",
        timeout=60,
    )
    kind, size, grown_mib = out.split()
    assert (kind, int(size)) == ("yaml", 24_000_000)
    assert int(grown_mib) < 256, f"peak memory grew by {grown_mib} MiB for a 32 MB scalar"


def test_binary_padding_rules() -> None:
    """Standard base64, padded to a multiple of 4, as Go's ``base64.StdEncoding`` (line ends
    dropped first, as go-yaml does)."""
    assert first_document(b"a: !!binary aGk=") == ("yaml", {"a": "hi"})
    assert first_document(b"a: !!binary aA==") == ("yaml", {"a": "h"})
    assert first_document(b"a: !!binary ''") == ("yaml", {"a": ""})
    assert first_document(b"a: !!binary |\n  aG\n  k=\n") == ("yaml", {"a": "hi"})
    for bad in (b"aGk", b"aG==k=", b"====", b"aGk==", b"=aGk", b"aA=", b"a===", b"aGk*"):
        with pytest.raises(DecodeError, match="invalid base64"):
            first_document(b"a: !!binary " + bad)


def test_first_document_of_many_lines_is_cut_without_a_list_of_lines() -> None:
    """Finding the first ``---`` line of a manifest made a list of every line of the file (some
    60 bytes each): 15 MB of short lines grew the process by about 600 MiB."""
    out = _child(
        "import resource\n"
        "from imgextract.catalog.render.goyaml import first_document\n"
        "data = b'kind: x\\n' + b'#\\n' * 8_000_000 + b'---\\nb: 1\\n'\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(first_document(data) == ('yaml', {'kind': 'x'}))\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n",
        timeout=60,
    )
    same, grown_mib = out.split()
    assert same == "True"
    assert int(grown_mib) < 128, f"peak memory grew by {grown_mib} MiB for 16 MB of lines"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (b"a: 1\n---\nb: 2\n", {"a": 1}),
        (b"---\n--- # c\na: 1\n---", {"a": 1}),
        (b"a: 1\r\n---\r\nb: 2\r\n", {"a": 1}),
        (b"# only\n---\na: 2\n", None),  # a chunk of comments is the first document (null)
        (b"a: 1\r---\rb: 2\n", {"a": 1}),  # a CR alone ends no line (Go's line reader)
        (b"a: '---'\n", {"a": "---"}),
    ],
)
def test_first_document_separator_lines(text: bytes, want: object) -> None:
    assert first_document(text) == ("yaml", want)


def test_one_tagged_value_keeps_a_large_manifest_on_the_event_path() -> None:
    """A tagged value (``!!str``, ``!!binary``) sent the whole document to PyYAML's node tree,
    some 300 bytes a scalar: 500,000 list items grew the process by about 110 MiB."""
    out = _child(
        "import resource\n"
        "from imgextract.catalog.render.goyaml import first_document\n"
        "data = b'kind: !!str x\\nb: [' + b'1,' * 500_000 + b'1]\\n'\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "kind, value = first_document(data)\n"
        "print(value['kind'], len(value['b']))\n"
        "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n",
        timeout=60,
    )
    kind, items, grown_mib = out.split()
    assert (kind, items) == ("x", "500001")
    assert int(grown_mib) < 48, f"peak memory grew by {grown_mib} MiB for a 1 MB manifest"
