"""``WWW-Authenticate`` parsing (RFC 7235) and registry token scopes (pure; no I/O).

``parse_www_authenticate`` accepts several challenges in one header (and the ``", "``-joined
form the registry transport gives repeated headers in), quoted strings holding commas and backslash
escapes, bare tokens, unquoted values such as URLs, and ``token68`` credentials.  Scheme
and parameter names are lowercased; values are kept as sent; a repeated parameter keeps its
last value, as containers/image (``parseValueAndParams``) and docker distribution store it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN68_RE = re.compile(r"[A-Za-z0-9\-._~+/]+=*(?=[ \t]*(?:,|$))")


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def at_end(self) -> bool:
        return self.i >= len(self.s)

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def skip_ws(self) -> None:
        while self.peek() in (" ", "\t", "\r", "\n") and not self.at_end():
            self.i += 1

    def skip_ws_commas(self) -> bool:
        """Skip whitespace and commas; True when at least one comma was crossed."""
        crossed = False
        while not self.at_end() and self.peek() in (" ", "\t", "\r", "\n", ","):
            crossed = crossed or self.peek() == ","
            self.i += 1
        return crossed

    def token(self) -> str:
        start = self.i
        while not self.at_end() and self.peek() in _TOKEN_CHARS:
            self.i += 1
        return self.s[start : self.i]

    def quoted(self) -> str:
        self.i += 1  # opening quote
        out: list[str] = []
        while not self.at_end():
            c = self.peek()
            self.i += 1
            if c == "\\" and not self.at_end():
                out.append(self.peek())
                self.i += 1
            elif c == '"':
                break
            else:
                out.append(c)
        return "".join(out)

    def bare_value(self) -> str:
        start = self.i
        while not self.at_end() and self.peek() not in (",", " ", "\t"):
            self.i += 1
        return self.s[start : self.i]

    def skip_to_comma(self) -> None:
        while not self.at_end() and self.peek() != ",":
            if self.peek() == '"':
                self.quoted()
            else:
                self.i += 1

    def challenge(self) -> Challenge | None:
        scheme = self.token()
        if not scheme:
            self.skip_to_comma()
            return None
        params: dict[str, str] = {}
        self.skip_ws()
        m = _TOKEN68_RE.match(self.s, self.i)
        if m:
            self.i = m.end()
            return Challenge(scheme.lower(), params, m.group(0))
        while True:
            self.skip_ws_commas()
            if self.at_end():
                break
            name_start = self.i
            name = self.token()
            self.skip_ws()
            if name and self.peek() == "=":
                self.i += 1
                self.skip_ws()
                value = self.quoted() if self.peek() == '"' else self.bare_value()
                params[name.lower()] = value  # the last one wins, as Go's map assignment
            elif name:
                self.i = name_start  # a token without "=": the next challenge's scheme
                break
            else:
                self.skip_to_comma()  # junk: resynchronise at the next comma
        return Challenge(scheme.lower(), params)


def parse_www_authenticate(header: str | Iterable[str] | None) -> list[Challenge]:
    """All challenges in a ``WWW-Authenticate`` value (or several values), in order."""
    if header is None:
        return []
    text = header if isinstance(header, str) else ", ".join(header)
    parser = _Parser(text)
    out: list[Challenge] = []
    while True:
        parser.skip_ws_commas()
        if parser.at_end():
            return out
        found = parser.challenge()
        if found is not None:
            out.append(found)


def find_challenge(challenges: Sequence[Challenge], scheme: str) -> Challenge | None:
    """The first challenge of ``scheme`` (case-insensitive)."""
    wanted = scheme.lower()
    return next((c for c in challenges if c.scheme == wanted), None)


# --- scopes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """A token scope ``type[(class)]:name:action[,action...]`` (distribution token spec)."""

    resource_type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.resource_type}:{self.name}:{','.join(self.actions)}"


def repository_scope(repository: str, actions: Iterable[str] = ("pull",)) -> str:
    """``repository:NAME:pull`` / ``repository:NAME:pull,push`` (actions de-duplicated, in order)."""
    ordered = tuple(dict.fromkeys(a for a in actions if a))
    if not repository or not ordered:
        raise ValueError("a repository scope needs a name and at least one action")
    return str(Scope("repository", repository, ordered))


def parse_scope(scope: str) -> Scope:
    """Parse one scope; the name may contain ``:`` (e.g. a host with a port)."""
    resource_type, sep1, rest = scope.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not (sep1 and sep2 and resource_type and name):
        raise ValueError(f"malformed scope {scope!r}")
    return Scope(resource_type, name, tuple(a for a in actions.split(",") if a))


def insufficient_scope(challenges: Sequence[Challenge]) -> list[str]:
    """The scopes a Bearer ``error="insufficient_scope"`` challenge asks for (empty if none)."""
    for c in challenges:
        if c.scheme == "bearer" and c.params.get("error") == "insufficient_scope":
            return c.params.get("scope", "").split()
    return []
