"""Semantic versions and OLM version ranges (``skipRange``, ``--min-version``/``--max-version``).

Versions are parsed strictly, as OLM does (``MAJOR.MINOR.PATCH[-pre][+build]``, no leading ``v``),
with the ``semver`` package: SemVer 2.0 precedence, build metadata ignored. Ranges follow the grammar
OLM uses for ``skipRange`` (blang/semver): comparators ``<``, ``<=``, ``>``, ``>=``, ``=``/``==``/none,
``!``/``!=``; space-separated comparators are ANDed, ``||`` ORs groups; ``x`` wildcards in the minor or
patch place expand as blang expands them (``<=1.2.x`` is ``<1.3.0``, ``1.x`` is ``>=1.0.0 <2.0.0``).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

import semver

from imgextract.errors import UsageError

Version = semver.Version

_COMPARATORS: dict[str, Callable[[int, int], bool]] = {
    "": operator.eq,
    "=": operator.eq,
    "==": operator.eq,
    "!": operator.ne,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class InvalidVersion(UsageError):
    """A version or version range that does not parse."""


_UINT64 = 1 << 64


def _past_uint64(digits: str) -> bool:
    """``strconv.ParseUint(digits, 10, 64)`` fails: the number is past the largest uint64.  Leading
    zeros are read as Go reads them; a text of any length is judged without converting it (Python
    refuses to convert more than 4300 digits to an int)."""
    digits = digits.lstrip("0")
    return len(digits) > 20 or (len(digits) == 20 and int(digits) >= _UINT64)


def _blang_numbers_fit(v: Version) -> bool:
    """blang/semver reads MAJOR, MINOR, PATCH and each numeric pre-release identifier with
    ``strconv.ParseUint(s, 10, 64)``: a number past the largest uint64 is no version there."""
    if v.major >= _UINT64 or v.minor >= _UINT64 or v.patch >= _UINT64:
        return False
    return not any(p.isascii() and p.isdigit() and _past_uint64(p) for p in (v.prerelease or "").split("."))


def _strict(text: str) -> Version:
    """blang/semver ``Parse``: raises ValueError."""
    v = Version.parse(text)
    if not _blang_numbers_fit(v):
        raise ValueError(f"{text!r}: value out of range")
    return v


def parse_version(text: str) -> Version:
    """A strict semantic version; raises InvalidVersion."""
    try:
        return _strict(text.strip())
    except (ValueError, TypeError):
        raise InvalidVersion(f"invalid semantic version {text!r} (expected MAJOR.MINOR.PATCH)") from None


_LOOSE = re.compile(
    r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)


@dataclass(frozen=True)
class Bound:
    """A ``--min-version``/``--max-version`` bound, read as oc-mirror reads ``minVersion``/``maxVersion``
    (Masterminds ``semver.NewVersion``: a leading ``v`` and missing minor/patch parts allowed).

    ``parts`` is how many of MAJOR.MINOR.PATCH were given: as a maximum, a short bound is a
    wildcard (``1.2`` admits every 1.2.x, ``1`` every 1.x), as Masterminds' ``<=`` treats it.
    """

    text: str
    version: Version
    parts: int

    def admits_as_max(self, v: Version) -> bool:
        hi = self.version
        if self.parts == 3:
            return bool(v <= hi)
        if v.major != hi.major:
            return bool(v.major < hi.major)
        return self.parts == 1 or v.minor <= hi.minor

    def admits(self, v: Version, *, maximum: bool) -> bool:
        """``v`` meets ``>=bound`` (or ``<=bound``); a pre-release only meets a pre-release bound."""
        if v.prerelease and not self.version.prerelease:
            return False
        return self.admits_as_max(v) if maximum else bool(v >= self.version)


@functools.lru_cache(maxsize=64)
def parse_bound(text: str) -> Bound:
    """A range bound; raises InvalidVersion."""
    m = _LOOSE.fullmatch(text.strip())
    if m is None:
        raise InvalidVersion(
            f"invalid semantic version {text!r} (expected MAJOR[.MINOR[.PATCH]][-PRE][+BUILD])"
        )
    major, minor, patch, pre, build = m.groups()
    if any(_past_uint64(n) for n in (major, minor, patch) if n is not None):
        # Masterminds NewVersion: strconv.ParseUint(s, 10, 64) for each of MAJOR, MINOR, PATCH
        raise InvalidVersion(f"invalid semantic version {text!r} (a number is out of range)")
    parts = 1 + (minor is not None) + (patch is not None)
    core = ".".join(str(int((n or "0").lstrip("0") or "0")) for n in (major, minor, patch))
    try:
        return Bound(text, Version.parse(core + (pre or "") + (build or "")), parts)
    except (ValueError, TypeError):
        raise InvalidVersion(f"invalid semantic version {text!r}") from None


def try_version(text: object) -> Version | None:
    """The version, or None when ``text`` is not a strict semantic version."""
    if not isinstance(text, str):
        return None
    try:
        return _strict(text)
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True)
class _Comparator:
    op: str
    version: Version

    def __call__(self, v: Version) -> bool:
        return _COMPARATORS[self.op](v.compare(self.version), 0)


@dataclass(frozen=True)
class VersionRange:
    """A parsed range: ``groups`` are ORed, the comparators inside one group ANDed."""

    text: str
    groups: tuple[tuple[_Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        parts = _split(text)
        if not parts:
            raise InvalidVersion(f"empty version range {text!r}")
        groups: list[list[str]] = [[]]
        for i, p in enumerate(parts):
            if p == "||":
                if i == 0 or i == len(parts) - 1 or not groups[-1]:
                    raise InvalidVersion(f"misplaced '||' in version range {text!r}")
                groups.append([])
            else:
                groups[-1].extend(_expand_wildcard(p, text))
        out = []
        for g in groups:
            comps = []
            for part in g:
                op, ver = _split_comparator(part, text)
                if op not in _COMPARATORS:
                    raise InvalidVersion(f"invalid comparator {op!r} in version range {text!r}")
                try:
                    v = _strict(ver)
                except (ValueError, TypeError):
                    raise InvalidVersion(f"invalid version {ver!r} in version range {text!r}") from None
                comps.append(_Comparator(op, v))
            out.append(tuple(comps))
        return cls(text, tuple(out))

    def __contains__(self, v: object) -> bool:
        if not isinstance(v, Version):
            return False
        return any(all(c(v) for c in group) for group in self.groups)


def parse_range(text: str) -> VersionRange:
    return VersionRange.parse(text)


def _split(text: str) -> list[str]:
    """Split on blanks, keeping an operator glued to the version after it (``>= 1.0.0``)."""
    out: list[str] = []
    cur = ""
    for tok in text.split():
        if cur:
            cur += tok
        else:
            cur = tok
        if cur[-1] in "<>=!" and cur != "||":
            continue
        out.append(cur)
        cur = ""
    if cur:
        out.append(cur)
    return out


def _split_comparator(part: str, text: str) -> tuple[str, str]:
    for i, ch in enumerate(part):
        if ch.isdigit():
            return part[:i], part[i:]
    raise InvalidVersion(f"no version in {part!r} of version range {text!r}")


def _expand_wildcard(part: str, text: str) -> list[str]:
    if "x" not in part:
        return [part]
    op, ver = _split_comparator(part, text)
    pieces = ver.split(".")
    if pieces[-1] != "x" or len(pieces) not in (2, 3) or not all(p.isdigit() for p in pieces[:1]):
        raise InvalidVersion(f"invalid wildcard {part!r} in version range {text!r}")
    major = int(pieces[0])
    if len(pieces) == 3 and pieces[1] != "x":
        minor = int(pieces[1]) if pieces[1].isdigit() else 0
        flat, bumped = f"{major}.{minor}.0", f"{major}.{minor + 1}.0"
    else:
        flat, bumped = f"{major}.0.0", f"{major + 1}.0.0"
    if op == ">":
        return [">=" + bumped]
    if op == ">=":
        return [">=" + flat]
    if op == "<":
        return ["<" + flat]
    if op == "<=":
        return ["<" + bumped]
    if op in ("", "=", "=="):
        return [">=" + flat, "<" + bumped]
    if op in ("!", "!="):
        return ["<" + flat, ">=" + bumped]
    raise InvalidVersion(f"invalid comparator {op!r} in version range {text!r}")
