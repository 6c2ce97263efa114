"""Syntax errors worded as go-yaml v2 words them (``yaml: line N: PROBLEM``), not as PyYAML does."""

from __future__ import annotations

import pytest

from imgextract.catalog.render.goyaml import DecodeError, load_yaml

# A block scalar whose text is not indented past its key (an easy slip when copying an example
# into a catalog): the text reads as a new key without its ':'.
_UNINDENTED_BLOCK = (
    "entries:\n  - reference:\n      schema: olm.package\n    message: |\n    The text.\n    More text.\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_UNINDENTED_BLOCK, "error converting YAML to JSON: yaml: line 6: could not find expected ':'"),
        ("a: 'open\n", "error converting YAML to JSON: yaml: line 2: found unexpected end of stream"),
        (
            "key: [1, 2\nother: 3\n",
            "error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'",
        ),
        ("{a: 1", "error converting YAML to JSON: yaml: line 1: did not find expected ',' or '}'"),
        ("[a, b}", "error converting YAML to JSON: yaml: did not find expected ',' or ']'"),
        (
            "a: b\n c: d\n",
            "error converting YAML to JSON: yaml: line 2: mapping values are not allowed in this context",
        ),
        ("- a\nb: c\n", "error converting YAML to JSON: yaml: line 1: did not find expected '-' indicator"),
    ],
)
def test_syntax_errors_read_as_go_yaml_reports_them(text: str, message: str) -> None:
    """go-yaml v2's ``parser.fail``: the problem alone (libyaml's context dropped), after
    ``line N:`` where N is the problem mark's line, plus one for a scanner error."""
    with pytest.raises(DecodeError) as info:
        load_yaml(text)
    assert str(info.value) == message
