"""go-yaml v2's escapes in double-quoted scalars, on top of libyaml's.

Both scanners know the YAML 1.1 escapes; go-yaml v2 also reads ``\\'`` as a single quote, and does not
know ``\\/``, which libyaml reads as a slash (YAML 1.2). :func:`go_quoted_escapes` rewrites the text
libyaml will read so that both come out as go-yaml's: ``\\'`` becomes ``\\x27`` (the same character),
and a ``\\/`` makes the document go-yaml's "found unknown escape character" error. Text without
either pair is returned as it is, untouched and unscanned.
"""

from __future__ import annotations

__all__ = ["QuotedEscapeError", "go_quoted_escapes"]

# Scalars rewritten at most: each rewrite rescans the whole text, so a document costs at most this
# many scans more than its read (1000 made a 20 KB document of 1000 such scalars cost a second, and
# a catalog of such documents an hour); past it, libyaml's own error stands.
_MAX_REWRITES = 16
_MAX_RESCANNED = 64 << 20  # characters rescanned in all: past this, libyaml's error stands
# Tokens scanned in all, every pass counted (a token costs about a microsecond; a budget in
# characters alone bounds nothing for a text of tiny tokens): past this, the text is left as it is
# and libyaml's reading stands (its error for a \', a slash for a \/).
_MAX_TOKENS = 2_000_000


class QuotedEscapeError(ValueError):
    """A ``\\/`` in a double-quoted scalar: go-yaml v2 refuses the document."""


class _Budget(Exception):
    """The token budget ran out."""


def go_quoted_escapes(text: str) -> str:
    """``text`` with go-yaml v2's double-quoted escapes (see the module); raises QuotedEscapeError."""
    if "\\" not in text or ("\\'" not in text and "\\/" not in text):
        return text  # (one backslash looked for first: a pair is several times slower to look for)
    import yaml  # (only here: a text without either pair needs no PyYAML)

    rescanned = 0
    tokens = 0
    for _ in range(_MAX_REWRITES):
        try:
            # streamed, never kept: a list of every token and its marks is some 100 bytes a
            # character of a text of short scalars
            for tok in yaml.scan(text, Loader=yaml.CSafeLoader):
                tokens += 1
                if tokens > _MAX_TOKENS:
                    raise _Budget
                if isinstance(tok, yaml.ScalarToken) and tok.style == '"' and tok.start_mark is not None:
                    _refuse_slash(text[tok.start_mark.index : tok.end_mark.index], tok.start_mark.line)
        except _Budget:
            return text
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
