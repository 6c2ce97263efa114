"""go-yaml v2's escapes in double-quoted scalars, on top of libyaml's.

Both scanners know the YAML 1.1 escapes; go-yaml v2 also reads ``\\'`` as a single quote, and does not
know ``\\/``, which libyaml reads as a slash (YAML 1.2). :func:`go_quoted_escapes` rewrites the text
libyaml will read so that both come out as go-yaml's: ``\\'`` becomes ``\\x27`` (the same character),
and a ``\\/`` makes the document go-yaml's "found unknown escape character" error. Text without
either pair is returned as it is, untouched and unscanned.
"""

from __future__ import annotations

import yaml

__all__ = ["QuotedEscapeError", "go_quoted_escapes"]

_MAX_REWRITES = 1000  # each rewrite rescans the text: beyond this, libyaml's own error stands
_MAX_RESCANNED = 64 << 20  # characters rescanned in all (~0.6 s): past this, libyaml's error stands


class QuotedEscapeError(ValueError):
    """A ``\\/`` in a double-quoted scalar: go-yaml v2 refuses the document."""


def go_quoted_escapes(text: str) -> str:
    """``text`` with go-yaml v2's double-quoted escapes (see the module); raises QuotedEscapeError."""
    if "\\'" not in text and "\\/" not in text:
        return text
    rescanned = 0
    for _ in range(_MAX_REWRITES):
        try:
            tokens = list(yaml.scan(text, Loader=yaml.CSafeLoader))
        except yaml.scanner.ScannerError as exc:
            mark = exc.problem_mark
            if (
                exc.problem == "found unknown escape character"
                and mark is not None
                and text[mark.index : mark.index + 2] == "\\'"
                and rescanned + len(text) <= _MAX_RESCANNED
            ):
                rescanned += len(text)  # (the scanner reads the whole text in)
                text = _rewrite_scalar(text, mark.index)
                continue
            return text  # the reader raises this error itself
        except yaml.YAMLError:
            return text
        for tok in tokens:
            if isinstance(tok, yaml.ScalarToken) and tok.style == '"' and tok.start_mark is not None:
                _refuse_slash(text[tok.start_mark.index : tok.end_mark.index], tok.start_mark.line)
        return text
    return text


def _rewrite_scalar(text: str, start: int) -> str:
    """``text`` with every ``\\'`` of the double-quoted scalar around ``start`` (where one is, and
    libyaml stopped) made ``\\x27``, up to the scalar's closing quote: one rescan per scalar."""
    parts = [text[:start]]
    i = last = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            break
        if c == "\\":
            if text[i + 1 : i + 2] == "'":
                parts.append(text[last:i])
                parts.append("\\x27")
                last = i + 2
            i += 2
            continue
        i += 1
    parts.append(text[last:])
    return "".join(parts)


def _refuse_slash(raw: str, line: int) -> None:
    i = raw.find("\\")
    while i != -1:
        if raw[i + 1 : i + 2] == "/":
            raise QuotedEscapeError(
                f"yaml: line {line + 1 + raw.count(chr(10), 0, i)}: found unknown escape character"
            )
        i = raw.find("\\", i + 2)
