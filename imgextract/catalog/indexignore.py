"""``.indexignore`` matching as opm does it (``github.com/joelanford/ignore`` over go-git's gitignore).

opm builds one matcher for the whole catalog before reading it: every ``.indexignore`` file in the
tree, in ``fs.WalkDir`` order, adds its lines (trimmed of surrounding blanks; empty lines and ``#``
comments skipped) as patterns scoped to the file's directory, after a first built-in pattern
``.indexignore``.  A file is ignored when the **last** pattern that matches it excludes it; a ``!``
pattern that matches re-includes it, even below an excluded directory and across files (go-git has no
"parent directory excluded" rule, and opm never asks about directories).  Per pattern (go-git
``pattern.Match``):

* a pattern without ``/`` (after a trailing ``/`` is cut) matches any component of the path below its
  directory (``name/`` only a component that is not the file's own name);
* a pattern with ``/`` is anchored at its directory and matched component by component; ``**`` spans
  any number of components, a trailing ``**`` matches everything below, and a component with ``**``
  inside other text matches nothing; a prefix match is enough (``dir/sub`` matches ``dir/sub/x``);
* components are matched with Go's ``filepath.Match``: ``*``, ``?``, ``[...]`` classes (``^``
  negates), ``\\`` escapes; a malformed pattern matches nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["IgnoreMatcher", "Pattern", "parse_pattern"]

# Go's unicode.IsSpace
_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _go_glob(pattern: str) -> re.Pattern[str] | None:
    """Go's ``filepath.Match`` pattern (for one path component) as a regex; None when malformed."""
    out = []
    i, n = 0, len(pattern)

    def esc(j: int) -> tuple[str, int] | None:  # getEsc: one class character, maybe escaped
        if j >= n or pattern[j] in "-]":
            return None
        if pattern[j] == "\\":
            j += 1
            if j >= n:
                return None
        return pattern[j], j + 1

    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "\\":
            if i + 1 >= n:
                return None
            out.append(re.escape(pattern[i + 1]))
            i += 2
        elif c == "[":
            i += 1
            negated = i < n and pattern[i] == "^"
            if negated:
                i += 1
            ranges = []
            nrange = 0
            while True:
                if i < n and pattern[i] == "]" and nrange:
                    i += 1
                    break
                got = esc(i)
                if got is None:
                    return None
                lo, i = got
                hi = lo
                if i < n and pattern[i] == "-":
                    got = esc(i + 1)
                    if got is None:
                        return None
                    hi, i = got
                if i >= n:
                    return None
                nrange += 1
                if lo <= hi:  # Go: a range with lo > hi matches nothing
                    ranges.append(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}")
            body = "".join(ranges)
            if negated:
                out.append(f"[^{body}]" if body else ".")
            else:
                out.append(f"[{body}]" if body else "(?!)")
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out), re.S)


@dataclass(frozen=True)
class Pattern:
    """One go-git pattern: its directory (components), components, and flags."""

    domain: tuple[str, ...]
    parts: tuple[str, ...]
    inclusion: bool
    dir_only: bool
    is_glob: bool

    def match(self, path: list[str], is_dir: bool) -> int:
        """0 no match, 1 exclude, 2 include (go-git ``MatchResult``)."""
        d = len(self.domain)
        if len(path) <= d or tuple(path[:d]) != self.domain:
            return 0
        rest = path[d:]
        ok = self._glob(rest, is_dir) if self.is_glob else self._simple(rest, is_dir)
        if not ok:
            return 0
        return 2 if self.inclusion else 1

    def _simple(self, path: list[str], is_dir: bool) -> bool:
        rx = _compiled(self.parts[0])
        if rx is None:
            return False
        for i, name in enumerate(path):
            if not rx.fullmatch(name):
                continue
            return not (self.dir_only and not is_dir and i == len(path) - 1)
        return False

    def _glob(self, path: list[str], is_dir: bool) -> bool:
        matched = False
        traverse = False
        last = len(self.parts) - 1
        for i, part in enumerate(self.parts):
            if part == "":
                traverse = False
                continue
            if part == "**":
                if i == last:
                    break
                traverse = True
                continue
            if "**" in part:
                return False
            if not path:
                return False
            rx = _compiled(part)
            if rx is None:
                return False
            if traverse:
                traverse = False
                while path:
                    e, path = path[0], path[1:]
                    if rx.fullmatch(e):
                        matched = True
                        break
                    if not path:
                        matched = False
            else:
                if not rx.fullmatch(path[0]):
                    return False
                matched = True
                path = path[1:]
        if matched and self.dir_only and not is_dir and not path:
            matched = False
        return matched


_CACHE: dict[str, re.Pattern[str] | None] = {}


def _compiled(glob: str) -> re.Pattern[str] | None:
    if glob not in _CACHE:
        _CACHE[glob] = _go_glob(glob)
    return _CACHE[glob]


def parse_pattern(line: str, domain: tuple[str, ...]) -> Pattern:
    """go-git ``ParsePattern``."""
    inclusion = line.startswith("!")
    if inclusion:
        line = line[1:]
    if not line.endswith("\\ "):
        line = line.rstrip(" ")
    dir_only = line.endswith("/")
    if dir_only:
        line = line[:-1]
    return Pattern(domain, tuple(line.split("/")), inclusion, dir_only, "/" in line)


class IgnoreMatcher:
    """The patterns of every ``.indexignore`` of a catalog, matched as opm matches a file's path."""

    def __init__(self, ignore_file: str = ".indexignore") -> None:
        self.patterns: list[Pattern] = [parse_pattern(ignore_file, ())]

    def add_file(self, rel_dir: str, text: str) -> None:
        """The lines of the ignore file in ``rel_dir`` ("" for the root; ``/``-separated)."""
        domain = tuple(rel_dir.split("/")) if rel_dir else ()
        for raw in text.split("\n"):  # bufio.Scanner lines
            line = raw.strip(_GO_SPACE)  # strings.TrimSpace
            if not line or line.startswith("#"):
                continue
            self.patterns.append(parse_pattern(line, domain))

    def ignored(self, rel: str) -> bool:
        """Whether the file at ``rel`` (``/``-separated, relative to the root) is ignored."""
        path = rel.split("/")
        for p in reversed(self.patterns):
            m = p.match(path, False)
            if m:
                return m == 1
        return False
