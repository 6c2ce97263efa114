"""annotations.yaml with go-yaml v2's double-quoted escapes.

OLM's bundle unpacker and opm read annotations.yaml with ``sigs.k8s.io/yaml.Unmarshal`` (go-yaml
v2): in a double-quoted scalar ``\\'`` is a quote, and ``\\/`` an unknown escape that fails the file.
"""

from __future__ import annotations

import pytest

from imgextract.bundles.annotations import parse_annotations
from imgextract.errors import InvalidBundleError

HEAD = "annotations:\n  operators.operatorframework.io.bundle.mediatype.v1: registry+v1\n"


def test_backslash_quote_reads_as_a_quote() -> None:
    """go-yaml v2 ``yaml_parser_scan_flow_scalar``: ``\\'`` appends a single quote."""
    got = parse_annotations(
        (HEAD + '  operators.operatorframework.io.bundle.package.v1: "o\\\'brien"\n').encode()
    )
    assert got["operators.operatorframework.io.bundle.package.v1"] == "o'brien"


def test_backslash_slash_is_not_yaml() -> None:
    """go-yaml v2 ``yaml_parser_scan_flow_scalar``: "found unknown escape character"."""
    with pytest.raises(InvalidBundleError, match="not valid YAML"):
        parse_annotations((HEAD + '  operators.operatorframework.io.bundle.package.v1: "a\\/b"\n').encode())
