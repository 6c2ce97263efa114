"""go-yaml v2's quoted escapes cost bounded memory and a bounded number of scanned tokens.

Hazard: the rewrite kept every token of the text in a list (libyaml's tokens with their marks), so
one ``\\'`` or ``\\/`` anywhere in a 4 MB manifest of short scalars took 400 MB and 7 s of CPU
(the plain read: 30 MB, 0.65 s); and its budget counted characters, which bounds nothing for a text
of tiny tokens (64 M characters of them are some 20 million tokens).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
import yaml

from imgextract import yamlescapes
from imgextract.catalog.render.goyaml import load_yaml


def test_scanning_keeps_no_token_list() -> None:
    """One ``\\'`` after 40,000 short scalars: the scan streams (a list held some 20 MB here)."""
    text = "- 'a'\n" * 40_000 + '- "x\\\'y"\n'
    tracemalloc.start()
    try:
        out = yamlescapes.go_quoted_escapes(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.endswith('- "x\\x27y"\n')
    assert peak < 8 * len(text), peak  # the text and its rewritten copy, not its tokens


def test_a_slash_escape_found_while_streaming_is_refused() -> None:
    """The ``\\/`` check runs on the streamed tokens (go-yaml v2: "found unknown escape character")."""
    with pytest.raises(yamlescapes.QuotedEscapeError, match="line 3"):
        yamlescapes.go_quoted_escapes("a: 1\nb: 'x'\nc: \"h:\\/\\/x\"\n")
    assert load_yaml('a: "don\\\'t"\n') == {"a": "don't"}


def test_rescanning_is_bounded_in_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many scalars with ``\\'`` behind 300,000 short ones: each rewrite rescans every token, so
    the rewriting stops once a fixed number of tokens was scanned (libyaml's error then stands)."""
    monkeypatch.setattr(yamlescapes, "_MAX_TOKENS", 1_000_000)
    scanned = 0
    real = yaml.scan

    def scan(text: str, Loader: type) -> Iterator[object]:  # noqa: N803 (PyYAML's keyword)
        nonlocal scanned
        for token in real(text, Loader=Loader):
            scanned += 1
            yield token

    monkeypatch.setattr(yaml, "scan", scan)
    text = "- 'a'\n" * 40_000 + "".join(f'- "a\\\'b{i}"\n' for i in range(200))
    out = yamlescapes.go_quoted_escapes(text)
    assert scanned <= 1_000_000 + 1
    assert "\\'" in out  # given up: the rest is left for the reader's own error


def test_rewrites_per_document_are_few(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each rewritten scalar rescans the whole document: a small document of 1000 scalars with a
    ``\\'`` (20 KB) made 1000 scans of it, a second of CPU, per document of a catalog.  At most 16
    scalars are rewritten (a real manifest has a few); past that libyaml's error stands."""
    scans = 0
    real = yaml.scan

    def scan(text: str, Loader: type) -> Iterator[object]:  # noqa: N803 (PyYAML's keyword)
        nonlocal scans
        scans += 1
        return real(text, Loader=Loader)

    monkeypatch.setattr(yaml, "scan", scan)
    text = "".join(f'k{i}: "a\\\'b"\n' for i in range(1000))
    out = yamlescapes.go_quoted_escapes(text)
    assert scans <= 17
    assert "\\'" in out
    few = "".join(f'k{i}: "a\\\'b"\n' for i in range(16))
    assert load_yaml(yamlescapes.go_quoted_escapes(few)) == {f"k{i}": "a'b" for i in range(16)}
