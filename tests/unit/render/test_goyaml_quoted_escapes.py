"""Escapes in double-quoted scalars as go-yaml v2 reads them (opm's and OLM's YAML).

go-yaml v2's scanner knows ``\\'`` (a single quote) and not ``\\/``; libyaml, which reads YAML here,
knows ``\\/`` and not ``\\'``. A manifest must decode, or fail, as in opm.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from imgextract.catalog.render.bundle import BundleError, render_bundle
from imgextract.catalog.render.goyaml import DecodeError, load_yaml

ANNOTATIONS = """\
annotations:
  operators.operatorframework.io.bundle.package.v1: quotes-operator
  operators.operatorframework.io.bundle.channels.v1: alpha
"""


def test_backslash_quote_is_a_quote() -> None:
    """``yaml_parser_scan_flow_scalar`` (go-yaml v2 scannerc.go): ``case '\\''`` appends a quote."""
    assert load_yaml("a: \"don\\'t\"\nb: 'x\\'\n") == {"a": "don't", "b": "x\\"}
    assert load_yaml('a: "\\\\\'"\n') == {"a": "\\'"}


@pytest.mark.parametrize("text", ['a: "http:\\/\\/x"\n', 'a: [1, "\\/"]\n'])
def test_backslash_slash_is_an_unknown_escape(text: str) -> None:
    """``yaml_parser_scan_flow_scalar``: any other character after a backslash is "found unknown
    escape character"; plain and single-quoted scalars keep ``\\/`` as written."""
    with pytest.raises(DecodeError, match="found unknown escape character"):
        load_yaml(text)
    assert load_yaml("a: x\\/y\nb: 'x\\/y'\nc: \"x\\\\/y\"\n") == {"a": "x\\/y", "b": "x\\/y", "c": "x\\/y"}


def test_csv_with_backslash_quote_renders(tmp_path: Path) -> None:
    """``bundleParser.addManifests`` decodes the CSV with ``\\'`` (opm does); with ``\\/`` it skips the
    file, and with nothing else in manifests/ that is "no bundle objects found"."""
    root = tmp_path / "bundle"
    (root / "manifests").mkdir(parents=True)
    (root / "metadata").mkdir()
    (root / "manifests" / "csv.yaml").write_text(
        "apiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\n"
        'metadata:\n  name: quotes-operator.v1.0.0\nspec:\n  version: 1.0.0\n  description: "It\\\'s fine"\n'
    )
    (root / "metadata" / "annotations.yaml").write_text(ANNOTATIONS)
    assert render_bundle(root).name == "quotes-operator.v1.0.0"
    (root / "manifests" / "csv.yaml").write_text(
        (root / "manifests" / "csv.yaml").read_text().replace("It\\'s fine", "a\\/b")
    )
    with pytest.raises(BundleError, match="no bundle objects found"):
        render_bundle(root)
