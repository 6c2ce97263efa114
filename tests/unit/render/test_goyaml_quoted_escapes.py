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


def _counting_scans(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    import yaml

    scans: list[int] = []
    real = yaml.scan

    def scan(text: str, Loader: type) -> object:  # noqa: N803 (PyYAML's keyword)
        scans.append(len(text))
        return real(text, Loader=Loader)

    monkeypatch.setattr(yaml, "scan", scan)  # (the module calls yaml.scan)
    return scans


def test_every_quote_escape_of_one_scalar_is_rewritten_in_one_rescan(monkeypatch: pytest.MonkeyPatch) -> None:
    """A description full of ``\\'`` costs one rescan, not one per escape."""
    from imgextract.yamlescapes import go_quoted_escapes

    scans = _counting_scans(monkeypatch)
    text = 'a: "' + "don\\'t " * 50 + '"\nb: "x\\\\y"\n'
    out = go_quoted_escapes(text)
    assert load_yaml(out) == {"a": "don't " * 50, "b": "x\\y"}
    assert len(scans) == 2  # the failing scan, then the clean one


def test_rescanning_is_bounded_in_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile file of many scalars with ``\\'`` behind a large text: each rescan reads the whole
    text, so the rewriting stops after a fixed number of characters (libyaml's error then stands)
    instead of costing minutes of CPU."""
    from imgextract import yamlescapes

    scans = _counting_scans(monkeypatch)
    monkeypatch.setattr(yamlescapes, "_MAX_RESCANNED", 8 << 20)
    text = "pad: " + "x" * (1 << 20) + "\n" + "".join(f'k{i}: "a\\\'b"\n' for i in range(1000))
    out = yamlescapes.go_quoted_escapes(text)
    assert sum(scans) <= yamlescapes._MAX_RESCANNED + len(out) + 1
    assert len(scans) <= 9
    assert "\\'" in out  # given up: the rest is left for the reader's own error
